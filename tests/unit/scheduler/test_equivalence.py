"""The equivalence cache and the node snapshot: static verdicts are reused per pod shape
and node-set generation, and the fast path decides exactly what the slow path decides."""

from __future__ import annotations

import random
from typing import Any

import pytest

from minikube_py.scheduler.equivalence import EquivalenceCache, StaticVerdicts, frozen
from minikube_py.scheduler.framework import Framework, NodeInfo, Status
from minikube_py.scheduler.plugins import Profile, TaintToleration, build_framework
from minikube_py.scheduler.snapshot import NodeSnapshot
from tests.unit.scheduler.helpers import make_node, make_pod

GPU = {"key": "gpu", "value": "true", "effect": "NoSchedule"}
SOFT = {"key": "spot", "value": "yes", "effect": "PreferNoSchedule"}


def with_ready_heartbeat(node: dict[str, Any], stamp: str) -> dict[str, Any]:
    node["status"]["conditions"][0]["lastHeartbeatTime"] = stamp
    return node


# -- frozen ------------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "same"), [
    ({"key": "k", "operator": "Exists"}, {"operator": "Exists", "key": "k"}, True),
    ([{"key": "a"}, {"key": "b"}], [{"key": "b"}, {"key": "a"}], False),
    ({"disk": "ssd"}, {"disk": "hdd"}, False),
    ({"a": [1, 2]}, {"a": [2, 1]}, False),
    (None, None, True),
])
def test_frozen_shapes_ignore_key_order_only(a: Any, b: Any, same: bool) -> None:
    assert (frozen(a) == frozen(b)) is same
    hash(frozen(a))


# -- the cache ---------------------------------------------------------------------------

def verdicts() -> StaticVerdicts:
    return StaticVerdicts([], [])


def test_cache_returns_verdicts_stored_for_the_same_shape_and_generation() -> None:
    cache = EquivalenceCache()
    stored = verdicts()
    cache.put("shape", 1, stored)
    assert cache.get("shape", 1) is stored
    assert cache.get("other", 1) is None


def test_a_new_generation_drops_every_stored_verdict() -> None:
    cache = EquivalenceCache()
    cache.put("shape", 1, verdicts())
    assert cache.get("shape", 2) is None
    assert cache.get("shape", 1) is None


def test_cache_keeps_the_most_recently_used_shapes() -> None:
    cache = EquivalenceCache(max_shapes=2)
    cache.put("a", 1, verdicts())
    cache.put("b", 1, verdicts())
    cache.get("a", 1)
    cache.put("c", 1, verdicts())
    assert cache.get("b", 1) is None
    assert cache.get("a", 1) is not None and cache.get("c", 1) is not None


# -- the snapshot ------------------------------------------------------------------------

def test_snapshot_keeps_first_seen_order_and_one_info_per_node() -> None:
    snap = NodeSnapshot()
    a = snap.upsert(make_node("a"))
    snap.upsert(make_node("b"))
    assert snap.upsert(make_node("a", cpu="8")) is a
    assert [n.name for n in snap.infos] == ["a", "b"] and snap["a"].allocatable.milli_cpu == 8000


@pytest.mark.parametrize(("change", "new_generation"), [
    (lambda n: with_ready_heartbeat(n, "2026-01-01T00:00:10Z"), False),
    (lambda n: {**n, "spec": {**n["spec"], "podCIDR": "10.244.1.0/24"}}, False),
    (lambda n: {**n, "status": {**n["status"], "allocatable": {"cpu": "1"}}}, False),
    (lambda n: {**n, "spec": {**n["spec"], "taints": [SOFT]}}, False),
    (lambda n: {**n, "metadata": {**n["metadata"], "labels": {"disk": "ssd"}}}, True),
    (lambda n: {**n, "spec": {**n["spec"], "taints": [GPU]}}, True),
    (lambda n: {**n, "spec": {**n["spec"], "unschedulable": True}}, True),
    (lambda n: make_node("a", ready=False), True),
])
def test_only_changes_static_filters_see_start_a_generation(change: Any,
                                                            new_generation: bool) -> None:
    snap = NodeSnapshot()
    snap.upsert(with_ready_heartbeat(make_node("a"), "2026-01-01T00:00:00Z"))
    before = snap.generation
    snap.upsert(change(with_ready_heartbeat(make_node("a"), "2026-01-01T00:00:00Z")))
    assert (snap.generation != before) is new_generation


