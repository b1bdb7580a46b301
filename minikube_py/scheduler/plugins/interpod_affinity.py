"""InterPodAffinity: place a pod near (affinity) or away from (anti-affinity) pods that
match a label selector, within a topology domain (a node label such as
kubernetes.io/hostname or topology.kubernetes.io/zone).

namespaceSelector is honoured only when empty (all namespaces); a non-empty one would
need namespace labels the scheduler does not cache, so such a term falls back to the
pod's own namespace plus `namespaces`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from minikube_py.api.selectors import LabelSelector, selector_from_label_selector_object
from minikube_py.scheduler.framework import (
    AFFINITY_NODES,
    NODES,
    SKIP,
    SUCCESS,
    CycleState,
    NodeInfo,
    Obj,
    Status,
    unresolvable,
    unschedulable,
)

_STATE = "InterPodAffinity/state"


@dataclass(frozen=True)
class Term:
    """A PodAffinityTerm resolved against the namespace of the pod that states it."""

    selector: LabelSelector | None  # None: a nil labelSelector matches no pod
    namespaces: frozenset[str] | None  # None: every namespace
    topology_key: str
    weight: int = 0

    @classmethod
    def of(cls, term: dict[str, Any], own_namespace: str, weight: int = 0) -> Term:
        raw_selector = term.get("labelSelector")
        selector = None if raw_selector is None else selector_from_label_selector_object(
            raw_selector)
        ns_selector = term.get("namespaceSelector")
        namespaces: frozenset[str] | None
        if ns_selector is not None and not ns_selector:
            namespaces = None
        else:
            namespaces = frozenset(term.get("namespaces") or []) or frozenset({own_namespace})
        return cls(selector, namespaces, term.get("topologyKey", ""), weight)

    def matches(self, pod: Obj) -> bool:
        meta = pod.get("metadata") or {}
        if self.selector is None:
            return False
        if self.namespaces is not None and meta.get("namespace") not in self.namespaces:
            return False
        return self.selector.matches(meta.get("labels") or {})


def _terms(pod: Obj, kind: str, required: bool) -> list[Term]:
    spec_affinity = ((pod.get("spec") or {}).get("affinity") or {}).get(kind) or {}
    ns = (pod.get("metadata") or {}).get("namespace", "default")
    if required:
        return [Term.of(t, ns) for t in
                spec_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or []]
    return [Term.of(w.get("podAffinityTerm") or {}, ns, int(w.get("weight", 0))) for w in
            spec_affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or []]


def _label(node: NodeInfo, key: str) -> str | None:
    value = ((node.node.get("metadata") or {}).get("labels") or {}).get(key)
    return None if value is None else str(value)


@dataclass
class _PreFilterState:
    affinity: list[Term]
    anti_affinity: list[Term]
    # Per term: topology value -> how many existing pods there match the term.
    affinity_counts: list[Counter[str]]
    anti_counts: list[Counter[str]]
    # (topologyKey, value) domains an existing pod's required anti-affinity forbids.
    forbidden: set[tuple[str, str]] = field(default_factory=set)
    pod_matches_own_affinity: bool = False


def _existing_pods(nodes: Sequence[NodeInfo]) -> list[tuple[NodeInfo, Obj]]:
    return [(n, p) for n in nodes for p in n.pods.values()
            if not (p.get("metadata") or {}).get("deletionTimestamp")]


class InterPodAffinity:
    name = "InterPodAffinity"
    weight = 2

    def pre_filter(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status:
        affinity = _terms(pod, "podAffinity", required=True)
        anti = _terms(pod, "podAntiAffinity", required=True)
        holders = _holders(state, nodes)
        if not affinity and not anti and not holders:
            return SKIP  # the common case costs nothing
        pre = _PreFilterState(affinity, anti, [Counter() for _ in affinity],
                              [Counter() for _ in anti])
        if affinity or anti:
            for node, other in _existing_pods(nodes):
                for terms, counts in ((affinity, pre.affinity_counts),
                                      (anti, pre.anti_counts)):
                    for term, counter in zip(terms, counts, strict=True):
                        value = _label(node, term.topology_key)
                        if value is not None and term.matches(other):
                            counter[value] += 1
        for node, other in holders:
            for term in _terms(other, "podAntiAffinity", required=True):
                value = _label(node, term.topology_key)
                if value is not None and term.matches(pod):
                    pre.forbidden.add((term.topology_key, value))
        pre.pod_matches_own_affinity = all(t.matches(pod) for t in affinity)
        state[_STATE] = pre
        return SUCCESS

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        pre: _PreFilterState = state[_STATE]
        # kube-scheduler's order: the pod's affinity, its anti-affinity, then existing pods'.
        if pre.affinity:
            # The first pod of a group that selects itself may go anywhere (kube's rule).
            nothing_matches = all(sum(c.values()) == 0 for c in pre.affinity_counts)
            for term, counts in zip(pre.affinity, pre.affinity_counts, strict=True):
                domain = _label(node, term.topology_key)
                if domain is None:
                    return unresolvable("node(s) didn't match pod affinity rules")
                if counts[domain] == 0 and not (nothing_matches and pre.pod_matches_own_affinity):
                    return unresolvable("node(s) didn't match pod affinity rules")
        for term, counts in zip(pre.anti_affinity, pre.anti_counts, strict=True):
            domain = _label(node, term.topology_key)
            if domain is not None and counts[domain] > 0:
                return unschedulable("node(s) didn't match pod anti-affinity rules")
        for key, value in pre.forbidden:
            if _label(node, key) == value:
                return unschedulable("node(s) didn't satisfy existing pods anti-affinity rules")
        return SUCCESS

    def pre_score(self, state: CycleState, pod: Obj, feasible: Sequence[NodeInfo]) -> Status:
        nodes = state.get(NODES) or []
        weights = _preferred_weights(pod, nodes, _holders(state, nodes))
        if not weights:
            return SKIP
        state[_SCORE_STATE] = weights
        return SUCCESS

    def score(self, state: CycleState, pod: Obj, node: NodeInfo) -> int:
        weights = state[_SCORE_STATE]
        labels = (node.node.get("metadata") or {}).get("labels") or {}
        return sum(w for (key, value), w in weights.items() if labels.get(key) == value)

    def normalize(self, state: CycleState, pod: Obj, scores: dict[str, int]) -> None:
        if not scores:
            return
        low, high = min(scores.values()), max(scores.values())
        for name, raw in scores.items():
            scores[name] = 0 if high == low else (raw - low) * 100 // (high - low)


_SCORE_STATE = "InterPodAffinity/preferred"


def _holders(state: CycleState, nodes: Sequence[NodeInfo]) -> list[tuple[NodeInfo, Obj]]:
    """Existing pods that carry pod (anti-)affinity terms, with their nodes; once a cycle."""
    holders: list[tuple[NodeInfo, Obj]] | None = state.get(_HOLDERS)
    if holders is None:
        candidates = state.get(AFFINITY_NODES, nodes)
        holders = state[_HOLDERS] = [(n, p) for n in candidates if n.pods_with_affinity
                                     for p in n.pods_with_affinity.values()]
    return holders


_HOLDERS = "InterPodAffinity/holders"


def _preferred_weights(pod: Obj, nodes: Sequence[NodeInfo],
                       holders: list[tuple[NodeInfo, Obj]]) -> dict[tuple[str, str], int]:
    """(topologyKey, value) -> summed weight of preferred terms satisfied there: the
    incoming pod's own terms, and existing pods' preferred terms that match it."""
    weights: Counter[tuple[str, str]] = Counter()
    affinity = _terms(pod, "podAffinity", required=False)
    anti = _terms(pod, "podAntiAffinity", required=False)
    if affinity or anti:
        for node, other in _existing_pods(nodes):
            for terms, sign in ((affinity, 1), (anti, -1)):
                for term in terms:
                    value = _label(node, term.topology_key)
                    if value is not None and term.matches(other):
                        weights[(term.topology_key, value)] += sign * term.weight
    for node, other in holders:
        for kind, sign in (("podAffinity", 1), ("podAntiAffinity", -1)):
            for term in _terms(other, kind, required=False):
                value = _label(node, term.topology_key)
                if value is not None and term.matches(pod):
                    weights[(term.topology_key, value)] += sign * term.weight
    return dict(weights)


