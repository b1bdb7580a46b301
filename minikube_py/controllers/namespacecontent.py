"""Namespace deletion bookkeeping, pure: which resources to empty, and the status
conditions kube's namespace controller reports while it waits for content to go."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from minikube_py.api.resources import BUILTIN, Resource

Obj = dict[str, Any]

KUBERNETES_FINALIZER = "kubernetes"


def namespaced_resources() -> list[Resource]:
    """Every namespaced resource, pods first (their graceful deletion takes longest)."""
    return sorted((r for r in BUILTIN if r.namespaced), key=lambda r: r.plural != "pods")


def needs_emptying(namespace: Obj) -> bool:
    """Being deleted, and our finalizer is still there."""
    return bool((namespace.get("metadata") or {}).get("deletionTimestamp")) and \
        KUBERNETES_FINALIZER in ((namespace.get("spec") or {}).get("finalizers") or [])


def without_kubernetes_finalizer(namespace: Obj) -> list[str]:
    return [f for f in (namespace.get("spec") or {}).get("finalizers") or []
            if f != KUBERNETES_FINALIZER]


@dataclass
class Remaining:
    """What a deletion pass found still in the namespace."""

    by_resource: Counter[str] = field(default_factory=Counter)
    finalizers: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def add(self, resource: Resource, obj: Obj) -> None:
        self.by_resource[str(resource)] += 1
        for f in (obj.get("metadata") or {}).get("finalizers") or []:
            self.finalizers[f] += 1

    @property
    def empty(self) -> bool:
        return not self.by_resource


def _condition(kind: str, true: bool, reason_true: str, reason_false: str, message: str,
               now: str, previous: list[Obj]) -> Obj:
    status = "True" if true else "False"
    before = next((c for c in previous if c.get("type") == kind), None)
    since = before.get("lastTransitionTime") if before and before.get("status") == status \
        else now
    return {"type": kind, "status": status, "lastTransitionTime": since,
            "reason": reason_true if true else reason_false, "message": message}


def deletion_conditions(remaining: Remaining, previous: list[Obj], now: str) -> list[Obj]:
    """The five NamespaceDeletion*/Namespace*Remaining conditions, as `kubectl describe
    namespace` shows them during deletion."""
    counts = ", ".join(f"{r} has {n} resource instances"
                       for r, n in sorted(remaining.by_resource.items()))
    finals = ", ".join(f"{f} in {n} resource instances"
                       for f, n in sorted(remaining.finalizers.items()))
    return [
        _condition("NamespaceDeletionDiscoveryFailure", False, "DiscoveryFailed",
                   "ResourcesDiscovered", "All resources successfully discovered", now,
                   previous),
        _condition("NamespaceDeletionGroupVersionParsingFailure", False, "GroupVersionParsingFailed",
                   "ParsedGroupVersions", "All legacy kube types successfully parsed", now,
                   previous),
        _condition("NamespaceDeletionContentFailure", bool(remaining.failures),
                   "ContentDeletionFailed", "ContentDeleted",
                   "; ".join(remaining.failures) if remaining.failures
                   else "All content successfully deleted, may be waiting on finalization",
                   now, previous),
        _condition("NamespaceContentRemaining", not remaining.empty, "SomeResourcesRemain",
                   "ContentRemoved", f"Some resources are remaining: {counts}" if counts
                   else "All content successfully removed", now, previous),
        _condition("NamespaceFinalizersRemaining", bool(remaining.finalizers),
                   "SomeFinalizersRemain", "ContentHasNoFinalizers",
                   f"Some content in the namespace has finalizers remaining: {finals}" if finals
                   else "All content-preserving finalizers finished", now, previous),
    ]
