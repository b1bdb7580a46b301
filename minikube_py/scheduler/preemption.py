"""Preemption as kube-scheduler's DefaultPreemption PostFilter, as pure decisions: whether
an unschedulable pod may preempt, which lower-priority pods each node would give up for
it (the fewest, sparing PodDisruptionBudgets where it can), and which node to take."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.selectors import selector_from_label_selector_object
from minikube_py.scheduler.framework import (
    Code,
    Framework,
    NodeInfo,
    Status,
    failure_message,
    unresolvable,
    unschedulable,
)
from minikube_py.scheduler.nodeinfo import node_info_copy

Obj = dict[str, Any]

PREEMPT_NEVER = "Never"
NEVER_MESSAGE = "not eligible due to preemptionPolicy=Never."
TERMINATING_MESSAGE = "not eligible due to a terminating pod on the nominated node."
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
PREEMPTION_BY_SCHEDULER = "PreemptionByScheduler"
DISRUPTION_TARGET = "DisruptionTarget"
# kube adds MaxInt32 + 1 to each priority before summing, so negative priorities still
# make a larger sum for more victims.
_PRIORITY_OFFSET = 2**31
# A pod not started yet counts as started now: later than any that did (GetPodStartTime).
_NOT_STARTED = "9999"


def pod_priority(pod: Obj) -> int:
    return int((pod.get("spec") or {}).get("priority") or 0)


def _start_time(pod: Obj) -> str:
    # RFC 3339 UTC timestamps as the API writes them compare as strings.
    return str((pod.get("status") or {}).get("startTime") or _NOT_STARTED)


def importance(pod: Obj) -> tuple[int, str]:
    """Sort key, most important first (MoreImportantPod): higher priority, then the pod
    that started earlier."""
    return -pod_priority(pod), _start_time(pod)


@dataclass(frozen=True, slots=True)
class Victims:
    """What preempting on one node costs: the pods to delete (most important first) and
    how many of them go against a PodDisruptionBudget."""

    node: str
    pods: tuple[Obj, ...]
    pdb_violations: int = 0


@dataclass(frozen=True, slots=True)
class Preemption:
    """The PostFilter's answer: the node to nominate and its victims, or why not (the
    text kube appends to FailedScheduling, 'preemption: ...')."""

    victims: Victims | None
    message: str = ""


def preemption_refusal(pod: Obj, nodes: Mapping[str, NodeInfo],
                       diagnosis: Mapping[str, Status]) -> str | None:
    """PodEligibleToPreemptOthers: why `pod` may not preempt, or None. A pod that already
    preempted waits while lower-priority victims on its nominated node terminate, unless
    that node no longer suits it at all."""
    spec = pod.get("spec") or {}
    if spec.get("preemptionPolicy") == PREEMPT_NEVER:
        return NEVER_MESSAGE
    nominated = (pod.get("status") or {}).get("nominatedNodeName")
    if not nominated:
        return None
    status = diagnosis.get(nominated)
    if status is not None and status.code is Code.UNRESOLVABLE:
        return None
    info = nodes.get(nominated)
    if info is None:
        return None
    priority = pod_priority(pod)
    if any(pod_priority(p) < priority and terminating_by_preemption(p)
           for p in info.pods.values()):
        return TERMINATING_MESSAGE
    return None


def terminating_by_preemption(pod: Obj) -> bool:
    if not (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return any(c.get("type") == DISRUPTION_TARGET and c.get("status") == "True"
               and c.get("reason") == PREEMPTION_BY_SCHEDULER
               for c in (pod.get("status") or {}).get("conditions") or [])


def split_by_budget(pods: Sequence[Obj], budgets: Sequence[Obj]) -> tuple[list[Obj], list[Obj]]:
    """filterPodsWithPDBViolation: `pods` (in the order given) split into those whose
    deletion, one after the other, would take a budget below zero disruptions allowed,
    and the rest. As kube-scheduler (not the eviction API), a null or empty selector
    guards nothing, and a pod in a budget's disruptedPods is already counted."""
    allowed = [int((b.get("status") or {}).get("disruptionsAllowed") or 0) for b in budgets]
    selectors = [_budget_selector(b) for b in budgets]
    violating: list[Obj] = []
    fine: list[Obj] = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        broken = False
        for i, budget in enumerate(budgets):
            selector = selectors[i]
            if selector is None or selector.empty or \
                    (budget.get("metadata") or {}).get("namespace") != meta.get("namespace") or \
                    not selector.matches(meta.get("labels") or {}):
                continue
            if meta.get("name") in ((budget.get("status") or {}).get("disruptedPods") or {}):
                continue
            allowed[i] -= 1
            broken = broken or allowed[i] < 0
        (violating if broken else fine).append(pod)
    return violating, fine


