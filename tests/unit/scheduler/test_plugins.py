"""Each scheduler plugin as a pure function: a table of (pod, node) -> verdict."""

from __future__ import annotations

import random
from typing import Any

import pytest

from minikube_py.scheduler.framework import CENSUS, Code, CycleState, NodeInfo
from minikube_py.scheduler.plugins import (
    BalancedAllocation,
    NodeAffinity,
    NodeName,
    NodeReady,
    NodeResourcesFit,
    NodeUnschedulable,
    TaintToleration,
    tolerates,
)
from minikube_py.scheduler.snapshot import NodeSnapshot
from tests.unit.scheduler.helpers import make_node, make_pod


def run_filter(plugin: Any, pod: dict[str, Any], node_info: NodeInfo) -> tuple[Code, tuple[str, ...]]:
    state = CycleState()
    if hasattr(plugin, "pre_filter"):
        pre = plugin.pre_filter(state, pod, [node_info])
        if pre.code is Code.SKIP:  # the plugin sits this pod out: the node passes
            return Code.SUCCESS, ()
    status = plugin.filter(state, pod, node_info)
    return status.code, status.reasons


def run_score(plugin: Any, pod: dict[str, Any], node_info: NodeInfo) -> int:
    state = CycleState()
    if hasattr(plugin, "pre_filter"):
        plugin.pre_filter(state, pod, [node_info])
    if hasattr(plugin, "pre_score"):
        plugin.pre_score(state, pod, [node_info])
    return int(plugin.score(state, pod, node_info))


NOEXEC = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}
GPU = {"key": "gpu", "value": "true", "effect": "NoSchedule"}


@pytest.mark.parametrize(("plugin", "pod", "node", "code", "reasons"), [
    (NodeName(), make_pod(node_name="a"), make_node("a"), Code.SUCCESS, ()),
    (NodeName(), make_pod(node_name="b"), make_node("a"), Code.UNRESOLVABLE,
     ("node(s) didn't match the requested node name",)),
    (NodeUnschedulable(), make_pod(), make_node("a", unschedulable=True), Code.UNRESOLVABLE,
     ("node(s) were unschedulable",)),
    (NodeUnschedulable(),
     make_pod(tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}]),
     make_node("a", unschedulable=True), Code.SUCCESS, ()),
    (NodeReady(), make_pod(), make_node("a", ready=False), Code.UNSCHEDULABLE,
     ("node(s) were not ready",)),
    (NodeReady(), make_pod(tolerations=[{"key": "node.kubernetes.io/not-ready",
                                         "operator": "Exists", "effect": "NoSchedule"}]),
     make_node("a", ready=False), Code.SUCCESS, ()),
    (NodeResourcesFit(), make_pod(cpu="4"), make_node("a", cpu="4"), Code.SUCCESS, ()),
    (NodeResourcesFit(), make_pod(cpu="4001m"), make_node("a", cpu="4"), Code.UNSCHEDULABLE,
     ("Insufficient cpu",)),
    (NodeResourcesFit(), make_pod(cpu="5", memory="9Gi"), make_node("a"), Code.UNSCHEDULABLE,
     ("Insufficient cpu", "Insufficient memory")),
    (NodeResourcesFit(), make_pod(), make_node("a", pods=0), Code.UNSCHEDULABLE,
     ("Too many pods",)),
    (TaintToleration(), make_pod(), make_node("a", taints=[GPU]), Code.UNRESOLVABLE,
     ("node(s) had untolerated taint {gpu: true}",)),
    (TaintToleration(), make_pod(tolerations=[{"key": "gpu", "value": "true"}]),
     make_node("a", taints=[GPU]), Code.SUCCESS, ()),
    (TaintToleration(), make_pod(), make_node(
        "a", taints=[{"key": "x", "effect": "PreferNoSchedule"}]), Code.SUCCESS, ()),
    (NodeAffinity(), make_pod(node_selector={"disk": "ssd"}),
     make_node("a", labels={"disk": "ssd"}), Code.SUCCESS, ()),
    (NodeAffinity(), make_pod(node_selector={"disk": "ssd"}), make_node("a"),
     Code.UNRESOLVABLE, ("node(s) didn't match Pod's node affinity/selector",)),
    (NodeAffinity(), make_pod(affinity={"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b", "c"]}]},
        ]}}}), make_node("a", labels={"zone": "c"}), Code.SUCCESS, ()),
    (NodeAffinity(), make_pod(affinity={"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["c"]}]},
        ]}}}), make_node("a", labels={"zone": "c"}), Code.UNRESOLVABLE,
     ("node(s) didn't match Pod's node affinity/selector",)),
])
def test_filter_verdicts(plugin: Any, pod: dict[str, Any], node: dict[str, Any], code: Code,
                         reasons: tuple[str, ...]) -> None:
    assert run_filter(plugin, pod, NodeInfo.of(node)) == (code, reasons)