def test_removing_a_node_starts_a_generation_and_closes_the_gap() -> None:
    snap = NodeSnapshot()
    for name in ("a", "b", "c"):
        snap.upsert(make_node(name))
    before = snap.generation
    snap.remove("a")
    assert snap.generation != before
    assert [n.name for n in snap.infos] == ["b", "c"] and snap["c"].name == "c"
    assert "a" not in snap and snap.remove("a") is None


def census_of(infos: list[NodeInfo]) -> tuple[dict[Any, int], dict[Any, int]]:
    fit: dict[Any, int] = {}
    usage: dict[Any, int] = {}
    for info in infos:
        fit[info.fit_key] = fit.get(info.fit_key, 0) + 1
        usage[info.usage_key] = usage.get(info.usage_key, 0) + 1
    return fit, usage


def test_census_counts_the_resource_states_of_the_nodes_as_they_change() -> None:
    snap = NodeSnapshot()
    for name in ("a", "b", "c"):
        snap.upsert(make_node(name))
    pod = make_pod(cpu="1", node_name="a")
    snap["a"].add_pod(pod)
    snap["b"].add_pod(make_pod(cpu="1", node_name="b"))
    snap.upsert(make_node("c", cpu="8"))
    snap["a"].remove_pod(pod)
    snap.remove("b")
    assert (snap.census.fit, snap.census.usage) == census_of(snap.infos)
    assert sum(snap.census.fit.values()) == 2


def test_a_node_update_keeps_what_is_placed_on_it() -> None:
    snap = NodeSnapshot()
    snap.upsert(make_node("a", cpu="4"))
    snap["a"].add_pod(make_pod(cpu="1", node_name="a"))
    info = snap.upsert(make_node("a", cpu="8"))
    assert info.requested.milli_cpu == 1000 and info.free_milli_cpu == 7000


# -- the framework through the cache -----------------------------------------------------

class CountingTaints(TaintToleration):
    """TaintToleration that counts the nodes it is asked about."""

    def __init__(self) -> None:
        self.looked_at = 0

    def filter_many(self, state: Any, pod: Any, nodes: list[NodeInfo],
                    failed: dict[str, Status]) -> list[NodeInfo]:
        self.looked_at += len(nodes)
        return super().filter_many(state, pod, nodes, failed)


def counting_framework() -> tuple[Framework, CountingTaints]:
    default = build_framework()
    counting = CountingTaints()
    filters = [counting if p.name == "TaintToleration" else p for p in default.filters]
    return Framework(default.pre_filters, filters, default.scorers,
                     rng=random.Random(1)), counting


def test_pods_of_one_shape_are_decided_by_the_static_filters_once() -> None:
    fw, counting = counting_framework()
    snap = NodeSnapshot()
    for i in range(10):
        snap.upsert(make_node(f"n{i}", taints=[GPU] if i % 2 else None))
    for _ in range(5):
        fw.schedule(make_pod(cpu="100m"), snap.infos, generation=snap.generation)
    assert counting.looked_at == 10


def test_a_change_the_static_filters_see_decides_them_again() -> None:
    fw, counting = counting_framework()
    snap = NodeSnapshot()
    for i in range(10):
        snap.upsert(make_node(f"n{i}"))
    fw.schedule(make_pod(), snap.infos, generation=snap.generation)
    snap.upsert(make_node("n3", taints=[GPU]))
    result = fw.schedule(make_pod(), snap.infos, generation=snap.generation)
    assert counting.looked_at == 20 and result.node != "n3"


def test_another_shape_is_decided_on_its_own() -> None:
    fw, counting = counting_framework()
    snap = NodeSnapshot()
    for i in range(10):
        snap.upsert(make_node(f"n{i}", taints=[GPU] if i < 9 else None))
    plain = fw.schedule(make_pod(), snap.infos, generation=snap.generation)
    gpu = make_pod(tolerations=[{"key": "gpu", "operator": "Exists"}])
    assert fw.schedule(gpu, snap.infos, generation=snap.generation).feasible == 10
    assert plain.node == "n9" and counting.looked_at == 20


# -- fast path == slow path --------------------------------------------------------------

ZONES = ("east", "west", "north")


