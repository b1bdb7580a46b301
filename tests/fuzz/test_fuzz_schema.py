"""The schema tables (apiserver/protobuf_schema.py) against the official kubernetes client of
the same release (1.32): the typed pass drops every field the tables do not name, so a field
missing there is user data lost. Every message with a client model must have exactly the
model's JSON fields, each of the same shape, and the fields Go always writes must be the
model's required ones."""

from __future__ import annotations

import inspect
import re

import kubernetes
import kubernetes.client
import pytest

from minikube_py.apiserver.jsontypes import _fields
from minikube_py.apiserver.protobuf_schema import ALWAYS_ENCODED, BUILTINS, MESSAGES, Field

from .models import model_name, modelled_messages

# How the client's generator spells our scalar and builtin types.
_CLIENT_TYPES = {"string": "str", "int32": "int", "int64": "int", "bool": "bool",
                 "double": "float", "float": "float", "bytes": "str", "Time": "datetime",
                 "MicroTime": "datetime", "Duration": "str", "Quantity": "str",
                 "IntOrString": "object",
                 "RawExtension": "object", "FieldsV1": "object", "ExtraValue": "list[str]"}
_TYPE_META = {"apiVersion", "kind"}
# Required in OpenAPI but not written as a zero value: pointers (Go writes null) and times
# (a zero metav1.Time is written as null too).
_REQUIRED_NOT_ENCODED = {("apps.DaemonSetSpec", "selector"), ("apps.DeploymentSpec", "selector"),
                         ("apps.ReplicaSetSpec", "selector"), ("apps.StatefulSetSpec", "selector"),
                         ("core.ScaleIOVolumeSource", "secretRef"), ("core.Event", "metadata")}
MODELLED = modelled_messages()


def _client_type(field: Field) -> str:
    element = model_name(field.type) if field.type in MESSAGES else _CLIENT_TYPES[field.type]
    if field.label == "[]":
        return f"list[{element}]"
    if field.label == "map":
        return f"dict(str, {element})"
    return str(element)


def _model(name: str) -> type:
    model: type = getattr(kubernetes.client, name)
    return model


def test_the_client_is_the_release_the_tables_were_written_from() -> None:
    assert kubernetes.__version__.startswith("32."), (
        f"kubernetes {kubernetes.__version__}: the schema tables are Kubernetes 1.32's; "
        "pyproject.toml pins the test extras to kubernetes>=32,<33")


def test_every_served_message_without_a_model_is_an_inlined_struct() -> None:
    inlined = {f.type for fields in MESSAGES.values() for f in fields.values() if not f.json}
    # k8s.io/metrics' types (metrics.k8s.io) are not in k8s.io/api: the official client has
    # no models of them, and reads them as custom objects.
    unmodelled = {m for m in MESSAGES if model_name(m) is None and not m.startswith("metrics.")}
    assert unmodelled <= inlined


@pytest.mark.parametrize(("message", "model"), MODELLED, ids=[m for m, _ in MODELLED])
def test_a_message_has_every_field_of_the_client_model_with_its_shape(
        message: str, model: str) -> None:
    cls = _model(model)
    ours = _fields(message)
    theirs = {js: cls.openapi_types[attr] for attr, js in cls.attribute_map.items()}
    missing = {js for js in theirs if js not in ours and js not in _TYPE_META}
    assert not missing, f"{message} lacks {sorted(missing)}: the typed pass would drop them"
    extra = set(ours) - set(theirs)
    assert not extra, f"{message} has {sorted(extra)}, which the 1.32 model does not"
    shapes = {js: (_client_type(f), theirs[js]) for js, f in ours.items()}
    assert {js: s for js, s in shapes.items() if s[0] != s[1]} == {}


@pytest.mark.parametrize(("message", "model"), MODELLED, ids=[m for m, _ in MODELLED])
def test_the_fields_go_always_writes_are_the_models_required_ones(
        message: str, model: str) -> None:
    cls = _model(model)
    source = inspect.getsource(cls)
    required = {cls.attribute_map[a] for a in
                re.findall(r"Invalid value for `(\w+)`, must not be `None`", source)}
    fields = _fields(message)
    expected = {js for js in required if (message, js) not in _REQUIRED_NOT_ENCODED and
                fields[js].type not in ("Time", "MicroTime")}
    assert set(ALWAYS_ENCODED.get(message, ())) == expected


def test_the_builtins_are_every_non_message_type_the_tables_use() -> None:
    used = {f.type for fields in MESSAGES.values() for f in fields.values()}
    assert used - set(MESSAGES) <= set(_CLIENT_TYPES) and BUILTINS <= set(_CLIENT_TYPES)
