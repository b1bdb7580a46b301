"""The update/patch path: status/spec split, kept system fields, compare-and-swap, conflicts."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from minikube_py.api import errors
from minikube_py.api.patch import apply_patch
from minikube_py.api.resources import NAMESPACES, SERVICES, Resource
from minikube_py.api.validation_kinds import validate_update
from minikube_py.apiserver.admission import GENERATION_PLURALS, spec_changed
from minikube_py.apiserver.create import create_object
from minikube_py.apiserver.defaults import apply_defaults
from minikube_py.apiserver.jsontypes import check_json_types
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.read import read_key
from minikube_py.apiserver.requestbody import check_field_validation, check_type, namespace_for
from minikube_py.apiserver.storage import decode_kv, encode, object_key
from minikube_py.store.types import Compare, CompareOp, CompareTarget, DeleteOp, KeyValue, PutOp

if TYPE_CHECKING:
    from minikube_py.apiserver.service import ApiService

CONFLICT_MSG = "the object has been modified; please apply your changes to the latest version " \
               "and try again"
# Resources a PUT may create when the object does not exist (AllowCreateOnUpdate).
_CREATE_ON_UPDATE = frozenset({("", "endpoints"), ("", "events"), ("coordination.k8s.io", "leases"),
                               ("events.k8s.io", "events")})


async def update_object(svc: ApiService, resource: Resource, body: dict[str, Any],
                        namespace: str | None, subresource: str | None = None,
                        opts: RequestOptions | None = None, *,
                        name: str | None = None) -> dict[str, Any]:
    """PUT from a body the service may keep and mutate."""
    opts = opts or RequestOptions()
    if subresource is None:
        check_type(resource, body)
        check_field_validation(resource, body, opts)
    elif not isinstance(body, dict) or not isinstance(body.setdefault("metadata", {}), dict):
        raise errors.bad_request("the body of the request must be a JSON object")
    else:
        check_json_types(resource, body)
    ns = namespace_for(resource, namespace, body)
    meta = body["metadata"]
    if name and meta.get("name", "") != name:  # an empty name does not match either (kube)
        raise errors.bad_request("the name of the object "
                                 f"({meta.get('name', '')}) does not match the name on the URL "
                                 f"({name})")
    name = name or meta.get("name")
    if not name:
        raise errors.bad_request("name is required in metadata")
    precondition = meta.get("resourceVersion") or ""
    while True:
        kv = await read_key(svc.kv, object_key(resource, ns, name))
        if kv is None:
            if subresource is None and (resource.group, resource.plural) in _CREATE_ON_UPDATE:
                meta.pop("resourceVersion", None)
                return await create_object(svc, resource, body, ns, opts)
            raise errors.not_found(resource.plural, name, resource.group)
        old = decode_kv(kv)
        new = merge_update(resource, old, body, subresource)
        result = await write_update(svc, resource, kv, old, new, precondition, opts)
        if result is not None:
            return result


async def patch_object(svc: ApiService, resource: Resource, name: str, patch: Any,
                       patch_type: str, namespace: str | None, subresource: str | None = None,
                       opts: RequestOptions | None = None) -> dict[str, Any]:
    opts = opts or RequestOptions()
    ns = namespace_for(resource, namespace)
    apply = patch_type == "application/apply-patch+yaml"
    if apply and not opts.field_manager:
        raise errors.bad_request("PATCH, fieldManager is required for apply requests")
    while True:
        kv = await read_key(svc.kv, object_key(resource, ns, name))
        if kv is None:
            if apply and subresource is None:
                if not isinstance(patch, dict):
                    raise errors.bad_request("apply patch must be an object")
                (patch.setdefault("metadata", {}))["name"] = name
                return await create_object(svc, resource, patch, ns, opts)
            raise errors.not_found(resource.plural, name, resource.group)
        old = decode_kv(kv)
        patched = apply_patch(decode_kv(kv), patch, patch_type)
        if not isinstance(patched, dict):
            raise errors.bad_request("the patch produced something that is not an object")
        pmeta = patched.setdefault("metadata", {})
        if pmeta.get("name") != name:
            raise errors.bad_request("the name of the object does not match the name "
                                     "on the URL")
        precondition = ""
        if isinstance(patch, dict) and (patch.get("metadata") or {}).get("resourceVersion"):
            precondition = patch["metadata"]["resourceVersion"]
        pmeta["resourceVersion"] = str(kv.mod_revision)
        if subresource is None:
            check_type(resource, patched)
            check_field_validation(resource, patched, opts)
        else:
            check_json_types(resource, patched)
        new = merge_update(resource, old, patched, subresource)
        result = await write_update(svc, resource, kv, old, new, precondition, opts)
        if result is not None:
            return result


def merge_update(resource: Resource, old: dict[str, Any], body: dict[str, Any],
                 subresource: str | None) -> dict[str, Any]:
    """The object an update would store: the status subresource split and system fields."""
    if subresource == "status":
        new = dict(old)
        new["status"] = body.get("status", old.get("status"))
        new["metadata"] = dict(old["metadata"])
        return new
    if subresource not in (None, "finalize"):
        raise errors.not_found(f"{resource.plural}/{subresource}", "", resource.group)
    new = body
    meta, old_meta = new["metadata"], old["metadata"]
    if subresource == "finalize":
        new = dict(old)
        new["spec"] = {**(old.get("spec") or {}),
                       "finalizers": (body.get("spec") or {}).get("finalizers") or []}
        return new
    if ("status" in resource.subresources and resource.plural != "nodes") or \
            resource is NAMESPACES:
        new["status"] = old.get("status")
        if new["status"] is None:
            new.pop("status")
    for f in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
              "generation"):
        if f in old_meta and not (f == "uid" and meta.get("uid")):
            meta[f] = old_meta[f]
        elif f != "uid":
            meta.pop(f, None)
    if resource is NAMESPACES:
        new["spec"] = old.get("spec")
    if resource is SERVICES:
        spec, old_spec = new.setdefault("spec", {}), old.get("spec") or {}
        for f in ("clusterIP", "clusterIPs"):
            if not spec.get(f) and old_spec.get(f):
                spec[f] = old_spec[f]
    return new


async def write_update(svc: ApiService, resource: Resource, kv: KeyValue, old: dict[str, Any],
                       new: dict[str, Any], precondition: str,
                       opts: RequestOptions) -> dict[str, Any] | None:
    """Store `new` over `old`; None means the object moved under us: read and retry."""
    if precondition and precondition != str(kv.mod_revision):
        raise errors.conflict(resource.plural, new["metadata"]["name"], CONFLICT_MSG,
                              resource.group)
    meta = new["metadata"]
    apply_defaults(resource, new)
    validate_update(resource, old, new)
    old_meta = old["metadata"]
    if old_meta.get("deletionTimestamp"):
        added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
        if added:
            raise errors.invalid(resource.kind, meta["name"], [errors.Cause(
                "FieldValueForbidden", "Forbidden: no new finalizers can be added if the "
                "object is being deleted, found new finalizers " + json.dumps(sorted(added)),
                "metadata.finalizers")], resource.group)
    if resource.plural in GENERATION_PLURALS and spec_changed(old, new):
        meta["generation"] = int(old_meta.get("generation") or 1) + 1
    meta.pop("resourceVersion", None)
    value = encode(new)
    if value == kv.value:
        meta["resourceVersion"] = str(kv.mod_revision)
        return new
    if opts.dry_run:
        meta["resourceVersion"] = str(kv.mod_revision)
        return new
    if meta.get("deletionTimestamp") and not meta.get("finalizers") and \
            not (meta.get("deletionGracePeriodSeconds") or 0) and \
            not (resource is NAMESPACES and (new.get("spec") or {}).get("finalizers")):
        # The update that removes the last finalizer of a deleted object removes it.
        deleted = await delete_key(svc, resource, kv)
        if deleted is None:
            await _retry_or_conflict(resource, meta["name"], precondition)
            return None
        new["metadata"]["resourceVersion"] = str(deleted)
        return new
    res = await svc.kv.txn([Compare(kv.key, CompareTarget.MOD, CompareOp.EQUAL,
                                    kv.mod_revision)],
                           [PutOp(kv.key, value, lease=kv.lease)], [])
    if not res.succeeded:
        await _retry_or_conflict(resource, meta["name"], precondition)
        return None
    meta["resourceVersion"] = str(res.revision)
    return new


async def _retry_or_conflict(resource: Resource, name: str, precondition: str) -> None:
    """A lost compare-and-swap: a conditional write conflicts, an unconditional retries."""
    if precondition:
        raise errors.conflict(resource.plural, name, CONFLICT_MSG, resource.group)
    await asyncio.sleep(0)


async def delete_key(svc: ApiService, resource: Resource, kv: KeyValue) -> int | None:
    """Delete the stored object if unchanged (its revision, or None if it moved); frees a
    Service's IPs. The deletion path uses it too, through ApiService._delete_key."""
    res = await svc.kv.txn([Compare(kv.key, CompareTarget.MOD, CompareOp.EQUAL,
                                    kv.mod_revision)], [DeleteOp(kv.key)], [])
    if not res.succeeded:
        return None
    if resource is SERVICES:
        svc.allocations.release(json.loads(kv.value))
    return res.revision
