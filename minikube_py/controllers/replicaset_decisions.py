"""Pure decisions of the ReplicaSet/ReplicationController loop: which objects to claim,
which pods to delete first, and the status to report."""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

from minikube_py.api.owners import controller_ref
from minikube_py.api.podutil import condition, is_available, is_ready, is_terminating, parse_time

Obj = dict[str, Any]

# kube-controller-manager's BurstReplicas: at most this many creations/deletions per sync.
BURST_REPLICAS = 500
POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
REPLICA_FAILURE = "ReplicaFailure"


class Claim(Enum):
    KEEP = "keep"  # ours and matching
    ADOPT = "adopt"  # an orphan that matches: set our controller reference
    RELEASE = "release"  # ours but no longer matching: drop our reference
    IGNORE = "ignore"  # someone else's, or not ours to touch now


def claim_action(obj: Obj, owner: Obj, *, matches: bool) -> Claim:
    """kube's ControllerRefManager.ClaimObject: what to do with `obj` given whether the
    owner's selector matches its labels. Nothing is adopted or released while the owner is
    being deleted (the garbage collector owns that moment)."""
    owner_uid = owner["metadata"].get("uid")
    owner_deleting = is_terminating(owner)
    ref = controller_ref(obj)
    if ref is not None:
        if ref.get("uid") != owner_uid:
            return Claim.IGNORE
        if matches:
            return Claim.KEEP
        return Claim.IGNORE if owner_deleting else Claim.RELEASE
    if owner_deleting or not matches or is_terminating(obj):
        return Claim.IGNORE
    return Claim.ADOPT


def adoption_patch(obj: Obj, ref: Obj) -> Obj:
    """A merge patch that adds `ref` as controller, guarded by the object's resourceVersion
    so that adopting from a stale cache fails with a conflict instead of clobbering."""
    meta = obj["metadata"]
    refs = [r for r in meta.get("ownerReferences") or [] if r.get("uid") != ref["uid"]]
    return {"metadata": {"ownerReferences": [*refs, ref],
                         "resourceVersion": meta.get("resourceVersion")}}


def release_patch(obj: Obj, owner_uid: str) -> Obj:
    meta = obj["metadata"]
    refs = [r for r in meta.get("ownerReferences") or [] if r.get("uid") != owner_uid]
    return {"metadata": {"ownerReferences": refs or None,
                         "resourceVersion": meta.get("resourceVersion")}}


# --- creating ----------------------------------------------------------------------------


def pod_from_template(owner: Obj, template: Mapping[str, Any], ref: Obj) -> Obj:
    """The pod a controller creates from its template (controller.GetPodFromTemplate)."""
    tmeta = template.get("metadata") or {}
    meta: Obj = {
        "generateName": f"{owner['metadata']['name']}-",
        "namespace": owner["metadata"].get("namespace"),
        "labels": dict(tmeta.get("labels") or {}),
        "ownerReferences": [ref],
    }
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": copy.deepcopy(template.get("spec") or {})}


# --- deleting ----------------------------------------------------------------------------

_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


def _ready_since(pod: Obj) -> float | None:
    cond = condition(pod, "Ready")
    return parse_time(cond.get("lastTransitionTime")) if cond else None


def _max_restarts(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def _deletion_cost(pod: Obj) -> int:
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(POD_DELETION_COST)
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 0


def deletion_rank(pod: Obj, colocated: int = 0) -> tuple[Any, ...]:
    """Sort key: pods that sort first are deleted first (kube's ActivePodsWithRanks):
    unscheduled < scheduled; Pending < Unknown < Running; not ready < ready; lower
    deletion cost; more related pods on the same node; ready for less time; more
    restarts; newer. A missing timestamp counts as newest, like kube's afterOrZero."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    ready = is_ready(pod)
    since = _ready_since(pod) if ready else None
    created = parse_time((pod.get("metadata") or {}).get("creationTimestamp"))
    return (
        1 if spec.get("nodeName") else 0,
        _PHASE_ORDER.get(status.get("phase") or "", 0),
        1 if ready else 0,
        _deletion_cost(pod),
        -colocated,
        -(since if since is not None else math.inf) if ready else 0.0,
        -_max_restarts(pod),
        -(created if created is not None else math.inf),
        pod["metadata"].get("name", ""),
    )


def pods_to_delete(pods: list[Obj], count: int, related: Iterable[Obj] = ()) -> list[Obj]:
    """The `count` pods to delete among `pods`; `related` are pods of sibling controllers
    (same Deployment), so that doubled-up nodes shed pods first."""
    if count <= 0:
        return []
    if count >= len(pods):
        return list(pods)
    per_node = Counter((p.get("spec") or {}).get("nodeName") for p in related
                       if (p.get("spec") or {}).get("nodeName"))

    def rank(p: Obj) -> tuple[Any, ...]:
        node = (p.get("spec") or {}).get("nodeName")
        return deletion_rank(p, per_node[node] if node else 0)

    return sorted(pods, key=rank)[:count]


# --- status ------------------------------------------------------------------------------


def _fully_labeled(pod: Obj, template_labels: Mapping[str, str]) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in template_labels.items())


def replica_status(owner: Obj, pods: list[Obj], *, now: float,
                   manage_error: str | None = None, scaling_up: bool = True,
                   timestamp: str = "") -> tuple[Obj, float | None]:
    """The status for `owner` given its active claimed pods, and after how many seconds a
    ready-but-not-yet-available pod (minReadySeconds) becomes available, if any."""
    spec = owner.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    tlabels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    ready = [p for p in pods if is_ready(p)]
    available = [p for p in ready if is_available(p, min_ready, now)]
    wait: float | None = None
    for p in ready:
        since = _ready_since(p)
        if since is not None and since + min_ready > now:
            left = since + min_ready - now
            wait = left if wait is None else min(wait, left)
    old = owner.get("status") or {}
    conditions = [dict(c) for c in old.get("conditions") or []]
    failure = next((c for c in conditions if c.get("type") == REPLICA_FAILURE), None)
    if manage_error is not None and failure is None:
        conditions.append({"type": REPLICA_FAILURE, "status": "True",
                           "reason": "FailedCreate" if scaling_up else "FailedDelete",
                           "message": manage_error, "lastTransitionTime": timestamp})
    elif manage_error is None and failure is not None:
        conditions = [c for c in conditions if c.get("type") != REPLICA_FAILURE]
    status: Obj = {
        "replicas": len(pods),
        "fullyLabeledReplicas": sum(1 for p in pods if _fully_labeled(p, tlabels)),
        "readyReplicas": len(ready),
        "availableReplicas": len(available),
        "observedGeneration": int((owner.get("metadata") or {}).get("generation") or 0),
    }
    if conditions:
        status["conditions"] = conditions
    return status, wait


_STATUS_INTS = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas",
                "observedGeneration")


def status_differs(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    old = old or {}
    if any(int(old.get(k) or 0) != int(new.get(k) or 0) for k in _STATUS_INTS):
        return True
    return (old.get("conditions") or []) != (new.get("conditions") or [])
