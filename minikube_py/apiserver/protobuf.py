"""Decode Kubernetes protobuf request bodies into the dicts the same object's JSON would give."""

from __future__ import annotations

import base64
import logging
import struct
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from minikube_py.api.timefmt import go_duration
from minikube_py.apiserver.jsonvalues import DecodeError, decode_json
from minikube_py.apiserver.protobuf_schema import MESSAGES, Field

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

log = logging.getLogger(__name__)
# (apiVersion, kind) of a top-level object -> its message in the schema tables, or None.
MessageFor = Callable[[str, str], "str | None"]
DEFAULT_MAX_DEPTH = 100

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5
_WIRE_TYPE = {"string": _BYTES, "bytes": _BYTES, "int32": _VARINT, "int64": _VARINT,
              "bool": _VARINT, "double": _FIXED64, "float": _FIXED32}
_ZERO: dict[str, Any] = {"string": "", "bytes": "", "int32": 0, "int64": 0, "bool": False,
                         "double": 0.0, "float": 0.0}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ProtobufDecodeError(ValueError):
    """The body is not well-formed Kubernetes protobuf (the client's fault: 400)."""


class UnsupportedKindError(Exception):
    """A well-formed envelope around a kind we have no message table for (415)."""

    def __init__(self, api_version: str, kind: str) -> None:
        super().__init__(f"protobuf bodies of kind {kind!r} ({api_version or 'no apiVersion'}) "
                         "are not supported; send application/json")
        self.api_version, self.kind = api_version, kind


class _Limits:
    """What one decode may do: which kinds it knows, and how deep messages may nest."""

    __slots__ = ("depth", "message_for")

    def __init__(self, message_for: MessageFor, depth: int) -> None:
        self.message_for = message_for
        self.depth = depth


def decode_object(data: bytes, message_for: MessageFor, *,
                  max_depth: int = DEFAULT_MAX_DEPTH) -> dict[str, Any]:
    """Decode `k8s\\0` + runtime.Unknown{typeMeta, raw, contentEncoding, contentType}."""
    return _decode_object(data, _Limits(message_for, max_depth))


def _decode_object(data: bytes, limits: _Limits) -> dict[str, Any]:
    if not data.startswith(MAGIC):
        raise ProtobufDecodeError("the body does not start with the Kubernetes protobuf prefix")
    api_version = kind = ""
    raw = b""
    for number, wire, value in iter_fields(data[len(MAGIC):]):
        if number == 1:
            type_meta = _message_fields(number, wire, value)
            api_version = _string(type_meta.get(1, b""))
            kind = _string(type_meta.get(2, b""))
        elif number == 2:
            raw = _expect_bytes(number, wire, value)
        elif number == 3 and _expect_bytes(number, wire, value):
            raise ProtobufDecodeError(f"unsupported content encoding {_string(value)!r}")
    message = "meta.DeleteOptions" if kind == "DeleteOptions" else \
        limits.message_for(api_version, kind)  # DeleteOptions: in every group version
    if message is None:
        raise UnsupportedKindError(api_version, kind)
    return {"apiVersion": api_version, "kind": kind, **_decode_message(raw, message, limits)}


def decode_message(data: bytes, message: str, *,
                   max_depth: int = DEFAULT_MAX_DEPTH) -> dict[str, Any]:
    """One message of the schema tables (no envelope)."""
    return _decode_message(data, message, _Limits(lambda _v, _k: None, max_depth))


def _decode_message(data: bytes, message: str, limits: _Limits) -> dict[str, Any]:
    if limits.depth <= 0:
        raise ProtobufDecodeError("messages nest too deeply")
    limits.depth -= 1
    try:
        return _message_body(data, message, limits)
    finally:
        limits.depth += 1


def _message_body(data: bytes, message: str, limits: _Limits) -> dict[str, Any]:
    fields = MESSAGES[message]
    out: dict[str, Any] = {}
    for number, wire, value in iter_fields(data):
        field = fields.get(number)
        if field is None:
            log.debug("skipping unknown protobuf field %d of %s", number, message)
            continue
        try:
            _set_field(out, field, wire, value, limits)
        except ProtobufDecodeError as e:
            raise ProtobufDecodeError(f"{message}.{field.json or field.type}: {e}") from None
    return out


