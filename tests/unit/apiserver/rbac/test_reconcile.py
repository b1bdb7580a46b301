"""Reconciling a bootstrap role or binding with what is stored: create what is missing, add
what a stored one lacks, never take away what a user added, leave autoupdate=false alone."""

from typing import Any

from minikube_py.apiserver.rbac.bootstrappolicy import AUTO_UPDATE
from minikube_py.apiserver.rbac.reconcile import Operation, reconcile_binding, reconcile_role

Obj = dict[str, Any]
RBAC = "rbac.authorization.k8s.io"
GET_PODS = {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}
LIST_PODS = {"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]}


def role(*rules: Obj, annotations: dict[str, str] | None = None,
         labels: dict[str, str] | None = None) -> Obj:
    return {"metadata": {"name": "r", "annotations": annotations or {AUTO_UPDATE: "true"},
                         "labels": labels or {}}, "rules": list(rules)}


def binding(*subjects: str, role_name: str = "r") -> Obj:
    return {"metadata": {"name": "b", "annotations": {AUTO_UPDATE: "true"}},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role_name},
            "subjects": [{"kind": "Group", "apiGroup": RBAC, "name": s} for s in subjects]}


def test_a_missing_role_is_created() -> None:
    assert reconcile_role(None, role(GET_PODS)).operation is Operation.CREATE


def test_a_role_holding_every_expected_rule_is_left_as_it_is() -> None:
    assert reconcile_role(role(GET_PODS, LIST_PODS), role(GET_PODS)).operation is Operation.NONE


def test_missing_rules_are_added_after_the_users_own() -> None:
    done = reconcile_role(role(LIST_PODS), role(GET_PODS))
    assert done.operation is Operation.UPDATE and done.obj is not None
    assert done.obj["rules"] == [LIST_PODS, GET_PODS]


def test_missing_labels_are_added_and_changed_ones_kept() -> None:
    done = reconcile_role(role(GET_PODS, labels={"a": "mine"}),
                          role(GET_PODS, labels={"a": "theirs", "b": "1"}))
    assert done.obj is not None and done.obj["metadata"]["labels"] == {"a": "mine", "b": "1"}


def test_autoupdate_false_leaves_a_role_alone() -> None:
    stored = role(annotations={AUTO_UPDATE: "false"})
    assert reconcile_role(stored, role(GET_PODS)).operation is Operation.NONE


def test_a_binding_gets_back_its_subjects_and_keeps_added_ones() -> None:
    done = reconcile_binding(binding("extra"), binding("system:masters"))
    assert done.obj is not None
    assert [s["name"] for s in done.obj["subjects"]] == ["extra", "system:masters"]


def test_a_binding_to_another_role_is_recreated() -> None:
    done = reconcile_binding(binding("system:masters", role_name="other"),
                             binding("system:masters"))
    assert done.operation is Operation.RECREATE


def test_autoupdate_false_leaves_a_binding_alone() -> None:
    stored = binding()
    stored["metadata"]["annotations"] = {AUTO_UPDATE: "false"}
    assert reconcile_binding(stored, binding("system:masters")).operation is Operation.NONE
