"""Preemption's pure decisions: who may preempt, the victims on a node, and the node."""

from __future__ import annotations

import random
from typing import Any

from minikube_py.scheduler.framework import NodeInfo, unresolvable, unschedulable
from minikube_py.scheduler.plugins import build_framework
from minikube_py.scheduler.preemption import (
    NEVER_MESSAGE,
    TERMINATING_MESSAGE,
    Victims,
    candidates_to_find,
    pick_victims,
    preempt,
    preemption_refusal,
    select_victims,
    split_by_budget,
)
from tests.unit.scheduler.helpers import make_node, make_pod


def node_with(name: str, *pods: dict[str, Any], cpu: str = "4") -> NodeInfo:
    info = NodeInfo.of(make_node(name, cpu=cpu))
    for pod in pods:
        pod["spec"]["nodeName"] = name
        info.add_pod(pod)
    return info


def started(pod: dict[str, Any], at: str) -> dict[str, Any]:
    pod["status"] = {"startTime": at}
    return pod


def labelled(pod: dict[str, Any], **labels: str) -> dict[str, Any]:
    pod["metadata"]["labels"] = labels
    return pod


def budget(allowed: int, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": "pdb", "namespace": "default"},
            "spec": {"selector": {"matchLabels": labels}},
            "status": {"disruptionsAllowed": allowed}}


def names(pods: tuple[dict[str, Any], ...]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


FW = build_framework(rng=random.Random(1))
INSUFFICIENT = unschedulable("Insufficient cpu")


def test_the_victims_are_the_fewest_lowest_priority_pods_that_make_room() -> None:
    info = node_with("n", make_pod("low-1", cpu="1", priority=1),
                     make_pod("low-2", cpu="1", priority=2),
                     make_pod("mid", cpu="2", priority=5))
    victims = select_victims(FW, make_pod("high", cpu="1", priority=10), info, [info], [])
    assert victims is not None and names(victims.pods) == ["low-1"]


def test_a_larger_pod_costs_more_victims_most_important_first() -> None:
    info = node_with("n", make_pod("low-1", cpu="1", priority=1),
                     make_pod("low-2", cpu="1", priority=2),
                     make_pod("mid", cpu="2", priority=5))
    victims = select_victims(FW, make_pod("high", cpu="3", priority=10), info, [info], [])
    assert victims is not None and names(victims.pods) == ["mid", "low-1"]


def test_pods_of_equal_or_higher_priority_are_never_victims() -> None:
    info = node_with("n", make_pod("same", cpu="2", priority=10),
                     make_pod("higher", cpu="2", priority=20))
    assert select_victims(FW, make_pod("p", cpu="1", priority=10), info, [info], []) is None


def test_the_cache_node_is_left_as_it_was() -> None:
    info = node_with("n", make_pod("low", cpu="4", priority=1))
    select_victims(FW, make_pod("high", cpu="2", priority=10), info, [info], [])
    assert info.free_milli_cpu == 0 and len(info.pods) == 1


def test_a_budget_protected_pod_is_reprieved_before_a_more_important_one() -> None:
    protected = labelled(make_pod("guarded", cpu="2", priority=1), app="db")
    info = node_with("n", protected, make_pod("other", cpu="2", priority=2))
    victims = select_victims(FW, make_pod("high", cpu="2", priority=10), info, [info],
                             [budget(0, app="db")])
    assert victims is not None and names(victims.pods) == ["other"]
    assert victims.pdb_violations == 0


def test_a_budget_violation_is_counted_when_there_is_no_other_way() -> None:
    info = node_with("n", labelled(make_pod("guarded", cpu="4", priority=1), app="db"))
    victims = select_victims(FW, make_pod("high", cpu="2", priority=10), info, [info],
                             [budget(0, app="db")])
    assert victims is not None and victims.pdb_violations == 1


def test_room_a_nominated_pod_holds_is_not_given_away() -> None:
    info = node_with("n", make_pod("low", cpu="2", priority=1))
    waiting = make_pod("nominee", cpu="2", priority=50)
    victims = select_victims(FW, make_pod("high", cpu="2", priority=10), info, [info], [],
                             [waiting])
    assert victims is not None and names(victims.pods) == ["low"]


def test_budget_allowances_are_spent_in_order() -> None:
    pods = [labelled(make_pod(f"p{i}"), app="web") for i in range(3)]
    violating, fine = split_by_budget(pods, [budget(2, app="web")])
    assert [p["metadata"]["name"] for p in fine] == ["p0", "p1"]
    assert [p["metadata"]["name"] for p in violating] == ["p2"]


def test_an_empty_budget_selector_guards_nothing_for_the_scheduler() -> None:
    pod = labelled(make_pod("p"), app="web")
    empty = {**budget(0), "spec": {"selector": {}}}
    assert split_by_budget([pod], [empty]) == ([], [pod])


def test_a_pod_already_disrupted_does_not_spend_the_budget_again() -> None:
    pod = labelled(make_pod("p"), app="web")
    pdb = budget(0, app="web")
    pdb["status"]["disruptedPods"] = {"p": "2026-01-01T00:00:00Z"}
    assert split_by_budget([pod], [pdb]) == ([], [pod])


def victims_of(node: str, *pods: dict[str, Any], violations: int = 0) -> Victims:
    return Victims(node, tuple(pods), violations)


def test_node_choice_prefers_fewer_budget_violations() -> None:
    a = victims_of("a", make_pod(priority=1), violations=1)
    b = victims_of("b", make_pod(priority=5), make_pod(priority=5))
    assert pick_victims([a, b]).node == "b"


def test_node_choice_prefers_the_lowest_highest_victim_priority() -> None:
    a = victims_of("a", make_pod(priority=5))
    b = victims_of("b", make_pod(priority=3), make_pod(priority=3), make_pod(priority=3))
    assert pick_victims([a, b]).node == "b"


def test_node_choice_prefers_the_smallest_sum_of_priorities() -> None:
    a = victims_of("a", make_pod(priority=3), make_pod(priority=2))
    b = victims_of("b", make_pod(priority=3), make_pod(priority=1))
    assert pick_victims([a, b]).node == "b"


def test_node_choice_prefers_fewer_victims_with_negative_priorities_too() -> None:
    a = victims_of("a", make_pod(priority=-5), make_pod(priority=-5))
    b = victims_of("b", make_pod(priority=-5))
    assert pick_victims([a, b]).node == "b"


def test_node_choice_prefers_the_latest_started_highest_victim() -> None:
    a = victims_of("a", started(make_pod(priority=3), "2026-01-01T10:00:00Z"))
    b = victims_of("b", started(make_pod(priority=3), "2026-01-01T11:00:00Z"))
    assert pick_victims([a, b]).node == "b"
    assert pick_victims([b, a]).node == "b"


def test_node_choice_falls_back_to_the_first_node() -> None:
    a = victims_of("a", make_pod(priority=3))
    b = victims_of("b", make_pod(priority=3))
    assert pick_victims([a, b]).node == "a"


def test_preemption_policy_never_never_preempts() -> None:
    pod = make_pod("p", cpu="2", priority=10)
    pod["spec"]["preemptionPolicy"] = "Never"
    info = node_with("n", make_pod("low", cpu="4", priority=1))
    result = preempt(FW, pod, [info], {"n": INSUFFICIENT}, [])
    assert result.victims is None and result.message == f"preemption: {NEVER_MESSAGE}"


def test_a_preemptor_waits_while_its_victims_terminate() -> None:
    victim = make_pod("low", cpu="4", priority=1)
    victim["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    victim["status"] = {"conditions": [{"type": "DisruptionTarget", "status": "True",
                                        "reason": "PreemptionByScheduler"}]}
    info = node_with("n", victim)
    pod = make_pod("p", cpu="2", priority=10)
    pod["status"] = {"nominatedNodeName": "n"}
    assert preemption_refusal(pod, {"n": info}, {"n": INSUFFICIENT}) == TERMINATING_MESSAGE


