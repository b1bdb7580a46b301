"""The scheduling cycle: filtering, scoring, the failure message, and node sampling."""

from __future__ import annotations

import random

from minikube_py.scheduler.framework import NodeInfo, failure_message, nodes_to_find
from minikube_py.scheduler.plugins import Profile, build_framework
from tests.unit.scheduler.helpers import make_node, make_pod


def infos(*nodes: dict) -> list[NodeInfo]:
    return [NodeInfo.of(n) for n in nodes]


def test_picks_the_only_node_that_fits() -> None:
    fw = build_framework(rng=random.Random(1))
    nodes = infos(make_node("small", cpu="1"), make_node("big", cpu="8"))
    assert fw.schedule(make_pod(cpu="2"), nodes).node == "big"


def test_failure_message_reads_like_kube_scheduler() -> None:
    fw = build_framework(rng=random.Random(1))
    taint = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
    nodes = infos(make_node("a", cpu="1"), make_node("b", taints=[taint]),
                  make_node("c", taints=[taint]))
    result = fw.schedule(make_pod(cpu="2"), nodes)
    assert result.node is None
    assert result.failure_message(3) == (
        "0/3 nodes are available: 1 Insufficient cpu, "
        "2 node(s) had untolerated taint {dedicated: db}.")


def test_no_nodes_message() -> None:
    assert failure_message(0, {}) == "no nodes available to schedule pods"


def test_spreads_pods_without_requests_by_default_scores() -> None:
    fw = build_framework(rng=random.Random(7))
    nodes = infos(make_node("a"), make_node("b"))
    placed = {"a": 0, "b": 0}
    for _ in range(10):
        pod = make_pod()
        name = fw.schedule(pod, nodes).node
        assert name is not None
        placed[name] += 1
        next(n for n in nodes if n.name == name).add_pod(pod)
    assert placed == {"a": 5, "b": 5}


def test_large_clusters_evaluate_a_sample_of_nodes() -> None:
    assert nodes_to_find(50, 0) == 50
    assert nodes_to_find(5000, 0) == 500  # adaptive: 10% of 5000
    assert nodes_to_find(5000, 50) == 2500
    fw = build_framework(Profile(percentage_of_nodes_to_score=10), rng=random.Random(1))
    nodes = infos(*(make_node(f"n{i}") for i in range(2000)))
    result = fw.schedule(make_pod(), nodes)
    assert result.feasible == 200 and result.evaluated == 200


def test_successive_cycles_start_where_the_last_one_stopped() -> None:
    fw = build_framework(Profile(percentage_of_nodes_to_score=10), rng=random.Random(1))
    nodes = infos(*(make_node(f"n{i}") for i in range(2000)))
    first = fw.schedule(make_pod(), nodes).node
    second = fw.schedule(make_pod(), nodes).node
    assert first is not None and second is not None
    assert int(first[1:]) < 200 <= int(second[1:]) < 400
