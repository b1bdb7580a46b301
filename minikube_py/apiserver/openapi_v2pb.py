"""The v2 swagger document in protobuf (gnostic's openapi_v2.Document), which client-go asks for.

client-go's OpenAPISchema() accepts only application/com.github.proto-openapi.spec.v2@v1.0+protobuf.
The encoder covers what our documents hold: info, paths (operations, query, path and body
parameters, responses), definitions (schemas with refs, types, properties, items, maps,
allOf, required, enums, defaults, the common validations) and x- vendor extensions, which
gnostic keeps as YAML text (JSON is YAML, so they are their JSON).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterable
from typing import Any

Obj = dict[str, Any]
MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
# What kube answers it with: "@" is no token character, and Go's mime parser refuses it.
CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative numbers as two's complement, as protobuf's int64
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _bytes_field(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _string(number: int, value: Any) -> bytes:
    return _bytes_field(number, str(value).encode()) if value not in (None, "") else b""


def _strings(number: int, values: Iterable[Any]) -> bytes:
    return b"".join(_bytes_field(number, str(v).encode()) for v in values)


def _bool(number: int, value: Any) -> bytes:
    return _varint(number << 3) + b"\x01" if value is True else b""


def _int(number: int, value: Any) -> bytes:
    return _varint(number << 3) + _varint(int(value)) if isinstance(value, int) and value \
        else b""


def _double(number: int, value: Any) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int | float) or value == 0:
        return b""
    return _varint(number << 3 | 1) + struct.pack("<d", float(value))


def _message(number: int, data: bytes) -> bytes:
    return _bytes_field(number, data)


def _any(value: Any) -> bytes:
    """gnostic's Any: the value as YAML text (field 2)."""
    return _string(2, json.dumps(value))


def _named(number: int, items: Iterable[tuple[str, bytes]]) -> bytes:
    """A map as gnostic writes it: repeated Named* {name = 1, value = 2}."""
    return b"".join(_message(number, _string(1, name) + _message(2, value))
                    for name, value in items)


def _extensions(number: int, obj: Obj) -> bytes:
    return _named(number, ((k, _any(v)) for k, v in obj.items() if k.startswith("x-")))


# Schema: JSON key -> (field number, encoder of one value).
_SCHEMA_SCALARS: dict[str, tuple[int, Callable[[int, Any], bytes]]] = {
    "$ref": (1, _string), "format": (2, _string), "title": (3, _string),
    "description": (4, _string), "multipleOf": (6, _double), "maximum": (7, _double),
    "exclusiveMaximum": (8, _bool), "minimum": (9, _double), "exclusiveMinimum": (10, _bool),
    "maxLength": (11, _int), "minLength": (12, _int), "pattern": (13, _string),
    "maxItems": (14, _int), "minItems": (15, _int), "uniqueItems": (16, _bool),
    "maxProperties": (17, _int), "minProperties": (18, _int), "discriminator": (26, _string),
    "readOnly": (27, _bool),
}


def encode_schema(schema: Obj) -> bytes:
    out = bytearray()
    for key, (number, encode) in _SCHEMA_SCALARS.items():
        if key in schema:
            out += encode(number, schema[key])
    if "default" in schema:
        out += _message(5, _any(schema["default"]))
    out += _strings(19, schema.get("required") or ())
    for value in schema.get("enum") or ():
        out += _message(20, _any(value))
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        out += _message(21, _message(1, encode_schema(extra)))
    elif isinstance(extra, bool):
        out += _message(21, _varint(2 << 3) + _varint(int(extra)))
    types = schema.get("type")
    if types:
        out += _message(22, _strings(1, types if isinstance(types, list) else [types]))
    items = schema.get("items")
    if isinstance(items, dict):
        out += _message(23, _message(1, encode_schema(items)))
    for part in schema.get("allOf") or ():
        out += _message(24, encode_schema(part))
    props = schema.get("properties")
    if isinstance(props, dict):
        out += _message(25, _named(1, ((k, encode_schema(v)) for k, v in props.items())))
    if "example" in schema:
        out += _message(30, _any(schema["example"]))
    out += _extensions(31, schema)
    return bytes(out)


def _parameter(p: Obj) -> bytes:
    """A ParametersItem: a body parameter, or a query or path one."""
    if p.get("in") == "body":
        body = (_string(1, p.get("description")) + _string(2, p["name"]) + _string(3, "body")
                + _bool(4, p.get("required")) + _message(5, encode_schema(p.get("schema", {}))))
        return _message(1, _message(1, body))
    where = p.get("in")
    common = (_bool(1, p.get("required")) + _string(2, where) + _string(3, p.get("description"))
              + _string(4, p["name"]))
    if where == "path":  # PathParameterSubSchema
        sub = common + _string(5, p.get("type")) + _string(6, p.get("format")) + \
            _bool(19, p.get("uniqueItems"))
        return _message(1, _message(2, _message(4, sub)))
    sub = common + _string(6, p.get("type")) + _string(7, p.get("format")) + \
        _bool(20, p.get("uniqueItems"))  # QueryParameterSubSchema
    return _message(1, _message(2, _message(3, sub)))


def _response(r: Obj) -> bytes:
    body = _string(1, r.get("description"))
    if isinstance(r.get("schema"), dict):
        body += _message(2, _message(1, encode_schema(r["schema"])))
    return _message(1, body)  # ResponseValue.response


def _operation(op: Obj) -> bytes:
    out = bytearray(_strings(1, op.get("tags") or ()))
    out += _string(2, op.get("summary")) + _string(3, op.get("description"))
    out += _string(5, op.get("operationId"))
    out += _strings(6, op.get("produces") or ()) + _strings(7, op.get("consumes") or ())
    for p in op.get("parameters") or ():
        out += _message(8, _parameter(p))
    responses = _named(1, ((code, _response(r)) for code, r in
                           (op.get("responses") or {}).items()))
    out += _message(9, responses)
    out += _strings(10, op.get("schemes") or ())
    out += _extensions(13, op)
    return bytes(out)


_METHODS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def _path_item(item: Obj) -> bytes:
    out = bytearray()
    for method, number in _METHODS.items():
        if method in item:
            out += _message(number, _operation(item[method]))
    for p in item.get("parameters") or ():
        out += _message(9, _parameter(p))
    out += _extensions(10, item)
    return bytes(out)


def encode_document(doc: Obj) -> bytes:
    """A swagger 2.0 document (as openapi.py builds it) as gnostic's Document."""
    info = doc.get("info") or {}
    out = bytearray(_string(1, doc.get("swagger", "2.0")))
    out += _message(2, _string(1, info.get("title")) + _string(2, info.get("version")))
    paths = _named(2, ((p, _path_item(item)) for p, item in (doc.get("paths") or {}).items()))
    out += _message(8, paths)
    definitions = _named(1, ((n, encode_schema(s)) for n, s in
                             (doc.get("definitions") or {}).items()))
    out += _message(9, definitions)
    out += _extensions(16, doc)
    return bytes(out)
