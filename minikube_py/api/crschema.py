"""A CustomResourceDefinition's openAPIV3Schema: whether it is structural, and what it does to a
custom resource (prune unknown fields, fill defaults, validate), with kube's field paths and
messages (apiextensions-apiserver's pkg/apiserver/schema and kube-openapi's validate).

Pure functions of JSON values; the schema is the CRD's own JSON (a JSONSchemaProps as a dict).
"""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.validation import forbidden, invalid_value, not_supported, required

Schema = dict[str, Any]
PRESERVE = "x-kubernetes-preserve-unknown-fields"
EMBEDDED = "x-kubernetes-embedded-resource"
INT_OR_STRING = "x-kubernetes-int-or-string"
_TYPES = ("object", "array", "string", "integer", "number", "boolean")
# What kube's structural schema forbids (references).
_UNSUPPORTED = {"$ref": "$ref is not supported"}
RULES = "x-kubernetes-validations"
_TYPE_META = ("apiVersion", "kind", "metadata")


# --- structural schema (the CRD's validation) ----------------------------------------------

def structural_errors(schema: Any, field: str) -> list[Cause]:
    """Why `schema` is not a structural schema kube accepts for a CRD version; [] if it is."""
    if not isinstance(schema, dict):
        return [required(field)]
    causes: list[Cause] = []
    if schema.get("type") in (None, ""):
        causes.append(required(f"{field}.type", "must not be empty at the root"))
    elif schema.get("type") != "object":
        causes.append(invalid_value(f"{field}.type", schema.get("type"),
                                    "must be object at the root"))
    causes += _node_errors(schema, field, root=True)
    return causes


def _node_errors(node: Schema, field: str, root: bool = False) -> list[Cause]:
    causes: list[Cause] = []
    for key, why in _UNSUPPORTED.items():
        if key in node:
            causes.append(forbidden(f"{field}.{key}", why))
    type_ = node.get("type") or ""
    if type_ and type_ not in _TYPES:
        causes.append(not_supported(f"{field}.type", type_, _TYPES))
    if node.get(INT_OR_STRING) and type_:
        causes.append(invalid_value(f"{field}.type", type_,
                                    "must be empty if x-kubernetes-int-or-string is true"))
    if node.get(PRESERVE) is False:
        causes.append(invalid_value(f"{field}.{PRESERVE}", False, "must be true or undefined"))
    if node.get(EMBEDDED) and type_ != "object":
        causes.append(required(f"{field}.type", "must be object if "
                               "x-kubernetes-embedded-resource is true"))
    if "properties" in node and "additionalProperties" in node:
        causes.append(forbidden(f"{field}.additionalProperties",
                                "additionalProperties and properties are mutual exclusive"))
    if type_ == "array" and "items" not in node:
        causes.append(required(f"{field}.items", "must be specified"))
    items = node.get("items")
    if isinstance(items, list):
        causes.append(forbidden(f"{field}.items", "items must be a schema object and not an "
                                "array"))
    for sub_field, child in _children(node, field):
        if not isinstance(child, dict):
            causes.append(invalid_value(sub_field, child, "must be a schema object"))
            continue
        if not child.get("type") and not child.get(INT_OR_STRING) and not child.get(PRESERVE):
            causes.append(required(f"{sub_field}.type", "must not be empty for specified "
                                   + ("array items" if sub_field.endswith(".items")
                                      else "object fields")))
        causes += _node_errors(child, sub_field)
    if "default" in node:
        if root:
            causes.append(forbidden(f"{field}.default", "must not be set at the root"))
        else:
            causes += _validate(node["default"], node, f"{field}.default")
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as e:
            causes.append(invalid_value(f"{field}.pattern", pattern, "must be a valid regular "
                                        f"expression, but isn't: {e}"))
    return causes


def rule_paths(schema: Any, field: str) -> list[str]:
    """Where a schema has validation rules (CEL): stored, not enforced here."""
    if not isinstance(schema, dict):
        return []
    found = [f"{field}.{RULES}"] if schema.get(RULES) else []
    for sub_field, child in _children(schema, field):
        found += rule_paths(child, sub_field)
    return found


def _children(node: Schema, field: str) -> Iterator[tuple[str, Any]]:
    props = node.get("properties")
    if isinstance(props, dict):
        for name, child in props.items():
            yield f"{field}.properties[{name}]", child
    items = node.get("items")
    if isinstance(items, dict):
        yield f"{field}.items", items
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        yield f"{field}.additionalProperties", extra


# --- pruning ---------------------------------------------------------------------------------

def prune(obj: dict[str, Any], schema: Schema) -> list[str]:
    """Drop the fields of a custom resource its schema does not name (kube's pruning, before
    defaulting); returns their paths. apiVersion, kind and metadata are always kept."""
    dropped: list[str] = []
    _prune_object(obj, schema, "", dropped, keep=_TYPE_META)
    return dropped


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _prune_value(value: Any, schema: Any, path: str, dropped: list[str]) -> None:
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        keep = _TYPE_META if schema.get(EMBEDDED) else ()
        _prune_object(value, schema, path, dropped, keep)
    elif isinstance(value, list):
        items = schema.get("items")
        for i, item in enumerate(value):
            _prune_value(item, items, f"{path}[{i}]", dropped)


