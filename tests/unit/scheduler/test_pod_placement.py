"""InterPodAffinity and PodTopologySpread, through whole scheduling cycles."""

from __future__ import annotations

import random
from typing import Any

import pytest

from minikube_py.scheduler.framework import NodeInfo
from minikube_py.scheduler.plugins import build_framework
from minikube_py.scheduler.snapshot import NodeSnapshot
from tests.unit.scheduler.helpers import make_node, make_pod


def labelled(pod: dict[str, Any], **labels: str) -> dict[str, Any]:
    pod["metadata"]["labels"] = labels
    return pod


def place(nodes: list[NodeInfo], node: str, pod: dict[str, Any]) -> None:
    next(n for n in nodes if n.name == node).add_pod(pod)


def zones(*spec: tuple[str, str]) -> list[NodeInfo]:
    return [NodeInfo.of(make_node(name, labels={"topology.kubernetes.io/zone": zone}))
            for name, zone in spec]


def term(key: str = "kubernetes.io/hostname", **match: str) -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": match}, "topologyKey": key}


def anti_affinity(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


def affinity(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


@pytest.fixture
def fw() -> Any:
    return build_framework(rng=random.Random(3))


def test_anti_affinity_keeps_replicas_on_different_hosts(fw: Any) -> None:
    nodes = [NodeInfo.of(make_node(n)) for n in ("a", "b", "c")]
    used = set()
    for _ in range(3):
        pod = labelled(make_pod(affinity=anti_affinity(term(app="web"))), app="web")
        result = fw.schedule(pod, nodes)
        assert result.node not in used
        used.add(result.node)
        place(nodes, result.node, {**pod, "spec": {**pod["spec"], "nodeName": result.node}})
    fourth = labelled(make_pod(affinity=anti_affinity(term(app="web"))), app="web")
    result = fw.schedule(fourth, nodes)
    assert result.node is None
    assert result.failure_message(3) == (
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.")


def test_existing_pods_anti_affinity_repels_newcomers(fw: Any) -> None:
    nodes = [NodeInfo.of(make_node(n)) for n in ("a", "b")]
    loner = labelled(make_pod(affinity=anti_affinity(term(role="noisy"))), role="quiet")
    place(nodes, "a", loner)
    noisy = labelled(make_pod(), role="noisy")
    assert fw.schedule(noisy, nodes).node == "b"


def test_affinity_follows_the_matching_pods_zone(fw: Any) -> None:
    nodes = zones(("a1", "east"), ("a2", "east"), ("b1", "west"))
    place(nodes, "b1", labelled(make_pod(), app="db"))
    for _ in range(5):
        pod = make_pod(affinity=affinity(term("topology.kubernetes.io/zone", app="db")))
        assert fw.schedule(pod, nodes).node == "b1"


def test_affinity_with_no_match_anywhere_is_unschedulable(fw: Any) -> None:
    nodes = zones(("a1", "east"))
    pod = make_pod(affinity=affinity(term("topology.kubernetes.io/zone", app="db")))
    assert fw.schedule(pod, nodes).node is None


def test_first_pod_of_a_self_selecting_group_may_go_anywhere(fw: Any) -> None:
    nodes = zones(("a1", "east"))
    pod = labelled(make_pod(affinity=affinity(term("topology.kubernetes.io/zone", app="db"))),
                   app="db")
    assert fw.schedule(pod, nodes).node == "a1"


def test_preferred_anti_affinity_spreads_but_does_not_block(fw: Any) -> None:
    nodes = [NodeInfo.of(make_node(n)) for n in ("a", "b")]
    place(nodes, "a", labelled(make_pod(), app="web"))
    pod = labelled(make_pod(affinity={"podAntiAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": term(app="web")}]}}), app="web")
    assert fw.schedule(pod, nodes).node == "b"
    place(nodes, "b", labelled(make_pod(), app="web"))
    assert fw.schedule(pod, nodes).node in ("a", "b")  # preferred only: still schedulable


def spread(max_skew: int = 1, hard: bool = True, key: str = "topology.kubernetes.io/zone",
           **match: str) -> dict[str, Any]:
    return {"maxSkew": max_skew, "topologyKey": key,
            "whenUnsatisfiable": "DoNotSchedule" if hard else "ScheduleAnyway",
            "labelSelector": {"matchLabels": match}}


def spread_pod(*constraints: dict[str, Any], **labels: str) -> dict[str, Any]:
    pod = labelled(make_pod(), **labels)
    pod["spec"]["topologySpreadConstraints"] = list(constraints)
    return pod


