"""PodTopologySpread: keep matching pods evenly spread over topology domains (hard
constraints filter, soft ones score)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from minikube_py.api.scheduling import matches_node_selector_and_affinity
from minikube_py.api.selectors import LabelSelector, selector_from_label_selector_object
from minikube_py.scheduler.equivalence import node_affinity_shape
from minikube_py.scheduler.framework import (
    GENERATION,
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
from minikube_py.scheduler.nodeinfo import GroupKey

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

    def counts(self, pod: Obj, domains: Sequence[tuple[NodeInfo, str]]) -> Counter[str]:
        """Matching pods per domain, over the nodes eligible for `pod` (`domains`, from
        `eligible_domains`); every eligible domain appears, with 0 if empty."""
        namespace = (pod.get("metadata") or {}).get("namespace")
        counts: Counter[str] = Counter()
        matched: dict[GroupKey, bool] = {}
        for node, domain in domains:
            found = counts.get(domain, 0)
            for key, group in node.pod_groups.items():
                group_namespace, _, terminating = key
                if group_namespace != namespace or terminating:
                    continue
                hit = matched.get(key)
                if hit is None:
                    hit = matched[key] = self.matches(group.labels)
                if hit:
                    found += group.count
            counts[domain] = found
        return counts


def eligible_domains(pod: Obj, nodes: Sequence[NodeInfo], topology_key: str,
                     honor_node_affinity: bool) -> list[tuple[NodeInfo, str]]:
    """The nodes a constraint counts over, with their domain: those that have the
    topology label and, when the constraint honours it, that the pod's node affinity
    admits."""
    spec = pod.get("spec") or {}
    domains = []
    for node in nodes:
        value = node.labels.get(topology_key)
        if value is None:
            continue
        if honor_node_affinity and not matches_node_selector_and_affinity(spec, node.node):
            continue
        domains.append((node, str(value)))
    return domains


def _label(node: NodeInfo, key: str) -> str | None:
    value = node.labels.get(key)
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


_CONSTRAINTS = "PodTopologySpread/constraints"


def _constraints_of(state: CycleState, pod: Obj) -> list[Constraint]:
    """_constraints, once a cycle."""
    found: list[Constraint] | None = state.get(_CONSTRAINTS)
    if found is None:
        found = state[_CONSTRAINTS] = _constraints(pod)
    return found


class PodTopologySpread:
    name = "PodTopologySpread"
    weight = 2

    def __init__(self, max_cached_domains: int = 64) -> None:
        # Which nodes each constraint counts over depends only on the pod's node affinity
        # and the nodes' labels: kept per snapshot generation, as static verdicts are.
        self._generation: int | None = None
        self._domains: dict[Hashable, list[tuple[NodeInfo, str]]] = {}
        self._max_cached_domains = max_cached_domains

    def _eligible(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo],
                  constraint: Constraint) -> list[tuple[NodeInfo, str]]:
        key, honor = constraint.topology_key, constraint.honor_node_affinity
        generation = state.get(GENERATION)
        if generation is None:
            return eligible_domains(pod, nodes, key, honor)
        if generation != self._generation:
            self._generation = generation
            self._domains.clear()
        shape = (key, honor, node_affinity_shape(pod) if honor else None)
        domains = self._domains.get(shape)
        if domains is None:
            if len(self._domains) >= self._max_cached_domains:
                self._domains.clear()
            domains = self._domains[shape] = eligible_domains(pod, nodes, key, honor)
        return domains

    def _counted(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo],
                 constraints: list[Constraint]) -> list[tuple[Constraint, Counter[str]]]:
        return [(c, c.counts(pod, self._eligible(state, pod, nodes, c))) for c in constraints]

    def pre_filter(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status:
        hard = [c for c in _constraints_of(state, pod) if c.hard]
        if not hard:
            return SKIP
        state[_STATE] = [
            # Too few domains: the global minimum counts as 0 (minDomains semantics).
            (c, counts, min(counts.values()) if len(counts) >= c.min_domains else 0)
            for c, counts in self._counted(state, pod, nodes, hard)]
        return SUCCESS

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        hard: list[tuple[Constraint, Counter[str], int]] = state[_STATE]
        labels = (pod.get("metadata") or {}).get("labels") or {}
        for constraint, counts, global_min in hard:
            value = _label(node, constraint.topology_key)
            if value is None:
                return unresolvable(
                    "node(s) didn't match pod topology spread constraints (missing required label)")
            self_match = 1 if constraint.matches(labels) else 0
            if counts[value] + self_match - global_min > constraint.max_skew:
                return unschedulable("node(s) didn't match pod topology spread constraints")
        return SUCCESS

    def pre_score(self, state: CycleState, pod: Obj, feasible: Sequence[NodeInfo]) -> Status:
        soft = [c for c in _constraints_of(state, pod) if not c.hard]
        if not soft:
            return SKIP
        nodes = state.get(NODES) or []
        state[_SOFT] = self._counted(state, pod, nodes, soft)
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
