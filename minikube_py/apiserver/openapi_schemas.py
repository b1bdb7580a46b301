"""OpenAPI schemas generated from the schema tables (protobuf_schema): one definition a message.

The same tables that type and decode every body describe it to clients, so what kubectl
explains and validates is exactly what the server accepts. Names follow kube's
(`io.k8s.api.apps.v1.Deployment`, `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`); a
schema refers to another through `ref(name)`, which v2 (`#/definitions/`) and v3
(`#/components/schemas/`) spell differently.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from minikube_py.api.patch import MERGE_KEYS, MERGE_PRIMITIVE_LISTS
from minikube_py.apiserver.protobuf_schema import (
    ALWAYS_ENCODED,
    MESSAGES,
    Field,
    json_fields,
    parse_messages,
)
from minikube_py.apiserver.schema_descriptions import DESCRIPTIONS

Obj = dict[str, Any]
Ref = Callable[[str], str]

# apimachinery's list and status types, which no body the server decodes holds.
EXTRA_MESSAGES: dict[str, dict[int, Field]] = parse_messages({
    "meta.ListMeta":
        "1 selfLink string, 2 resourceVersion string, 3 continue string, "
        "4 remainingItemCount int64!",
    "meta.Status":
        "1 metadata ListMeta, 2 status string, 3 message string, 4 reason string, "
        "5 details StatusDetails, 6 code int32",
    "meta.StatusDetails":
        "1 name string, 2 group string, 3 kind string, 6 uid string, "
        "4 causes []StatusCause, 5 retryAfterSeconds int32",
    "meta.StatusCause": "1 reason string, 2 message string, 3 field string",
})
ALL_MESSAGES: dict[str, dict[int, Field]] = {**MESSAGES, **EXTRA_MESSAGES}

_META_PACKAGE = "io.k8s.apimachinery.pkg.apis.meta.v1"
BUILTIN_NAMES = {
    "Quantity": "io.k8s.apimachinery.pkg.api.resource.Quantity",
    "IntOrString": "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    "Time": f"{_META_PACKAGE}.Time",
    "MicroTime": f"{_META_PACKAGE}.MicroTime",
    "Duration": f"{_META_PACKAGE}.Duration",
    "RawExtension": "io.k8s.apimachinery.pkg.runtime.RawExtension",
    "FieldsV1": f"{_META_PACKAGE}.FieldsV1",
}
_BUILTIN_SCHEMAS: dict[str, Obj] = {
    "Quantity": {"type": "string", "description": "A fixed-point number with an optional "
                 "suffix (binary: Ki Mi Gi Ti Pi Ei; decimal: m k M G T P E), as \"500m\" or "
                 "\"1Gi\"."},
    "IntOrString": {"type": "string", "format": "int-or-string",
                    "x-kubernetes-int-or-string": True,
                    "description": "Either an integer or a string."},
    "Time": {"type": "string", "format": "date-time",
             "description": "A time in RFC 3339 form, to the second, in UTC."},
    "MicroTime": {"type": "string", "format": "date-time",
                  "description": "A time in RFC 3339 form, to the microsecond."},
    "Duration": {"type": "string", "description": "A span of time as Go prints it, as "
                 "\"10s\" or \"1m30.5s\"."},
    "RawExtension": {"type": "object", "description": "An embedded object of any kind."},
    "FieldsV1": {"type": "object", "description": "A set of fields (server-side apply's "
                 "field ownership), as a tree of \"f:name\" keys."},
}
_SCALARS: dict[str, Obj] = {
    "string": {"type": "string"}, "bytes": {"type": "string", "format": "byte"},
    "int32": {"type": "integer", "format": "int32"},
    "int64": {"type": "integer", "format": "int64"},
    "double": {"type": "number", "format": "double"},
    "float": {"type": "number", "format": "float"}, "bool": {"type": "boolean"},
}
# The JSON form of authentication's ExtraValue is its bare list of strings.
_EXTRA_VALUE: Obj = {"type": "array", "items": {"type": "string"}}
_TYPE_META = ("apiVersion", "kind")
# Where kube's types ask clients for $retainKeys (api/patch.py honours it), so that applying
# strategy {type: Recreate} clears the defaulted rollingUpdate instead of keeping it.
_RETAIN_KEYS = frozenset({"apps.DeploymentSpec.strategy", "core.PodSpec.volumes",
                          "core.PodSpec.resourceClaims"})


def definition_name(message: str) -> str:
    """kube's name of a message's definition: "apps.Deployment" -> io.k8s.api.apps.v1.Deployment."""
    if message in BUILTIN_NAMES:
        return BUILTIN_NAMES[message]
    group, name = message.split(".", 1)
    if group == "meta":
        return f"{_META_PACKAGE}.{name}"
    if group == "metrics":  # k8s.io/metrics, not k8s.io/api
        return f"io.k8s.metrics.pkg.apis.metrics.v1beta1.{name}"
    return f"io.k8s.api.{group}.v1.{name}"


@functools.cache
def fields_of(message: str) -> dict[str, Field]:
    return json_fields(ALL_MESSAGES, message)


def _words(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return spaced.replace("I Ps", "IPs").lower()


def _type_words(field: Field) -> str:
    inner = field.type.rsplit(".", 1)[-1] if field.type in ALL_MESSAGES else field.type
    if field.label == "[]":
        return f"a list of {inner}"
    if field.label == "map":
        return f"a map of string to {inner}"
    return {"bool": "true or false", "int32": "an integer", "int64": "an integer",
            "string": "a string"}.get(inner, inner)


def generated_description(message: str, json_name: str, field: Field) -> str:
    """The description of a field the table does not describe: its name and its type."""
    owner = message.split(".", 1)[1]
    return f"The {_words(json_name)} of the {owner}: {_type_words(field)}."


def field_description(message: str, json_name: str, field: Field) -> str:
    return DESCRIPTIONS.get(f"{message}.{json_name}") \
        or generated_description(message, json_name, field)


def message_description(message: str) -> str:
    if message in DESCRIPTIONS:
        return DESCRIPTIONS[message]
    group, name = message.split(".", 1)
    return f"{_words(name).capitalize()} ({group} v1)."


def _value_schema(field: Field, ref: Ref) -> Obj:
    """The schema of one element (or map value) of a field."""
    if field.type in _SCALARS:
        return dict(_SCALARS[field.type])
    if field.type == "ExtraValue":
        return dict(_EXTRA_VALUE)
    return {"$ref": ref(definition_name(field.type))}


def _merge_key(json_name: str, field: Field) -> str | None:
    key = MERGE_KEYS.get(json_name)
    if key is None or field.type not in ALL_MESSAGES:
        return None
    item_fields = fields_of(field.type)
    if key not in item_fields and json_name == "ports" and "port" in item_fields:
        key = "port"  # a Service's ports, as api/patch.py merges them
    return key if key in item_fields else None


def field_schema(message: str, json_name: str, field: Field, ref: Ref, *,
                 wrap_refs: bool) -> Obj:
    """A property's schema: its type, its description, and for lists the patch and list
    strategies api/patch.py applies. `wrap_refs` puts a referenced type in an allOf, as
    kube's v3 does, so the property can carry its own description."""
    description = field_description(message, json_name, field)
    value = _value_schema(field, ref)
    if field.label == "[]":
        schema: Obj = {"type": "array", "items": value, "description": description}
        key = _merge_key(json_name, field)
        if key is not None:
            retain = ",retainKeys" if f"{message}.{json_name}" in _RETAIN_KEYS else ""
            schema.update({"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": [key],
                           "x-kubernetes-patch-strategy": "merge" + retain,
                           "x-kubernetes-patch-merge-key": key})
        elif json_name in MERGE_PRIMITIVE_LISTS:
            schema.update({"x-kubernetes-list-type": "set",
                           "x-kubernetes-patch-strategy": "merge"})
        return schema
    if field.label == "map":
        return {"type": "object", "additionalProperties": value, "description": description}
    if "$ref" in value:
        schema = {"allOf": [value], "description": description} if wrap_refs \
            else {**value, "description": description}
        if f"{message}.{json_name}" in _RETAIN_KEYS:
            schema["x-kubernetes-patch-strategy"] = "retainKeys"
        return schema
    return {**value, "description": description}


