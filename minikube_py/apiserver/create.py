"""The create path: generated names, defaulting, admission, namespace lifecycle, first write."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import NAMESPACES, SERVICES, Resource
from minikube_py.api.validation_kinds import validate_create
from minikube_py.apiserver.admission import generate_job_selector, prepare_for_create
from minikube_py.apiserver.defaults import apply_defaults
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.read import read_key
from minikube_py.apiserver.requestbody import check_field_validation, check_type, namespace_for
from minikube_py.apiserver.storage import encode, object_key
from minikube_py.store.types import KV, Compare, CompareOp, CompareTarget, PutOp

if TYPE_CHECKING:
    from minikube_py.apiserver.service import ApiService

_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_EVENT_TTL = 3600
_EVENT_LEASE_REUSE = 60.0


class EventLeases:
    """Events expire after an hour; one lease serves all events of a minute (like kube)."""

    def __init__(self, kv: KV) -> None:
        self._kv = kv
        self._lease = 0
        self._granted = 0.0

    async def lease_for(self, resource: Resource, clock: Callable[[], float]) -> int:
        if resource.plural != "events":
            return 0
        now = clock()
        if not self._lease or now - self._granted > _EVENT_LEASE_REUSE:
            self._lease = await self._kv.lease_grant(int(_EVENT_TTL + _EVENT_LEASE_REUSE))
            self._granted = now
        return self._lease


def new_uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


async def create_object(svc: ApiService, resource: Resource, body: dict[str, Any],
                        namespace: str | None, opts: RequestOptions | None = None,
                        ) -> dict[str, Any]:
    """Create from a body the service may keep and mutate."""
    opts = opts or RequestOptions()
    check_type(resource, body)
    check_field_validation(resource, body, opts)
    ns = namespace_for(resource, namespace, body)
    meta = body["metadata"]
    if meta.get("resourceVersion"):
        raise errors.bad_request("resourceVersion should not be set on objects to be created")
    generate = not meta.get("name") and meta.get("generateName")
    for attempt in range(8):
        if generate:
            meta["name"] = meta["generateName"] + "".join(
                svc.rng.choice(_NAME_CHARS) for _ in range(5))
        obj = await _prepare_create(svc, resource, body, ns, opts)
        try:
            return await _store_new(svc, resource, obj, ns, opts)
        except ApiError as e:
            if not (generate and e.code == 409 and attempt < 7):
                raise
    raise AssertionError("unreachable")


async def _prepare_create(svc: ApiService, resource: Resource, obj: dict[str, Any],
                          ns: str | None, opts: RequestOptions) -> dict[str, Any]:
    meta = obj["metadata"]
    for f in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"):
        meta.pop(f, None)
    meta["uid"] = new_uid(svc.rng)
    meta["creationTimestamp"] = svc.now()
    apply_defaults(resource, obj)
    prepare_for_create(resource, obj)
    if resource.group == "batch" and resource.plural == "jobs":
        generate_job_selector(obj)
    validate_create(resource, obj)
    if resource.namespaced:
        await check_namespace_open(svc.kv, resource, ns, meta.get("name", ""))
    if resource is SERVICES and not opts.dry_run:
        await svc.allocations.allocate(obj)
    return obj


async def _store_new(svc: ApiService, resource: Resource, obj: dict[str, Any], ns: str | None,
                     opts: RequestOptions) -> dict[str, Any]:
    name = obj["metadata"]["name"]
    if opts.dry_run:
        return obj
    key = object_key(resource, ns, name)
    lease = await svc.event_leases.lease_for(resource, svc.clock)
    res = await svc.kv.txn([Compare(key, CompareTarget.CREATE, CompareOp.EQUAL, 0)],
                           [PutOp(key, encode(obj), lease=lease)], [])
    if not res.succeeded:
        if resource is SERVICES:
            svc.allocations.release(obj)
        raise errors.already_exists(resource.plural, name, resource.group)
    obj["metadata"]["resourceVersion"] = str(res.revision)
    return obj


async def check_namespace_open(kv: KV, resource: Resource, ns: str | None, name: str) -> None:
    """NamespaceLifecycle: content only in namespaces that exist and are not terminating."""
    if ns is None:
        return
    found = await read_key(kv, object_key(NAMESPACES, None, ns))
    if found is None:
        raise errors.not_found("namespaces", ns)
    nsobj = json.loads(found.value)
    if (nsobj.get("metadata") or {}).get("deletionTimestamp") or \
            (nsobj.get("status") or {}).get("phase") == "Terminating":
        msg = (f"unable to create new content in namespace {ns} because it is being "
               "terminated")
        raise ApiError(403, "Forbidden",
                       f'{errors.qualified(resource.plural, resource.group)} "{name}" is '
                       f"forbidden: {msg}",
                       {"name": name, "kind": resource.plural},
                       [errors.Cause("NamespaceTerminating", msg, "metadata.namespace")])
