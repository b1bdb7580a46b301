"""JSON type checks against the kind's schema: the 400 kube's Go decoder gives for wrong types.

kube-apiserver decodes every body into typed structs before defaulting, admission and
validation see it, so `"containers": "x"` never reaches them: it is a 400 "cannot be handled
as a Pod". Doing the same here lets the later steps trust the shapes they walk.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from minikube_py.api.quantity import QUANTITY_MESSAGE, is_quantity
from minikube_py.apiserver.jsonvalues import MAX_DEPTH, DecodeError, check_depth
from minikube_py.apiserver.protobuf_schema import MESSAGES, ZERO_ENCODED, Field, json_fields

_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_GO_SCALARS = {"double": "float64", "float": "float32", "bytes": "[]uint8"}
_TYPE_META = frozenset({"apiVersion", "kind"})
_ZERO_ELEMENT: dict[str, Any] = {"string": "", "bytes": "", "Quantity": "0", "int32": 0,
                                 "int64": 0, "double": 0.0, "float": 0.0, "bool": False}
_ZERO_FIELD: dict[str, Any] = {"string": "", "int32": 0, "int64": 0, "bool": False,
                               "IntOrString": 0}
# Go's time.Parse(time.RFC3339): fractional seconds allowed, a Z or a numeric offset.
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?"
                      r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)\Z")
_GO_BUILTINS = {"Quantity": "resource.Quantity", "IntOrString": "intstr.IntOrString",
                "Time": "v1.Time", "MicroTime": "v1.MicroTime", "Duration": "v1.Duration",
                "ExtraValue": "v1.ExtraValue"}


class JsonTypeError(Exception):
    """A value Go's encoding/json would refuse for its field (message in Go's words)."""


@functools.cache
def _fields(message: str) -> dict[str, Field]:
    """JSON name -> field, with inlined structs' fields merged in."""
    return json_fields(MESSAGES, message)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _go_type(type_: str) -> str:
    if type_ in MESSAGES:
        return "v1." + type_.split(".", 1)[1]
    return _GO_BUILTINS.get(type_) or _GO_SCALARS.get(type_, type_)


