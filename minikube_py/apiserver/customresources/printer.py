"""A custom resource's Table: Name, then the version's additionalPrinterColumns (or Age when
it has none), each cell read by the column's JSONPath (kube's crd tableconvertor)."""

from __future__ import annotations

import json
import re
from typing import Any

from minikube_py.apiserver.kinds.base import Obj, Printer
from minikube_py.apiserver.tables_format import NAME_DESC, Row, column, name, since

_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
        "description": "CreationTimestamp is a timestamp representing the server time when "
                       "this object was created. It is not guaranteed to be set in "
                       "happens-before order across separate operations. Clients may not set "
                       "this value. It is represented in RFC3339 form and is in UTC.",
        "priority": 0, "format": ""}
# One step of a column's JSONPath: .field, [index] or [*], [?(@.key=="value")].
_STEP = re.compile(r"""\.([^.\[\]]+)"""
                   r"""|\[(\d+|\*)\]"""
                   r"""|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*["']([^"']*)["']\)\]""")


class JsonPathError(ValueError):
    pass


def parse_path(path: str) -> list[tuple[str, Any]]:
    """The steps of a printer column's JSONPath: fields, indices, [*] and
    [?(@.key=="value")] filters; anything else is a JsonPathError."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    steps: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None:
            raise JsonPathError(f"unsupported JSONPath {path!r} at {text[pos:]!r}")
        if m.group(1) is not None:
            steps.append(("field", m.group(1)))
        elif m.group(2) is not None:
            steps.append(("all", None) if m.group(2) == "*" else ("index", int(m.group(2))))
        else:
            steps.append(("filter", (m.group(3).split("."), m.group(4))))
        pos = m.end()
    return steps


def _get(value: Any, keys: list[str]) -> Any:
    for k in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(k)
    return value


def evaluate(steps: list[tuple[str, Any]], obj: Any) -> list[Any]:
    values = [obj]
    for kind, arg in steps:
        out: list[Any] = []
        for v in values:
            if kind == "field" and isinstance(v, dict) and arg in v:
                out.append(v[arg])
            elif kind == "index" and isinstance(v, list) and -len(v) <= arg < len(v):
                out.append(v[arg])
            elif kind == "all" and isinstance(v, list):
                out.extend(v)
            elif kind == "filter" and isinstance(v, list):
                keys, want = arg
                out.extend(item for item in v if str(_get(item, keys)) == want)
        values = out
    return values


def _cell(values: list[Any], col: Obj, now: float) -> Any:
    if not values:
        return None
    if len(values) > 1:
        return ",".join(v if isinstance(v, str) else json.dumps(v) for v in values)
    value = values[0]
    if col.get("type") == "date" and isinstance(value, str):
        return since(value, now)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


def custom_printer(columns: list[Obj]) -> Printer:
    cols = columns or [_AGE]
    paths = []
    for col in cols:
        try:
            paths.append(parse_path(str(col.get("jsonPath") or "")))
        except JsonPathError:
            paths.append([])  # kube leaves a column it cannot evaluate empty
    definitions = [column("Name", NAME_DESC, fmt="name")] + [
        column(str(c.get("name") or ""), str(c.get("description") or ""),
               priority=int(c.get("priority") or 0), fmt=str(c.get("format") or ""),
               typ=str(c.get("type") or "string")) for c in cols]

    def row(obj: Obj, now: float) -> Row:
        return [name(obj)] + [_cell(evaluate(p, obj) if p else [], c, now)
                              for p, c in zip(paths, cols, strict=True)]

    return Printer(definitions, row)