def _prune_object(obj: dict[str, Any], schema: Schema, path: str, dropped: list[str],
                  keep: tuple[str, ...]) -> None:
    props = schema.get("properties")
    extra = schema.get("additionalProperties")
    preserve = bool(schema.get(PRESERVE))
    for key in list(obj):
        if key in keep:
            continue  # metadata is ObjectMeta's business, whatever the schema says of it
        child_path = _join(path, key)
        if isinstance(props, dict) and key in props:
            child = props[key]
            if obj[key] is None and isinstance(child, dict) and "default" in child and \
                    not child.get("nullable"):
                del obj[key]  # a null where a default goes is defaulted, not kept
                continue
            _prune_value(obj[key], child, child_path, dropped)
        elif isinstance(extra, dict):
            _prune_value(obj[key], extra, child_path, dropped)
        elif extra is True or preserve:
            continue
        else:
            del obj[key]
            dropped.append(child_path)


# --- defaulting ------------------------------------------------------------------------------

def apply_defaults(value: Any, schema: Any) -> None:
    """Fill in the `default` of every absent property, depth first, in place."""
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        if isinstance(props, dict):
            for key, child in props.items():
                if key not in value and isinstance(child, dict) and "default" in child:
                    value[key] = copy.deepcopy(child["default"])
            for key, child in props.items():
                if key in value:
                    apply_defaults(value[key], child)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in value:
                if not isinstance(props, dict) or key not in props:
                    apply_defaults(value[key], extra)
    elif isinstance(value, list):
        for item in value:
            apply_defaults(item, schema.get("items"))


def has_defaults(schema: Any) -> bool:
    """Whether any node of `schema` has a default (reads then default too)."""
    if not isinstance(schema, dict):
        return False
    if "default" in schema:
        return True
    return any(has_defaults(child) for _, child in _children(schema, ""))


# --- validation ------------------------------------------------------------------------------

def validate(obj: dict[str, Any], schema: Schema) -> list[Cause]:
    """The causes of a 422 for a custom resource against its schema (metadata excluded: it
    is validated as any object's)."""
    body = {k: v for k, v in obj.items() if k not in _TYPE_META}
    root = {**schema, "required": [r for r in schema.get("required") or []
                                   if r not in _TYPE_META]}
    return _object_errors(body, root, "")