def _set_field(out: dict[str, Any], field: Field, wire: int, value: int | bytes,
               limits: _Limits) -> None:
    if field.label == "[]":
        items = out.setdefault(field.json, [])
        if wire == _BYTES and _WIRE_TYPE.get(field.type, _BYTES) != _BYTES:
            items.extend(_unpack(field.type, _expect_bytes(0, wire, value)))
        else:
            items.append(_decode_value(field.type, wire, value, limits))
    elif field.label == "map":
        key, item = _decode_map_entry(field.type, _expect_bytes(0, wire, value), limits)
        out.setdefault(field.json, {})[key] = item
    elif not field.json:
        out.update(_decode_value(field.type, wire, value, limits))
    else:
        decoded = _decode_value(field.type, wire, value, limits)
        if decoded is None or (not field.keep_zero and decoded == _ZERO.get(field.type, ...)):
            out.pop(field.json, None)
        else:
            out[field.json] = decoded


def _decode_value(type_: str, wire: int, value: int | bytes, limits: _Limits) -> Any:
    expected = _WIRE_TYPE.get(type_, _BYTES)
    if wire != expected:
        raise ProtobufDecodeError(f"wire type {wire} where {type_} needs {expected}")
    if isinstance(value, int):
        return _decode_number(type_, value)
    if type_ == "string":
        return _string(value)
    if type_ == "bytes":
        return base64.b64encode(value).decode("ascii")
    if type_ == "RawExtension":
        return _raw_extension(value, limits)
    builtin = _BUILTINS.get(type_)
    if builtin is not None:
        return builtin(value)
    return _decode_message(value, type_, limits)


def _decode_number(type_: str, value: int) -> Any:
    if type_ == "bool":
        return value != 0
    if type_ == "double":
        return struct.unpack("<d", value.to_bytes(8, "little"))[0]
    if type_ == "float":
        return struct.unpack("<f", value.to_bytes(4, "little"))[0]
    value &= (1 << 64) - 1  # int32 negatives are sign-extended to ten bytes on the wire
    return value - (1 << 64) if value >= 1 << 63 else value


def _unpack(type_: str, data: bytes) -> list[Any]:
    """Repeated scalars in packed form (proto3 style); Kubernetes itself writes them unpacked."""
    wire, out, pos = _WIRE_TYPE[type_], [], 0
    while pos < len(data):
        value, pos = _read_scalar(data, pos, wire)
        assert isinstance(value, int)  # only numeric wire types are packable
        out.append(_decode_number(type_, value))
    return out


def _decode_map_entry(type_: str, data: bytes, limits: _Limits) -> tuple[str, Any]:
    key, value = "", None
    for number, wire, raw in iter_fields(data):
        if number == 1:
            key = _decode_value("string", wire, raw, limits)
        elif number == 2:
            value = _decode_value(type_, wire, raw, limits)
    if value is None:  # an absent value is the type's zero value
        value = _ZERO[type_] if type_ in _ZERO else _decode_value(type_, _BYTES, b"", limits)
    return key, value


# Builtins: types whose JSON form is not a plain object of their protobuf fields.

