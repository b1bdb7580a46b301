"""Reconciling the bootstrap policy with what is stored (kube's pkg/registry/rbac/
reconciliation, as the `rbac/bootstrap-roles` post-start hook runs it): pure decisions,
the API server's start-up applies them.

- A missing object is created.
- One annotated `rbac.authorization.kubernetes.io/autoupdate: "false"` is left alone.
- Otherwise only what is missing is added: the expected labels and annotations (stored
  values win), the expected rules a role lacks (broken down to one verb and resource each,
  as kube appends them), aggregation selectors, binding subjects. Nothing a user added is
  removed.
- A binding whose roleRef differs is recreated (roleRef is immutable).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import Enum
from typing import Any

from minikube_py.apiserver.rbac.bootstrappolicy import AUTO_UPDATE
from minikube_py.apiserver.rbac.rules import covers, rules_from_json

Obj = dict[str, Any]


class Operation(Enum):
    NONE = "none"
    CREATE = "create"
    UPDATE = "update"
    RECREATE = "recreate"


@dataclass(frozen=True, slots=True)
class Reconciled:
    operation: Operation
    obj: Obj | None = None  # what to write (None for NONE)


def _protected(existing: Obj) -> bool:
    annotations = (existing.get("metadata") or {}).get("annotations") or {}
    return annotations.get(AUTO_UPDATE) == "false"


def _merge_metadata(result: Obj, expected: Obj) -> bool:
    """Expected labels and annotations the stored object lacks; whether any were added."""
    changed = False
    meta = result.setdefault("metadata", {})
    for key in ("labels", "annotations"):
        want = (expected.get("metadata") or {}).get(key) or {}
        have = meta.get(key) or {}
        merged = {**want, **have}
        if merged != have:
            meta[key] = merged
            changed = True
    return changed


def reconcile_role(existing: Obj | None, expected: Obj) -> Reconciled:
    """A Role or ClusterRole."""
    if existing is None:
        return Reconciled(Operation.CREATE, copy.deepcopy(expected))
    if _protected(existing):
        return Reconciled(Operation.NONE)
    result = copy.deepcopy(existing)
    changed = _merge_metadata(result, expected)
    missing = covers(rules_from_json(existing.get("rules")), rules_from_json(expected.get("rules")))
    if missing:
        result["rules"] = list(existing.get("rules") or []) + [r.to_json() for r in missing]
        changed = True
    want_agg = expected.get("aggregationRule")
    if want_agg is not None:
        have_agg = result.get("aggregationRule") or {}
        have = list(have_agg.get("clusterRoleSelectors") or [])
        absent = [s for s in want_agg.get("clusterRoleSelectors") or [] if s not in have]
        if absent or "aggregationRule" not in result:
            result["aggregationRule"] = {**have_agg, "clusterRoleSelectors": have + absent}
            changed = True
    return Reconciled(Operation.UPDATE, result) if changed else Reconciled(Operation.NONE)


def reconcile_binding(existing: Obj | None, expected: Obj) -> Reconciled:
    """A RoleBinding or ClusterRoleBinding."""
    if existing is None:
        return Reconciled(Operation.CREATE, copy.deepcopy(expected))
    if _protected(existing):
        return Reconciled(Operation.NONE)
    if existing.get("roleRef") != expected.get("roleRef"):
        return Reconciled(Operation.RECREATE, copy.deepcopy(expected))
    result = copy.deepcopy(existing)
    changed = _merge_metadata(result, expected)
    have = list(existing.get("subjects") or [])
    absent = [s for s in expected.get("subjects") or [] if s not in have]
    if absent:
        result["subjects"] = have + absent
        changed = True
    return Reconciled(Operation.UPDATE, result) if changed else Reconciled(Operation.NONE)