def test_unresolvable_nodes_are_not_preempted_on() -> None:
    full = node_with("full", make_pod("low", cpu="4", priority=1))
    pinned = node_with("pinned", make_pod("low-2", cpu="4", priority=1))
    diagnosis = {"full": INSUFFICIENT, "pinned": unresolvable("node(s) didn't match")}
    result = preempt(FW, make_pod("p", cpu="2", priority=10), [full, pinned], diagnosis, [])
    assert result.victims is not None and result.victims.node == "full"


def test_no_candidate_gives_kubes_message() -> None:
    full = node_with("full", make_pod("same", cpu="4", priority=10))
    pinned = node_with("pinned")
    diagnosis = {"full": INSUFFICIENT, "pinned": unresolvable("node(s) didn't match")}
    result = preempt(FW, make_pod("p", cpu="2", priority=10), [full, pinned], diagnosis, [])
    assert result.victims is None
    assert result.message == (
        "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming "
        "pod, 1 Preemption is not helpful for scheduling.")


def test_the_node_needing_the_cheapest_victims_is_chosen() -> None:
    a = node_with("a", make_pod("a-mid", cpu="4", priority=5))
    b = node_with("b", make_pod("b-low", cpu="4", priority=1))
    diagnosis = {"a": INSUFFICIENT, "b": INSUFFICIENT}
    result = preempt(FW, make_pod("p", cpu="2", priority=10), [a, b], diagnosis, [])
    assert result.victims is not None and result.victims.node == "b"
    assert names(result.victims.pods) == ["b-low"]


def test_a_tenth_of_the_nodes_are_enough_candidates_but_at_least_a_hundred() -> None:
    assert [candidates_to_find(n) for n in (3, 100, 500, 5000)] == [3, 100, 100, 500]


def test_a_victim_may_be_the_pod_an_anti_affinity_rule_keeps_away() -> None:
    # Room enough for both, but the incoming pod will not share a node with app=noisy:
    # the filters rerun with their pre-filter state taken from the trimmed node.
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "noisy"}},
         "topologyKey": "kubernetes.io/hostname"}]}}
    info = node_with("n", labelled(make_pod("noisy", cpu="1", priority=1), app="noisy"),
                     make_pod("quiet", cpu="1", priority=1))
    pod = make_pod("picky", cpu="1", priority=10, affinity=anti)
    result = FW.schedule(pod, [info])
    assert result.node is None
    outcome = preempt(FW, pod, [info], result.diagnosis, [])
    assert outcome.victims is not None and names(outcome.victims.pods) == ["noisy"]