def test_hard_spread_fills_zones_evenly(fw: Any) -> None:
    nodes = zones(("a1", "east"), ("a2", "east"), ("b1", "west"))
    per_zone = {"east": 0, "west": 0}
    zone_of = {"a1": "east", "a2": "east", "b1": "west"}
    for _ in range(6):
        pod = spread_pod(spread(app="web"), app="web")
        node = fw.schedule(pod, nodes).node
        assert node is not None
        per_zone[zone_of[node]] += 1
        assert abs(per_zone["east"] - per_zone["west"]) <= 1
        place(nodes, node, pod)
    assert per_zone == {"east": 3, "west": 3}


def test_hard_spread_rejects_a_node_that_would_exceed_the_skew(fw: Any) -> None:
    west = make_node("b1", labels={"topology.kubernetes.io/zone": "west"},
                     unschedulable=True)  # the only node that would fix the skew
    nodes = [*zones(("a1", "east")), NodeInfo.of(west)]
    for _ in range(2):
        place(nodes, "a1", labelled(make_pod(), app="web"))
    result = fw.schedule(spread_pod(spread(app="web"), app="web"), nodes)
    assert result.node is None
    assert "node(s) didn't match pod topology spread constraints" in result.failure_message(2)


def test_nodes_without_the_topology_label_are_excluded(fw: Any) -> None:
    nodes = [NodeInfo.of(make_node("plain"))]
    result = fw.schedule(spread_pod(spread(app="web"), app="web"), nodes)
    assert result.node is None
    assert "missing required label" in result.failure_message(1)


def test_soft_spread_prefers_the_emptier_zone(fw: Any) -> None:
    nodes = zones(("a1", "east"), ("b1", "west"))
    place(nodes, "a1", labelled(make_pod(), app="web"))
    pod = spread_pod(spread(hard=False, app="web"), app="web")
    assert fw.schedule(pod, nodes).node == "b1"


def test_replicas_of_a_workload_spread_over_hosts_by_default(fw: Any) -> None:
    nodes = [NodeInfo.of(make_node(n, cpu="64", memory="256Gi")) for n in ("a", "b", "c")]
    placed = {"a": 0, "b": 0, "c": 0}
    for _ in range(6):
        pod = labelled(make_pod(), app="web")
        pod["metadata"]["ownerReferences"] = [
            {"kind": "ReplicaSet", "name": "web-1", "uid": "rs", "controller": True}]
        node = fw.schedule(pod, nodes).node
        assert node is not None
        placed[node] += 1
        place(nodes, node, pod)
    assert placed == {"a": 2, "b": 2, "c": 2}


def test_a_terminating_pod_does_not_count_for_spreading(fw: Any) -> None:
    nodes = zones(("a1", "east"), ("b1", "west"))
    place(nodes, "a1", labelled(make_pod(), app="web"))
    for _ in range(2):
        leaving = labelled(make_pod(), app="web")
        leaving["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        place(nodes, "b1", leaving)
    pod = spread_pod(spread(hard=False, app="web"), app="web")
    assert fw.schedule(pod, nodes).node == "b1"


def test_a_relabelled_pod_counts_under_its_new_labels(fw: Any) -> None:
    nodes = zones(("a1", "east"), ("b1", "west"))
    for _ in range(2):
        web = labelled(make_pod(), app="web")
        place(nodes, "a1", web)
        place(nodes, "a1", {**web, "metadata": {**web["metadata"], "labels": {"app": "db"}}})
    place(nodes, "b1", labelled(make_pod(), app="web"))
    pod = spread_pod(spread(hard=False, app="web"), app="web")
    assert fw.schedule(pod, nodes).node == "a1"


def test_spreading_follows_a_node_that_gains_the_topology_label(fw: Any) -> None:
    snap = NodeSnapshot()
    snap.upsert(make_node("a1", labels={"topology.kubernetes.io/zone": "east"}))
    snap.upsert(make_node("b1"))
    snap["a1"].add_pod(labelled(make_pod(node_name="a1"), app="web"))

    def schedule() -> Any:
        pod = spread_pod(spread(app="web"), app="web")
        return fw.schedule(pod, snap.infos, generation=snap.generation)

    assert schedule().node == "a1"  # b1 has no zone: not a domain
    snap.upsert(make_node("b1", labels={"topology.kubernetes.io/zone": "west"}))
    result = schedule()  # a new, empty domain: the skew now forbids a1
    assert (result.node, result.feasible) == ("b1", 1)
