"""Mutating admission and create-time preparation (the registries' PrepareForCreate), pure."""

from __future__ import annotations

from typing import Any

from minikube_py.api.quantity import QuantityError, parse_quantity
from minikube_py.api.resources import Resource

Obj = dict[str, Any]

_DEFAULT_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", 300),
    ("node.kubernetes.io/unreachable", 300),
)
# The status a new object starts with, whatever the client sent (PrepareForCreate).
_FRESH_STATUS_PLURALS = frozenset({
    "services", "replicationcontrollers", "deployments", "replicasets", "daemonsets",
    "statefulsets", "jobs", "cronjobs",
})
# Kinds whose spec changes bump metadata.generation (the workload controllers observe it).
GENERATION_PLURALS = frozenset({
    "deployments", "replicasets", "daemonsets", "statefulsets", "jobs", "cronjobs",
    "replicationcontrollers",
})


def add_default_tolerations(spec: Obj) -> None:
    """DefaultTolerationSeconds: tolerate not-ready/unreachable nodes for 300 s."""
    tolerations = spec.get("tolerations") or []
    for key, seconds in _DEFAULT_TOLERATIONS:
        if any(_tolerates(t, key) for t in tolerations):
            continue
        tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                            "tolerationSeconds": seconds})
    spec["tolerations"] = tolerations


def _tolerates(t: Any, key: str) -> bool:
    if not isinstance(t, dict):
        return False
    if t.get("effect") not in (None, "", "NoExecute"):
        return False
    if t.get("operator") == "Exists" and not t.get("key"):
        return True
    return bool(t.get("key") == key)


def _q(value: Any) -> Any:
    try:
        return parse_quantity(value)
    except (QuantityError, TypeError):
        return None


def pod_qos_class(spec: Obj) -> str:
    """Guaranteed, Burstable or BestEffort from cpu/memory requests and limits (GetPodQOS)."""
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        requests = {k: v for k, v in (res.get("requests") or {}).items()
                    if k in ("cpu", "memory")}
        limits = {k: v for k, v in (res.get("limits") or {}).items() if k in ("cpu", "memory")}
        if any(_q(v) for v in requests.values()) or any(_q(v) for v in limits.values()):
            any_set = True
        if set(limits) != {"cpu", "memory"}:
            guaranteed = False
            continue
        for k, lim in limits.items():
            if _q(requests.get(k, lim)) != _q(lim):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def prepare_for_create(resource: Resource, obj: Obj) -> None:
    """Reset or seed fields the server owns on create."""
    plural, group = resource.plural, resource.group
    if group == "" and plural == "pods":
        spec = obj.setdefault("spec", {})
        add_default_tolerations(spec)
        obj["status"] = {"phase": "Pending", "qosClass": pod_qos_class(spec)}
    elif group == "" and plural == "namespaces":
        obj["status"] = {"phase": "Active"}
        # The namespace controller's finalizer; only the finalize subresource removes it.
        spec = obj.setdefault("spec", {})
        if "kubernetes" not in (spec.get("finalizers") or []):
            spec["finalizers"] = [*(spec.get("finalizers") or []), "kubernetes"]
    elif plural in _FRESH_STATUS_PLURALS:
        obj["status"] = {"loadBalancer": {}} if plural == "services" else {}
    if plural in GENERATION_PLURALS:
        obj["metadata"]["generation"] = 1


def generate_job_selector(obj: Obj) -> None:
    """Jobs get a selector on their own uid unless spec.manualSelector (batch's defaulting)."""
    spec = obj.setdefault("spec", {})
    if spec.get("manualSelector"):
        return
    meta = obj["metadata"]
    uid, name = meta["uid"], meta["name"]
    labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
              "controller-uid": uid, "job-name": name}
    tmeta = spec.setdefault("template", {}).setdefault("metadata", {})
    tmeta["labels"] = {**(tmeta.get("labels") or {}), **labels}
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}


def spec_changed(old: Obj, new: Obj) -> bool:
    """Whether an update changes anything but metadata and status (bumps generation)."""
    keys = (set(old) | set(new)) - {"metadata", "status", "apiVersion", "kind"}
    return any(old.get(k) != new.get(k) for k in keys)
