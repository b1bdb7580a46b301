"""Which nodes a pod may run on by its own spec: taints and tolerations, nodeSelector and
required node affinity. Pure functions shared by the scheduler and the DaemonSet controller."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Obj = dict[str, Any]


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Whether one toleration tolerates one taint (core/v1 Toleration.ToleratesTaint)."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    operator = toleration.get("operator") or "Equal"
    if not key:
        return operator == "Exists"
    if key != taint.get("key"):
        return False
    if operator == "Exists":
        return True
    return bool((toleration.get("value") or "") == (taint.get("value") or ""))


def untolerated_taints(tolerations: Iterable[Mapping[str, Any]], taints: Iterable[Mapping[str, Any]],
                       effects: Iterable[str]) -> list[Mapping[str, Any]]:
    """The taints with one of `effects` that no toleration tolerates."""
    wanted = set(effects)
    tols = list(tolerations)
    return [t for t in taints
            if t.get("effect") in wanted and not any(tolerates(tol, t) for tol in tols)]


def match_expression(labels: Mapping[str, str], expr: Mapping[str, Any]) -> bool:
    """One NodeSelectorRequirement against a label (or field) map."""
    key, op = expr.get("key", ""), expr.get("operator", "")
    values = expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels and values:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def node_selector_term_matches(node: Mapping[str, Any], term: Mapping[str, Any]) -> bool:
    """A NodeSelectorTerm: all its expressions and fields match; an empty term matches nothing."""
    meta = node.get("metadata") or {}
    labels = meta.get("labels") or {}
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    node_fields = {"metadata.name": str(meta.get("name") or "")}
    return all(match_expression(labels, e) for e in exprs) and all(
        f.get("key") == "metadata.name" and match_expression(node_fields, f) for f in fields)


def required_node_terms(pod_spec: Mapping[str, Any]) -> list[Obj] | None:
    """requiredDuringSchedulingIgnoredDuringExecution terms, or None when there are none."""
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms")
    return None if terms is None else list(terms)


def matches_node_selector_and_affinity(pod_spec: Mapping[str, Any],
                                       node: Mapping[str, Any]) -> bool:
    """nodeSelector and required node affinity (the NodeAffinity filter)."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    for k, v in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    terms = required_node_terms(pod_spec)
    return terms is None or any(node_selector_term_matches(node, t) for t in terms)
