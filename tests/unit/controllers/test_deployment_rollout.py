"""Rollout decisions as tables: fenceposts, hashes, revisions, rolling steps, scaling,
history and status conditions."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.controllers import deployment_rollout as r


def deploy(replicas: int = 4, surge: Any = "25%", unavailable: Any = "25%", **spec: Any) -> Any:
    return {"metadata": {"name": "web", "uid": "d-1", "generation": 2},
            "apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                         "maxSurge": surge, "maxUnavailable": unavailable}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "i:1"}]}},
                     **spec},
            "status": {}}


def rs(name: str, replicas: int, avail: int | None = None, *, rev: int = 0,
       created: str = "2024-01-01T00:00:00Z", **status: Any) -> Any:
    ann = {r.REVISION: str(rev)} if rev else {}
    return {"metadata": {"name": name, "uid": name, "creationTimestamp": created,
                         "annotations": ann, "generation": 1},
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "availableReplicas":
                       replicas if avail is None else avail, "observedGeneration": 1,
                       **status}}


@pytest.mark.parametrize(("surge", "unavailable", "desired", "want"), [
    ("25%", "25%", 4, (1, 1)),
    ("25%", "25%", 3, (1, 0)),      # surge rounds up, unavailable down
    ("25%", "25%", 1, (1, 0)),
    (0, 0, 5, (0, 1)),              # both zero would never progress
    ("0%", "0%", 10, (0, 1)),
    ("50%", "30%", 10, (5, 3)),
    (2, "100%", 3, (2, 3)),
    ("33%", "33%", 10, (4, 3)),
])
def test_fenceposts_round_like_kube(surge: Any, unavailable: Any, desired: int,
                                    want: tuple[int, int]) -> None:
    assert r.resolve_fenceposts(surge, unavailable, desired) == want


def test_max_unavailable_is_capped_at_replicas_and_zero_for_recreate() -> None:
    assert r.max_unavailable(deploy(2, 0, 5)) == 2
    assert r.max_unavailable(deploy(0)) == 0
    recreate = deploy()
    recreate["spec"]["strategy"] = {"type": "Recreate"}
    assert r.max_unavailable(recreate) == 0 and r.max_surge(recreate) == 0


def test_template_hash_is_stable_name_safe_and_salted_by_collisions() -> None:
    template = deploy()["spec"]["template"]
    reordered = {"spec": template["spec"], "metadata": template["metadata"]}
    h = r.pod_template_hash(template)
    assert h == r.pod_template_hash(reordered)
    assert h == r.pod_template_hash(template, None)
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789") and 1 <= len(h) <= 10
    assert r.pod_template_hash(template, 1) != h
    other = {**template, "spec": {"containers": [{"name": "c", "image": "i:2"}]}}
    assert r.pod_template_hash(other) != h


def test_the_new_set_is_found_ignoring_its_hash_label() -> None:
    d = deploy()
    mine = r.new_replicaset(d, "abc", 1, {})
    assert mine["metadata"]["name"] == "web-abc"
    assert mine["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": "abc"}
    mine["metadata"]["creationTimestamp"] = "2024-01-02T00:00:00Z"
    stranger = rs("other", 1)
    stranger["spec"]["template"] = {"metadata": {}, "spec": {}}
    assert r.find_new_rs(d, [stranger, mine]) is mine


@pytest.mark.parametrize(("current", "new_revision", "exists", "want"), [
    ({}, 1, False, {r.REVISION: "1", r.DESIRED_REPLICAS: "4", r.MAX_REPLICAS: "5"}),
    ({r.REVISION: "2"}, 2, True, {r.REVISION: "2"}),
    # rollback: an old set becomes current again and remembers its old revision
    ({r.REVISION: "1"}, 3, True, {r.REVISION: "3", r.REVISION_HISTORY: "1"}),
    ({r.REVISION: "3", r.REVISION_HISTORY: "1"}, 5, True,
     {r.REVISION: "5", r.REVISION_HISTORY: "1,3"}),
])
def test_revision_assignment(current: dict[str, str], new_revision: int, exists: bool,
                             want: dict[str, str]) -> None:
    d = deploy()
    d["metadata"]["annotations"] = {"team": "a", r.REVISION: "9"}
    assert r.new_rs_annotations(d, current, new_revision, exists=exists) == {**want, "team": "a"}


def test_next_revision_is_one_past_the_old_sets() -> None:
    assert r.max_revision([rs("a", 0, rev=1), rs("b", 0, rev=4), rs("c", 0)]) + 1 == 5


@pytest.mark.parametrize(("d", "sets", "new_size", "want"), [
    (deploy(4, 1, 1), [("old", 4)], 0, 1),      # surge one above replicas
    (deploy(4, 1, 1), [("old", 3)], 1, 2),
    (deploy(4, 1, 1), [("old", 4)], 1, None),   # at replicas + surge: wait
    (deploy(4, "50%", 0), [("old", 4)], 0, 2),
    (deploy(4, 1, 1), [], 5, 4),                # above replicas: straight down
    (deploy(4, 1, 1), [], 4, None),
])
def test_rolling_scale_up_of_the_new_set(d: Any, sets: list[tuple[str, int]], new_size: int,
                                         want: int | None) -> None:
    new = rs("new", new_size, 0)
    olds = [rs(n, s) for n, s in sets]
    assert r.rolling_new_rs_target(d, [*olds, new], new) == want


@pytest.mark.parametrize(("d", "new", "olds", "want"), [
    # new set not yet available: nothing may go below replicas - maxUnavailable (3)
    (deploy(4, 1, 1), ("new", 1, 0), [("old", 4, 4)], {"old": 3}),
    (deploy(4, 1, 1), ("new", 2, 0), [("old", 3, 3)], {}),
    (deploy(4, 1, 1), ("new", 2, 2), [("old", 3, 3)], {"old": 1}),
    (deploy(4, 1, 0), ("new", 1, 1), [("old", 4, 4)], {"old": 3}),
    (deploy(4, 1, 0), ("new", 1, 0), [("old", 4, 4)], {}),
    # unavailable old pods are shed first, even while the new set is not ready, as far
    # as replicas + surge - minAvailable - the new set's unavailable pods allows (1)
    (deploy(4, 1, 1), ("new", 1, 0), [("old", 4, 2)], {"old": 3}),
    (deploy(4, 1, 1), ("new", 1, 1), [("old", 4, 2)], {"old": 2}),
    # a set just scaled down still reporting its old pods as available is not trusted
    (deploy(4, 1, 1), ("new", 2, 0), [("old", 3, 4)], {}),
    # oldest first across several old sets
    (deploy(4, 1, 1), ("new", 1, 1), [("b", 2, 2), ("a", 2, 2)], {"a": 0}),
])
def test_rolling_scale_down_of_old_sets(d: Any, new: tuple[str, int, int],
                                        olds: list[tuple[str, int, int]],
                                        want: dict[str, int]) -> None:
    old_sets = [rs(n, s, a, created=f"2024-01-0{1 if n == 'a' else 2}T00:00:00Z")
                for n, s, a in olds]
    assert r.rolling_old_rs_targets(d, rs(*new), old_sets) == want


def test_proportional_scaling_mid_rollout() -> None:
    d = deploy(10, 3, 2)  # was 5 replicas with surge 3: max-replicas annotation 8
    old = rs("old", 5, created="2024-01-01T00:00:00Z")
    new = rs("new", 3, 0, created="2024-01-02T00:00:00Z")
    for s in (old, new):
        s["metadata"]["annotations"].update({r.DESIRED_REPLICAS: "5", r.MAX_REPLICAS: "8"})
    assert r.is_scaling_event(d, [old, new])
    sizes, op = r.scale_targets(d, new, [old])
    assert op == "up" and sum(sizes.values()) == 13  # 10 + surge 3
    assert sizes == {"old": 8, "new": 5}


def test_scaling_with_one_active_set_just_resizes_it() -> None:
    d = deploy(6)
    assert r.scale_targets(d, rs("new", 3), [rs("old", 0)]) == ({"new": 6}, None)


def test_history_keeps_the_newest_revisions_and_only_deletes_settled_empty_sets() -> None:
    d = deploy(revisionHistoryLimit=1)
    old = [rs("r1", 0, rev=1), rs("r2", 0, rev=2), rs("r3", 0, rev=3), rs("busy", 1, rev=0)]
    assert [s["metadata"]["name"] for s in r.history_to_delete(d, old)] == ["r1", "r2"]
    d["spec"]["revisionHistoryLimit"] = 10
    assert r.history_to_delete(d, old) == []


def test_recreate_waits_while_old_pods_exist() -> None:
    old, new = rs("old", 0), rs("new", 0)
    pod = {"metadata": {"ownerReferences": [{"uid": "old", "controller": True}]},
           "status": {"phase": "Running"}}
    assert r.old_pods_running(new, [old], [pod])
    assert not r.old_pods_running(new, [old], [{**pod, "status": {"phase": "Succeeded"}}])
    assert not r.old_pods_running(new, [old], [])


NOW = 1704067200.0
STAMP = "2024-01-01T00:00:00Z"


def conditions(status: Any) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}


def test_a_complete_rollout_is_available_and_has_progressed() -> None:
    d = deploy(4)
    new = rs("new", 4, readyReplicas=4)
    status = r.rollout_status(d, [new], new, now=NOW, stamp=STAMP)
    assert {k: status[k] for k in ("replicas", "updatedReplicas", "readyReplicas",
                                   "availableReplicas", "unavailableReplicas",
                                   "observedGeneration")} == {
        "replicas": 4, "updatedReplicas": 4, "readyReplicas": 4, "availableReplicas": 4,
        "unavailableReplicas": 0, "observedGeneration": 2}
    assert conditions(status) == {"Available": ("True", "MinimumReplicasAvailable"),
                                  "Progressing": ("True", "NewReplicaSetAvailable")}
    assert r.deployment_complete(d, status)


def test_a_rollout_in_motion_reports_progress_and_keeps_the_transition_time() -> None:
    d = deploy(4)
    d["status"] = {"replicas": 4, "updatedReplicas": 0, "conditions": [r.new_condition(
        "Progressing", "True", "NewReplicaSetCreated", "x", "2023-12-31T00:00:00Z")]}
    new, old = rs("new", 2, 1), rs("old", 3, 3)
    status = r.rollout_status(d, [old, new], new, now=NOW, stamp=STAMP)
    prog = next(c for c in status["conditions"] if c["type"] == "Progressing")
    assert (prog["reason"], prog["lastUpdateTime"], prog["lastTransitionTime"]) == (
        "ReplicaSetUpdated", STAMP, "2023-12-31T00:00:00Z")
    assert prog["message"] == 'ReplicaSet "new" is progressing.'


def test_a_stuck_rollout_times_out_after_the_deadline() -> None:
    d = deploy(4, 1, 1, progressDeadlineSeconds=60)
    new, old = rs("new", 2, 0), rs("old", 3, 3)
    d["status"] = {"replicas": 5, "updatedReplicas": 2, "availableReplicas": 3,
                   "conditions": [r.new_condition("Progressing", "True", "ReplicaSetUpdated",
                                                  "x", STAMP)]}
    early = r.rollout_status(d, [old, new], new, now=NOW + 30, stamp="later")
    assert conditions(early)["Progressing"] == ("True", "ReplicaSetUpdated")
    assert r.stuck_requeue_after(d, early, NOW + 30) == pytest.approx(30.1)
    late = r.rollout_status(d, [old, new], new, now=NOW + 61, stamp="later")
    assert conditions(late) == {"Available": ("True", "MinimumReplicasAvailable"),
                                "Progressing": ("False", "ProgressDeadlineExceeded")}


def test_too_few_available_is_minimum_replicas_unavailable() -> None:
    new = rs("new", 4, 1)
    status = r.calculate_status(deploy(4), [new], new, STAMP)
    assert conditions(status)["Available"] == ("False", "MinimumReplicasUnavailable")
    assert status["unavailableReplicas"] == 3


def test_pausing_and_resuming_set_progressing_unknown() -> None:
    d = deploy(paused=True)
    cond = r.paused_condition(d, STAMP)
    assert cond is not None and (cond["status"], cond["reason"]) == ("Unknown", "DeploymentPaused")
    d["status"] = {"conditions": [cond]}
    assert r.paused_condition(d, STAMP) is None
    d["spec"]["paused"] = False
    resumed = r.paused_condition(d, STAMP)
    assert resumed is not None and resumed["reason"] == "DeploymentResumed"
