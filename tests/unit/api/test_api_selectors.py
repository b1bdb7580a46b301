"""Label and field selector parsing and matching."""

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CONFIGMAPS, EVENTS, PODS
from minikube_py.api.selectors import (
    parse_field_selector,
    parse_label_selector,
    selector_from_label_selector_object,
)
from tests.unit.apiserver.kinds import KINDS

LABELS = {"app": "web", "tier": "front", "n": "5"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app=db", False),
        ("app!=db", True),
        ("missing!=x", True),
        ("app in (web,db)", True),
        ("app in (db)", False),
        ("app notin (db, cache)", True),
        ("missing notin (x)", True),
        ("app", True),
        ("missing", False),
        ("!missing", True),
        ("!app", False),
        ("app=web,tier=front", True),
        ("app=web,tier=back", False),
        ("app in (web),tier notin (back),!missing", True),
        ("n>3", True),
        ("n<3", False),
    ],
)
def test_label_selector_matches_like_kube(selector: str, matches: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is matches


@pytest.mark.parametrize("selector", ["app in ()", "a b c", "app=we b", "=x", "x,,y"])
def test_malformed_label_selector_is_bad_request(selector: str) -> None:
    with pytest.raises(ApiError) as e:
        parse_label_selector(selector)
    assert e.value.code == 400


def test_label_selector_object_supports_expressions() -> None:
    sel = selector_from_label_selector_object({
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]},
                             {"key": "gone", "operator": "DoesNotExist"}]})
    assert sel.matches(LABELS)
    assert not sel.matches({"app": "web"})


@pytest.mark.parametrize(
    ("selector", "fields", "matches"),
    [
        ("metadata.name=a", {"metadata.name": "a"}, True),
        ("metadata.name==a", {"metadata.name": "a"}, True),
        ("metadata.name!=a", {"metadata.name": "a"}, False),
        ("spec.nodeName=", {"spec.nodeName": ""}, True),
        ("spec.nodeName!=", {"spec.nodeName": "n1"}, True),
        (r"metadata.name=a\,b", {"metadata.name": "a,b"}, True),
    ],
)
def test_field_selector_matches(selector: str, fields: dict[str, str], matches: bool) -> None:
    assert parse_field_selector(selector).matches(fields) is matches


def test_pod_field_selector_uses_pod_fields() -> None:
    flt = KINDS.filter(PODS, "", "spec.nodeName=n1,status.phase!=Succeeded")
    pod = {"metadata": {"name": "p"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}
    assert flt.matches(pod)
    assert not flt.matches({**pod, "status": {"phase": "Succeeded"}})


def test_event_field_selector_uses_involved_object() -> None:
    flt = KINDS.filter(EVENTS, "", "involvedObject.name=p,involvedObject.kind=Pod")
    assert flt.matches({"metadata": {}, "involvedObject": {"name": "p", "kind": "Pod"}})


def test_unsupported_field_label_is_bad_request() -> None:
    with pytest.raises(ApiError) as e:
        KINDS.filter(CONFIGMAPS, "", "data.x=y")
    assert e.value.code == 400
    assert e.value.message == "field label not supported: data.x"
