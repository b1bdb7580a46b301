"""One module per built-in kind, each holding that kind's Strategy; `builtin.py` lists them
and `registry.py` finds them (see docs/adding-a-kind.md)."""
