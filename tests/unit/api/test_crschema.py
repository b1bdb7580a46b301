"""A CRD's openAPIV3Schema: structural checks, pruning, defaulting and validation of custom
resources, row by row with kube's field paths and messages."""

from typing import Any

import pytest

from minikube_py.api import crschema

ROOT = "spec.versions[0].schema.openAPIV3Schema"


def obj_schema(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


SPEC = obj_schema(spec=obj_schema(
    replicas={"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
    size={"type": "string", "enum": ["S", "M"]},
    name={"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 5},
    ratio={"type": "number", "exclusiveMinimum": True, "minimum": 0},
    tags={"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
    labels={"type": "object", "additionalProperties": {"type": "string"}},
    port={"x-kubernetes-int-or-string": True},
    note={"type": "string", "nullable": True},
    extra={"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    template={"type": "object", "x-kubernetes-embedded-resource": True,
              "x-kubernetes-preserve-unknown-fields": True},
    mode={"type": "string", "default": "fast"},
    started={"type": "string", "format": "date-time"},
    address={"type": "string", "format": "ipv4"},
    free={"type": "string", "format": "anything-else"},
    # value validations as controller-gen writes them
    either={"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
    code={"type": "integer", "anyOf": [{"minimum": 100}, {"maximum": 0}],
          "not": {"enum": [404]}},
    level={"type": "integer", "allOf": [{"minimum": 1}, {"maximum": 3}]},
))
SPEC["properties"]["spec"]["required"] = ["size"]


def causes(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in crschema.validate({"spec": spec}, SPEC)]


@pytest.mark.parametrize("spec, expected", [
    ({"size": "S"}, []),
    ({"size": "S", "replicas": "string"},
     [("spec.replicas", 'Invalid value: "string": spec.replicas in body must be of type '
                        'integer: "string"')]),
    ({}, [("spec.size", "Required value")]),
    ({"size": "L"}, [("spec.size", 'Unsupported value: "L": supported values: "S", "M"')]),
    ({"size": "S", "name": "A1"},
     [("spec.name", "Invalid value: \"A1\": spec.name in body should match '^[a-z]+$'")]),
    ({"size": "S", "name": "a"},
     [("spec.name", 'Invalid value: "a": spec.name in body should be at least 2 chars long')]),
    ({"size": "S", "name": "abcdef"},
     [("spec.name", "Too long: may not be more than 5 bytes")]),
    ({"size": "S", "replicas": -1},
     [("spec.replicas", "Invalid value: -1: spec.replicas in body should be greater than or "
                        "equal to 0")]),
    ({"size": "S", "replicas": 11},
     [("spec.replicas", "Invalid value: 11: spec.replicas in body should be less than or "
                        "equal to 10")]),
    ({"size": "S", "replicas": 2.0}, []),
    ({"size": "S", "ratio": 0},
     [("spec.ratio", "Invalid value: 0: spec.ratio in body should be greater than 0")]),
    ({"size": "S", "tags": []},
     [("spec.tags", "Invalid value: 0: spec.tags in body should have at least 1 items")]),
    ({"size": "S", "tags": ["a", "b", "c"]},
     [("spec.tags", "Too many: 3: must have at most 2 items")]),
    ({"size": "S", "tags": ["a", 1]},
     [("spec.tags[1]", 'Invalid value: 1: spec.tags[1] in body must be of type string: '
                       '"integer"')]),
    ({"size": "S", "labels": {"a": "x", "b": 2}},
     [("spec.labels.b", 'Invalid value: 2: spec.labels.b in body must be of type string: '
                        '"integer"')]),
    ({"size": "S", "port": 80}, []),
    ({"size": "S", "port": "http"}, []),
    ({"size": "S", "port": True},
     [("spec.port", 'Invalid value: true: spec.port in body must be of type integer or '
                    'string: "boolean"')]),
    ({"size": "S", "note": None}, []),
    ({"size": "S", "mode": None},
     [("spec.mode", 'Invalid value: "null": spec.mode in body must be of type string: '
                    '"null"')]),
    ({"size": "S", "extra": {"anything": [1, {"x": True}]}}, []),
    ({"size": "S", "template": {"kind": "Pod"}},
     [("spec.template.apiVersion", "Required value: must not be empty")]),
    ({"size": "S", "labels": "x"},
     [("spec.labels", 'Invalid value: "x": spec.labels in body must be of type object: '
                      '"string"')]),
    ({"size": "S", "started": "2024-01-01T00:00:00Z", "address": "10.0.0.1", "free": "x"}, []),
    ({"size": "S", "started": "yesterday"},
     [("spec.started", 'Invalid value: "yesterday": spec.started in body must be of type '
                       'date-time: "yesterday"')]),
    ({"size": "S", "address": "::1"},
     [("spec.address", 'Invalid value: "::1": spec.address in body must be of type ipv4: '
                       '"::1"')]),
    ({"size": "S", "either": {"a": "x"}}, []),
    ({"size": "S", "either": {"a": "x", "b": "y"}},
     [("spec.either", 'Invalid value: "object": spec.either must validate one and only one '
                      'schema (oneOf)')]),
    ({"size": "S", "either": {}},
     [("spec.either", 'Invalid value: "object": spec.either must validate one and only one '
                      'schema (oneOf)')]),
    ({"size": "S", "code": 200}, []),
    ({"size": "S", "code": 50},
     [("spec.code", "Invalid value: 50: spec.code must validate at least one schema (anyOf)")]),
    ({"size": "S", "code": 404},
     [("spec.code", "Invalid value: 404: spec.code must not validate the schema (not)")]),
    ({"size": "S", "level": 4},
     [("spec.level", "Invalid value: 4: spec.level in body should be less than or equal to "
                     "3")]),
])
def test_validate(spec: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert causes(spec) == expected


@pytest.mark.parametrize("obj, kept, dropped", [
    ({"spec": {"size": "S", "x": 1}}, {"spec": {"size": "S"}}, ["spec.x"]),
    ({"spec": {"extra": {"a": {"b": 1}}}}, {"spec": {"extra": {"a": {"b": 1}}}}, []),
    ({"spec": {"labels": {"a": "b"}}}, {"spec": {"labels": {"a": "b"}}}, []),
    ({"spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                            "spec": {}}}},
     {"spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                            "spec": {}}}}, []),
    ({"spec": {"tags": ["a"]}, "other": {"y": 1}}, {"spec": {"tags": ["a"]}}, ["other"]),
    ({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n"}},
     {"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n"}}, []),
    ({"spec": {"mode": None}}, {"spec": {}}, []),
])
def test_prune(obj: dict[str, Any], kept: dict[str, Any], dropped: list[str]) -> None:
    assert crschema.prune(obj, SPEC) == dropped
    assert obj == kept


def test_prune_keeps_metadata_a_schema_names_as_a_bare_object() -> None:
    # controller-gen writes apiVersion, kind and `metadata: {type: object}` at the root
    schema = obj_schema(apiVersion={"type": "string"}, kind={"type": "string"},
                        metadata={"type": "object"}, spec=obj_schema())
    obj = {"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n", "labels": {"a": "b"}},
           "spec": {"gone": 1}}
    assert crschema.prune(obj, schema) == ["spec.gone"]
    assert obj["metadata"] == {"name": "n", "labels": {"a": "b"}}


def test_prune_array_items_by_index() -> None:
    schema = obj_schema(spec=obj_schema(items={"type": "array", "items": obj_schema(
        a={"type": "string"})}))
    obj = {"spec": {"items": [{"a": "x", "b": 1}, {"c": 2}]}}
    assert crschema.prune(obj, schema) == ["spec.items[0].b", "spec.items[1].c"]


@pytest.mark.parametrize("obj, expected", [
    ({"spec": {}}, {"spec": {"replicas": 1, "mode": "fast"}}),
    ({"spec": {"replicas": 3}}, {"spec": {"replicas": 3, "mode": "fast"}}),
    ({}, {}),
])
def test_defaults(obj: dict[str, Any], expected: dict[str, Any]) -> None:
    crschema.apply_defaults(obj, SPEC)
    assert obj == expected


def test_defaults_nested_objects_and_array_items() -> None:
    schema = obj_schema(spec={"type": "object", "default": {}, "properties": {
        "a": {"type": "integer", "default": 5},
        "list": {"type": "array", "items": obj_schema(b={"type": "string", "default": "x"})}}})
    obj: dict[str, Any] = {"spec": {"list": [{}, {"b": "y"}]}}
    crschema.apply_defaults(obj, schema)
    assert obj == {"spec": {"a": 5, "list": [{"b": "x"}, {"b": "y"}]}}
    empty: dict[str, Any] = {}
    crschema.apply_defaults(empty, schema)
    assert empty == {"spec": {"a": 5}}


def structural(schema: Any) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in crschema.structural_errors(schema, ROOT)]


@pytest.mark.parametrize("schema, expected", [
    (SPEC, []),
    ({"properties": {}}, [(f"{ROOT}.type", "Required value: must not be empty at the root")]),
    ({"type": "string"}, [(f"{ROOT}.type", 'Invalid value: "string": must be object at the '
                                           'root')]),
    (obj_schema(spec={"properties": {}}),
     [(f"{ROOT}.properties[spec].type",
       "Required value: must not be empty for specified object fields")]),
    (obj_schema(list={"type": "array"}),
     [(f"{ROOT}.properties[list].items", "Required value: must be specified")]),
    (obj_schema(list={"type": "array", "items": {}}),
     [(f"{ROOT}.properties[list].items.type",
       "Required value: must not be empty for specified array items")]),
    (obj_schema(a={"type": "object", "properties": {}, "additionalProperties": {
        "type": "string"}}),
     [(f"{ROOT}.properties[a].additionalProperties",
       "Forbidden: additionalProperties and properties are mutual exclusive")]),
    (obj_schema(a={"type": "object", "x-kubernetes-preserve-unknown-fields": False}),
     [(f"{ROOT}.properties[a].x-kubernetes-preserve-unknown-fields",
       "Invalid value: false: must be true or undefined")]),
    (obj_schema(a={"type": "string", "x-kubernetes-int-or-string": True}),
     [(f"{ROOT}.properties[a].type",
       'Invalid value: "string": must be empty if x-kubernetes-int-or-string is true')]),
    (obj_schema(a={"type": "string", "x-kubernetes-embedded-resource": True}),
     [(f"{ROOT}.properties[a].type",
       "Required value: must be object if x-kubernetes-embedded-resource is true")]),
    (obj_schema(a={"type": "thing"}),
     [(f"{ROOT}.properties[a].type", 'Unsupported value: "thing": supported values: '
                                     '"object", "array", "string", "integer", "number", '
                                     '"boolean"')]),
    # CEL rules are stored (and warned about), not refused
    ({"type": "object", "x-kubernetes-validations": [{"rule": "self.x > 0"}]}, []),
    ({"type": "object", "$ref": "#/definitions/x"},
     [(f"{ROOT}.$ref", "Forbidden: $ref is not supported")]),
    (None, [(ROOT, "Required value")]),
    (obj_schema(n={"type": "integer", "default": "ten"}),
     [(f"{ROOT}.properties[n].default", f'Invalid value: "ten": {ROOT}.properties[n].default '
                                        'in body must be of type integer: "string"')]),
    (obj_schema(s={"type": "string", "pattern": "("}),
     [(f"{ROOT}.properties[s].pattern", 'Invalid value: "(": must be a valid regular '
                                        'expression, but isn\'t: missing ), unterminated '
                                        'subpattern at position 0')]),
])
def test_structural(schema: Any, expected: list[tuple[str, str]]) -> None:
    assert structural(schema) == expected


def test_rule_paths_name_every_node_with_cel_rules() -> None:
    rule = [{"rule": "self.a < self.b"}]
    schema = {"type": "object", "x-kubernetes-validations": rule, "properties": {
        "spec": {"type": "object", "x-kubernetes-validations": rule},
        "list": {"type": "array", "items": {"type": "object",
                                            "x-kubernetes-validations": rule}}}}
    assert crschema.rule_paths(schema, "s") == [
        "s.x-kubernetes-validations", "s.properties[spec].x-kubernetes-validations",
        "s.properties[list].items.x-kubernetes-validations"]
