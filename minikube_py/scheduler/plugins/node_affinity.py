"""NodeAffinity: nodeSelector, required and preferred node affinity."""

from __future__ import annotations

from collections.abc import Sequence

from minikube_py.api.scheduling import (
    matches_node_selector_and_affinity,
    node_selector_term_matches,
    required_node_terms,
)
from minikube_py.scheduler.equivalence import node_affinity_shape
from minikube_py.scheduler.framework import (
    MAX_NODE_SCORE,
    SKIP,
    SUCCESS,
    CycleState,
    NodeInfo,
    Obj,
    Status,
    unresolvable,
)

_MISMATCH = unresolvable("node(s) didn't match Pod's node affinity/selector")


class NodeAffinity:
    """nodeSelector and requiredDuringScheduling node affinity (filter); preferred
    node affinity (score)."""

    name = "NodeAffinity"
    weight = 2

    def pre_filter(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status:
        spec = pod.get("spec") or {}
        required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution")
        return SUCCESS if spec.get("nodeSelector") or required else SKIP

    def pre_score(self, state: CycleState, pod: Obj, feasible: Sequence[NodeInfo]) -> Status:
        preferred = ((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
                     .get("preferredDuringSchedulingIgnoredDuringExecution"))
        return SUCCESS if preferred else SKIP

    shape = staticmethod(node_affinity_shape)

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        if matches_node_selector_and_affinity(pod.get("spec") or {}, node.node):
            return SUCCESS
        return _MISMATCH

    def filter_many(self, state: CycleState, pod: Obj, nodes: list[NodeInfo],
                    failed: dict[str, Status]) -> list[NodeInfo]:
        """`filter` for many nodes, with the pod's side read once."""
        spec = pod.get("spec") or {}
        selector = list((spec.get("nodeSelector") or {}).items())
        terms = required_node_terms(spec)
        survivors = []
        for node in nodes:
            labels = node.labels
            if all(labels.get(k) == v for k, v in selector) and (
                    terms is None or any(node_selector_term_matches(node.node, t)
                                         for t in terms)):
                survivors.append(node)
            else:
                failed[node.name] = _MISMATCH
        return survivors

    def score(self, state: CycleState, pod: Obj, node: NodeInfo) -> int:
        preferred = ((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
                     .get("preferredDuringSchedulingIgnoredDuringExecution") or [])
        if not preferred:
            return 0
        total = sum(int(p.get("weight", 0)) for p in preferred) or 1
        got = sum(
            int(p.get("weight", 0)) for p in preferred
            if node_selector_term_matches(node.node, p.get("preference") or {})
        )
        return got * MAX_NODE_SCORE // total


