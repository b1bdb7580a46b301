"""Deletion: immediate, graceful (pods on a node), behind finalizers, and by collection; one
try_update decides which, so a deletion racing another write is decided again."""

from __future__ import annotations

from typing import Any

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.selectors import ObjectFilter
from minikube_py.api.timefmt import rfc3339
from minikube_py.apiserver.admission import Attributes, Operation
from minikube_py.apiserver.bodies import namespace_for
from minikube_py.apiserver.kinds.base import Strategy
from minikube_py.apiserver.objectstore import Delete, Stored
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.rest import read
from minikube_py.apiserver.rest.context import RestContext
from minikube_py.apiserver.rest.update import write

Obj = dict[str, Any]
_POLICY_FINALIZERS = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}


def success_status(strategy: Strategy, name: str, uid: str) -> Obj:
    resource = strategy.resource
    details: Obj = {"name": name, "kind": resource.plural, "uid": uid}
    if resource.group:
        details["group"] = resource.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}


async def delete(rest: RestContext, strategy: Strategy, name: str, namespace: str | None, *,
                 grace_period_seconds: int | None = None, propagation_policy: str | None = None,
                 preconditions: dict[str, Any] | None = None,
                 opts: RequestOptions) -> tuple[Obj, bool]:
    """Returns (the object or a Success Status, whether it is gone now)."""
    resource = strategy.resource
    ns = namespace_for(resource, namespace)
    pre = preconditions or {}

    async def try_delete(stored: Stored | None) -> Obj | Delete | None:
        assert stored is not None
        obj = stored.obj
        meta = obj["metadata"]
        _check_preconditions(strategy, name, meta, pre)
        attrs = Attributes(Operation.DELETE, strategy, ns, name, None, obj, opts)
        await rest.admission.admit(attrs)
        await rest.admission.validate(attrs)
        grace = strategy.grace_period(obj, grace_period_seconds)
        finalizers = list(meta.get("finalizers") or [])
        policy_finalizer = _POLICY_FINALIZERS.get(propagation_policy or "")
        if policy_finalizer and policy_finalizer not in finalizers and \
                not meta.get("deletionTimestamp"):
            finalizers.append(policy_finalizer)
        if grace == 0 and not finalizers and not strategy.finalizing(obj):
            return Delete()
        # Graceful: mark the object; its owner (kubelet, a finalizer's controller) ends it.
        if meta.get("deletionTimestamp"):
            current = meta.get("deletionGracePeriodSeconds")
            if current is None or grace >= current:
                return None
        meta["deletionTimestamp"] = rfc3339(rest.clock() + grace)
        meta["deletionGracePeriodSeconds"] = grace
        meta["finalizers"] = finalizers
        if not finalizers:
            meta.pop("finalizers")
        strategy.prepare_for_delete(obj)
        return obj

    written = await write(rest, strategy, ns, name, try_delete, opts)
    if not written.deleted:
        return written.obj, False
    if strategy.return_deleted_object:
        return written.obj, True
    return success_status(strategy, name, written.obj["metadata"].get("uid", "")), True


def _check_preconditions(strategy: Strategy, name: str, meta: Obj, pre: dict[str, Any]) -> None:
    resource = strategy.resource
    if pre.get("uid") and pre["uid"] != meta.get("uid"):
        raise errors.conflict(resource.plural, name, "Precondition failed: UID in "
                              f"precondition: {pre['uid']}, UID in object meta: "
                              f"{meta.get('uid')}", resource.group)
    if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
        raise errors.conflict(resource.plural, name, "Precondition failed: "
                              f"ResourceVersion in precondition: {pre['resourceVersion']}"
                              f", ResourceVersion in object meta: "
                              f"{meta['resourceVersion']}", resource.group)


async def delete_collection(rest: RestContext, strategy: Strategy, namespace: str | None,
                            flt: ObjectFilter, *, grace_period_seconds: int | None = None,
                            propagation_policy: str | None = None,
                            opts: RequestOptions) -> list[Obj]:
    listed = await read.list_objects(rest.objects.kv, strategy.resource, namespace, flt)
    out = []
    for item in listed.items:
        meta = item["metadata"]
        try:
            obj, _ = await delete(rest, strategy, meta["name"], meta.get("namespace"),
                                  grace_period_seconds=grace_period_seconds,
                                  propagation_policy=propagation_policy, opts=opts)
        except ApiError as e:
            if e.code != 404:
                raise
            continue
        out.append(item if obj.get("kind") == "Status" else obj)
    return out
