"""ReplicaSet decisions as tables: claiming, deletion order, status."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.controllers.replicaset_decisions import (
    Claim,
    claim_action,
    pod_from_template,
    pods_to_delete,
    replica_status,
)

OWNER = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
         "metadata": {"name": "web", "namespace": "default", "uid": "rs-1", "generation": 4}}


def pod(name: str, *, node: str = "n1", phase: str = "Running", ready: bool = True,
        ready_at: str = "2024-01-01T00:00:00Z", created: str = "2024-01-01T00:00:00Z",
        restarts: int = 0, owner: str | None = None, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": name, "creationTimestamp": created,
                            "labels": {"app": "web"}}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "controller": True, "kind": "ReplicaSet",
                                    "name": "x"}]
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "lastTransitionTime": ready_at}],
                       "containerStatuses": [{"restartCount": restarts}]}}


@pytest.mark.parametrize(("obj", "matches", "owner", "want"), [
    (pod("a", owner="rs-1"), True, OWNER, Claim.KEEP),
    (pod("a", owner="rs-1"), False, OWNER, Claim.RELEASE),
    (pod("a", owner="other"), True, OWNER, Claim.IGNORE),
    (pod("a"), True, OWNER, Claim.ADOPT),
    (pod("a"), False, OWNER, Claim.IGNORE),
    (pod("a", deleting=True), True, OWNER, Claim.IGNORE),
    (pod("a"), True, {**OWNER, "metadata": {**OWNER["metadata"], "deletionTimestamp": "t"}},
     Claim.IGNORE),
    (pod("a", owner="rs-1"), False,
     {**OWNER, "metadata": {**OWNER["metadata"], "deletionTimestamp": "t"}}, Claim.IGNORE),
])
def test_claiming(obj: dict[str, Any], matches: bool, owner: dict[str, Any],
                  want: Claim) -> None:
    assert claim_action(obj, owner, matches=matches) is want


@pytest.mark.parametrize(("pods", "first"), [
    ([pod("scheduled"), pod("unscheduled", node="")], "unscheduled"),
    ([pod("running"), pod("pending", phase="Pending")], "pending"),
    ([pod("running"), pod("unknown", phase="Unknown")], "unknown"),
    ([pod("unknown", phase="Unknown"), pod("pending", phase="Pending")], "pending"),
    ([pod("ready"), pod("unready", ready=False)], "unready"),
    ([pod("long", ready_at="2024-01-01T00:00:00Z"),
      pod("short", ready_at="2024-01-02T00:00:00Z")], "short"),
    ([pod("calm"), pod("crashy", restarts=5)], "crashy"),
    ([pod("old", created="2024-01-01T00:00:00Z"),
      pod("new", created="2024-01-03T00:00:00Z")], "new"),
    # the earlier criterion wins: an old unready pod goes before a new ready one
    ([pod("new", created="2024-01-03T00:00:00Z"),
      pod("old-unready", ready=False)], "old-unready"),
])
def test_deletion_prefers_the_least_useful_pod(pods: list[dict[str, Any]], first: str) -> None:
    for order in (pods, list(reversed(pods))):
        assert [p["metadata"]["name"] for p in pods_to_delete(order, 1)] == [first]


def test_deletion_prefers_nodes_where_related_pods_are_doubled_up() -> None:
    a, b = pod("a", node="busy"), pod("b", node="quiet")
    related = [a, pod("sibling", node="busy"), b]
    assert pods_to_delete([b, a], 1, related) == [a]


def test_pods_get_the_template_and_a_controller_reference() -> None:
    template = {"metadata": {"labels": {"app": "web"}, "annotations": {"k": "v"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    ref = {"uid": "rs-1", "controller": True}
    made = pod_from_template(OWNER, template, ref)
    assert made["metadata"] == {"generateName": "web-", "namespace": "default",
                                "labels": {"app": "web"}, "annotations": {"k": "v"},
                                "ownerReferences": [ref]}
    made["spec"]["containers"][0]["image"] = "changed"
    assert template["spec"]["containers"][0]["image"] == "busybox"


def test_status_counts_and_min_ready_seconds() -> None:
    owner = {**OWNER, "spec": {"minReadySeconds": 10,
                               "template": {"metadata": {"labels": {"app": "web", "v": "1"}}}}}
    t0 = 1704067200.0  # 2024-01-01T00:00:00Z
    labeled = pod("labeled")
    labeled["metadata"]["labels"] = {"app": "web", "v": "1"}
    pods = [labeled, pod("late", ready_at="2024-01-01T00:00:05Z"), pod("no", ready=False)]
    status, wait = replica_status(owner, pods, now=t0 + 12)
    assert status == {"replicas": 3, "fullyLabeledReplicas": 1, "readyReplicas": 2,
                      "availableReplicas": 1, "observedGeneration": 4}
    assert wait == pytest.approx(3.0)


def test_a_create_failure_sets_and_then_clears_replica_failure() -> None:
    failed, _ = replica_status(OWNER, [], now=0, manage_error="quota", timestamp="T")
    assert failed["conditions"] == [{"type": "ReplicaFailure", "status": "True",
                                     "reason": "FailedCreate", "message": "quota",
                                     "lastTransitionTime": "T"}]
    healed, _ = replica_status({**OWNER, "status": failed}, [], now=0)
    assert "conditions" not in healed
