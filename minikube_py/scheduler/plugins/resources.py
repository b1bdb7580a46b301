"""NodeResourcesFit and BalancedAllocation: requests against allocatable."""

from __future__ import annotations

from collections.abc import Sequence

from minikube_py.scheduler.framework import (
    MAX_NODE_SCORE,
    SUCCESS,
    CycleState,
    NodeInfo,
    Obj,
    Status,
    unschedulable,
)
from minikube_py.scheduler.nodeinfo import Resources, non_zero, pod_requests

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


def _fits(req: Resources, node: NodeInfo) -> bool:
    """The common case, decided in one expression (the reasons are worked out only when
    a node does not fit). A resource the pod does not request is not checked, as in kube:
    a node overcommitted on memory still takes a pod that asks for none."""
    return (node.free_pods > 0
            and (not req.milli_cpu or req.milli_cpu <= node.free_milli_cpu)
            and (not req.memory or req.memory <= node.free_memory)
            and (not req.ephemeral_storage
                 or req.ephemeral_storage <= node.free_ephemeral_storage))


class NodeResourcesFit:
    """Filter: the pod's requests fit the node's allocatable minus what is placed there.
    Score: least-allocated (more free room scores higher)."""

    name = "NodeResourcesFit"
    weight = 1
    scores_usage_only = True

    def pre_filter(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status:
        _requests(state, pod)
        return SUCCESS

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        req: Resources = state[_REQUESTS]
        if _fits(req, node):
            return SUCCESS
        used, alloc = node.requested, node.allocatable
        reasons = []
        if used.pods + 1 > alloc.pods:
            reasons.append("Too many pods")
        if req.milli_cpu and used.milli_cpu + req.milli_cpu > alloc.milli_cpu:
            reasons.append("Insufficient cpu")
        if req.memory and used.memory + req.memory > alloc.memory:
            reasons.append("Insufficient memory")
        if req.ephemeral_storage and (
            used.ephemeral_storage + req.ephemeral_storage > alloc.ephemeral_storage
        ):
            reasons.append("Insufficient ephemeral-storage")
        return unschedulable(*reasons)

    def filter_many(self, state: CycleState, pod: Obj, nodes: list[NodeInfo],
                    failed: dict[str, Status]) -> list[NodeInfo]:
        """`filter` once per distinct fit_key among `nodes` (a handful: nodes start alike
        and fill alike), and a walk over the nodes only when some do not fit."""
        one_per_key = {node.fit_key: node for node in nodes}
        refused: dict[tuple[bool, int, int, int], Status] = {}
        for key, node in one_per_key.items():
            status = self.filter(state, pod, node)
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
        req: Resources = state[_NON_ZERO]
        used, alloc = node.non_zero_requested, node.allocatable
        cpu = _free_fraction(used.milli_cpu + req.milli_cpu, alloc.milli_cpu)
        memory = _free_fraction(used.memory + req.memory, alloc.memory)
        return (cpu + memory) // 2


class BalancedAllocation:
    """Prefer nodes where cpu and memory would be used in equal proportion."""

    name = "NodeResourcesBalancedAllocation"
    weight = 1
    scores_usage_only = True

    def pre_score(self, state: CycleState, pod: Obj, feasible: Sequence[NodeInfo]) -> Status:
        _non_zero_requests(state, pod)
        return SUCCESS

    def score(self, state: CycleState, pod: Obj, node: NodeInfo) -> int:
        req: Resources = state[_NON_ZERO]
        used, alloc = node.non_zero_requested, node.allocatable
        cpu = min(1.0, (used.milli_cpu + req.milli_cpu) / alloc.milli_cpu) if alloc.milli_cpu else 1.0
        mem = min(1.0, (used.memory + req.memory) / alloc.memory) if alloc.memory else 1.0
        # Standard deviation of two fractions is |a-b|/2.
        return int((1 - abs(cpu - mem) / 2) * MAX_NODE_SCORE)


def _free_fraction(used: int, total: int) -> int:
    if total <= 0 or used > total:
        return 0
    return (total - used) * MAX_NODE_SCORE // total
