"""Pod GC decisions, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.controllers.podgcpolicy import (
    excess_terminated,
    missing_nodes_in_quarantine,
    orphaned,
    stuck_on_unready_nodes,
    unscheduled_terminating,
)


def pod(name: str, created: str = "2024-01-01T00:00:00Z", phase: str = "Running",
        node: str = "", deleting: str = "") -> dict[str, Any]:
    meta = {"name": name, "creationTimestamp": created,
            **({"deletionTimestamp": deleting} if deleting else {})}
    return {"metadata": meta, "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase}}


def names(pods: list[dict[str, Any]]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def test_excess_terminated_pods_oldest_first() -> None:
    pods = [pod("new", "2024-01-03T00:00:00Z", "Failed"),
            pod("old", "2024-01-01T00:00:00Z", "Succeeded"),
            pod("mid", "2024-01-02T00:00:00Z", "Succeeded"),
            pod("running", "2023-01-01T00:00:00Z")]
    assert names(excess_terminated(pods, 1)) == ["old", "mid"]
    assert excess_terminated(pods, 3) == []
    assert excess_terminated(pods, 0) == []  # disabled


def test_orphaned_and_unscheduled_terminating() -> None:
    pods = [pod("a", node="gone"), pod("b", node="here"), pod("c"),
            pod("d", deleting="2024-01-01T00:00:00Z")]
    assert names(orphaned(pods, {"here"})) == ["a"]
    assert names(unscheduled_terminating(pods)) == ["d"]


def test_stuck_on_unready_nodes_after_grace() -> None:
    t = 1704067200.0  # 2024-01-01T00:00:00Z
    pods = [pod("stuck", node="dead", deleting="2024-01-01T00:00:00Z"),
            pod("fine", node="alive", deleting="2024-01-01T00:00:00Z"),
            pod("running", node="dead")]
    assert names(stuck_on_unready_nodes(pods, {"dead"}, t + 60, 30)) == ["stuck"]
    assert stuck_on_unready_nodes(pods, {"dead"}, t + 10, 30) == []


QUARANTINE_PODS = [pod("a", node="gone"), pod("b", node="gone"), pod("c", node="here"),
                   pod("d", node="late")]


@pytest.mark.parametrize(("missing_since", "now", "since", "due"), [
    ({}, 100.0, {"gone": 100.0, "late": 100.0}, set()),
    ({"gone": 100.0}, 139.0, {"gone": 100.0, "late": 139.0}, set()),
    ({"gone": 100.0, "late": 120.0}, 140.0, {"gone": 100.0, "late": 120.0}, {"gone"}),
    ({"gone": 100.0, "back": 90.0}, 200.0, {"gone": 100.0, "late": 200.0}, {"gone"}),
], ids=["first seen missing", "within the quarantine", "quarantine over for one",
        "a node seen again leaves the quarantine"])
def test_missing_nodes_lose_their_pods_only_after_the_quarantine(
        missing_since: dict[str, float], now: float, since: dict[str, float],
        due: set[str]) -> None:
    assert missing_nodes_in_quarantine(QUARANTINE_PODS, {"here", "back"}, missing_since, now,
                                       40.0) == (since, due)
