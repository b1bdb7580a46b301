"""Hypothesis strategies for JSON values: hostile scalars, values typed along a kind's schema
(so they get past decoding into defaulting and validation), and mutations of an object."""

from __future__ import annotations

import ast
import functools
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from minikube_py.apiserver.protobuf_schema import MESSAGES, Field

Obj = dict[str, Any]
JSON = Any
Path_ = tuple[str | int, ...]

_KINDS_DIR = Path(__file__).resolve().parents[2] / "minikube_py" / "apiserver" / "kinds"


@functools.cache
def vocabulary() -> tuple[str, ...]:
    """The short string constants of the kinds' modules ("Always", "TCP", "ClusterIP", ...):
    values the strategies compare against, so generated objects reach their branches."""
    words: set[str] = set()
    for path in sorted(_KINDS_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    0 < len(node.value) <= 40 and " " not in node.value:
                words.add(node.value)
    return tuple(sorted(words))


NAMES = st.sampled_from(["a", "c", "web", "web-1", "x.y", "app", "fuzz", "default", "kube-system"])
TIMES = st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.123456Z",
                         "2024-02-30T00:00:00Z", "2024-01-01T00:00:00+01:00", "2024-01-01", "0001-01-01T00:00:00Z",
                         "yesterday", "", "9999-12-31T23:59:59Z", "2024-01-01T25:00:00Z",
                         "2024-01-01t00:00:00z"])
QUANTITIES = st.one_of(
    st.sampled_from(["100m", "1", "0", "1Gi", "64Mi", "2e3", "1.5", "-1", ".5", "1Ki", "5E",
                     "1e999999999", "9" * 60 + "Ei", "0.000000001n", "1 Gi", "abc", "", "1.",
                     "+1", "1e-999999999", "8Zi"]),
    st.integers(-10, 10**6), st.floats(allow_nan=False, allow_infinity=False, width=32))
# Lone surrogates get half the draws: the decoder must make them U+FFFD, or nothing that
# stores them can be written out as UTF-8 again.
SURROGATES = st.sampled_from(["\ud800", "a\udfffb", "\udc00\ud800", "x\ud83d"])
HOSTILE_STRINGS = SURROGATES | st.sampled_from([
    "\x00", "\u202e", "é", "日本", "../..", "%2F", "a/b", "a b", "-",
    ".", "..", "x" * 300, "A", "😀", "\n", "{", "$patch", "null", "true", "1", "*", "@",
    "a=b", "a,b", "!a", "(", "~0~1", "/"])
SMALL_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
STRINGS = st.one_of(NAMES, st.sampled_from(vocabulary()), HOSTILE_STRINGS, SMALL_TEXT,
                    TIMES, QUANTITIES.filter(lambda q: isinstance(q, str)))
BOUNDARY_INTS = st.sampled_from([0, 1, -1, 2, 3, 30, 80, 65535, 65536, 2**31 - 1, 2**31,
                                 -(2**31), -(2**31) - 1, 2**53, 2**63 - 1, 2**63, 2**64 - 1,
                                 -(2**63), 10**20])
INTS = st.one_of(st.integers(-3, 100), BOUNDARY_INTS)
FLOATS = st.one_of(st.sampled_from([0.5, 1.0, -0.0, 1e308, 1e-308, 3.5]),
                   st.floats(allow_nan=False, allow_infinity=False))
SCALARS = st.one_of(st.none(), st.booleans(), INTS, FLOATS, STRINGS)


def json_values(max_leaves: int = 8) -> st.SearchStrategy[JSON]:
    keys = st.one_of(NAMES, st.sampled_from(vocabulary()), HOSTILE_STRINGS)
    return st.recursive(SCALARS, lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=3)),
        max_leaves=max_leaves)


@st.composite
def deep(draw: st.DrawFn) -> JSON:
    """Containers nested around the depth limit (kube's decoders refuse beyond it)."""
    depth = draw(st.sampled_from([20, 60, 99, 100, 101, 150, 500]))
    value: JSON = draw(SCALARS)
    as_list = draw(st.booleans())
    for _ in range(depth):
        value = [value] if as_list else {"a": value}
    return value


# Containers are built fresh for every draw (st.just would hand out one shared instance,
# which a later mutation would change for every test case after it).
HOSTILE = st.one_of(
    st.none(), st.booleans(), BOUNDARY_INTS, FLOATS, HOSTILE_STRINGS, st.builds(dict),
    st.builds(list), st.builds(lambda: [None]), st.builds(lambda: {"": None}), deep(),
    json_values())


