"""JSON patch, merge patch and strategic merge patch, including kubectl apply's shapes."""

from typing import Any

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.patch import json_patch, merge_patch, strategic_merge_patch

DOC = {"a": 1, "b": {"c": [1, 2, 3]}, "d": "x"}


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ([{"op": "add", "path": "/e", "value": 5}], {**DOC, "e": 5}),
        ([{"op": "add", "path": "/b/c/-", "value": 4}], {**DOC, "b": {"c": [1, 2, 3, 4]}}),
        ([{"op": "add", "path": "/b/c/0", "value": 0}], {**DOC, "b": {"c": [0, 1, 2, 3]}}),
        ([{"op": "remove", "path": "/a"}], {"b": {"c": [1, 2, 3]}, "d": "x"}),
        ([{"op": "replace", "path": "/d", "value": "y"}], {**DOC, "d": "y"}),
        ([{"op": "move", "from": "/d", "path": "/z"}], {"a": 1, "b": {"c": [1, 2, 3]}, "z": "x"}),
        ([{"op": "copy", "from": "/a", "path": "/z"}], {**DOC, "z": 1}),
        ([{"op": "test", "path": "/a", "value": 1}, {"op": "remove", "path": "/d"}],
         {"a": 1, "b": {"c": [1, 2, 3]}}),
        ([{"op": "add", "path": "/x~1y", "value": 1}], {**DOC, "x/y": 1}),
    ],
)
def test_json_patch_ops(ops: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    assert json_patch(DOC, ops) == expected


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "test", "path": "/a", "value": 2}],
        [{"op": "remove", "path": "/nope"}],
        [{"op": "replace", "path": "/nope", "value": 1}],
        [{"op": "add", "path": "/b/c/9", "value": 1}],
    ],
)
def test_failing_json_patch_is_422(ops: list[dict[str, Any]]) -> None:
    with pytest.raises(ApiError) as e:
        json_patch(DOC, ops)
    assert e.value.code == 422


def test_json_patch_does_not_touch_input() -> None:
    json_patch(DOC, [{"op": "add", "path": "/b/c/-", "value": 4}])
    assert DOC["b"] == {"c": [1, 2, 3]}


def test_merge_patch_rfc7386() -> None:
    assert merge_patch({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"b": None, "d": 3}, "l": [2]}) \
        == {"a": {"c": 2, "d": 3}, "l": [2]}


POD = {"metadata": {"name": "p", "labels": {"a": "1"}, "finalizers": ["x"]},
       "spec": {"containers": [
           {"name": "a", "image": "i1", "env": [{"name": "E", "value": "1"}],
            "ports": [{"containerPort": 80}]},
           {"name": "b", "image": "i2"}],
           "tolerations": [{"key": "t"}]}}


def test_strategic_merges_containers_by_name() -> None:
    out = strategic_merge_patch(POD, {"spec": {"containers": [{"name": "b", "image": "i3"}]}})
    assert [c["image"] for c in out["spec"]["containers"]] == ["i1", "i3"]


def test_strategic_merges_env_and_ports_by_key() -> None:
    out = strategic_merge_patch(POD, {"spec": {"containers": [
        {"name": "a", "env": [{"name": "F", "value": "2"}], "ports": [{"containerPort": 80,
                                                                       "name": "http"}]}]}})
    a = out["spec"]["containers"][0]
    assert a["env"] == [{"name": "E", "value": "1"}, {"name": "F", "value": "2"}]
    assert a["ports"] == [{"containerPort": 80, "name": "http"}]


def test_strategic_replaces_atomic_lists() -> None:
    out = strategic_merge_patch(POD, {"spec": {"tolerations": [{"key": "u"}]}})
    assert out["spec"]["tolerations"] == [{"key": "u"}]


def test_strategic_delete_directive_removes_list_item() -> None:
    out = strategic_merge_patch(POD, {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["b"]


def test_strategic_replace_directive_on_map() -> None:
    out = strategic_merge_patch(POD, {"metadata": {"labels": {"z": "9", "$patch": "replace"}}})
    assert out["metadata"]["labels"] == {"z": "9"}


def test_strategic_finalizers_merge_and_delete_from_primitive_list() -> None:
    out = strategic_merge_patch(POD, {"metadata": {"finalizers": ["y"]}})
    assert out["metadata"]["finalizers"] == ["x", "y"]
    out = strategic_merge_patch(out, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}})
    assert out["metadata"]["finalizers"] == ["y"]


def test_strategic_set_element_order() -> None:
    out = strategic_merge_patch(POD, {"spec": {
        "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
        "containers": [{"name": "a", "image": "i9"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["b", "a"]


def test_strategic_retain_keys() -> None:
    doc = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    out = strategic_merge_patch(doc, {"spec": {"strategy": {
        "$retainKeys": ["type"], "type": "Recreate"}}})
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_kubectl_second_apply_shape() -> None:
    """What kubectl apply sends when a label changed and one was removed."""
    current = {"metadata": {"name": "p", "labels": {"app": "web", "old": "1"},
                            "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                                            "{}"}},
               "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}
    patch = {"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                                          "{new}"},
                          "labels": {"app": "web2", "old": None}},
             "spec": {"$setElementOrder/containers": [{"name": "c"}],
                      "containers": [{"image": "busybox:2", "name": "c"}]}}
    out = strategic_merge_patch(current, patch)
    assert out["metadata"]["labels"] == {"app": "web2"}
    assert out["spec"]["containers"] == [{"name": "c", "image": "busybox:2"}]
