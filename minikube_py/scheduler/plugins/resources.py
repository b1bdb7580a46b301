"""NodeResourcesFit and BalancedAllocation: requests against allocatable."""

from __future__ import annotations

from collections.abc import Sequence

from minikube_py.scheduler.framework import (
    MAX_NODE_SCORE,
    SUCCESS,
    CycleState,
    NodeInfo,
    Obj,
    Resources,
    Status,
    non_zero,
    pod_requests,
    unschedulable,
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


def _fits(req: Resources, node: NodeInfo) -> bool:
    """The common case, decided in one expression (the reasons are worked out only when
    a node does not fit)."""
    used, alloc = node.requested, node.allocatable
    return (used.pods < alloc.pods and used.milli_cpu + req.milli_cpu <= alloc.milli_cpu
            and used.memory + req.memory <= alloc.memory
            and used.ephemeral_storage + req.ephemeral_storage <= alloc.ephemeral_storage)


class NodeResourcesFit:
    """Filter: the pod's requests fit the node's allocatable minus what is placed there.
    Score: least-allocated (more free room scores higher)."""

    name = "NodeResourcesFit"
    weight = 1

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
        return unschedulable(*reasons) if reasons else SUCCESS

    def filter_many(self, state: CycleState, pod: Obj, nodes: list[NodeInfo],
                    failed: dict[str, Status]) -> list[NodeInfo]:
        req: Resources = state[_REQUESTS]
        cpu, memory, storage = req.milli_cpu, req.memory, req.ephemeral_storage
        survivors = []
        # _fits, inlined: a call per node costs a quarter of this loop. The batch-vs-node
        # agreement test keeps the two honest.
        for node in nodes:
            used, alloc = node.requested, node.allocatable
            if (used.pods < alloc.pods and used.milli_cpu + cpu <= alloc.milli_cpu
                    and used.memory + memory <= alloc.memory
                    and used.ephemeral_storage + storage <= alloc.ephemeral_storage):
                survivors.append(node)
            else:
                failed[node.name] = self.filter(state, pod, node)
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

    def score_many(self, state: CycleState, pod: Obj, nodes: list[NodeInfo]) -> list[int]:
        """`score` for many nodes: the same arithmetic, without a call per node."""
        req: Resources = state[_NON_ZERO]
        cpu, memory = req.milli_cpu, req.memory
        scores = []
        for node in nodes:
            used, alloc = node.non_zero_requested, node.allocatable
            c_total, m_total = alloc.milli_cpu, alloc.memory
            c_used, m_used = used.milli_cpu + cpu, used.memory + memory
            c = (c_total - c_used) * MAX_NODE_SCORE // c_total if 0 < c_total >= c_used else 0
            m = (m_total - m_used) * MAX_NODE_SCORE // m_total if 0 < m_total >= m_used else 0
            scores.append((c + m) // 2)
        return scores


class BalancedAllocation:
    """Prefer nodes where cpu and memory would be used in equal proportion."""

    name = "NodeResourcesBalancedAllocation"
    weight = 1

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

    def score_many(self, state: CycleState, pod: Obj, nodes: list[NodeInfo]) -> list[int]:
        """`score` for many nodes, inlined (see NodeResourcesFit.score_many)."""
        req: Resources = state[_NON_ZERO]
        cpu_req, mem_req = req.milli_cpu, req.memory
        scores = []
        for node in nodes:
            used, alloc = node.non_zero_requested, node.allocatable
            cpu = min(1.0, (used.milli_cpu + cpu_req) / alloc.milli_cpu) if alloc.milli_cpu else 1.0
            mem = min(1.0, (used.memory + mem_req) / alloc.memory) if alloc.memory else 1.0
            scores.append(int((1 - abs(cpu - mem) / 2) * MAX_NODE_SCORE))
        return scores


def _free_fraction(used: int, total: int) -> int:
    if total <= 0 or used > total:
        return 0
    return (total - used) * MAX_NODE_SCORE // total
