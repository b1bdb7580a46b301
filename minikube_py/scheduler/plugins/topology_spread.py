"""PodTopologySpread: keep matching pods evenly spread over topology domains (hard
constraints filter, soft ones score)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from minikube_py.api.scheduling import matches_node_selector_and_affinity
from minikube_py.api.selectors import LabelSelector, selector_from_label_selector_object
from minikube_py.scheduler.framework import (
    NODES,
    SKIP,
    SUCCESS,
    CycleState,
    NodeInfo,
    Obj,
    Status,
    normalize_to_max,
    unresolvable,
    unschedulable,
)

_STATE = "PodTopologySpread/hard"
_SOFT = "PodTopologySpread/soft"


@dataclass(frozen=True)
class Constraint:
    max_skew: int
    topology_key: str
    hard: bool
    selector: LabelSelector | None  # None: a nil labelSelector matches no pod
    min_domains: int
    honor_node_affinity: bool

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Constraint:
        return cls(
            max_skew=int(raw.get("maxSkew", 1)),
            topology_key=raw.get("topologyKey", ""),
            hard=raw.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule",
            selector=None if raw.get("labelSelector") is None
            else selector_from_label_selector_object(raw["labelSelector"]),
            min_domains=int(raw.get("minDomains") or 1),
            honor_node_affinity=raw.get("nodeAffinityPolicy", "Honor") == "Honor",
        )

    def matches(self, labels: dict[str, str]) -> bool:
        return self.selector is not None and self.selector.matches(labels)

    def counts(self, pod: Obj, nodes: Sequence[NodeInfo]) -> Counter[str]:
        """Matching pods per domain, over the nodes eligible for `pod`; every eligible
        domain appears, with 0 if empty."""
        namespace = (pod.get("metadata") or {}).get("namespace")
        counts: Counter[str] = Counter()
        for node in nodes:
            value = _label(node, self.topology_key)
            if value is None:
                continue
            if self.honor_node_affinity and not matches_node_selector_and_affinity(pod.get("spec") or {}, node.node):
                continue
            counts[value] += 0
            for other in node.pods.values():
                meta = other.get("metadata") or {}
                if (meta.get("namespace") == namespace and not meta.get("deletionTimestamp")
                        and self.matches(meta.get("labels") or {})):
                    counts[value] += 1
        return counts


def _label(node: NodeInfo, key: str) -> str | None:
    value = ((node.node.get("metadata") or {}).get("labels") or {}).get(key)
    return None if value is None else str(value)


# kube-scheduler's system defaults, for pods that state no constraints of their own but
# belong to a replicated workload: spread replicas softly over hosts and zones.
_SPREAD_OWNERS = frozenset({"ReplicaSet", "ReplicationController", "StatefulSet"})
_DEFAULT_CONSTRAINTS = (("kubernetes.io/hostname", 3), ("topology.kubernetes.io/zone", 5))


def _constraints(pod: Obj) -> list[Constraint]:
    own = (pod.get("spec") or {}).get("topologySpreadConstraints")
    if own:
        return [Constraint.of(c) for c in own]
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    owned = any(ref.get("controller") and ref.get("kind") in _SPREAD_OWNERS
                for ref in meta.get("ownerReferences") or [])
    if not owned or not labels:
        return []
    # kube derives the selector from the owners' and services' selectors; the pod's own
    # labels select the same siblings for the workloads this covers.
    return [Constraint.of({"maxSkew": skew, "topologyKey": key,
                           "whenUnsatisfiable": "ScheduleAnyway",
                           "labelSelector": {"matchLabels": labels}})
            for key, skew in _DEFAULT_CONSTRAINTS]


class PodTopologySpread:
    name = "PodTopologySpread"
    weight = 2

    def pre_filter(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status:
        hard = [c for c in _constraints(pod) if c.hard]
        if not hard:
            return SKIP
        state[_STATE] = [(c, c.counts(pod, nodes)) for c in hard]
        return SUCCESS

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        hard: list[tuple[Constraint, Counter[str]]] = state[_STATE]
        labels = (pod.get("metadata") or {}).get("labels") or {}
        for constraint, counts in hard:
            value = _label(node, constraint.topology_key)
            if value is None:
                return unresolvable(
                    "node(s) didn't match pod topology spread constraints (missing required label)")
            # Too few domains: the global minimum counts as 0 (minDomains semantics).
            global_min = min(counts.values()) if len(counts) >= constraint.min_domains else 0
            self_match = 1 if constraint.matches(labels) else 0
            if counts[value] + self_match - global_min > constraint.max_skew:
                return unschedulable("node(s) didn't match pod topology spread constraints")
        return SUCCESS

    def pre_score(self, state: CycleState, pod: Obj, feasible: Sequence[NodeInfo]) -> Status:
        soft = [c for c in _constraints(pod) if not c.hard]
        if not soft:
            return SKIP
        nodes = state.get(NODES) or []
        state[_SOFT] = [(c, c.counts(pod, nodes)) for c in soft]
        return SUCCESS

    def score(self, state: CycleState, pod: Obj, node: NodeInfo) -> int:
        soft = state[_SOFT]
        total = 0
        for constraint, counts in soft:
            value = _label(node, constraint.topology_key)
            total += counts[value] if value is not None else 0
        return total

    def normalize(self, state: CycleState, pod: Obj, scores: dict[str, int]) -> None:
        # Fewer matching pods in the node's domains is better.
        normalize_to_max(scores, reverse=True)