def message_schema(message: str, ref: Ref, *, wrap_refs: bool, kind: bool = False) -> Obj:
    """A message's definition; a kind (`kind=True`) also gets apiVersion and kind."""
    props: Obj = {}
    if kind:
        for name in _TYPE_META:
            props[name] = {"type": "string", "description": DESCRIPTIONS[f"*.{name}"]}
    for json_name, field in fields_of(message).items():
        prop = field_schema(message, json_name, field, ref, wrap_refs=wrap_refs)
        if kind and json_name in ("metadata", "spec", "status") \
                and f"{message}.{json_name}" not in DESCRIPTIONS:
            prop["description"] = DESCRIPTIONS[f"*.{json_name}"]
        props[json_name] = prop
    schema: Obj = {"description": message_description(message), "type": "object",
                   "properties": props}
    required = [f for f in ALWAYS_ENCODED.get(message, ()) if f in props]
    if required:
        schema["required"] = required
    return schema


def list_schema(item: str, list_kind: str, ref: Ref, *, wrap_refs: bool) -> Obj:
    """The definition of a kind's list (DeploymentList), whose items are the definition
    named `item`."""
    meta = {"$ref": ref(definition_name("meta.ListMeta"))}
    return {
        "description": f"A list of {list_kind.removesuffix('List')} objects.",
        "type": "object", "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": DESCRIPTIONS["*.apiVersion"]},
            "kind": {"type": "string", "description": DESCRIPTIONS["*.kind"]},
            "items": {"type": "array", "items": {"$ref": ref(item)},
                      "description": DESCRIPTIONS["*List.items"]},
            "metadata": ({"allOf": [meta]} if wrap_refs else meta)
            | {"description": DESCRIPTIONS["*List.metadata"]},
        },
    }


# v3 says these two without a `type` (kube's do), which kubectl explain shows by name
# (<IntOrString>, <Quantity>); swagger 2.0 has no anyOf, so v2 calls them strings.
_V3_TYPES: dict[str, Obj] = {
    "IntOrString": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
    "Quantity": {"anyOf": [{"type": "integer"}, {"type": "number"}, {"type": "string"}]},
}


def builtin_schema(name: str, *, v3: bool) -> Obj:
    schema = dict(_BUILTIN_SCHEMAS[name])
    if v3 and name in _V3_TYPES:
        del schema["type"]
        schema.update(_V3_TYPES[name])
    return schema


def referenced(messages: Iterable[str]) -> list[str]:
    """The messages and builtins reachable from `messages` (themselves included), sorted."""
    seen: set[str] = set()
    stack = list(messages)
    while stack:
        m = stack.pop()
        if m in seen:
            continue
        seen.add(m)
        if m in ALL_MESSAGES:
            stack.extend(f.type for f in fields_of(m).values()
                         if f.type in ALL_MESSAGES or f.type in BUILTIN_NAMES)
    return sorted(seen)


def definition(message: str, ref: Ref, *, wrap_refs: bool, kind: bool = False) -> Obj:
    """A message's or builtin's definition."""
    if message in _BUILTIN_SCHEMAS:
        return builtin_schema(message, v3=wrap_refs)
    return message_schema(message, ref, wrap_refs=wrap_refs, kind=kind)
