"""The disruption controller's decisions, pure: which pods a budget counts, how many it
expects and wants healthy, which evictions it still waits for, and the status it writes."""

from typing import Any

import pytest

from minikube_py.api.timefmt import rfc3339
from minikube_py.controllers.disruption import (
    BudgetError,
    Expected,
    budget_status,
    disrupted_pods,
    expected_pods,
    fail_safe_status,
    healthy_pods,
    pods_of_budget,
    stale_disruption_wait,
    without_disruption_target,
)

Obj = dict[str, Any]
NOW = 1_800_000_000.0
NS = "default"


def owner(kind: str, name: str, uid: str, api_version: str = "apps/v1") -> Obj:
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid,
            "controller": True}


def pod(name: str, *, ready: bool = True, labels: Obj | None = None, ref: Obj | None = None,
        deleting: bool = False, ns: str = NS) -> Obj:
    meta: Obj = {"name": name, "namespace": ns, "labels": labels or {"app": "web"}}
    if ref is not None:
        meta["ownerReferences"] = [ref]
    if deleting:
        meta["deletionTimestamp"] = rfc3339(NOW)
    return {"metadata": meta, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def pdb(generation: int = 1, status: Obj | None = None, **spec: Any) -> Obj:
    return {"metadata": {"name": "web", "namespace": NS, "generation": generation},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec},
            "status": status or {"disruptionsAllowed": 0, "currentHealthy": 0,
                                 "desiredHealthy": 0, "expectedPods": 0}}


def workload(kind: str, name: str, uid: str, replicas: int, ref: Obj | None = None) -> Obj:
    meta: Obj = {"name": name, "namespace": NS, "uid": uid}
    if ref is not None:
        meta["ownerReferences"] = [ref]
    return {"metadata": meta, "spec": {"replicas": replicas}}


def finder(*objs: tuple[str, Obj]) -> Any:
    table = {(kind, o["metadata"]["namespace"], o["metadata"]["name"]): o for kind, o in objs}
    return lambda kind, ns, name: table.get((kind, ns, name))


DEPLOYMENT = workload("Deployment", "web", "d1", 5)
RS_OLD = workload("ReplicaSet", "web-1", "rs1", 2, owner("Deployment", "web", "d1"))
RS_NEW = workload("ReplicaSet", "web-2", "rs2", 3, owner("Deployment", "web", "d1"))
FIND = finder(("Deployment", DEPLOYMENT), ("ReplicaSet", RS_OLD), ("ReplicaSet", RS_NEW))


def test_the_selector_picks_pods_of_the_budgets_namespace() -> None:
    pods = [pod("a"), pod("b", labels={"app": "db"}), pod("c", ns="other")]
    assert [p["metadata"]["name"] for p in pods_of_budget(pdb(), pods)] == ["a"]


def test_an_empty_selector_counts_every_pod_and_a_null_one_none() -> None:
    pods = [pod("a"), pod("b", labels={"app": "db"})]
    assert len(pods_of_budget(pdb(selector={}), pods)) == 2
    assert pods_of_budget(pdb(selector=None), pods) == []


def test_an_integer_min_available_expects_the_pods_there_are() -> None:
    assert expected_pods(pdb(minAvailable=2), [pod("a"), pod("b"), pod("c")], FIND) == \
        Expected(3, 2)


def test_a_percentage_counts_the_deployments_replicas_once() -> None:
    pods = [pod("a", ref=owner("ReplicaSet", "web-1", "rs1")),
            pod("b", ref=owner("ReplicaSet", "web-2", "rs2"))]
    # 5 replicas of the Deployment (not 2 + 3 of its ReplicaSets); 50% rounds up.
    assert expected_pods(pdb(minAvailable="50%"), pods, FIND) == Expected(5, 3)


def test_max_unavailable_subtracts_from_the_scale() -> None:
    ref = owner("StatefulSet", "db", "s1")
    find = finder(("StatefulSet", workload("StatefulSet", "db", "s1", 4)))
    pods = [pod("a", ref=ref), pod("b", ref=ref)]
    assert expected_pods(pdb(maxUnavailable=1), pods, find) == Expected(4, 3)
    assert expected_pods(pdb(maxUnavailable="30%"), pods, find) == Expected(4, 2)
    assert expected_pods(pdb(maxUnavailable=9), pods, find) == Expected(4, 0)


def test_a_bare_replicaset_and_a_replication_controller_count_their_own_replicas() -> None:
    rs = workload("ReplicaSet", "bare", "rs9", 2)
    rc = workload("ReplicationController", "old", "rc1", 3)
    find = finder(("ReplicaSet", rs), ("ReplicationController", rc))
    pods = [pod("a", ref=owner("ReplicaSet", "bare", "rs9")),
            pod("b", ref=owner("ReplicationController", "old", "rc1", "v1"))]
    assert expected_pods(pdb(maxUnavailable=0), pods, find) == Expected(5, 5)


def test_unmanaged_pods_are_named_not_counted() -> None:
    pods = [pod("a", ref=owner("ReplicaSet", "web-1", "rs1")), pod("loner")]
    assert expected_pods(pdb(maxUnavailable=1), pods, FIND) == Expected(5, 4, ("loner",))


def test_a_pod_whose_controller_is_unknown_fails_the_sync() -> None:
    pods = [pod("a", ref=owner("Job", "j", "j1", "batch/v1"))]
    with pytest.raises(BudgetError, match='found no controllers for pod "a"'):
        expected_pods(pdb(maxUnavailable=1), pods, FIND)
    stale = [pod("b", ref=owner("ReplicaSet", "web-1", "not-rs1"))]
    with pytest.raises(BudgetError):
        expected_pods(pdb(minAvailable="10%"), stale, FIND)


