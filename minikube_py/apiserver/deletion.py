"""Deletion: immediate, graceful (pods on a node), behind finalizers, and by collection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import NAMESPACES, PODS, Resource
from minikube_py.api.selectors import ObjectFilter
from minikube_py.api.timefmt import rfc3339
from minikube_py.apiserver.storage import decode_kv, encode
from minikube_py.store.types import Compare, CompareOp, CompareTarget, PutOp

if TYPE_CHECKING:
    from minikube_py.apiserver.service import ApiService, RequestOptions

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def success_status(resource: Resource, name: str, uid: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": resource.plural, "uid": uid}
    if resource.group:
        details["group"] = resource.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}


async def delete_object(svc: ApiService, resource: Resource, name: str, namespace: str | None, *,
                        grace_period_seconds: int | None = None,
                        propagation_policy: str | None = None,
                        preconditions: dict[str, Any] | None = None,
                        opts: RequestOptions | None = None) -> tuple[dict[str, Any], bool]:
    """Returns (the object or a Success Status, whether it is gone now)."""
    opts = opts or _options()
    ns = svc._namespace_for(resource, namespace)
    if resource is NAMESPACES and name in SYSTEM_NAMESPACES[:3]:
        raise ApiError(403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace '
                       "may not be deleted", {"name": name, "kind": "namespaces"})
    while True:
        kv = await svc._read_existing(resource, ns, name)
        obj = decode_kv(kv)
        meta = obj["metadata"]
        pre = preconditions or {}
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise errors.conflict(resource.plural, name, "Precondition failed: UID in "
                                  f"precondition: {pre['uid']}, UID in object meta: "
                                  f"{meta.get('uid')}", resource.group)
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
            raise errors.conflict(resource.plural, name, "Precondition failed: "
                                  f"ResourceVersion in precondition: {pre['resourceVersion']}"
                                  f", ResourceVersion in object meta: "
                                  f"{meta['resourceVersion']}", resource.group)
        grace = grace_period(resource, obj, grace_period_seconds)
        finalizers = list(meta.get("finalizers") or [])
        policy_finalizer = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}.get(
            propagation_policy or "")
        if policy_finalizer and policy_finalizer not in finalizers and \
                not meta.get("deletionTimestamp"):
            finalizers.append(policy_finalizer)
        ns_pending = resource is NAMESPACES and bool((obj.get("spec") or {}).get("finalizers"))
        if grace == 0 and not finalizers and not ns_pending:
            if opts.dry_run:
                return obj, True
            rev = await svc._delete_key(resource, kv)
            if rev is None:
                continue
            meta["resourceVersion"] = str(rev)
            if resource is PODS:
                return obj, True
            return success_status(resource, name, meta.get("uid", "")), True
        # Graceful: mark the object; its owner (kubelet, a finalizer's controller) ends it.
        if meta.get("deletionTimestamp"):
            current = meta.get("deletionGracePeriodSeconds")
            if current is None or grace >= current:
                return obj, False
        meta["deletionTimestamp"] = rfc3339(svc.clock() + grace)
        meta["deletionGracePeriodSeconds"] = grace
        meta["finalizers"] = finalizers
        if not finalizers:
            meta.pop("finalizers")
        if resource is NAMESPACES:
            obj.setdefault("status", {})["phase"] = "Terminating"
        if opts.dry_run:
            return obj, False
        meta.pop("resourceVersion", None)
        res = await svc.kv.txn(
            [Compare(kv.key, CompareTarget.MOD, CompareOp.EQUAL, kv.mod_revision)],
            [PutOp(kv.key, encode(obj), lease=kv.lease)], [])
        if not res.succeeded:
            continue
        meta["resourceVersion"] = str(res.revision)
        return obj, False

def grace_period(resource: Resource, obj: dict[str, Any],
                  requested: int | None) -> int:
    """Only pods on a node shut down gracefully; everything else goes at once."""
    if resource is not PODS:
        return 0
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0
    if requested is None:
        requested = spec.get("terminationGracePeriodSeconds")
        requested = 30 if requested is None else requested
    return max(0, int(requested)) if requested >= 0 else 1

async def delete_collection(svc: ApiService, resource: Resource, namespace: str | None,
                            flt: ObjectFilter, *, grace_period_seconds: int | None = None,
                            propagation_policy: str | None = None,
                            opts: RequestOptions | None = None) -> list[dict[str, Any]]:
    listed = await svc.list_objects(resource, namespace, flt)
    out = []
    for item in listed.items:
        meta = item["metadata"]
        try:
            obj, _ = await delete_object(svc,
                resource, meta["name"], meta.get("namespace"),
                grace_period_seconds=grace_period_seconds,
                propagation_policy=propagation_policy, opts=opts)
        except ApiError as e:
            if e.code != 404:
                raise
            continue
        out.append(item if obj.get("kind") == "Status" else obj)
    return out



def _options() -> RequestOptions:
    from minikube_py.apiserver.service import RequestOptions

    return RequestOptions()
