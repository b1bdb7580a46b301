"""Placement rules shared by the scheduler and the controllers that pick nodes themselves
(DaemonSet): taints vs tolerations, node selectors and node affinity."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
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


def untolerated_taint(pod: Obj, node: Obj, effects: tuple[str, ...] = (
        "NoSchedule", "NoExecute")) -> dict[str, Any] | None:
    """The first taint of `node` with one of `effects` that `pod` does not tolerate."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in effects and not any(tolerates(t, taint) for t in tolerations):
            return dict(taint)
    return None


def _match_expression(labels: dict[str, str], expr: dict[str, Any]) -> bool:
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


def node_selector_term_matches(node: Obj, term: dict[str, Any]) -> bool:
    """One NodeSelectorTerm: all its matchExpressions (labels) and matchFields
    (metadata.name) hold; an empty term matches nothing."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    name_only = {"metadata.name": (node.get("metadata") or {}).get("name", "")}
    return all(_match_expression(labels, e) for e in exprs) and all(
        f.get("key") == "metadata.name" and _match_expression(name_only, f) for f in fields
    )


def required_node_affinity_matches(pod: Obj, node: Obj) -> bool:
    """nodeSelector and requiredDuringSchedulingIgnoredDuringExecution both hold."""
    spec = pod.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms")
    return terms is None or any(node_selector_term_matches(node, t) for t in terms)
