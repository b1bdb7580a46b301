"""Go's time.Duration text ("15s", "5m0s", "1h30m", "300ms") parsed as kube's flags and the
resource metrics API's windows are (api.timefmt.go_duration prints it)."""

from __future__ import annotations

import re
from fractions import Fraction

_UNITS = {"ns": Fraction(1, 10**9), "us": Fraction(1, 10**6), "µs": Fraction(1, 10**6),
          "μs": Fraction(1, 10**6), "ms": Fraction(1, 1000), "s": Fraction(1),
          "m": Fraction(60), "h": Fraction(3600)}
_NUMBER = re.compile(r"\d+\.?\d*|\.\d+")
_UNIT_TEXT = re.compile(r"[^\d.]*")


class DurationError(ValueError):
    pass


def parse_go_duration(text: str) -> float:
    """Seconds in `text`, as time.ParseDuration reads it: a sign, then one or more
    number-unit pairs; "0" alone needs no unit. Raises DurationError with Go's message."""
    s = text
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise DurationError(f'time: invalid duration "{text}"')
    total = Fraction(0)
    pos = 0
    while pos < len(s):
        number = _NUMBER.match(s, pos)
        if number is None:
            raise DurationError(f'time: invalid duration "{text}"')
        unit = _UNIT_TEXT.match(s, number.end())
        if unit is None or not unit.group(0):
            raise DurationError(f'time: missing unit in duration "{text}"')
        if unit.group(0) not in _UNITS:
            raise DurationError(f'time: unknown unit "{unit.group(0)}" in duration "{text}"')
        total += Fraction(number.group(0)) * _UNITS[unit.group(0)]
        pos = unit.end()
    return float(sign * total)
