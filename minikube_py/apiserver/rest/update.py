"""Update and patch (main resource and subresources): each a try_update for the one
guaranteed-update loop; the stored object and the new one meet in `prepare_update`."""

from __future__ import annotations

import json
from typing import Any

from minikube_py.api import errors
from minikube_py.api.patch import apply_patch
from minikube_py.api.validation import raise_if, validate_object_meta, validate_update_meta
from minikube_py.apiserver.admission import Attributes, Operation
from minikube_py.apiserver.bodies import namespace_for, type_checked, typed_object
from minikube_py.apiserver.decode import PATCH_TYPES
from minikube_py.apiserver.fieldmanager import apply_config, check_options, record_write
from minikube_py.apiserver.kinds.base import Strategy
from minikube_py.apiserver.objectstore import Delete, Stored, Written
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.rest.context import RestContext
from minikube_py.apiserver.rest.create import prepare_new

Obj = dict[str, Any]
APPLY_PATCH = "application/apply-patch+yaml"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
CONFLICT_MSG = "the object has been modified; please apply your changes to the latest version " \
               "and try again"
# System fields an update never changes: kept from the stored object (rest.BeforeUpdate).
_KEPT_META = ("creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
              "generation")


async def update(rest: RestContext, strategy: Strategy, body: Obj, namespace: str | None,
                 name: str, subresource: str | None, opts: RequestOptions) -> Written:
    """PUT from a typed body the call may keep and mutate."""
    check_options("UpdateOptions", opts)
    resource = strategy.resource
    ns = namespace_for(resource, namespace, body)
    meta = body["metadata"]
    if name and meta.get("name", "") != name:  # an empty name does not match either (kube)
        raise errors.bad_request(f"the name of the object ({meta.get('name', '')}) does not "
                                 f"match the name on the URL ({name})")
    name = name or meta.get("name") or ""
    if not name:
        raise errors.bad_request("name is required in metadata")
    precondition = meta.get("resourceVersion") or ""

    async def try_update(stored: Stored | None) -> Obj | Delete | None:
        if stored is None:
            meta.pop("resourceVersion", None)
            return await prepare_new(rest, strategy, body, ns, opts)
        check_precondition(strategy, stored, name, precondition)
        return await prepare_update(rest, strategy, stored, body, subresource, opts)

    return await write(rest, strategy, ns, name, try_update, opts,
                       allow_missing=subresource is None and strategy.allow_create_on_update)


async def patch(rest: RestContext, strategy: Strategy, name: str, patch_body: Any,
                patch_type: str, namespace: str | None, subresource: str | None,
                opts: RequestOptions) -> Written:
    resource = strategy.resource
    if patch_type == STRATEGIC_PATCH and not strategy.strategic_merge:
        accepted = ", ".join(t for t in PATCH_TYPES if t != STRATEGIC_PATCH)
        raise errors.ApiError(415, "UnsupportedMediaType", "the body of the request was in an "
                              f"unknown format - accepted media types include: {accepted}")
    ns = namespace_for(resource, namespace)
    apply = patch_type == APPLY_PATCH
    check_options("PatchOptions", opts, apply=apply, patch=True)
    raw_patch = json.dumps(patch_body)  # every attempt patches its own copy

    def applied_config() -> Obj:
        config = json.loads(raw_patch)
        if not isinstance(config, dict):
            raise errors.bad_request("apply patch must be an object")
        if isinstance(config.get("metadata", {}), dict):
            # unknown fields go (or are refused) before they can be owned
            type_checked(strategy, config, opts)
        return config

    async def try_update(stored: Stored | None) -> Obj | Delete | None:
        if stored is None:  # only apply creates
            body = apply_config(strategy, None, applied_config(), opts, "", rest.now())
            obj = typed_object(strategy, body, opts)
            obj.setdefault("metadata", {})["name"] = name
            namespace_for(resource, ns, obj)
            return await prepare_new(rest, strategy, obj, ns, opts, applied=True)
        base = strategy.served_object(stored.copy())
        base["apiVersion"] = resource.api_version  # a custom resource's stored version may differ
        if apply:
            patched = apply_config(strategy, base, applied_config(), opts,
                                   subresource or "", rest.now())
        else:
            patched = apply_patch(base, json.loads(raw_patch), patch_type)
        if not isinstance(patched, dict):
            raise errors.bad_request("the patch produced something that is not an object")
        if subresource is None:
            typed_object(strategy, patched, opts, patched=True)
        else:
            if patched.get("metadata") is None:
                patched["metadata"] = {}
            if not isinstance(patched["metadata"], dict):
                raise errors.bad_request("metadata must be an object")
            type_checked(strategy, patched, opts, patched=True)
        pmeta = patched["metadata"]
        if pmeta.get("name") != name:
            raise errors.bad_request("the name of the object does not match the name on the "
                                     "URL")
        precondition = ""
        if isinstance(patch_body, dict) and isinstance(patch_body.get("metadata"), dict):
            precondition = str(patch_body["metadata"].get("resourceVersion") or "")
        check_precondition(strategy, stored, name, precondition)
        pmeta["resourceVersion"] = str(stored.kv.mod_revision)
        return await prepare_update(rest, strategy, stored, patched, subresource, opts,
                                    applied=apply)

    return await write(rest, strategy, ns, name, try_update, opts,
                       allow_missing=apply and subresource is None)


