"""Subresources with their own shapes: pods/binding, pods/eviction, */scale."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.patch import apply_patch
from minikube_py.api.resources import PODS, Resource
from minikube_py.apiserver.storage import decode_kv, encode
from minikube_py.store.types import Compare, CompareOp, CompareTarget, PutOp

if TYPE_CHECKING:
    from minikube_py.apiserver.service import ApiService, RequestOptions

SCALABLE = frozenset({"deployments", "replicasets", "statefulsets", "replicationcontrollers"})


def _created_status() -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "code": 201}


async def bind_pod(svc: ApiService, name: str, body: dict[str, Any],
                   namespace: str | None, opts: RequestOptions) -> dict[str, Any]:
    """POST pods/binding: set spec.nodeName once (409 if already bound or being deleted);
    a dry run checks all that and writes nothing."""
    target = body.get("target") or {}
    node = target.get("name") or ""
    if not node:
        raise errors.invalid("Binding", name, [errors.Cause(
            "FieldValueRequired", "Required value", "target.name")])
    bname = (body.get("metadata") or {}).get("name") or name
    if bname != name:
        raise errors.bad_request("the name of the object does not match the name on the URL")
    ns = namespace or (body.get("metadata") or {}).get("namespace") or "default"
    while True:
        kv = await svc._read_existing(PODS, ns, name)
        pod = decode_kv(kv)
        meta, spec = pod["metadata"], pod.setdefault("spec", {})
        if meta.get("deletionTimestamp"):
            raise errors.conflict("pods/binding", name,
                                  f"pod {name} is being deleted, cannot be assigned to a host")
        if spec.get("nodeName"):
            raise errors.conflict("pods/binding", name, f"pod {name} is already assigned to "
                                  f'node "{spec["nodeName"]}"')
        uid = (body.get("metadata") or {}).get("uid")
        if uid and uid != meta.get("uid"):
            raise errors.conflict("pods/binding", name, "Precondition failed: UID in "
                                  f"precondition: {uid}, UID in object meta: {meta.get('uid')}")
        spec["nodeName"] = node
        conditions = pod.setdefault("status", {}).setdefault("conditions", [])
        conditions[:] = [c for c in conditions if c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True",
                           "lastProbeTime": None, "lastTransitionTime": svc.now()})
        if opts.dry_run:
            return _created_status()
        res = await svc.kv.txn([Compare(kv.key, CompareTarget.MOD, CompareOp.EQUAL,
                                        kv.mod_revision)], [PutOp(kv.key, encode(pod))], [])
        if res.succeeded:
            return _created_status()


async def evict_pod(svc: ApiService, name: str, body: dict[str, Any], namespace: str | None,
                    opts: RequestOptions) -> dict[str, Any]:
    """POST pods/eviction: a delete honouring the eviction's deleteOptions (no PDBs here)."""
    options = body.get("deleteOptions") or {}
    await svc.delete_object(PODS, name, namespace,
                            grace_period_seconds=options.get("gracePeriodSeconds"),
                            preconditions=options.get("preconditions"), opts=opts)
    return _created_status()


async def create_subresource(svc: ApiService, resource: Resource, name: str, subresource: str,
                             body: dict[str, Any], namespace: str | None,
                             opts: RequestOptions) -> dict[str, Any]:
    if resource is PODS and subresource == "binding":
        return await bind_pod(svc, name, body, namespace, opts)
    if resource is PODS and subresource == "eviction":
        return await evict_pod(svc, name, body, namespace, opts)
    raise ApiError(405, "MethodNotAllowed",
                   f"the server does not allow this method on the requested resource "
                   f"({resource.plural}/{subresource})")


def _scale_of(resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    selector = spec.get("selector") or {}
    if resource.plural == "replicationcontrollers":
        sel = ",".join(f"{k}={v}" for k, v in selector.items())
    else:
        parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
        for e in selector.get("matchExpressions") or []:
            op = {"In": "in", "NotIn": "notin"}.get(e.get("operator", ""))
            if op:
                parts.append(f"{e['key']} {op} ({','.join(e.get('values') or [])})")
            elif e.get("operator") == "Exists":
                parts.append(e["key"])
            else:
                parts.append("!" + e["key"])
        sel = ",".join(parts)
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": meta["name"], "namespace": meta.get("namespace"),
                         "uid": meta.get("uid"), "resourceVersion": meta["resourceVersion"],
                         "creationTimestamp": meta.get("creationTimestamp")},
            "spec": {"replicas": spec.get("replicas", 0)},
            "status": {"replicas": status.get("replicas", 0), "selector": sel}}


async def get_subresource(svc: ApiService, resource: Resource, name: str, subresource: str,
                          namespace: str | None) -> dict[str, Any]:
    if subresource == "scale" and resource.plural in SCALABLE:
        return _scale_of(resource, await svc.get_object(resource, name, namespace))
    if subresource == "status" and "status" in resource.subresources:
        return await svc.get_object(resource, name, namespace)
    raise errors.not_found(f"{resource.plural}/{subresource}", name, resource.group)


async def update_scale(svc: ApiService, resource: Resource, body: dict[str, Any],
                       namespace: str | None, opts: RequestOptions,
                       name: str | None = None) -> dict[str, Any]:
    if resource.plural not in SCALABLE:
        raise errors.not_found(f"{resource.plural}/scale", name or "", resource.group)
    meta = body.get("metadata") or {}
    name = name or meta.get("name") or ""
    replicas = (body.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise errors.invalid("Scale", name, [errors.Cause(
            "FieldValueInvalid", f"Invalid value: {replicas}: must be greater than or equal to 0",
            "spec.replicas")], "autoscaling")
    ns = svc._namespace_for(resource, namespace)
    while True:
        kv = await svc._read_existing(resource, ns, name)
        obj = decode_kv(kv)
        if meta.get("resourceVersion") and meta["resourceVersion"] != str(kv.mod_revision):
            raise errors.conflict(resource.plural, name, "the object has been modified; please "
                                  "apply your changes to the latest version and try again",
                                  resource.group)
        obj.setdefault("spec", {})["replicas"] = replicas
        result = await svc._write_update(resource, kv, decode_kv(kv), obj, "", opts)
        if result is not None:
            return _scale_of(resource, result)


async def patch_scale(svc: ApiService, resource: Resource, name: str, patch: Any,
                      patch_type: str, namespace: str | None,
                      opts: RequestOptions) -> dict[str, Any]:
    current = await get_subresource(svc, resource, name, "scale", namespace)
    patched = apply_patch(current, patch, patch_type)
    return await update_scale(svc, resource, patched, namespace, opts, name)