def _time(data: bytes) -> str | None:
    fields = _scalar_fields(data)
    if not data:
        return None  # the zero time, which Go writes as JSON null
    # metav1.Time drops nanoseconds when decoding protobuf: its JSON has whole seconds only.
    return _instant(fields.get(1, 0), 0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _micro_time(data: bytes) -> str | None:
    fields = _scalar_fields(data)
    if not data:
        return None
    nanos = _decode_number("int32", fields.get(2, 0))
    return _instant(fields.get(1, 0), nanos // 1000).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _instant(seconds: int, micros: int) -> datetime:
    try:
        return _EPOCH + timedelta(seconds=_decode_number("int64", seconds), microseconds=micros)
    except OverflowError:
        raise ProtobufDecodeError(f"timestamp {seconds} is out of range") from None


def _duration(data: bytes) -> str:
    """metav1.Duration (`int64 duration = 1`, nanoseconds): its JSON is Go's text."""
    return go_duration(_decode_number("int64", _scalar_fields(data).get(1, 0)) / 1e9)


def _quantity(data: bytes) -> str:
    return _string(_bytes_fields(data).get(1, b"")) or "0"


def _int_or_string(data: bytes) -> int | str:
    fields = _message_fields(0, _BYTES, data)
    if fields.get(1, 0) == 1:
        return _string(_expect_bytes(3, _BYTES, fields.get(3, b"")))
    int_val = fields.get(2, 0)
    if not isinstance(int_val, int):
        raise ProtobufDecodeError("IntOrString.intVal is not a varint")
    return int(_decode_number("int32", int_val))


def _raw_extension(data: bytes, limits: _Limits) -> Any:
    raw = _bytes_fields(data).get(1, b"")
    if not raw:
        return None
    if raw.startswith(MAGIC):
        limits.depth -= 1
        try:
            if limits.depth <= 0:
                raise ProtobufDecodeError("messages nest too deeply")
            return _decode_object(raw, limits)
        finally:
            limits.depth += 1
    return _json(raw)


def _fields_v1(data: bytes) -> Any:
    return _json(_bytes_fields(data).get(1, b"{}"))


def _extra_value(data: bytes) -> list[str]:
    """authentication's and authorization's ExtraValue (`repeated string items = 1`): its
    JSON form is the bare list."""
    return [_string(_expect_bytes(1, wire, raw)) for number, wire, raw in iter_fields(data)
            if number == 1]


_BUILTINS = {"Time": _time, "MicroTime": _micro_time, "Duration": _duration,
             "Quantity": _quantity,
             "IntOrString": _int_or_string, "FieldsV1": _fields_v1,
             "ExtraValue": _extra_value}


# The wire format.

def iter_fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) for each field; value is an int or the bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufDecodeError("field number 0")
        value, pos = _read_scalar(data, pos, wire)
        yield number, wire, value


def _read_scalar(data: bytes, pos: int, wire: int) -> tuple[int | bytes, int]:
    if wire == _VARINT:
        return _varint(data, pos)
    size = {_FIXED64: 8, _FIXED32: 4}.get(wire)
    if size is not None:
        end = pos + size
        if end > len(data):
            raise ProtobufDecodeError("truncated fixed-width field")
        return int.from_bytes(data[pos:end], "little"), end
    if wire == _BYTES:
        length, pos = _varint(data, pos)
        if pos + length > len(data):
            raise ProtobufDecodeError("truncated length-delimited field")
        return data[pos:pos + length], pos + length
    raise ProtobufDecodeError(f"unsupported wire type {wire}")


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while pos < len(data) and shift < 70:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    raise ProtobufDecodeError("truncated or overlong varint")


def _message_fields(number: int, wire: int, value: int | bytes) -> dict[int, int | bytes]:
    """A small message's fields by number, the last occurrence winning."""
    return {n: v for n, _, v in iter_fields(_expect_bytes(number, wire, value))}


def _bytes_fields(data: bytes) -> dict[int, bytes]:
    return {n: v for n, _, v in iter_fields(data) if isinstance(v, bytes)}


def _scalar_fields(data: bytes) -> dict[int, int]:
    return {n: v for n, _, v in iter_fields(data) if isinstance(v, int)}


def _expect_bytes(number: int, wire: int, value: int | bytes) -> bytes:
    if wire != _BYTES or not isinstance(value, bytes):
        raise ProtobufDecodeError(f"field {number} should be length-delimited")
    return value


def _string(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise ProtobufDecodeError("a string field is not length-delimited")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtobufDecodeError("a string field is not valid UTF-8") from None


def _json(raw: bytes) -> Any:
    try:  # the JSON rules (depth, numbers, surrogates) hold inside protobuf too
        return decode_json(raw)
    except DecodeError as e:
        raise ProtobufDecodeError(f"embedded raw object is not JSON: {e}") from None