def test_resources_fit_counts_pods_already_on_the_node() -> None:
    info = NodeInfo.of(make_node("a", cpu="2"))
    info.add_pod(make_pod(cpu="1500m", node_name="a"))
    assert run_filter(NodeResourcesFit(), make_pod(cpu="500m"), info)[0] is Code.SUCCESS
    assert run_filter(NodeResourcesFit(), make_pod(cpu="501m"), info) == (
        Code.UNSCHEDULABLE, ("Insufficient cpu",))


def test_a_resource_the_pod_does_not_request_is_not_checked() -> None:
    info = NodeInfo.of(make_node("a", cpu="4", memory="1Gi"))
    info.add_pod(make_pod(memory="2Gi", node_name="a"))  # the node is overcommitted
    pod = make_pod(cpu="1")
    fit = NodeResourcesFit()
    state = CycleState()
    fit.pre_filter(state, pod, [info])
    assert fit.filter(state, pod, info).ok
    assert fit.filter_many(state, pod, [info], {}) == [info]


def test_a_newer_copy_of_a_placed_pod_is_counted_once() -> None:
    info = NodeInfo.of(make_node("a", cpu="2"))
    pod = make_pod(cpu="500m", node_name="a")
    info.add_pod(pod)
    info.add_pod({**pod, "status": {"phase": "Running"}})
    assert info.requested.milli_cpu == 500 and info.requested.pods == 1
    assert info.pods[pod["metadata"]["uid"]]["status"] == {"phase": "Running"}


def test_a_placed_pod_with_other_requests_is_counted_anew() -> None:
    info = NodeInfo.of(make_node("a", cpu="2"))
    pod = make_pod(cpu="500m", node_name="a")
    info.add_pod(pod)
    resized = make_pod(cpu="1", node_name="a")
    resized["metadata"] = pod["metadata"]
    info.add_pod(resized)
    assert info.requested.milli_cpu == 1000 and info.free_milli_cpu == 1000


def test_removing_a_pod_frees_its_requests() -> None:
    info = NodeInfo.of(make_node("a", cpu="1"))
    pod = make_pod(cpu="1", node_name="a")
    info.add_pod(pod)
    info.remove_pod(pod)
    assert info.requested.milli_cpu == 0 and info.requested.pods == 0


@pytest.mark.parametrize(("toleration", "taint", "expected"), [
    ({"operator": "Exists"}, GPU, True),
    ({"key": "gpu", "operator": "Exists"}, GPU, True),
    ({"key": "gpu", "value": "false"}, GPU, False),
    ({"key": "gpu", "value": "true", "effect": "NoExecute"}, GPU, False),
    ({"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
      "tolerationSeconds": 300}, NOEXEC, True),
])
def test_toleration_matching(toleration: dict[str, Any], taint: dict[str, Any],
                             expected: bool) -> None:
    assert tolerates(toleration, taint) is expected