def random_node(rng: random.Random, name: str) -> dict[str, Any]:
    labels = {"topology.kubernetes.io/zone": rng.choice(ZONES)}
    if rng.random() < 0.5:
        labels["disk"] = rng.choice(("ssd", "hdd"))
    if rng.random() < 0.3:
        labels["gen"] = str(rng.randrange(1, 5))
    taints = [t for t, p in ((GPU, 0.2), (SOFT, 0.2)) if rng.random() < p]
    return make_node(name, cpu=str(rng.choice((1, 2, 4, 8))),
                     memory=f"{rng.choice((2, 4, 8))}Gi", pods=rng.choice((3, 10, 110)),
                     ready=rng.random() > 0.05, labels=labels, taints=taints,
                     unschedulable=rng.random() < 0.05)


def random_pod(rng: random.Random) -> dict[str, Any]:
    kw: dict[str, Any] = {"cpu": rng.choice((None, "100m", "500m", "1500m", "3", "6")),
                          "memory": rng.choice((None, "128Mi", "1Gi", "3Gi", "7Gi"))}
    if rng.random() < 0.3:
        kw["node_selector"] = {"disk": rng.choice(("ssd", "hdd"))}
    if rng.random() < 0.4:
        kw["tolerations"] = [rng.choice((
            {"key": "gpu", "operator": "Exists"}, {"operator": "Exists"},
            {"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
             "effect": "NoSchedule"},
            {"key": "spot", "value": "yes", "effect": "PreferNoSchedule"}))]
    affinity: dict[str, Any] = {}
    if rng.random() < 0.2:
        affinity["nodeAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [
                {"key": "gen", "operator": rng.choice(("Gt", "Exists", "DoesNotExist")),
                 "values": ["2"]}]}]}}
    if rng.random() < 0.2:
        affinity.setdefault("nodeAffinity", {})[
            "preferredDuringSchedulingIgnoredDuringExecution"] = [
            {"weight": 10, "preference": {"matchExpressions": [
                {"key": "topology.kubernetes.io/zone", "operator": "In",
                 "values": [rng.choice(ZONES)]}]}}]
    if rng.random() < 0.15:
        affinity["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "a"}},
             "topologyKey": "kubernetes.io/hostname"}]}
    if affinity:
        kw["affinity"] = affinity
    pod = make_pod(**kw)
    pod["metadata"]["labels"] = {"app": rng.choice(("a", "b"))}
    if rng.random() < 0.15:
        pod["spec"]["topologySpreadConstraints"] = [{
            "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": rng.choice(("DoNotSchedule", "ScheduleAnyway")),
            "labelSelector": {"matchLabels": {"app": "b"}}}]
    return pod


def change_cluster(rng: random.Random, snap: NodeSnapshot, raw: dict[str, dict[str, Any]],
                   serial: list[int]) -> None:
    roll = rng.random()
    if roll < 0.3:
        name = rng.choice(list(raw))
        raw[name] = random_node(rng, name)
        snap.upsert(raw[name])
    elif roll < 0.4 and len(raw) > 1:
        name = rng.choice(list(raw))
        del raw[name]
        snap.remove(name)
    elif roll < 0.5:
        serial[0] += 1
        name = f"new{serial[0]}"
        raw[name] = random_node(rng, name)
        snap.upsert(raw[name])


@pytest.mark.parametrize(("seed", "nodes", "percentage"), [
    (1, 8, 0), (2, 40, 0), (3, 150, 0), (4, 150, 30), (5, 260, 0), (6, 120, 50),
])
def test_fast_path_decides_exactly_what_the_slow_path_decides(seed: int, nodes: int,
                                                              percentage: int) -> None:
    rng = random.Random(seed)
    profile = Profile(percentage_of_nodes_to_score=percentage)
    slow = build_framework(profile, rng=random.Random(seed))
    fast = build_framework(profile, rng=random.Random(seed))
    snap = NodeSnapshot()
    raw = {f"n{i}": random_node(rng, f"n{i}") for i in range(nodes)}
    for node in raw.values():
        snap.upsert(node)
    serial = [0]
    decided = 0
    for _ in range(300):
        if rng.random() < 0.1:
            change_cluster(rng, snap, raw, serial)
        pod = random_pod(rng)
        want = slow.schedule(pod, list(snap.infos))
        got = fast.schedule(pod, snap.infos, generation=snap.generation, census=snap.census)
        assert got == want
        assert got.failure_message(len(snap)) == want.failure_message(len(snap))
        if got.node is not None:
            decided += 1
            snap[got.node].add_pod({**pod, "spec": {**pod["spec"], "nodeName": got.node}})
    assert 0 < decided < 300  # both outcomes were exercised
    assert fast.equivalence.hits > 0
