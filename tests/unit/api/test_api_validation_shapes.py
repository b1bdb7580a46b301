"""Validation of metadata and map-of-string fields: owner references, finalizers, labels,
ConfigMap data, selectors; on create and on update, with kube's fields and messages."""

from typing import Any

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CONFIGMAPS, DEPLOYMENTS, PODS, SECRETS, SERVICES
from tests.unit.apiserver.kinds import validate_create, validate_update

OWNER = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1"}


def pod(meta: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "x", "namespace": "default", **(meta or {})},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def causes(resource: Any, obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(ApiError) as e:
        validate_create(resource, obj)
    assert (e.value.code, e.value.reason) == (422, "Invalid")
    return [(c.reason, c.field, c.message) for c in e.value.causes]


def fields(resource: Any, obj: dict[str, Any]) -> list[str]:
    return [f for _, f, _ in causes(resource, obj)]


def test_complete_owner_reference_passes() -> None:
    validate_create(PODS, pod({"ownerReferences": [{**OWNER, "controller": True,
                                                    "blockOwnerDeletion": True}]}))


def test_owner_references_must_be_a_list() -> None:
    assert fields(PODS, pod({"ownerReferences": "x"})) == ["metadata.ownerReferences"]


def test_owner_reference_fields_must_not_be_empty() -> None:
    assert causes(PODS, pod({"ownerReferences": [{"kind": "ReplicaSet"}]})) == [
        ("FieldValueInvalid", "metadata.ownerReferences.apiVersion",
         'Invalid value: "": version must not be empty'),
        ("FieldValueInvalid", "metadata.ownerReferences.name",
         'Invalid value: "": name must not be empty'),
        ("FieldValueInvalid", "metadata.ownerReferences.uid",
         'Invalid value: "": uid must not be empty'),
    ]


def test_owner_reference_controller_must_be_a_boolean() -> None:
    assert fields(PODS, pod({"ownerReferences": [{**OWNER, "controller": "yes"}]})) == [
        "metadata.ownerReferences.controller"]


def test_only_one_owner_reference_may_be_the_controller() -> None:
    refs = [{**OWNER, "controller": True}, {**OWNER, "name": "other", "controller": True}]
    (reason, field, message), = causes(PODS, pod({"ownerReferences": refs}))
    assert (reason, field) == ("FieldValueInvalid", "metadata.ownerReferences")
    assert message.endswith('Only one reference can have Controller set to true. Found "true" '
                            "in references for ReplicaSet/rs and ReplicaSet/other")


def test_owner_references_are_checked_on_update() -> None:
    old = pod()
    old["metadata"]["uid"] = "u"
    with pytest.raises(ApiError) as e:
        validate_update(PODS, old, pod({"ownerReferences": [{"kind": "X"}]}))
    assert e.value.code == 422


@pytest.mark.parametrize(("finalizers", "field"), [
    ("abc", "metadata.finalizers"),
    ([5], "metadata.finalizers[0]"),
    (["ok.io/f", "not valid!"], "metadata.finalizers[1]"),
])
def test_finalizers_are_a_list_of_qualified_names(finalizers: Any, field: str) -> None:
    assert fields(PODS, pod({"finalizers": finalizers})) == [field]


@pytest.mark.parametrize(("labels", "field"), [
    ("x", "metadata.labels"),
    ({"a": 1}, "metadata.labels[a]"),
    ({"a": None}, "metadata.labels[a]"),
])
def test_label_values_are_strings(labels: Any, field: str) -> None:
    assert fields(PODS, pod({"labels": labels})) == [field]


def test_annotation_values_are_strings() -> None:
    assert fields(PODS, pod({"annotations": {"a": {"b": "c"}}})) == ["metadata.annotations[a]"]


def test_node_selector_is_validated_as_labels() -> None:
    assert fields(PODS, pod(nodeSelector={"disk": 1})) == ["spec.nodeSelector[disk]"]
    assert fields(PODS, pod(nodeSelector="ssd")) == ["spec.nodeSelector"]


def configmap(**top: Any) -> dict[str, Any]:
    return {"metadata": {"name": "m", "namespace": "default"}, **top}


def test_valid_configmap_passes() -> None:
    validate_create(CONFIGMAPS, configmap(data={"a.txt": "x"}, binaryData={"b": "AAE="}))


@pytest.mark.parametrize(("top", "field"), [
    ({"data": 5}, "data"),
    ({"data": {"k": 5}}, "data[k]"),
    ({"data": {"bad key": "v"}}, "data[bad key]"),
    ({"binaryData": {"k": "not base64!"}}, "binaryData[k]"),
    ({"data": {"k": "v"}, "binaryData": {"k": "AA=="}}, "data[k]"),
])
def test_configmap_data_is_a_map_of_strings_with_config_keys(top: dict[str, Any],
                                                             field: str) -> None:
    assert fields(CONFIGMAPS, configmap(**top)) == [field]


def test_configmap_key_message_is_kubes() -> None:
    (_, _, message), = causes(CONFIGMAPS, configmap(data={"a b": "v"}))
    assert message == ('Invalid value: "a b": a valid config key must consist of alphanumeric '
                       "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                       "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")


def test_secret_data_must_be_base64() -> None:
    assert fields(SECRETS, configmap(data={"k": "%%%"})) == ["data[k]"]


def test_configmap_data_is_checked_on_update() -> None:
    with pytest.raises(ApiError):
        validate_update(CONFIGMAPS, configmap(), configmap(data={"k": 1}))


def service(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "s", "namespace": "default"},
            "spec": {"ports": [{"port": 80}], **spec}}


@pytest.mark.parametrize(("selector", "field"), [
    ("x", "spec.selector"),
    ({"a": 1}, "spec.selector[a]"),
])
def test_service_selector_is_a_map_of_strings(selector: Any, field: str) -> None:
    assert fields(SERVICES, service(selector=selector)) == [field]


def deployment(selector: Any, labels: Any) -> dict[str, Any]:
    return {"metadata": {"name": "d", "namespace": "default"},
            "spec": {"selector": selector,
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}}


def test_deployment_selector_of_wrong_shape_is_invalid_not_a_crash() -> None:
    assert fields(DEPLOYMENTS, deployment("app=d", {"app": "d"})) == ["spec.selector"]
    assert fields(DEPLOYMENTS, deployment({"matchLabels": {"app": 1}}, {"app": "d"})) == [
        "spec.selector.matchLabels[app]"]


def test_template_labels_and_annotations_are_validated() -> None:
    d = deployment({"matchLabels": {"app": "d"}}, {"app": "d", "x": 2})
    d["spec"]["template"]["metadata"]["annotations"] = {"a": 1}
    assert fields(DEPLOYMENTS, d) == ["spec.template.metadata.labels[x]",
                                      "spec.template.metadata.annotations[a]"]
