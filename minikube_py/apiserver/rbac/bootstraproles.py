"""The `rbac/bootstrap-roles` start-up step: the bootstrap policy (bootstrappolicy.py)
reconciled with what is stored (reconcile.py decides; this writes), as the API server's own
loopback identity."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    CLUSTERROLEBINDINGS,
    CLUSTERROLES,
    ROLEBINDINGS,
    ROLES,
    Resource,
)
from minikube_py.apiserver.rbac import bootstrappolicy
from minikube_py.apiserver.rbac.reconcile import (
    Operation,
    Reconciled,
    reconcile_binding,
    reconcile_role,
)

if TYPE_CHECKING:
    from minikube_py.apiserver.service import ApiService

log = logging.getLogger("minikube_py.apiserver")
Obj = dict[str, Any]


async def ensure_bootstrap_policy(svc: ApiService) -> None:
    for resource, objects, reconcile in (
            (CLUSTERROLES, bootstrappolicy.cluster_roles(), reconcile_role),
            (CLUSTERROLEBINDINGS, bootstrappolicy.cluster_role_bindings(), reconcile_binding),
            (ROLES, bootstrappolicy.namespace_roles(), reconcile_role),
            (ROLEBINDINGS, bootstrappolicy.namespace_role_bindings(), reconcile_binding)):
        for expected in objects:
            meta = expected["metadata"]
            namespace = meta.get("namespace")
            existing = await svc.read_stored(resource, namespace, meta["name"])
            decision = reconcile(existing, expected)
            try:
                await _apply(svc, resource, namespace, decision)
            except ApiError as e:
                # Another API server reconciling at the same time (409): its write stands.
                if e.code != 409:
                    raise
                log.info("bootstrap policy: %s %s changed meanwhile: %s", resource.plural,
                         meta["name"], e.message)


async def _apply(svc: ApiService, resource: Resource, namespace: str | None,
                 decision: Reconciled) -> None:
    obj = decision.obj
    if decision.operation is Operation.NONE or obj is None:
        return
    if decision.operation is Operation.UPDATE:
        await svc.update_object(resource, obj, namespace, name=obj["metadata"]["name"])
        return
    if decision.operation is Operation.RECREATE:
        await svc.delete_object(resource, obj["metadata"]["name"], namespace)
    await svc.create_object(resource, obj, namespace)