_GO_TYPE = {bool: "boolean", str: "string", list: "array", dict: "object"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return _GO_TYPE.get(type(value), "object")


def _type_ok(value: Any, type_: str) -> bool:
    actual = _json_type(value)
    if type_ == "integer":
        return actual == "integer" or (actual == "number" and float(value).is_integer())
    if type_ == "number":
        return actual in ("integer", "number")
    return actual == type_


def _validate(value: Any, schema: Schema, path: str) -> list[Cause]:
    if value is None:
        if schema.get("nullable") or (not schema.get("type") and not schema.get(INT_OR_STRING)):
            return []
        expected = schema.get("type") or "integer or string"
        return [_type_error(path, value, expected)]
    if schema.get(INT_OR_STRING):
        if _json_type(value) not in ("integer", "string"):
            return [_type_error(path, value, "integer or string")]
    type_ = schema.get("type") or ""
    if type_ and not _type_ok(value, type_):
        return [_type_error(path, value, type_)]
    causes = _value_errors(value, schema, path) + _combined_errors(value, schema, path)
    if isinstance(value, dict):
        causes += _object_errors(value, schema, path)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                causes += _validate(item, items, f"{path}[{i}]")
    return causes


def _combined_errors(value: Any, schema: Schema, path: str) -> list[Cause]:
    """allOf, anyOf, oneOf and not: value validations on top of the structural schema."""
    causes: list[Cause] = []
    for sub in schema.get("allOf") or []:
        if isinstance(sub, dict):
            causes += _validate(value, sub, path)
    any_of = [s for s in schema.get("anyOf") or [] if isinstance(s, dict)]
    if any_of and all(_validate(value, sub, path) for sub in any_of):
        causes.append(_invalid(path, value, f"{path} must validate at least one schema "
                                                 "(anyOf)"))
    one_of = [s for s in schema.get("oneOf") or [] if isinstance(s, dict)]
    if one_of and sum(not _validate(value, sub, path) for sub in one_of) != 1:
        causes.append(_invalid(path, value, f"{path} must validate one and only one "
                                                 "schema (oneOf)"))
    not_ = schema.get("not")
    if isinstance(not_, dict) and not _validate(value, not_, path):
        causes.append(_invalid(path, value, f"{path} must not validate the schema (not)"))
    return causes


def _invalid(path: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", f"Invalid value: {_shown(value)}: {detail}", path)


def _type_error(path: str, value: Any, expected: str) -> Cause:
    return Cause("FieldValueTypeInvalid",
                 f"Invalid value: {_shown(value)}: {path} in body must be of type "
                 f"{expected}: {json.dumps(_json_type(value))}", path)


def _shown(value: Any) -> str:
    """A bad value as kube's field errors print it (composites by their type)."""
    if value is None or isinstance(value, dict | list):
        return json.dumps(_json_type(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _value_errors(value: Any, schema: Schema, path: str) -> list[Cause]:
    causes: list[Cause] = []
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        causes.append(not_supported(path, value, [e if isinstance(e, str) else json.dumps(e)
                                                  for e in enum]))
    if isinstance(value, str):
        causes += _string_errors(value, schema, path)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        causes += _number_errors(value, schema, path)
    elif isinstance(value, list):
        causes += _count_errors(len(value), schema, path, "Items", "items")
        if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True)
                                              for v in value}) < len(value):
            causes.append(Cause("FieldValueDuplicate", f"Duplicate value: {path} in body "
                                "shouldn't contain duplicates", path))
    return causes


def _ip(version: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            return ipaddress.ip_address(value).version == version
        except ValueError:
            return False
    return check


def _cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return "/" in value


def _base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_UUID = re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
# The formats kube-openapi checks for CRDs (a subset of StrictFormats); others are free.
_FORMATS: dict[str, Callable[[str], bool]] = {
    "uuid": lambda v: bool(_UUID.match(v)), "date": lambda v: bool(_DATE.match(v)),
    "date-time": lambda v: bool(_DATE_TIME.match(v)), "ipv4": _ip(4), "ipv6": _ip(6),
    "cidr": _cidr, "byte": _base64,
}


def _string_errors(value: str, schema: Schema, path: str) -> list[Cause]:
    causes: list[Cause] = []
    if "minLength" in schema and len(value) < schema["minLength"]:
        causes.append(invalid_value(path, value, f"{path} in body should be at least "
                                                 f"{schema['minLength']} chars long"))
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        causes.append(Cause("FieldValueTooLong", f"Too long: may not be more than "
                            f"{schema['maxLength']} bytes", path))
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS and not _FORMATS[fmt](value):
        causes.append(invalid_value(path, value, f"{path} in body must be of type {fmt}: "
                                                 f"{json.dumps(value)}"))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            matched = re.search(pattern, value) is not None
        except re.error:
            matched = True  # the CRD's validation refuses a pattern that does not compile
        if not matched:
            causes.append(invalid_value(path, value, f"{path} in body should match "
                                                     f"'{pattern}'"))
    return causes


def _number_errors(value: float, schema: Schema, path: str) -> list[Cause]:
    causes: list[Cause] = []
    if "minimum" in schema:
        low = schema["minimum"]
        if schema.get("exclusiveMinimum") and value <= low:
            causes.append(invalid_value(path, value, f"{path} in body should be greater than "
                                                     f"{_number(low)}"))
        elif value < low:
            causes.append(invalid_value(path, value, f"{path} in body should be greater than "
                                                     f"or equal to {_number(low)}"))
    if "maximum" in schema:
        high = schema["maximum"]
        if schema.get("exclusiveMaximum") and value >= high:
            causes.append(invalid_value(path, value, f"{path} in body should be less than "
                                                     f"{_number(high)}"))
        elif value > high:
            causes.append(invalid_value(path, value, f"{path} in body should be less than or "
                                                     f"equal to {_number(high)}"))
    step = schema.get("multipleOf")
    if isinstance(step, int | float) and step and (value / step) != int(value / step):
        causes.append(invalid_value(path, value, f"{path} in body should be a multiple of "
                                                 f"{_number(step)}"))
    return causes


def _count_errors(count: int, schema: Schema, path: str, suffix: str,
                  noun: str) -> list[Cause]:
    """minItems/maxItems, minProperties/maxProperties."""
    causes = []
    low, high = schema.get(f"min{suffix}"), schema.get(f"max{suffix}")
    if isinstance(low, int) and count < low:
        causes.append(invalid_value(path, count, f"{path} in body should have at least {low} "
                                                 f"{noun}"))
    if isinstance(high, int) and count > high:
        causes.append(Cause("FieldValueTooMany", f"Too many: {count}: must have at most "
                            f"{high} items", path))
    return causes


def _object_errors(value: dict[str, Any], schema: Schema, path: str) -> list[Cause]:
    causes: list[Cause] = []
    props = schema.get("properties") or {}
    for name in schema.get("required") or []:
        if name not in value:
            causes.append(required(_join(path, name)))
    causes += _count_errors(len(value), schema, path, "Properties", "properties")
    extra = schema.get("additionalProperties")
    for key, child_value in value.items():
        child = props.get(key) if isinstance(props, dict) else None
        if child is None and isinstance(extra, dict):
            child = extra
        if isinstance(child, dict):
            causes += _validate(child_value, child, _join(path, key))
    if schema.get(EMBEDDED):
        for key in ("apiVersion", "kind"):
            if not value.get(key):
                causes.append(required(f"{path}.{key}", "must not be empty"))
    return causes
