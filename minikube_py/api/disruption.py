"""What the eviction subresource and the disruption controller agree on about a
PodDisruptionBudget (kube's pdbhelper and the PDB listers): which pods it guards and its
DisruptionAllowed condition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.selectors import LabelSelector, selector_from_label_selector_object

Obj = dict[str, Any]

# An eviction's entry in status.disruptedPods counts its pod as gone for this long; a pod
# still there after it was not deleted after all (kube's DeletionTimeout).
DELETION_TIMEOUT = 120.0
DISRUPTION_ALLOWED = "DisruptionAllowed"
SUFFICIENT_PODS = "SufficientPods"
INSUFFICIENT_PODS = "InsufficientPods"
SYNC_FAILED = "SyncFailed"
# unhealthyPodEvictionPolicy values; unset means IfHealthyBudget.
IF_HEALTHY_BUDGET = "IfHealthyBudget"
ALWAYS_ALLOW = "AlwaysAllow"
UNHEALTHY_POD_EVICTION_POLICIES = (ALWAYS_ALLOW, IF_HEALTHY_BUDGET)


def budget_selector(pdb: Mapping[str, Any]) -> LabelSelector | None:
    """LabelSelectorAsSelector of spec.selector: None for a null selector (it selects
    nothing), an empty LabelSelector for {} (everything). ApiError if malformed."""
    sel = (pdb.get("spec") or {}).get("selector")
    if sel is None:
        return None
    return selector_from_label_selector_object(sel)


def guards_pod(pdb: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """Whether `pdb` is one of the pod's budgets, as the eviction subresource sees it:
    same namespace and a selector that matches the pod's labels (a null or malformed one
    matches nothing, an empty one every pod, as policy/v1 says)."""
    meta, pod_meta = pdb.get("metadata") or {}, pod.get("metadata") or {}
    if meta.get("namespace") != pod_meta.get("namespace"):
        return False
    try:
        selector = budget_selector(pdb)
    except ApiError:
        return False
    return selector is not None and selector.matches(pod_meta.get("labels") or {})


_CONDITION_FIELDS = ("type", "status", "observedGeneration", "lastTransitionTime", "reason",
                     "message")


def set_condition(conditions: list[Obj], new: Obj, now: str) -> list[Obj]:
    """meta.SetStatusCondition: `new` replaces the condition of its type; the transition
    time moves only when the status does. Fields in metav1.Condition's order."""
    out = []
    found = False
    for cond in conditions:
        if cond.get("type") == new["type"]:
            found = True
            moved = cond.get("status") != new["status"] or not cond.get("lastTransitionTime")
            cond = {**cond, **new,
                    "lastTransitionTime": now if moved else cond["lastTransitionTime"]}
        out.append({k: cond[k] for k in _CONDITION_FIELDS if k in cond})
    if not found:
        out.append({k: ({**new, "lastTransitionTime": now})[k] for k in _CONDITION_FIELDS
                    if k in new or k == "lastTransitionTime"})
    return out


def with_disruption_allowed_condition(status: Obj, now: str) -> Obj:
    """pdbhelper.UpdateDisruptionAllowedCondition: True/SufficientPods while disruptions
    are allowed, False/InsufficientPods otherwise."""
    allowed = int(status.get("disruptionsAllowed") or 0) > 0
    cond = {"type": DISRUPTION_ALLOWED, "status": "True" if allowed else "False",
            "observedGeneration": int(status.get("observedGeneration") or 0),
            "reason": SUFFICIENT_PODS if allowed else INSUFFICIENT_PODS, "message": ""}
    return {**status, "conditions": set_condition(status.get("conditions") or [], cond, now)}


def conditions_up_to_date(pdb: Mapping[str, Any]) -> bool:
    """pdbhelper.ConditionsAreUpToDate."""
    status = pdb.get("status") or {}
    generation = int((pdb.get("metadata") or {}).get("generation") or 0)
    if int(status.get("observedGeneration") or 0) != generation:
        return False
    cond = next((c for c in status.get("conditions") or []
                 if c.get("type") == DISRUPTION_ALLOWED), None)
    if cond is None:
        return False
    if int(status.get("disruptionsAllowed") or 0) > 0:
        return (cond.get("status"), cond.get("reason")) == ("True", SUFFICIENT_PODS)
    return (cond.get("status"), cond.get("reason")) == ("False", INSUFFICIENT_PODS)