def check_precondition(strategy: Strategy, stored: Stored, name: str, precondition: str) -> None:
    """A write naming a resourceVersion applies to that version only: 409 otherwise."""
    if precondition and precondition != str(stored.kv.mod_revision):
        resource = strategy.resource
        raise errors.conflict(resource.plural, name, CONFLICT_MSG, resource.group)


async def prepare_update(rest: RestContext, strategy: Strategy, stored: Stored, body: Obj,
                         subresource: str | None, opts: RequestOptions, *,
                         applied: bool = False, recorded_as: str = "") -> Obj | Delete:
    """The object an update stores over `stored` (or a Delete, when the update removed the
    last finalizer of an object being deleted). The writer owns the fields it changed
    (recorded for `subresource`, or `recorded_as` when another endpoint made the body),
    unless an apply (`applied`) already said who owns what."""
    old = stored.obj
    if subresource is not None:
        new = strategy.prepare_for_subresource_update(subresource, body, old)
        if applied and body["metadata"].get("managedFields"):
            new["metadata"]["managedFields"] = body["metadata"]["managedFields"]
        elif applied:
            new["metadata"].pop("managedFields", None)
        strategy.default(new)
    else:
        new = body
        meta, old_meta = new["metadata"], old["metadata"]
        if not meta.get("uid") and "uid" in old_meta:
            meta["uid"] = old_meta["uid"]
        for f in _KEPT_META:
            if f in old_meta:
                meta[f] = old_meta[f]
            else:
                meta.pop(f, None)
        strategy.default(new)
        strategy.prepare_for_update(new, old)
    if not applied:
        record_write(strategy, old, new, opts, subresource or recorded_as, rest.now())
    meta = new["metadata"]
    attrs = Attributes(Operation.UPDATE, strategy, meta.get("namespace"), meta.get("name", ""),
                       new, old, opts, subresource)
    await rest.admission.admit(attrs)
    validate_update(strategy, new, old, subresource)
    await rest.admission.validate(attrs)
    if meta.get("deletionTimestamp") and not meta.get("finalizers") and \
            not meta.get("deletionGracePeriodSeconds") and not strategy.finalizing(new):
        return Delete(new)  # the update that removes the last finalizer removes the object
    return new


def validate_update(strategy: Strategy, new: Obj, old: Obj,
                    subresource: str | None = None) -> None:
    resource = strategy.resource
    meta, old_meta = new.get("metadata") or {}, old["metadata"]
    causes = validate_update_meta(old, new)
    causes += validate_object_meta(strategy.name_errors, meta, resource.namespaced)
    causes += (strategy.validate_update(new, old) if subresource is None
               else strategy.validate_subresource_update(subresource, new, old))
    if old_meta.get("deletionTimestamp"):
        added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
        if added:
            causes.append(errors.Cause(
                "FieldValueForbidden", "Forbidden: no new finalizers can be added if the "
                "object is being deleted, found new finalizers " + json.dumps(sorted(added)),
                "metadata.finalizers"))
    raise_if(resource.kind, meta.get("name") or "", causes, resource.group)


async def write(rest: RestContext, strategy: Strategy, namespace: str | None, name: str,
                try_update: Any, opts: RequestOptions, *, allow_missing: bool = False
                ) -> Written:
    """The guaranteed update, and what a kind gives back once its object is gone."""
    written = await rest.objects.guaranteed_update(
        strategy.resource, namespace, name, try_update, allow_missing=allow_missing,
        dry_run=opts.dry_run, ttl=strategy.ttl_seconds)
    if written.deleted and not opts.dry_run:
        strategy.after_delete(written.obj)
    return written