# --- values typed along the schema tables -------------------------------------------------

def _scalar(type_: str) -> st.SearchStrategy[JSON]:
    if type_ == "string":
        return STRINGS
    if type_ in ("int32", "int64"):
        return INTS
    if type_ == "bool":
        return st.booleans()
    if type_ in ("double", "float"):
        return st.one_of(FLOATS, INTS)
    if type_ == "bytes":
        return st.sampled_from(["", "dg==", "aGVsbG8=", "not base64!", "dg", "===="])
    if type_ in ("Time", "MicroTime"):
        return TIMES
    if type_ == "Quantity":
        return QUANTITIES
    if type_ == "IntOrString":
        return st.one_of(INTS, st.sampled_from(["http", "80", "50%", "x%", "", "101%"]),
                         STRINGS)
    return json_values(4)  # RawExtension, FieldsV1


def _field(field: Field, depth: int) -> st.SearchStrategy[JSON]:
    element = typed(field.type, depth + 1)
    if field.label == "[]":
        return st.lists(element, max_size=2 if depth < 3 else 1)
    if field.label == "map":
        return st.dictionaries(st.one_of(NAMES, STRINGS), element, max_size=2)
    return element


@functools.cache
def _inlined(message: str) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for f in MESSAGES[message].values():
        if f.json:
            out[f.json] = f
        elif f.type in MESSAGES:
            out.update(_inlined(f.type))
    return out


@functools.cache
def typed(type_: str, depth: int = 0) -> st.SearchStrategy[JSON]:
    """Values of `type_` (a message of the schema tables or a scalar) with the JSON types
    Go's decoder takes: deep enough to reach the kinds' defaulting and validation."""
    if type_ not in MESSAGES:
        return _scalar(type_)
    if depth > 5:
        return st.builds(dict)
    fields = _inlined(type_)
    optional = {name: st.deferred(lambda f=f: _field(f, depth))  # type: ignore[misc]
                for name, f in fields.items() if name != "metadata"}
    return st.fixed_dictionaries({}, optional=optional)


# --- mutations ----------------------------------------------------------------------------

def clone(value: JSON) -> JSON:
    """A deep copy that copes with nesting deeper than copy.deepcopy's recursion can."""
    return json.loads(json.dumps(value))


def paths(value: JSON, limit: int = 12) -> list[Path_]:
    """The nodes of a JSON value down to `limit` levels, the root first (iterative: the
    values include nesting far beyond Python's recursion limit)."""
    out: list[Path_] = []
    stack: list[tuple[Path_, JSON]] = [((), value)]
    while stack:
        path, node = stack.pop()
        out.append(path)
        if len(path) >= limit:
            continue
        if isinstance(node, dict):
            stack.extend(((*path, k), v) for k, v in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(node))))
    return out


def get_at(value: JSON, path: Path_) -> JSON:
    for p in path:
        value = value[p]
    return value


def set_at(value: JSON, path: Path_, new: JSON) -> JSON:
    if not path:
        return new
    get_at(value, path[:-1])[path[-1]] = new
    return value


@st.composite
def mutated(draw: st.DrawFn, obj: Obj) -> JSON:
    """`obj` with a few nodes changed: strings and numbers to hostile ones of the same type
    (which get past the typed pass to validation and storage), any node to a value of
    another type, removed, or given unknown fields."""
    out = clone(obj)
    for _ in range(draw(st.integers(1, 3))):
        nodes = paths(out)
        action = draw(st.sampled_from(["same-type", "same-type", "replace", "unknown",
                                       "remove"]))
        if action == "same-type":
            leaves = [p for p in nodes if isinstance(get_at(out, p), str | int | float)]
            if leaves:
                where = draw(st.sampled_from(leaves))
                leaf = get_at(out, where)
                out = set_at(out, where, draw(HOSTILE_STRINGS if isinstance(leaf, str)
                                              else BOUNDARY_INTS))
                continue
        where = draw(st.sampled_from(nodes[1:] or [()]))
        node = get_at(out, where)
        if action == "unknown" and isinstance(node, dict):
            node[draw(st.one_of(STRINGS, st.just("bogus")))] = draw(HOSTILE)
        elif action == "remove" and where:
            del get_at(out, where[:-1])[where[-1]]
        else:
            out = set_at(out, where, draw(HOSTILE))
        if not isinstance(out, dict):
            return out  # the whole body replaced: no longer an object
    return out