def test_evictions_wait_two_minutes_for_their_pod() -> None:
    status = {"disruptedPods": {"recent": rfc3339(NOW - 30), "stale": rfc3339(NOW - 121),
                                "going": rfc3339(NOW - 30), "gone": rfc3339(NOW - 30)}}
    budget = pdb(status=status, minAvailable=1)
    pods = [pod("recent"), pod("stale"), pod("going", deleting=True), pod("other")]
    disrupted = disrupted_pods(budget, pods, NOW)
    assert disrupted.pods == {"recent": rfc3339(NOW - 30)}
    assert disrupted.recheck_at == NOW + 90
    assert disrupted.not_deleted == ("stale",)
    # The evicted pod does not count as healthy; the one whose eviction expired does again.
    assert healthy_pods(pods, disrupted.pods, NOW) == 2


def test_healthy_means_ready_and_not_being_deleted() -> None:
    pods = [pod("a"), pod("b", ready=False), pod("c", deleting=True)]
    assert healthy_pods(pods, {}, NOW) == 1


def test_status_allows_healthy_minus_desired() -> None:
    status = budget_status(pdb(minAvailable=2), Expected(3, 2), 3, {}, rfc3339(NOW))
    assert status == {
        "observedGeneration": 1, "disruptionsAllowed": 1, "currentHealthy": 3,
        "desiredHealthy": 2, "expectedPods": 3,
        "conditions": [{"type": "DisruptionAllowed", "status": "True",
                        "observedGeneration": 1, "lastTransitionTime": rfc3339(NOW),
                        "reason": "SufficientPods", "message": ""}]}


def test_too_few_healthy_or_no_expected_pods_allow_nothing() -> None:
    status = budget_status(pdb(minAvailable=2), Expected(3, 2), 1, {}, rfc3339(NOW))
    assert status is not None and status["disruptionsAllowed"] == 0
    assert status["conditions"][0]["reason"] == "InsufficientPods"
    status = budget_status(pdb(minAvailable=0), Expected(0, 0), 0, {}, rfc3339(NOW))
    assert status is not None and status["disruptionsAllowed"] == 0


def test_an_up_to_date_status_is_not_written_again() -> None:
    status = budget_status(pdb(minAvailable=2), Expected(3, 2), 3, {}, rfc3339(NOW))
    assert status is not None
    assert budget_status(pdb(status=status, minAvailable=2), Expected(3, 2), 3, {},
                         rfc3339(NOW + 5)) is None
    # A new generation must be observed even when the counts stay.
    newer = budget_status(pdb(2, status, minAvailable=2), Expected(3, 2), 3, {},
                          rfc3339(NOW + 5))
    assert newer is not None and newer["observedGeneration"] == 2
    assert newer["conditions"][0]["lastTransitionTime"] == rfc3339(NOW)  # status stayed


def test_the_condition_moves_its_transition_time_when_it_flips() -> None:
    allowed = budget_status(pdb(minAvailable=2), Expected(3, 2), 3, {}, rfc3339(NOW))
    assert allowed is not None
    denied = budget_status(pdb(status=allowed, minAvailable=2), Expected(3, 2), 2, {},
                           rfc3339(NOW + 5))
    assert denied is not None
    [cond] = denied["conditions"]
    assert (cond["status"], cond["lastTransitionTime"]) == ("False", rfc3339(NOW + 5))


def test_fail_safe_allows_nothing_and_says_why() -> None:
    status = fail_safe_status(pdb(status={"observedGeneration": 1, "disruptionsAllowed": 2}),
                              "found no controllers", rfc3339(NOW))
    assert status["disruptionsAllowed"] == 0
    assert status["observedGeneration"] == 1
    [cond] = status["conditions"]
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "False", "SyncFailed", "found no controllers")


def marked(pod_obj: Obj, since: float, reason: str = "EvictionByEvictionAPI") -> Obj:
    pod_obj["status"]["conditions"].append(
        {"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
         "lastTransitionTime": rfc3339(since), "reason": reason, "message": "m"})
    return pod_obj


def test_an_eviction_mark_goes_stale_two_minutes_after_it_was_set() -> None:
    assert stale_disruption_wait(marked(pod("a"), NOW - 30), NOW) == 90
    assert stale_disruption_wait(marked(pod("a"), NOW - 300), NOW) == 0
    assert stale_disruption_wait(pod("a"), NOW) is None


def test_marks_of_deleted_finished_or_kubelet_pods_never_go_stale() -> None:
    assert stale_disruption_wait(marked(pod("a", deleting=True), NOW - 300), NOW) is None
    done = marked(pod("a"), NOW - 300)
    done["status"]["phase"] = "Failed"
    assert stale_disruption_wait(done, NOW) is None
    assert stale_disruption_wait(marked(pod("a"), NOW - 300, "TerminationByKubelet"),
                                 NOW) is None


def test_a_stale_mark_turns_false() -> None:
    cleared = without_disruption_target(marked(pod("a"), NOW - 300), rfc3339(NOW))
    ready, target = cleared["status"]["conditions"]
    assert ready["type"] == "Ready"
    assert target == {"type": "DisruptionTarget", "status": "False", "lastProbeTime": None,
                      "lastTransitionTime": rfc3339(NOW)}
    assert stale_disruption_wait(cleared, NOW) is None
