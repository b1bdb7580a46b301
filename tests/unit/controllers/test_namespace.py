"""Namespace deletion bookkeeping: what to empty and the conditions reported."""

from __future__ import annotations

from minikube_py.api.resources import CONFIGMAPS, PODS
from minikube_py.controllers.namespacecontent import (
    Remaining,
    deletion_conditions,
    namespaced_resources,
    needs_emptying,
    without_kubernetes_finalizer,
)


def ns(deleting: bool, finalizers: list[str]) -> dict[str, object]:
    meta = {"name": "x", **({"deletionTimestamp": "t"} if deleting else {})}
    return {"metadata": meta, "spec": {"finalizers": finalizers}}


def test_only_a_deleted_namespace_with_our_finalizer_needs_emptying() -> None:
    assert needs_emptying(ns(True, ["kubernetes"]))
    assert not needs_emptying(ns(False, ["kubernetes"]))
    assert not needs_emptying(ns(True, []))
    assert without_kubernetes_finalizer(ns(True, ["kubernetes", "other"])) == ["other"]


def test_every_namespaced_resource_is_emptied_pods_first() -> None:
    resources = namespaced_resources()
    assert resources[0] is PODS
    assert CONFIGMAPS in resources and all(r.namespaced for r in resources)


def test_conditions_report_remaining_content_and_finalizers() -> None:
    r = Remaining()
    r.add(PODS, {"metadata": {}})
    r.add(CONFIGMAPS, {"metadata": {"finalizers": ["a/b"]}})
    conds = {c["type"]: c for c in deletion_conditions(r, [], "T1")}
    assert conds["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: configmaps has 1 resource instances, pods has 1 "
        "resource instances")
    assert conds["NamespaceFinalizersRemaining"]["status"] == "True"
    assert conds["NamespaceDeletionContentFailure"]["status"] == "False"


def test_a_condition_keeps_its_transition_time_while_unchanged() -> None:
    first = deletion_conditions(Remaining(), [], "T1")
    again = deletion_conditions(Remaining(), first, "T2")
    assert again == first
