"""`*/scale`: a kind's replicas seen and set as an autoscaling/v1 Scale."""

from __future__ import annotations

import json
from typing import Any

from minikube_py.api import errors
from minikube_py.api.patch import apply_patch
from minikube_py.apiserver.bodies import namespace_for
from minikube_py.apiserver.fieldmanager import apply_config, check_options
from minikube_py.apiserver.kinds.base import ScaleSpec, Strategy, field_at
from minikube_py.apiserver.objectstore import Delete, Stored
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.rest.context import RestContext
from minikube_py.apiserver.rest.update import APPLY_PATCH, CONFLICT_MSG, prepare_update, write

Obj = dict[str, Any]
# The Scale subresource's kind, for discovery and for protobuf bodies.
SCALE_KIND = ("autoscaling", "v1", "Scale")
SCALE_SCHEMA = "autoscaling.Scale"


def _spec(strategy: Strategy, name: str) -> ScaleSpec:
    if strategy.scale is None:
        raise errors.not_found(f"{strategy.resource.plural}/scale", name,
                               strategy.resource.group)
    return strategy.scale


def to_scale(scale: ScaleSpec, obj: Obj) -> Obj:
    meta = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": meta["name"], "namespace": meta.get("namespace"),
                         "uid": meta.get("uid"), "resourceVersion": meta["resourceVersion"],
                         "creationTimestamp": meta.get("creationTimestamp")},
            "spec": {"replicas": field_at(obj, *scale.spec_path) or 0},
            "status": {"replicas": field_at(obj, *scale.status_path) or 0,
                       "selector": scale.selector(obj)}}


async def get_scale(rest: RestContext, strategy: Strategy, name: str,
                    namespace: str | None) -> Obj:
    scale = _spec(strategy, name)
    ns = namespace_for(strategy.resource, namespace)
    return to_scale(scale, await rest.objects.get(strategy.resource, ns, name))


def _replicas(body: Any, name: str) -> int:
    spec = body.get("spec") if isinstance(body, dict) else None
    replicas = spec.get("replicas") if isinstance(spec, dict) else None
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise errors.invalid("Scale", name, [errors.Cause(
            "FieldValueInvalid", f"Invalid value: {json.dumps(replicas)}: must be greater "
            "than or equal to 0", "spec.replicas")], "autoscaling")
    return replicas


async def update_scale(rest: RestContext, strategy: Strategy, body: Any,
                       namespace: str | None, name: str, opts: RequestOptions) -> Obj:
    check_options("UpdateOptions", opts)
    scale = _spec(strategy, name)
    meta = body.get("metadata") if isinstance(body, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    name = name or str(meta.get("name") or "")
    replicas = _replicas(body, name)
    precondition = str(meta.get("resourceVersion") or "")
    return await _set_replicas(rest, strategy, scale, name, namespace, opts,
                               lambda _stored: (replicas, precondition))


async def patch_scale(rest: RestContext, strategy: Strategy, name: str, patch: Any,
                      patch_type: str, namespace: str | None, opts: RequestOptions) -> Obj:
    apply = patch_type == APPLY_PATCH
    check_options("PatchOptions", opts, apply=apply, patch=True)
    scale = _spec(strategy, name)
    raw_patch = json.dumps(patch)

    def replicas_of(stored: Stored) -> tuple[int, str]:
        patched = apply_patch(to_scale(scale, stored.copy()), json.loads(raw_patch),
                              patch_type)
        meta = patched.get("metadata") if isinstance(patched, dict) else None
        rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
        return _replicas(patched, name), str(rv or "")

    return await _set_replicas(rest, strategy, scale, name, namespace, opts, replicas_of,
                               applied=apply)


async def _set_replicas(rest: RestContext, strategy: Strategy, scale: ScaleSpec, name: str,
                        namespace: str | None, opts: RequestOptions,
                        replicas_of: Any, *, applied: bool = False) -> Obj:
    """Write the replicas `replicas_of` the stored object gives. An apply of the Scale is
    an apply of spec.replicas to the object, recorded for the scale subresource (kube
    converts the Scale's fields to the object's)."""
    ns = namespace_for(strategy.resource, namespace)

    async def try_update(stored: Stored | None) -> Obj | Delete | None:
        assert stored is not None
        replicas, precondition = replicas_of(stored)
        if precondition and precondition != str(stored.kv.mod_revision):
            raise errors.conflict(strategy.resource.plural, name, CONFLICT_MSG,
                                  strategy.resource.group)
        if applied:
            resource = strategy.resource
            config: dict[str, Any] = {"apiVersion": resource.api_version,
                                      "kind": resource.kind}
            parent = config
            for key in scale.spec_path[:-1]:
                parent = parent.setdefault(key, {})
            parent[scale.spec_path[-1]] = replicas
            new = apply_config(strategy, stored.copy(), config, opts, "scale", rest.now())
        else:
            new = stored.copy()
            parent = new
            for key in scale.spec_path[:-1]:
                if not isinstance(parent.get(key), dict):
                    parent[key] = {}
                parent = parent[key]
            parent[scale.spec_path[-1]] = replicas
        return await prepare_update(rest, strategy, stored, new, None, opts,
                                    applied=applied, recorded_as="scale")

    written = await write(rest, strategy, ns, name, try_update, opts)
    return to_scale(scale, written.obj)
