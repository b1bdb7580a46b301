"""Validation: kube's field paths, reasons and messages."""

from typing import Any

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import DEPLOYMENTS, NAMESPACES, PODS, SERVICES
from tests.unit.apiserver.kinds import validate_create, validate_update


def pod(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    base.update(spec)
    return {"metadata": {"name": "x", "namespace": "default"}, "spec": base}


def causes(resource: Any, obj: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ApiError) as e:
        validate_create(resource, obj)
    assert e.value.code == 422
    assert e.value.reason == "Invalid"
    return [(c.reason, c.field) for c in e.value.causes]


def test_valid_pod_passes() -> None:
    validate_create(PODS, pod())


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (pod(containers=[{"name": "c"}]), ("FieldValueRequired", "spec.containers[0].image")),
        (pod(containers=[]), ("FieldValueRequired", "spec.containers")),
        (pod(containers=[{"name": "C_1", "image": "i"}]),
         ("FieldValueInvalid", "spec.containers[0].name")),
        (pod(containers=[{"name": "a", "image": "i"}, {"name": "a", "image": "i"}]),
         ("FieldValueDuplicate", "spec.containers[1].name")),
        (pod(restartPolicy="Sometimes"), ("FieldValueNotSupported", "spec.restartPolicy")),
        (pod(containers=[{"name": "c", "image": "i", "ports": [{"containerPort": 70000}]}]),
         ("FieldValueInvalid", "spec.containers[0].ports[0].containerPort")),
        ({"metadata": {"name": "Bad_Name"}, "spec": pod()["spec"]},
         ("FieldValueInvalid", "metadata.name")),
        ({"metadata": {}, "spec": pod()["spec"]}, ("FieldValueRequired", "metadata.name")),
        ({"metadata": {"name": "x", "labels": {"a": "not ok"}}, "spec": pod()["spec"]},
         ("FieldValueInvalid", "metadata.labels")),
    ],
)
def test_invalid_pod_reports_field_cause(obj: dict[str, Any], expected: tuple[str, str]) -> None:
    assert expected in causes(PODS, obj)


def test_message_has_kube_shape() -> None:
    with pytest.raises(ApiError) as e:
        validate_create(PODS, pod(containers=[{"name": "c"}]))
    assert e.value.message == 'Pod "x" is invalid: spec.containers[0].image: Required value'


def test_several_errors_are_bracketed() -> None:
    with pytest.raises(ApiError) as e:
        validate_create(PODS, pod(containers=[{"image": ""}]))
    assert e.value.message.startswith('Pod "x" is invalid: [spec.containers[0].name: Required')


def test_namespace_name_must_be_dns_label() -> None:
    assert ("FieldValueInvalid", "metadata.name") in causes(
        NAMESPACES, {"metadata": {"name": "a.b"}})


def test_service_needs_ports() -> None:
    assert ("FieldValueRequired", "spec.ports") in causes(
        SERVICES, {"metadata": {"name": "s"}, "spec": {"type": "ClusterIP"}})


def test_deployment_selector_must_match_template() -> None:
    obj = {"metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"app": "a"}},
        "template": {"metadata": {"labels": {"app": "b"}},
                     "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    assert ("FieldValueInvalid", "spec.template.metadata.labels") in causes(DEPLOYMENTS, obj)


def test_pod_update_may_change_image() -> None:
    old = pod()
    new = pod(containers=[{"name": "c", "image": "busybox:2"}])
    validate_update(PODS, old, new)


def test_pod_update_may_not_change_other_spec_fields() -> None:
    with pytest.raises(ApiError) as e:
        validate_update(PODS, pod(), pod(restartPolicy="Never"))
    assert e.value.causes[0].reason == "FieldValueForbidden"
    assert "pod updates may not change fields other than" in e.value.message


def test_pod_update_may_add_tolerations() -> None:
    validate_update(PODS, pod(tolerations=[{"key": "a", "operator": "Exists"}]),
                    pod(tolerations=[{"key": "a", "operator": "Exists"},
                                     {"key": "b", "operator": "Exists"}]))