def test_least_allocated_prefers_the_emptier_node() -> None:
    busy = NodeInfo.of(make_node("busy"))
    busy.add_pod(make_pod(cpu="3", memory="6Gi", node_name="busy"))
    idle = NodeInfo.of(make_node("idle"))
    pod = make_pod(cpu="100m", memory="100Mi")
    fit = NodeResourcesFit()
    assert run_score(fit, pod, idle) > run_score(fit, pod, busy)


def test_balanced_allocation_prefers_even_use() -> None:
    even = NodeInfo.of(make_node("even", cpu="4", memory="4Gi"))
    skewed = NodeInfo.of(make_node("skewed", cpu="4", memory="64Gi"))
    pod = make_pod(cpu="2", memory="2Gi")
    plugin = BalancedAllocation()
    assert run_score(plugin, pod, even) > run_score(plugin, pod, skewed)


def test_preferred_node_affinity_scores_matching_nodes_higher() -> None:
    pod = make_pod(affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["a"]}]}}]}})
    plugin = NodeAffinity()
    a = NodeInfo.of(make_node("n1", labels={"zone": "a"}))
    b = NodeInfo.of(make_node("n2", labels={"zone": "b"}))
    assert run_score(plugin, pod, a) == 100
    assert run_score(plugin, pod, b) == 0


def test_batch_paths_agree_with_the_per_node_ones() -> None:
    rng = random.Random(5)
    nodes = []
    for i in range(200):
        info = NodeInfo.of(make_node(
            f"n{i}", cpu=str(rng.choice([1, 2, 4])), memory=f"{rng.choice([1, 2, 8])}Gi",
            ready=rng.random() > 0.1, unschedulable=rng.random() < 0.1,
            taints=[GPU] if rng.random() < 0.2 else None,
            labels={"disk": rng.choice(["ssd", "hdd"])} if rng.random() < 0.7 else None))
        for _ in range(rng.randrange(4)):
            info.add_pod(make_pod(cpu=f"{rng.randrange(1, 900)}m", memory="300Mi",
                                  node_name=info.name))
        nodes.append(info)
    pod = make_pod(cpu="500m", memory="512Mi", node_selector={"disk": "ssd"})
    for plugin in (NodeResourcesFit(), TaintToleration(), NodeReady(), NodeUnschedulable(),
                   NodeAffinity()):
        state = CycleState()
        if hasattr(plugin, "pre_filter"):
            plugin.pre_filter(state, pod, nodes)
        failed: dict[str, Any] = {}
        survivors = plugin.filter_many(state, pod, nodes, failed)
        one_by_one = {n.name: plugin.filter(state, pod, n) for n in nodes}
        assert [n.name for n in survivors] == [k for k, v in one_by_one.items() if v.ok]
        assert failed == {k: v for k, v in one_by_one.items() if not v.ok}


def test_fit_decided_per_census_state_agrees_with_each_node() -> None:
    rng = random.Random(7)
    snap = NodeSnapshot()
    for i in range(120):
        info = snap.upsert(make_node(f"n{i}", cpu=str(rng.choice([1, 2])), pods=3))
        for _ in range(rng.randrange(4)):
            info.add_pod(make_pod(cpu=rng.choice(["250m", "500m"]), node_name=info.name))
    fit = NodeResourcesFit()
    pod = make_pod(cpu="600m")
    state = CycleState({CENSUS: snap.census})
    fit.pre_filter(state, pod, snap.infos)
    failed: dict[str, Any] = {}
    survivors = fit.filter_many(state, pod, snap.infos, failed)
    one_by_one = {n.name: fit.filter(state, pod, n) for n in snap.infos}
    assert [n.name for n in survivors] == [k for k, v in one_by_one.items() if v.ok]
    assert failed == {k: v for k, v in one_by_one.items() if not v.ok}
    assert survivors and failed  # both outcomes were exercised
