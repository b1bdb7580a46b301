"""Node health and taint eviction decisions, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.controllers.nodehealth import (
    Probe,
    desired_taints,
    is_stale,
    observe,
    unknown_conditions,
)
from minikube_py.controllers.tainteviction import eviction_time

T0 = "2024-01-01T00:00:00Z"
T0_EPOCH = 1704067200.0
UNREACH = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


def node(ready: str | None, taints: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    conds = [] if ready is None else [{"type": "Ready", "status": ready,
                                       "lastHeartbeatTime": T0, "lastTransitionTime": T0}]
    return {"metadata": {"name": "n"}, "spec": {"taints": taints or []},
            "status": {"conditions": conds}}


def test_a_new_signature_resets_the_probe_and_an_old_one_keeps_it() -> None:
    p = observe(None, ("a",), 10.0)
    assert observe(p, ("a",), 50.0) is p
    assert observe(p, ("b",), 50.0) == Probe(("b",), 50.0)


@pytest.mark.parametrize(("observed", "now", "stale"), [
    (0.0, 40.0, False), (0.0, 40.1, True), (100.0, 90.0, False)])
def test_staleness_is_strictly_older_than_the_grace_period(observed: float, now: float,
                                                           stale: bool) -> None:
    assert is_stale(Probe((), observed), now, 40.0) is stale


def test_unknown_conditions_keep_heartbeat_and_add_a_missing_ready() -> None:
    conds = unknown_conditions(node("True"), "NOW")
    assert conds == [{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
                      "message": "Kubelet stopped posting node status.",
                      "lastHeartbeatTime": T0, "lastTransitionTime": "NOW"}]
    never = unknown_conditions(node(None), "NOW")
    assert never[0]["reason"] == "NodeStatusNeverUpdated"


def keys(taints: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in taints}


@pytest.mark.parametrize(("ready", "existing", "want"), [
    ("True", [], set()),
    ("Unknown", [], {(UNREACH, "NoSchedule"), (UNREACH, "NoExecute")}),
    ("False", [], {(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")}),
    ("True", [{"key": UNREACH, "effect": "NoExecute"}], set()),
    ("False", [{"key": UNREACH, "effect": "NoExecute"}],
     {(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")}),
    ("True", [{"key": "gpu", "effect": "NoSchedule"}], {("gpu", "NoSchedule")}),
])
def test_condition_taints_follow_ready(ready: str, existing: list[dict[str, Any]],
                                       want: set[tuple[str, str]]) -> None:
    assert keys(desired_taints(node(ready, existing), "NOW")) == want


def test_a_kept_taint_keeps_its_time_added() -> None:
    old = [{"key": UNREACH, "effect": "NoExecute", "timeAdded": T0},
           {"key": UNREACH, "effect": "NoSchedule"}]
    assert desired_taints(node("Unknown", old), "LATER") == old


def tol(seconds: int | None = None, key: str = UNREACH) -> dict[str, Any]:
    t: dict[str, Any] = {"key": key, "operator": "Exists", "effect": "NoExecute"}
    if seconds is not None:
        t["tolerationSeconds"] = seconds
    return t


def pod(*tolerations: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"tolerations": list(tolerations)}}


TAINT = {"key": UNREACH, "effect": "NoExecute", "timeAdded": T0}
OTHER = {"key": NOT_READY, "effect": "NoExecute", "timeAdded": T0}


@pytest.mark.parametrize(("p", "taints", "due"), [
    (pod(), [TAINT], 500.0),  # untolerated: now
    (pod(tol(300)), [TAINT], T0_EPOCH + 300),
    (pod(tol(None)), [TAINT], None),  # tolerated forever
    (pod(tol(0)), [TAINT], T0_EPOCH),
    (pod(tol(300)), [TAINT, OTHER], 500.0),  # one taint untolerated
    (pod(tol(300), tol(60, NOT_READY)), [TAINT, OTHER], T0_EPOCH + 60),
    (pod(tol(300)), [], None),
    (pod({"operator": "Exists"}), [TAINT], None),  # tolerates everything
])
def test_eviction_time(p: dict[str, Any], taints: list[dict[str, Any]],
                       due: float | None) -> None:
    assert eviction_time(p, taints, 500.0) == due
