"""NodeResourcesFit and BalancedAllocation: requests against allocatable."""

from __future__ import annotations

from collections.abc import Sequence

from minikube_py.scheduler.framework import (
    CENSUS,
    MAX_NODE_SCORE,
    SUCCESS,
    CycleState,
    NodeInfo,
    Obj,
    Status,
    few_states,
    unschedulable,
)
from minikube_py.scheduler.nodeinfo import (
    Census,
    FitKey,
    Resources,
    UsageKey,
    non_zero,
    pod_requests,
)

_REQUESTS = "NodeResourcesFit/requests"
_NON_ZERO = "NodeResourcesFit/non-zero"


def _requests(state: CycleState, pod: Obj) -> Resources:
    req: Resources | None = state.get(_REQUESTS)
    if req is None:
        req = state[_REQUESTS] = pod_requests(pod)
    return req


def _non_zero_requests(state: CycleState, pod: Obj) -> Resources:
    nz: Resources | None = state.get(_NON_ZERO)
    if nz is None:
        nz = state[_NON_ZERO] = non_zero(_requests(state, pod))
    return nz


def fit_status(req: Resources, key: FitKey) -> Status:
    """Whether a node in resource state `key` takes a pod with requests `req`, and if not
    why. A resource the pod does not request is not checked, as in kube: a node
    overcommitted on memory still takes a pod that asks for none."""
    room, free_cpu, free_memory, free_storage = key
    reasons = []
    if not room:
        reasons.append("Too many pods")
    if req.milli_cpu and req.milli_cpu > free_cpu:
        reasons.append("Insufficient cpu")
    if req.memory and req.memory > free_memory:
        reasons.append("Insufficient memory")
    if req.ephemeral_storage and req.ephemeral_storage > free_storage:
        reasons.append("Insufficient ephemeral-storage")
    return unschedulable(*reasons) if reasons else SUCCESS


class NodeResourcesFit:
    """Filter: the pod's requests fit the node's allocatable minus what is placed there.
    Score: least-allocated (more free room scores higher)."""

    name = "NodeResourcesFit"
    weight = 1

    def pre_filter(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status:
        _requests(state, pod)
        return SUCCESS

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        return fit_status(state[_REQUESTS], node.fit_key)

    def filter_many(self, state: CycleState, pod: Obj, nodes: list[NodeInfo],
                    failed: dict[str, Status]) -> list[NodeInfo]:
        """`filter` once per resource state: those of the whole snapshot when the cycle
        has its census (a handful), and a walk over the nodes only when some state does
        not fit."""
        req: Resources = state[_REQUESTS]
        census: Census | None = state.get(CENSUS)
        states = (census.fit if census is not None and few_states(census.fit, nodes)
                  else {node.fit_key: 1 for node in nodes})
        refused: dict[FitKey, Status] = {}
        for key in states:
            status = fit_status(req, key)
            if status is not SUCCESS:
                refused[key] = status
        if not refused:
            return nodes
        survivors = []
        for node in nodes:
            refusal = refused.get(node.fit_key)
            if refusal is None:
                survivors.append(node)
            else:
                failed[node.name] = refusal
        return survivors

    def pre_score(self, state: CycleState, pod: Obj, feasible: Sequence[NodeInfo]) -> Status:
        _non_zero_requests(state, pod)
        return SUCCESS

    def score(self, state: CycleState, pod: Obj, node: NodeInfo) -> int:
        return self.score_usage(state, pod, node.usage_key)

    def score_usage(self, state: CycleState, pod: Obj, usage: UsageKey) -> int:
        req: Resources = state[_NON_ZERO]
        cpu_total, memory_total, cpu_used, memory_used = usage
        cpu = _free_fraction(cpu_used + req.milli_cpu, cpu_total)
        memory = _free_fraction(memory_used + req.memory, memory_total)
        return (cpu + memory) // 2


class BalancedAllocation:
    """Prefer nodes where cpu and memory would be used in equal proportion."""

    name = "NodeResourcesBalancedAllocation"
    weight = 1

    def pre_score(self, state: CycleState, pod: Obj, feasible: Sequence[NodeInfo]) -> Status:
        _non_zero_requests(state, pod)
        return SUCCESS

    def score(self, state: CycleState, pod: Obj, node: NodeInfo) -> int:
        return self.score_usage(state, pod, node.usage_key)

    def score_usage(self, state: CycleState, pod: Obj, usage: UsageKey) -> int:
        req: Resources = state[_NON_ZERO]
        cpu_total, memory_total, cpu_used, memory_used = usage
        cpu = min(1.0, (cpu_used + req.milli_cpu) / cpu_total) if cpu_total else 1.0
        mem = min(1.0, (memory_used + req.memory) / memory_total) if memory_total else 1.0
        # Standard deviation of two fractions is |a-b|/2.
        return int((1 - abs(cpu - mem) / 2) * MAX_NODE_SCORE)


def _free_fraction(used: int, total: int) -> int:
    if total <= 0 or used > total:
        return 0
    return (total - used) * MAX_NODE_SCORE // total
