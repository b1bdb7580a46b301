"""Label and field selectors: parsing the query-string syntax and matching objects against it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from minikube_py.api.errors import ApiError, bad_request

_OPS_LABEL = ("in", "notin", "exists", "!", "=", "==", "!=", "gt", "lt")
_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    op: str  # one of _OPS_LABEL; "exists" and "!" take no values
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.op
        if op == "exists":
            return self.key in labels
        if op == "!":
            return self.key not in labels
        if op in ("=", "==", "in"):
            return self.key in labels and labels[self.key] in self.values
        if op in ("!=", "notin"):
            return self.key not in labels or labels[self.key] not in self.values
        if self.key not in labels:
            return False
        try:
            have, want = int(labels[self.key]), int(self.values[0])
        except ValueError:
            return False
        return have > want if op == "gt" else have < want


@dataclass(frozen=True, slots=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)


def _label_error(selector: str, why: str) -> ApiError:
    return bad_request(f"unable to parse requirement: {why}" if why else
                       f"couldn't parse the selector string \"{selector}\"")


def _check_key(key: str, selector: str) -> None:
    name = key.rsplit("/", 1)[-1]
    prefix = key[: -len(name) - 1] if "/" in key else ""
    if not _NAME_RE.match(name) or len(name) > 63 or len(prefix) > 253 or (
        "/" in key and not prefix
    ):
        raise _label_error(selector, f'invalid label key "{key}": name part must consist of '
                           "alphanumeric characters, '-', '_' or '.', and must start and end "
                           "with an alphanumeric character")


def _check_value(value: str, selector: str) -> None:
    if len(value) > 63 or not _VALUE_RE.match(value):
        raise _label_error(selector, f'invalid label value: "{value}": a valid label must be an '
                           "empty string or consist of alphanumeric characters, '-', '_' or '.', "
                           "and must start and end with an alphanumeric character")


def _split_top_level(selector: str) -> list[str]:
    """Split on commas that are not inside a parenthesised value set."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


_SET_RE = re.compile(r"^\s*(\S+?)\s+(in|notin)\s*\((.*)\)\s*$")
_CMP_RE = re.compile(r"^\s*([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*?)\s*$")


def parse_label_selector(selector: str) -> LabelSelector:
    """Parse `a=b,c!=d,e in (f,g),h notin (i),j,!k,l>3` (labels.Parse in apimachinery)."""
    if not selector.strip():
        return LabelSelector()
    reqs: list[Requirement] = []
    for part in _split_top_level(selector):
        part = part.strip()
        if not part:
            raise _label_error(selector, "")
        if m := _SET_RE.match(part):
            key, op = m.group(1), m.group(2)
            values = tuple(v.strip() for v in m.group(3).split(","))
            if values == ("",):
                raise _label_error(selector, "for 'in', 'notin' operators, values set can't "
                                   "be empty")
            _check_key(key, selector)
            for v in values:
                _check_value(v, selector)
            reqs.append(Requirement(key, op, tuple(sorted(set(values)))))
        elif m := _CMP_RE.match(part):
            key, sym, value = m.group(1), m.group(2), m.group(3)
            _check_key(key, selector)
            op = {">": "gt", "<": "lt"}.get(sym, sym)
            if op in ("gt", "lt"):
                if not value.lstrip("-").isdigit():
                    raise _label_error(selector, f"for 'Gt', 'Lt' operators, the value must be "
                                       f"an integer: {value}")
            else:
                _check_value(value, selector)
            reqs.append(Requirement(key, op, (value,)))
        elif part.startswith("!"):
            key = part[1:].strip()
            _check_key(key, selector)
            reqs.append(Requirement(key, "!"))
        elif " " not in part:
            _check_key(part, selector)
            reqs.append(Requirement(part, "exists"))
        else:
            raise _label_error(selector, "")
    return LabelSelector(tuple(reqs))