def _budget_selector(budget: Obj) -> Any:
    sel = (budget.get("spec") or {}).get("selector")
    if sel is None:
        return None
    try:
        return selector_from_label_selector_object(sel)
    except ApiError:
        return None


def with_pods(info: NodeInfo, pods: Sequence[Obj]) -> NodeInfo:
    """A copy of `info` with `pods` placed on it too (nominated pods holding their room)."""
    twin = node_info_copy(info)
    for pod in pods:
        twin.add_pod(pod)
    return twin


def select_victims(framework: Framework, pod: Obj, info: NodeInfo,
                   nodes: Sequence[NodeInfo], budgets: Sequence[Obj],
                   nominated: Sequence[Obj] = ()) -> Victims | None:
    """SelectVictimsOnNode: with every lower-priority pod off `info`, does `pod` pass the
    filters there? If so, put back as many as still let it fit, the most important first
    (those a budget protects before the others), and the rest are the victims. `nominated`
    are pods of at least `pod`'s priority waiting for this node: their room is kept."""
    priority = pod_priority(pod)
    lower = sorted((p for p in info.pods.values() if pod_priority(p) < priority),
                   key=importance)
    if not lower:
        return None
    trial = with_pods(info, nominated)
    for victim in lower:
        trial.remove_pod(victim)
    others = [trial if n is info else n for n in nodes]
    if not framework.filter_node(pod, trial, others).ok:
        return None
    violating, fine = split_by_budget(lower, budgets)
    protected = {id(p) for p in violating}
    victims: list[Obj] = []
    violations = 0
    for candidate in (*violating, *fine):
        trial.add_pod(candidate)
        if not framework.filter_node(pod, trial, others).ok:
            trial.remove_pod(candidate)
            victims.append(candidate)
            violations += id(candidate) in protected
    victims.sort(key=importance)
    return Victims(info.name, tuple(victims), violations)


def pick_victims(candidates: Sequence[Victims]) -> Victims:
    """pickOneNodeForPreemption: a node that needs no victims; else the fewest budget
    violations, then the lowest highest-priority victim, the smallest sum of priorities,
    the fewest victims, the latest start among the highest-priority victims, and the
    first node left."""
    for choice in candidates:
        if not choice.pods:
            return choice
    return min(candidates, key=_cost)


def _cost(choice: Victims) -> tuple[int, int, int, int, _Later]:
    top = pod_priority(choice.pods[0])
    earliest_top = min(_start_time(p) for p in choice.pods if pod_priority(p) == top)
    return (choice.pdb_violations, top,
            sum(pod_priority(p) + _PRIORITY_OFFSET for p in choice.pods),
            len(choice.pods), _Later(earliest_top))


@dataclass(frozen=True, slots=True, order=False)
class _Later:
    """Orders start times latest first, so min() prefers the node whose most important
    victim started last."""

    start: str

    def __lt__(self, other: _Later) -> bool:
        return self.start > other.start


def candidates_to_find(total: int) -> int:
    """How many nodes with victims are enough to choose from (kube's
    GetOffsetAndNumCandidates: 10% of the nodes, at least 100). kube starts at a random
    node; we start at the first, so the choice is the same on every run."""
    return min(total, max(100, total // 10))


def preempt(framework: Framework, pod: Obj, nodes: Sequence[NodeInfo],
            diagnosis: Mapping[str, Status], budgets: Sequence[Obj], *,
            nominated: Mapping[str, Sequence[Obj]] | None = None) -> Preemption:
    """The PostFilter for `pod`, which no node in `nodes` fits (`diagnosis` says why, per
    node): a node where preempting makes room, with its victims, or kube's message why
    there is none. `nominated`: by node, other pods nominated there of at least `pod`'s
    priority."""
    by_name = {n.name: n for n in nodes}
    refusal = preemption_refusal(pod, by_name, diagnosis)
    if refusal is not None:
        return Preemption(None, f"preemption: {refusal}")
    nominated = nominated or {}
    candidates: list[Victims] = []
    why: dict[str, Status] = {}
    enough = candidates_to_find(len(nodes))
    for info in nodes:
        if len(candidates) >= enough:
            break
        status = diagnosis.get(info.name)
        if status is None or status.code is Code.UNRESOLVABLE:
            why[info.name] = unresolvable(NOT_HELPFUL)
            continue
        victims = select_victims(framework, pod, info, nodes, budgets,
                                 nominated.get(info.name, ()))
        if victims is None:
            why[info.name] = unschedulable(NO_VICTIMS)
        else:
            candidates.append(victims)
    if not candidates:
        return Preemption(None, f"preemption: {failure_message(len(nodes), why)}")
    return Preemption(pick_victims(candidates))