class _Walk:
    """One pass over an object along its schema: Go's type errors, unknown fields (pruned
    and recorded), nulls (a null field is absent; a null element is its zero value), and
    how deep free-form values (RawExtension, FieldsV1) nest."""

    def __init__(self) -> None:
        self.struct = ""
        self.path: list[str] = []  # Go's field path, for type errors
        self.where: list[str] = []  # kube's path with indices, for unknown fields
        self.unknown: list[str] = []

    def fail(self, value: Any, go_type: str) -> JsonTypeError:
        what = _json_kind(value)
        if what == "number" and go_type in _INT_RANGES:
            what = f"number {value}"
        return JsonTypeError(f"json: cannot unmarshal {what} into Go struct field "
                             f"{self.struct}.{'.'.join(self.path)} of type {go_type}")

    def message(self, obj: dict[str, Any], message: str) -> None:
        struct = message.split(".", 1)[1]
        fields = _fields(message)
        for key, value in list(obj.items()):
            field = fields.get(key)
            if field is None:
                if key not in _TYPE_META:
                    self.unknown.append(".".join([*self.where, key]))
                    del obj[key]
                continue
            if value is None:
                del obj[key]  # what Go makes of a null field: nil, left out when encoded
                continue
            self.path.append(key)
            self.where.append(key)
            self.struct = struct
            self.field(value, field)
            self.path.pop()
            self.where.pop()
            self.struct = struct
        for key in ZERO_ENCODED.get(message, ()):
            if key not in obj:
                obj[key] = _zero_field(fields[key])


    def field(self, value: Any, field: Field) -> None:
        if field.label == "[]":
            if not isinstance(value, list):
                raise self.fail(value, "[]" + _go_type(field.type))
            last = self.where[-1]
            for i, item in enumerate(value):
                self.where[-1] = f"{last}[{i}]"
                value[i] = self.element(item, field.type)
            self.where[-1] = last
        elif field.label == "map":
            if not isinstance(value, dict):
                raise self.fail(value, "map[string]" + _go_type(field.type))
            for k, item in value.items():
                self.where.append(k)
                value[k] = self.element(item, field.type)
                self.where.pop()
        else:
            self.element(value, field.type)

    def element(self, value: Any, type_: str) -> Any:
        """Check one value; returns what a null element decodes to (the zero value)."""
        if value is None:
            return _zero_struct(type_) if type_ in MESSAGES else _ZERO_ELEMENT.get(type_, value)
        if type_ in MESSAGES:
            if not isinstance(value, dict):
                raise self.fail(value, _go_type(type_))
            self.message(value, type_)
        elif type_ in _INT_RANGES:
            lo, hi = _INT_RANGES[type_]
            if not (isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi):
                raise self.fail(value, type_)
        elif type_ in ("double", "float"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(value, _go_type(type_))
        elif type_ == "bool":
            if not isinstance(value, bool):
                raise self.fail(value, "bool")
        elif type_ == "string":
            if not isinstance(value, str):
                raise self.fail(value, _go_type(type_))
        elif type_ in ("Time", "MicroTime"):
            if not isinstance(value, str):
                raise self.fail(value, _go_type(type_))
            _check_time(value)
        elif type_ == "Duration":  # time.ParseDuration of a string
            if not isinstance(value, str):
                raise self.fail(value, _go_type(type_))
        elif type_ == "bytes":
            _check_base64(value, self)
        elif type_ == "IntOrString":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise self.fail(value, _go_type(type_))
        elif type_ == "Quantity":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise self.fail(value, _go_type(type_))
            if not is_quantity(value):  # resource.Quantity's UnmarshalJSON parses it
                raise JsonTypeError(QUANTITY_MESSAGE)
        elif type_ == "ExtraValue":  # a []string
            if not isinstance(value, list):
                raise self.fail(value, _go_type(type_))
            for i, item in enumerate(value):
                if item is None:
                    value[i] = ""
                elif not isinstance(item, str):
                    raise self.fail(item, "string")
        else:  # RawExtension and FieldsV1 hold any JSON, within the depth limit
            try:
                check_depth(value, MAX_DEPTH - len(self.where))
            except DecodeError as e:
                raise JsonTypeError(str(e)) from None
        return value


def _zero_field(field: Field) -> Any:
    """What Go's encoder writes for a field that holds its zero value (a new struct holds
    its own always-encoded fields)."""
    if field.label == "[]":
        return []
    if field.label == "map":
        return {}
    if field.type in MESSAGES:
        return _zero_struct(field.type)
    return _ZERO_FIELD.get(field.type, "")


def _zero_struct(message: str) -> dict[str, Any]:
    """A zero-valued struct as Go encodes it: its always-encoded fields and nothing else."""
    return {key: _zero_field(_fields(message)[key]) for key in ZERO_ENCODED.get(message, ())}


@functools.lru_cache(maxsize=4096)
def _is_time(value: str) -> bool:
    try:
        _check_time(value)
    except JsonTypeError:
        return False
    return True


def _check_time(value: str) -> None:
    """metav1.Time and MicroTime decode with time.Parse(RFC3339): a valid date and time."""
    match = _RFC3339.match(value)
    if match is not None:
        try:
            year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
            datetime(year, month, day, hour, minute, second)  # e.g. no February 30th
        except ValueError:
            match = None
    if match is None:
        raise JsonTypeError(f'parsing time "{value[:64]}" as "2006-01-02T15:04:05Z07:00": '
                            "cannot parse it as RFC 3339")


def _check_base64(value: Any, walk: _Walk) -> None:
    if not isinstance(value, str):
        raise walk.fail(value, "[]uint8")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
        at = next((i for i, ch in enumerate(value) if ch not in alphabet), len(value) // 4 * 4)
        raise JsonTypeError(f"illegal base64 data at input byte {at}") from None


@dataclass(slots=True)
class Typed:
    """What the typed pass found: Go's error for the first wrongly typed field, and the
    unknown fields it dropped (kube's paths, e.g. "spec.containers[0].imagee")."""

    error: str | None
    unknown: list[str]


# --- the fast path: a clean object (the common case) passes without any bookkeeping ---------

_I32, _I64 = _INT_RANGES["int32"], _INT_RANGES["int64"]


def _clean_scalar(value: Any, type_: str) -> bool:
    kind = type(value)
    if type_ == "string":
        return kind is str
    if type_ == "int64" or type_ == "int32":
        lo, hi = _I64 if type_ == "int64" else _I32
        return kind is int and lo <= value <= hi
    if type_ == "bool":
        return kind is bool
    if type_ == "Quantity":
        return (kind is str or kind is int or kind is float) and is_quantity(value)
    if type_ == "IntOrString":
        return kind is str or kind is int
    if type_ == "Time" or type_ == "MicroTime":
        return kind is str and _is_time(value)
    if type_ == "Duration":
        return kind is str
    if type_ == "double" or type_ == "float":
        return kind is int or kind is float
    return False  # bytes and free-form values: the full walk checks them


def _clean_value(value: Any, type_: str) -> bool:
    if type(value) is dict:
        return type_ in MESSAGES and _clean(value, type_)
    return _clean_scalar(value, type_)


def _clean(obj: dict[str, Any], message: str) -> bool:
    """Whether `obj` needs nothing of the full walk: every field known, typed right, not
    null, the always-encoded ones there. Anything else (an error to report, a field to
    drop or fill, a null) answers False."""
    fields = _fields(message)
    for key in ZERO_ENCODED.get(message, ()):
        if key not in obj:
            return False
    for key, value in obj.items():
        field = fields.get(key)
        if field is None:
            if key in _TYPE_META:
                continue
            return False
        if value is None:
            return False
        label, type_ = field.label, field.type
        if not label:
            if not _clean_value(value, type_):
                return False
        elif label == "[]":
            if type(value) is not list:
                return False
            for item in value:
                if not _clean_value(item, type_):
                    return False
        else:
            if type(value) is not dict:
                return False
            for item in value.values():
                if not _clean_value(item, type_):
                    return False
    return True


def type_object(schema: str, obj: dict[str, Any]) -> Typed:
    """Walk `obj` (in place) along `schema`, a message of the schema tables."""
    if _clean(obj, schema):
        return Typed(None, [])
    walk = _Walk()
    try:
        walk.message(obj, schema)
    except JsonTypeError as e:
        return Typed(str(e), walk.unknown)
    return Typed(None, walk.unknown)
