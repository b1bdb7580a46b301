"""Scheduler plugins: each a small pure class implementing the extension points it needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from minikube_py.scheduler.framework import (
    MAX_NODE_SCORE,
    SUCCESS,
    CycleState,
    Framework,
    NodeInfo,
    Obj,
    Resources,
    Status,
    non_zero,
    pod_requests,
    unresolvable,
    unschedulable,
)


class NodeName:
    name = "NodeName"

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        wanted = (pod.get("spec") or {}).get("nodeName")
        if wanted and wanted != node.name:
            return unresolvable("node(s) didn't match the requested node name")
        return SUCCESS


class NodeUnschedulable:
    name = "NodeUnschedulable"

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        if not (node.node.get("spec") or {}).get("unschedulable"):
            return SUCCESS
        taint = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
        if any(tolerates(t, taint) for t in (pod.get("spec") or {}).get("tolerations") or []):
            return SUCCESS
        return unresolvable("node(s) were unschedulable")


class NodeReady:
    """Only Ready nodes take pods. (kube-scheduler gets this from the not-ready taint the
    node controller sets; checking the condition too keeps a fresh cluster safe.)"""

    name = "NodeReady"

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        for cond in (node.node.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "Ready":
                return SUCCESS if cond.get("status") == "True" else unschedulable(
                    "node(s) were not ready")
        return unschedulable("node(s) were not ready")


_REQUESTS_KEY = "NodeResourcesFit/requests"


def _requests(state: CycleState, pod: Obj) -> Resources:
    req = state.get(_REQUESTS_KEY)
    if req is None:
        req = state[_REQUESTS_KEY] = pod_requests(pod)
    assert isinstance(req, Resources)
    return req


class NodeResourcesFit:
    """Filter: the pod's requests fit the node's allocatable minus what is placed there.
    Score: least-allocated (more free room scores higher)."""

    name = "NodeResourcesFit"
    weight = 1

    def pre_filter(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status:
        _requests(state, pod)
        return SUCCESS

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        req = _requests(state, pod)
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

    def score(self, state: CycleState, pod: Obj, node: NodeInfo) -> int:
        req = non_zero(_requests(state, pod))
        used, alloc = node.non_zero_requested, node.allocatable
        scores = [
            _free_fraction(used.milli_cpu + req.milli_cpu, alloc.milli_cpu),
            _free_fraction(used.memory + req.memory, alloc.memory),
        ]
        return sum(scores) // len(scores)


class BalancedAllocation:
    """Prefer nodes where cpu and memory would be used in equal proportion."""

    name = "NodeResourcesBalancedAllocation"
    weight = 1

    def score(self, state: CycleState, pod: Obj, node: NodeInfo) -> int:
        req = non_zero(_requests(state, pod))
        used, alloc = node.non_zero_requested, node.allocatable
        cpu = min(1.0, (used.milli_cpu + req.milli_cpu) / alloc.milli_cpu) if alloc.milli_cpu else 1.0
        mem = min(1.0, (used.memory + req.memory) / alloc.memory) if alloc.memory else 1.0
        # Standard deviation of two fractions is |a-b|/2.
        return int((1 - abs(cpu - mem) / 2) * MAX_NODE_SCORE)


def _free_fraction(used: int, total: int) -> int:
    if total <= 0 or used > total:
        return 0
    return (total - used) * MAX_NODE_SCORE // total


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


def _taint_text(taint: dict[str, Any]) -> str:
    return f"{{{taint.get('key')}: {taint.get('value') or ''}}}"


class TaintToleration:
    name = "TaintToleration"
    weight = 1

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        tolerations = (pod.get("spec") or {}).get("tolerations") or []
        for taint in (node.node.get("spec") or {}).get("taints") or []:
            if taint.get("effect") not in ("NoSchedule", "NoExecute"):
                continue
            if not any(tolerates(t, taint) for t in tolerations):
                return unresolvable(f"node(s) had untolerated taint {_taint_text(taint)}")
        return SUCCESS

    def score(self, state: CycleState, pod: Obj, node: NodeInfo) -> int:
        """Fewer intolerable PreferNoSchedule taints score higher."""
        tolerations = (pod.get("spec") or {}).get("tolerations") or []
        bad = sum(
            1 for taint in (node.node.get("spec") or {}).get("taints") or []
            if taint.get("effect") == "PreferNoSchedule"
            and not any(tolerates(t, taint) for t in tolerations)
        )
        return max(0, MAX_NODE_SCORE - 10 * bad)


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


def _match_fields(node: Obj, expr: dict[str, Any]) -> bool:
    if expr.get("key") != "metadata.name":
        return False
    return _match_expression({"metadata.name": node["metadata"]["name"]}, expr)


def node_selector_term_matches(node: Obj, term: dict[str, Any]) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False  # an empty term matches nothing
    return all(_match_expression(labels, e) for e in exprs) and all(
        _match_fields(node, f) for f in fields
    )


class NodeAffinity:
    """nodeSelector and requiredDuringScheduling node affinity (filter); preferred
    node affinity (score)."""

    name = "NodeAffinity"
    weight = 2

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        spec = pod.get("spec") or {}
        labels = (node.node.get("metadata") or {}).get("labels") or {}
        for k, v in (spec.get("nodeSelector") or {}).items():
            if labels.get(k) != v:
                return unresolvable("node(s) didn't match Pod's node affinity/selector")
        required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                    .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
        terms = required.get("nodeSelectorTerms")
        if terms is not None and not any(node_selector_term_matches(node.node, t) for t in terms):
            return unresolvable("node(s) didn't match Pod's node affinity/selector")
        return SUCCESS

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


PluginFactory = Callable[[], Any]

REGISTRY: dict[str, PluginFactory] = {
    "NodeName": NodeName,
    "NodeUnschedulable": NodeUnschedulable,
    "NodeReady": NodeReady,
    "NodeResourcesFit": NodeResourcesFit,
    "NodeResourcesBalancedAllocation": BalancedAllocation,
    "TaintToleration": TaintToleration,
    "NodeAffinity": NodeAffinity,
}

DEFAULT_PROFILE = (
    "NodeName", "NodeUnschedulable", "NodeReady", "TaintToleration", "NodeAffinity",
    "NodeResourcesFit", "NodeResourcesBalancedAllocation",
)


@dataclass(frozen=True)
class Profile:
    plugins: tuple[str, ...] = DEFAULT_PROFILE
    percentage_of_nodes_to_score: int = 0


def build_framework(profile: Profile = Profile(), **kw: Any) -> Framework:
    """Instantiate each plugin once and slot it into every extension point it implements."""
    instances = [REGISTRY[name]() for name in profile.plugins]
    return Framework(
        pre_filters=[p for p in instances if hasattr(p, "pre_filter")],
        filters=[p for p in instances if hasattr(p, "filter")],
        scorers=[p for p in instances if hasattr(p, "score")],
        percentage_of_nodes_to_score=profile.percentage_of_nodes_to_score,
        **kw,
    )
