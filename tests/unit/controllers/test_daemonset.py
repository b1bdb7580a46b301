"""DaemonSet decisions: node eligibility, the pod plan, rolling updates, status counts."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.controllers.daemonset import (
    DaemonPod,
    NodeFit,
    daemon_node_fit,
    daemon_pod_tolerations,
    daemon_status_counts,
    pin_to_node,
    plan_daemon_pods,
    resolve_max_unavailable,
    target_node,
)


def node(name: str = "n1", labels: dict[str, str] | None = None,
         taints: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def taint(key: str, effect: str = "NoSchedule", value: str = "") -> dict[str, str]:
    return {"key": key, "value": value, "effect": effect}


AFFINITY = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [
        {"key": "zone", "operator": "In", "values": ["a"]}]}]}}}


@pytest.mark.parametrize(("pod_spec", "the_node", "expected"), [
    ({}, node(), NodeFit(True, True)),
    ({"nodeSelector": {"role": "edge"}}, node(labels={"role": "edge"}), NodeFit(True, True)),
    ({"nodeSelector": {"role": "edge"}}, node(), NodeFit(False, False)),
    ({"affinity": AFFINITY}, node(labels={"zone": "a"}), NodeFit(True, True)),
    ({"affinity": AFFINITY}, node(labels={"zone": "b"}), NodeFit(False, False)),
    ({}, node(taints=[taint("dedicated")]), NodeFit(False, True)),  # stays if already there
    ({}, node(taints=[taint("dedicated", "NoExecute")]), NodeFit(False, False)),
    ({}, node(taints=[taint("dedicated", "PreferNoSchedule")]), NodeFit(True, True)),
    ({"tolerations": [{"key": "dedicated", "operator": "Exists"}]},
     node(taints=[taint("dedicated", "NoExecute")]), NodeFit(True, True)),
    # the daemon defaults: not ready, unreachable, pressure and cordoned nodes still qualify
    ({}, node(taints=[taint("node.kubernetes.io/not-ready", "NoExecute")]), NodeFit(True, True)),
    ({}, node(taints=[taint("node.kubernetes.io/unreachable", "NoExecute")]), NodeFit(True, True)),
    ({}, node(taints=[taint("node.kubernetes.io/unschedulable")]), NodeFit(True, True)),
    ({}, node(taints=[taint("node.kubernetes.io/disk-pressure")]), NodeFit(True, True)),
    ({}, node(taints=[taint("node.kubernetes.io/network-unavailable")]), NodeFit(False, True)),
    ({"hostNetwork": True}, node(taints=[taint("node.kubernetes.io/network-unavailable")]),
     NodeFit(True, True)),
])
def test_daemon_node_fit(pod_spec: dict[str, Any], the_node: dict[str, Any],
                         expected: NodeFit) -> None:
    assert daemon_node_fit(pod_spec, the_node) == expected


def test_default_tolerations_are_added_once() -> None:
    spec = {"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                             "effect": "NoExecute", "tolerationSeconds": 5}]}
    tolerations = daemon_pod_tolerations(spec)
    assert len(tolerations) == 6
    assert tolerations[0]["tolerationSeconds"] == 5


def test_pinning_keeps_expressions_and_names_the_node() -> None:
    spec: dict[str, Any] = {"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}}}
    pin_to_node(spec, "n7")
    term = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]
    assert term["matchExpressions"][0]["key"] == "zone"
    assert term["matchFields"] == [{"key": "metadata.name", "operator": "In", "values": ["n7"]}]
    assert target_node({"spec": spec}) == "n7"
    assert target_node({"spec": {**spec, "nodeName": "bound"}}) == "bound"


@pytest.mark.parametrize(("value", "desired", "expected"), [
    (1, 5, 1), (3, 5, 3), ("20%", 10, 2), ("25%", 5, 2), ("1%", 3, 1), (0, 3, 1), (0, 0, 0),
])
def test_resolve_max_unavailable(value: Any, desired: int, expected: int) -> None:
    assert resolve_max_unavailable(value, desired) == expected


def pod(name: str, node_name: str, revision: str = "new", *, available: bool = True,
        failed: bool = False, terminating: bool = False, created: str = "t1",
        bound: bool = True) -> DaemonPod:
    return DaemonPod(name, node_name, revision, created, available, available, failed,
                     terminating, bound)


RUN = NodeFit(True, True)
STAY = NodeFit(False, True)
NO = NodeFit(False, False)


@pytest.mark.parametrize(("fits", "pods", "create", "delete"), [
    ({"a": RUN, "b": RUN}, [], ["a", "b"], []),
    ({"a": RUN, "b": RUN}, [pod("p1", "a")], ["b"], []),
    ({"a": RUN}, [pod("p1", "a", created="t2"), pod("p0", "a", created="t1")], [], ["p1"]),
    ({"a": NO}, [pod("p1", "a")], [], ["p1"]),
    ({"a": STAY}, [pod("p1", "a")], [], []),  # NoSchedule taint added later: it stays
    ({"a": STAY}, [pod("p1", "a", bound=False)], [], ["p1"]),  # never got there: it goes
    ({}, [pod("p1", "gone")], [], ["p1"]),  # the node was deleted
    ({"a": RUN}, [pod("p1", "a", failed=True)], [], ["p1"]),  # replaced on a later pass
    ({"a": RUN}, [pod("p1", "a", terminating=True)], [], []),  # wait for it to go
])
def test_plan_daemon_pods(fits: dict[str, NodeFit], pods: list[DaemonPod], create: list[str],
                          delete: list[str]) -> None:
    plan = plan_daemon_pods(fits, pods, "new", rolling_update=False, max_unavailable=1)
    assert plan.create_on == create
    assert plan.delete == delete


@pytest.mark.parametrize(("pods", "max_unavailable", "delete"), [
    # all old and available: replace within the budget, in node order
    ([pod("pa", "a", "old"), pod("pb", "b", "old"), pod("pc", "c", "old")], 1, ["pa"]),
    ([pod("pa", "a", "old"), pod("pb", "b", "old"), pod("pc", "c", "old")], 2, ["pa", "pb"]),
    # one node is already without an available pod: the budget is spent
    ([pod("pa", "a", "new", available=False), pod("pb", "b", "old"), pod("pc", "c", "old")],
     1, []),
    # old and unavailable pods go regardless of the budget
    ([pod("pa", "a", "old", available=False), pod("pb", "b", "old"), pod("pc", "c", "new")],
     1, ["pa"]),
    ([pod("pa", "a"), pod("pb", "b"), pod("pc", "c")], 1, []),  # nothing to update
])
def test_rolling_update_respects_max_unavailable(pods: list[DaemonPod], max_unavailable: int,
                                                 delete: list[str]) -> None:
    fits = {"a": RUN, "b": RUN, "c": RUN}
    plan = plan_daemon_pods(fits, pods, "new", rolling_update=True,
                            max_unavailable=max_unavailable)
    assert plan.create_on == []
    assert plan.delete == delete


def test_status_counts() -> None:
    fits = {"a": RUN, "b": RUN, "c": RUN, "d": NO}
    pods = [pod("pa", "a", "old"), pod("pb", "b", available=False), pod("pd", "d"),
            pod("px", "c", terminating=True)]
    counts = daemon_status_counts(fits, pods, "new")
    assert (counts.desired, counts.current, counts.misscheduled, counts.ready,
            counts.available, counts.updated) == (3, 2, 1, 1, 1, 1)