def selector_from_label_selector_object(sel: Mapping[str, Any] | None) -> LabelSelector:
    """A metav1.LabelSelector ({matchLabels, matchExpressions}) as a LabelSelector."""
    if not sel:
        return LabelSelector()
    reqs = [Requirement(k, "=", (str(v),)) for k, v in (sel.get("matchLabels") or {}).items()]
    for expr in sel.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}.get(
            expr.get("operator", ""), "")
        if not op:
            raise bad_request(f"{expr.get('operator')!r} is not a valid label selector operator")
        reqs.append(Requirement(expr.get("key", ""), op, tuple(expr.get("values") or ())))
    return LabelSelector(tuple(reqs))


# --- field selectors -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    field: str
    value: str
    negate: bool


@dataclass(frozen=True, slots=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, fields: Mapping[str, str]) -> bool:
        for r in self.requirements:
            if (fields.get(r.field, "") == r.value) == r.negate:
                return False
        return True

    def exact(self, field: str) -> str | None:
        """The value this selector pins `field` to with `=`, if any (used for cheap indexing)."""
        for r in self.requirements:
            if r.field == field and not r.negate:
                return r.value
        return None


def _split_unescaped(s: str, sep: str) -> list[str]:
    out, cur, i = [], [], 0
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s):
            cur.append(s[i : i + 2])
            i += 2
            continue
        if ch == sep:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur))
    return out


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def parse_field_selector(selector: str) -> FieldSelector:
    """Parse `a=b,c!=d,e==f` (fields.ParseSelector), honouring `\\,` and `\\=` escapes."""
    if not selector.strip():
        return FieldSelector()
    reqs = []
    for part in _split_unescaped(selector, ","):
        if not part:
            continue
        m = re.match(r"^((?:[^\\=!]|\\.)*)(!=|==|=)(.*)$", part)
        if not m:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{part}'")
        reqs.append(FieldRequirement(_unescape(m.group(1).strip()), _unescape(m.group(3)),
                                     m.group(2) == "!="))
    return FieldSelector(tuple(reqs))


# --- which fields each resource can be selected on (the registries' GetAttrs) -----------

FieldsFunc = Callable[[Mapping[str, Any]], dict[str, str]]


def _s(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def object_fields(obj: Mapping[str, Any], extra: FieldsFunc | None) -> dict[str, str]:
    """The selectable fields of `obj`: name and namespace, and whatever its kind adds."""
    meta = obj.get("metadata") or {}
    fields = {"metadata.name": _s(meta.get("name")), "metadata.namespace": _s(meta.get("namespace"))}
    if extra is not None:
        fields.update(extra(obj))
    return fields


def supported_fields(extra: FieldsFunc | None) -> frozenset[str]:
    return frozenset(object_fields({}, extra))


def check_field_selector(selector: FieldSelector, extra: FieldsFunc | None) -> None:
    allowed = supported_fields(extra)
    for r in selector.requirements:
        if r.field not in allowed:
            raise bad_request(f"field label not supported: {r.field}")


@dataclass(frozen=True, slots=True)
class ObjectFilter:
    """A label selector and a field selector bound to one resource type."""

    labels: LabelSelector
    fields: FieldSelector
    extra: FieldsFunc | None = None  # the kind's own selectable fields

    @property
    def empty(self) -> bool:
        return self.labels.empty and self.fields.empty

    def matches(self, obj: Mapping[str, Any]) -> bool:
        if not self.labels.empty and not self.labels.matches(
                (obj.get("metadata") or {}).get("labels")):
            return False
        if not self.fields.empty and not self.fields.matches(
                object_fields(obj, self.extra)):
            return False
        return True


def build_filter(label_selector: str, field_selector: str,
                 extra: FieldsFunc | None = None) -> ObjectFilter:
    """The selectors of a list or watch; `extra` gives the kind's own selectable fields."""
    fs = parse_field_selector(field_selector)
    check_field_selector(fs, extra)
    return ObjectFilter(parse_label_selector(label_selector), fs, extra)
