"""ApiService: the API server's semantics (CRUD, watch, subresources) over a KV store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.patch import apply_patch
from minikube_py.api.resources import EVENTS, NAMESPACES, SERVICES, Resource
from minikube_py.api.selectors import ObjectFilter, build_filter
from minikube_py.api.validation_kinds import validate_create, validate_update
from minikube_py.apiserver import deletion, storage, watchapi
from minikube_py.apiserver.admission import (
    GENERATION_PLURALS,
    generate_job_selector,
    prepare_for_create,
    spec_changed,
)
from minikube_py.apiserver.defaults import apply_defaults
from minikube_py.apiserver.fieldcheck import check_unknown_fields
from minikube_py.apiserver.ipalloc import ServiceAllocations
from minikube_py.apiserver.storage import decode_kv, encode, object_key
from minikube_py.apiserver.watchcache import CachedEvent, WatchFanout
from minikube_py.client.interface import MERGE_PATCH, WatchEvent
from minikube_py.store.types import (
    KV,
    CompactedError,
    Compare,
    CompareOp,
    CompareTarget,
    DeleteOp,
    FutureRevisionError,
    KeyValue,
    PutOp,
    prefix_end,
)

log = logging.getLogger(__name__)

CONFLICT_MSG = "the object has been modified; please apply your changes to the latest version " \
               "and try again"
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
# Resources a PUT may create when the object does not exist (AllowCreateOnUpdate).
_CREATE_ON_UPDATE = frozenset({("", "endpoints"), ("", "events"), ("coordination.k8s.io", "leases"),
                               ("events.k8s.io", "events")})
_EVENT_TTL = 3600
_EVENT_LEASE_REUSE = 60.0


@dataclass(slots=True)
class RequestOptions:
    """Per-request knobs the HTTP layer passes in; warnings come back out."""

    dry_run: bool = False
    field_validation: str = ""  # Strict, Warn, Ignore ("" = Ignore in-process)
    field_manager: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ListResult:
    items: list[dict[str, Any]]
    revision: int
    continue_token: str = ""
    remaining: int | None = None


class ApiService:
    """Implements minikube_py.client.interface.ApiClient in-process, and serves the HTTP layer."""

    def __init__(self, kv: KV, *, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None, compaction_interval: float = 300.0,
                 bookmark_interval: float = 60.0, service_cidr: str = "10.96.0.0/12",
                 kubernetes_service_target_port: int = 6443) -> None:
        self.kv = kv
        self.clock = clock
        self.rng = rng or random.Random()
        self.compaction_interval = compaction_interval
        self.bookmark_interval = bookmark_interval
        self.fanout = WatchFanout(kv)
        self.allocations = ServiceAllocations(kv, service_cidr)
        self._kubernetes_target_port = kubernetes_service_target_port
        self._event_lease = (0, 0.0)
        self._tasks: list[asyncio.Task[None]] = []
        self.started = asyncio.Event()

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await self.fanout.start()
        for ns in deletion.SYSTEM_NAMESPACES:
            with contextlib.suppress(ApiError):  # AlreadyExists on restart
                await self.create_object(NAMESPACES, {"metadata": {"name": ns}}, None)
        await self._ensure_kubernetes_service()
        self._tasks.append(asyncio.create_task(self._compaction_loop(),
                                               name="apiserver-compaction"))
        self.started.set()

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
        await self.fanout.stop()

    async def _ensure_kubernetes_service(self) -> None:
        body = {"metadata": {"name": "kubernetes", "namespace": "default",
                             "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"clusterIP": str(self.allocations.ips.network.network_address + 1),
                         "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                    "targetPort": self._kubernetes_target_port}]}}
        with contextlib.suppress(ApiError):
            await self.create_object(SERVICES, body, "default")

    async def _compaction_loop(self) -> None:
        """Every interval, compact to the revision seen one interval ago (kube-apiserver's
        compactor), so watches can resume from anything newer than about one interval."""
        last = 0
        while True:
            await asyncio.sleep(self.compaction_interval)
            try:
                if last > self.kv.compact_revision:
                    await self.kv.compact(last)
            except Exception:
                log.exception("store compaction to revision %d failed", last)
            last = self.kv.revision

    # --- helpers ---------------------------------------------------------------------

    def now(self) -> str:
        return storage.rfc3339(self.clock())

    def _uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _namespace_for(self, resource: Resource, namespace: str | None,
                       body: dict[str, Any] | None = None) -> str | None:
        if not resource.namespaced:
            return None
        meta = (body or {}).get("metadata") or {}
        body_ns = meta.get("namespace") or ""
        if namespace and body_ns and body_ns != namespace:
            raise errors.bad_request("the namespace of the provided object does not match the "
                                     "namespace sent on the request")
        ns = namespace or body_ns or "default"
        if body is not None:
            meta["namespace"] = ns
        return ns

    async def _read(self, key: bytes) -> KeyValue | None:
        res = await self.kv.range(key)
        return res.kvs[0] if res.kvs else None

    async def _read_existing(self, resource: Resource, ns: str | None, name: str) -> KeyValue:
        kv = await self._read(object_key(resource, ns, name))
        if kv is None:
            raise errors.not_found(resource.plural, name, resource.group)
        return kv

    def _check_type(self, resource: Resource, body: Any) -> None:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        kind, api_version = body.get("kind"), body.get("apiVersion")
        if kind and kind != resource.kind:
            raise errors.bad_request(f"the API version in the data ({api_version}) does not "
                                     f"match the expected API version ({resource.api_version})"
                                     if api_version and api_version != resource.api_version else
                                     f'kind "{kind}" does not match the expected kind '
                                     f'"{resource.kind}"')
        if api_version and api_version != resource.api_version:
            raise errors.bad_request(f"the API version in the data ({api_version}) does not "
                                     f"match the expected API version ({resource.api_version})")
        body["kind"], body["apiVersion"] = resource.kind, resource.api_version
        if not isinstance(body.setdefault("metadata", {}), dict):
            raise errors.bad_request("metadata must be an object")

    def _field_validation(self, resource: Resource, body: dict[str, Any],
                          opts: RequestOptions) -> None:
        mode = opts.field_validation
        if mode not in ("Strict", "Warn"):
            return
        unknown = check_unknown_fields(resource, body)
        if not unknown:
            return
        if mode == "Strict":
            detail = ", ".join(f'unknown field "{u}"' for u in unknown)
            raise errors.bad_request(f"strict decoding error: {detail}")
        opts.warnings.extend(f'unknown field "{u}"' for u in unknown)

    async def _check_namespace(self, resource: Resource, ns: str | None, name: str) -> None:
        """NamespaceLifecycle: content only in namespaces that exist and are not terminating."""
        if ns is None:
            return
        kv = await self._read(object_key(NAMESPACES, None, ns))
        if kv is None:
            raise errors.not_found("namespaces", ns)
        nsobj = json.loads(kv.value)
        if (nsobj.get("metadata") or {}).get("deletionTimestamp") or \
                (nsobj.get("status") or {}).get("phase") == "Terminating":
            msg = (f"unable to create new content in namespace {ns} because it is being "
                   "terminated")
            raise ApiError(403, "Forbidden",
                           f'{errors.qualified(resource.plural, resource.group)} "{name}" is '
                           f"forbidden: {msg}",
                           {"name": name, "kind": resource.plural},
                           [errors.Cause("NamespaceTerminating", msg, "metadata.namespace")])

    # --- create ------------------------------------------------------------------------

    async def create_object(self, resource: Resource, body: dict[str, Any], namespace: str | None,
                            opts: RequestOptions | None = None) -> dict[str, Any]:
        """Create from a body the service may keep and mutate."""
        opts = opts or RequestOptions()
        self._check_type(resource, body)
        self._field_validation(resource, body, opts)
        ns = self._namespace_for(resource, namespace, body)
        meta = body["metadata"]
        if meta.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        generate = not meta.get("name") and meta.get("generateName")
        for attempt in range(8):
            if generate:
                meta["name"] = meta["generateName"] + "".join(
                    self.rng.choice(_NAME_CHARS) for _ in range(5))
            obj = await self._prepare_create(resource, body, ns, opts)
            try:
                return await self._store_new(resource, obj, ns, opts)
            except ApiError as e:
                if not (generate and e.code == 409 and attempt < 7):
                    raise
        raise AssertionError("unreachable")

    async def _prepare_create(self, resource: Resource, obj: dict[str, Any], ns: str | None,
                              opts: RequestOptions) -> dict[str, Any]:
        meta = obj["metadata"]
        for f in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink",
                  "managedFields"):
            meta.pop(f, None)
        meta["uid"] = self._uid()
        meta["creationTimestamp"] = self.now()
        apply_defaults(resource, obj)
        prepare_for_create(resource, obj)
        if resource.group == "batch" and resource.plural == "jobs":
            generate_job_selector(obj)
        validate_create(resource, obj)
        if resource.namespaced:
            await self._check_namespace(resource, ns, meta.get("name", ""))
        if resource is SERVICES and not opts.dry_run:
            await self.allocations.allocate(obj)
        return obj

    async def _store_new(self, resource: Resource, obj: dict[str, Any], ns: str | None,
                         opts: RequestOptions) -> dict[str, Any]:
        name = obj["metadata"]["name"]
        if opts.dry_run:
            return obj
        key = object_key(resource, ns, name)
        lease = await self._lease_for(resource)
        res = await self.kv.txn([Compare(key, CompareTarget.CREATE, CompareOp.EQUAL, 0)],
                                [PutOp(key, encode(obj), lease=lease)], [])
        if not res.succeeded:
            if resource is SERVICES:
                self.allocations.release(obj)
            raise errors.already_exists(resource.plural, name, resource.group)
        obj["metadata"]["resourceVersion"] = str(res.revision)
        return obj

    async def _lease_for(self, resource: Resource) -> int:
        """Events expire after an hour; one lease serves all events of a minute (like kube)."""
        if resource.plural != "events":
            return 0
        lease, granted = self._event_lease
        now = self.clock()
        if not lease or now - granted > _EVENT_LEASE_REUSE:
            lease = await self.kv.lease_grant(int(_EVENT_TTL + _EVENT_LEASE_REUSE))
            self._event_lease = (lease, now)
        return lease

    # --- read ----------------------------------------------------------------------------

    async def get_object(self, resource: Resource, name: str, namespace: str | None,
                         resource_version: str = "") -> dict[str, Any]:
        ns = self._namespace_for(resource, namespace)
        rev = storage.parse_resource_version(resource_version)
        key = object_key(resource, ns, name)
        try:
            res = await self.kv.range(key, revision=rev if rev > 1 else 0)
        except CompactedError:
            raise storage.too_old(rev) from None
        except FutureRevisionError:
            res = await self.kv.range(key)
        if not res.kvs:
            raise errors.not_found(resource.plural, name, resource.group)
        return decode_kv(res.kvs[0])

    async def list_objects(self, resource: Resource, namespace: str | None, flt: ObjectFilter,
                           *, limit: int = 0, continue_token: str = "",
                           resource_version: str = "",
                           resource_version_match: str = "") -> ListResult:
        prefix = storage.list_prefix(resource, namespace if resource.namespaced else None)
        end = prefix_end(prefix)
        revision = 0
        start = prefix
        if continue_token:
            token = storage.ContinueToken.decode(continue_token, prefix)
            revision, start = token.revision, token.start_key
        elif resource_version_match == "Exact":
            revision = storage.parse_resource_version(resource_version)
        elif resource_version not in ("", "0"):
            storage.parse_resource_version(resource_version)  # 400 on garbage
        items: list[dict[str, Any]] = []
        batch = 0 if not limit else (limit + 1 if flt.empty else max(limit * 2, 100))
        remaining: int | None = None
        next_key = b""
        try:
            while True:
                res = await self.kv.range(start, end, revision=revision, limit=batch)
                revision = revision or res.revision
                for i, kv in enumerate(res.kvs):
                    if limit and len(items) == limit:
                        next_key = kv.key
                        if flt.empty:
                            remaining = res.count - i
                        break
                    obj = decode_kv(kv)
                    if flt.empty or flt.matches(obj):
                        items.append(obj)
                if next_key or not res.more or not res.kvs:
                    break
                start = res.kvs[-1].key + b"\x00"
        except CompactedError:
            if continue_token:
                raise storage.expired_continue() from None
            raise storage.too_old(revision) from None
        except FutureRevisionError:
            raise ApiError(504, "Timeout", f"Too large resource version: {revision}, current: "
                                           f"{self.kv.revision}") from None
        next_token = storage.ContinueToken(revision, next_key).encode() if next_key else ""
        return ListResult(items, revision, next_token, remaining)

    # --- update ----------------------------------------------------------------------------

    async def update_object(self, resource: Resource, body: dict[str, Any],
                            namespace: str | None, subresource: str | None = None,
                            opts: RequestOptions | None = None, *,
                            name: str | None = None) -> dict[str, Any]:
        """PUT from a body the service may keep and mutate."""
        opts = opts or RequestOptions()
        if subresource is None:
            self._check_type(resource, body)
            self._field_validation(resource, body, opts)
        elif not isinstance(body, dict) or not isinstance(body.setdefault("metadata", {}), dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        ns = self._namespace_for(resource, namespace, body)
        meta = body["metadata"]
        if name and meta.get("name") and meta["name"] != name:
            raise errors.bad_request("the name of the object "
                                     f"({meta['name']}) does not match the name on the URL "
                                     f"({name})")
        name = name or meta.get("name")
        if not name:
            raise errors.bad_request("name is required in metadata")
        precondition = meta.get("resourceVersion") or ""
        while True:
            kv = await self._read(object_key(resource, ns, name))
            if kv is None:
                if subresource is None and (resource.group, resource.plural) in _CREATE_ON_UPDATE:
                    meta.pop("resourceVersion", None)
                    return await self.create_object(resource, body, ns, opts)
                raise errors.not_found(resource.plural, name, resource.group)
            old = decode_kv(kv)
            new = self._merge_update(resource, old, body, subresource)
            result = await self._write_update(resource, kv, old, new, precondition, opts)
            if result is not None:
                return result

    def _merge_update(self, resource: Resource, old: dict[str, Any], body: dict[str, Any],
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

    async def _write_update(self, resource: Resource, kv: KeyValue, old: dict[str, Any],
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
            deleted = await self._delete_key(resource, kv)
            if deleted is None:
                await self._retry_or_conflict(resource, meta["name"], precondition)
                return None
            new["metadata"]["resourceVersion"] = str(deleted)
            return new
        res = await self.kv.txn([Compare(kv.key, CompareTarget.MOD, CompareOp.EQUAL,
                                         kv.mod_revision)],
                                [PutOp(kv.key, value, lease=kv.lease)], [])
        if not res.succeeded:
            await self._retry_or_conflict(resource, meta["name"], precondition)
            return None
        meta["resourceVersion"] = str(res.revision)
        return new

    async def _retry_or_conflict(self, resource: Resource, name: str,
                                 precondition: str) -> None:
        """A lost compare-and-swap: a conditional write conflicts, an unconditional retries."""
        if precondition:
            raise errors.conflict(resource.plural, name, CONFLICT_MSG, resource.group)
        await asyncio.sleep(0)

    async def _delete_key(self, resource: Resource, kv: KeyValue) -> int | None:
        res = await self.kv.txn([Compare(kv.key, CompareTarget.MOD, CompareOp.EQUAL,
                                         kv.mod_revision)], [DeleteOp(kv.key)], [])
        if not res.succeeded:
            return None
        if resource is SERVICES:
            self.allocations.release(json.loads(kv.value))
        return res.revision

    # --- patch -----------------------------------------------------------------------------

    async def patch_object(self, resource: Resource, name: str, patch: Any, patch_type: str,
                           namespace: str | None, subresource: str | None = None,
                           opts: RequestOptions | None = None) -> dict[str, Any]:
        opts = opts or RequestOptions()
        ns = self._namespace_for(resource, namespace)
        apply = patch_type == "application/apply-patch+yaml"
        if apply and not opts.field_manager:
            raise errors.bad_request("PATCH, fieldManager is required for apply requests")
        while True:
            kv = await self._read(object_key(resource, ns, name))
            if kv is None:
                if apply and subresource is None:
                    if not isinstance(patch, dict):
                        raise errors.bad_request("apply patch must be an object")
                    (patch.setdefault("metadata", {}))["name"] = name
                    return await self.create_object(resource, patch, ns, opts)
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
                self._check_type(resource, patched)
                self._field_validation(resource, patched, opts)
            new = self._merge_update(resource, old, patched, subresource)
            result = await self._write_update(resource, kv, old, new, precondition, opts)
            if result is not None:
                return result

    # --- delete -------------------------------------------------------------------------

    async def delete_object(self, resource: Resource, name: str, namespace: str | None, *,
                            grace_period_seconds: int | None = None,
                            propagation_policy: str | None = None,
                            preconditions: dict[str, Any] | None = None,
                            opts: RequestOptions | None = None) -> tuple[dict[str, Any], bool]:
        """Returns (the object or a Success Status, whether it is gone now)."""
        return await deletion.delete_object(
            self, resource, name, namespace, grace_period_seconds=grace_period_seconds,
            propagation_policy=propagation_policy, preconditions=preconditions, opts=opts)

    async def delete_collection(self, resource: Resource, namespace: str | None,
                                flt: ObjectFilter, *, grace_period_seconds: int | None = None,
                                propagation_policy: str | None = None,
                                opts: RequestOptions | None = None) -> list[dict[str, Any]]:
        return await deletion.delete_collection(
            self, resource, namespace, flt, grace_period_seconds=grace_period_seconds,
            propagation_policy=propagation_policy, opts=opts)

    def watch_events(self, resource: Resource, namespace: str | None, flt: ObjectFilter,
                     resource_version: str = "", *, allow_bookmarks: bool = False,
                     timeout_seconds: float | None = None, initial_events_end: bool = False,
                     ) -> AsyncGenerator[tuple[str, CachedEvent | dict[str, Any]], None]:
        """(type, event) pairs; initial state first when resource_version is "" or "0".
        Dict payloads are fresh objects (initial state, bookmarks); CachedEvents are shared."""
        return watchapi.watch_events(self, resource, namespace, flt, resource_version,
                                     allow_bookmarks=allow_bookmarks,
                                     timeout_seconds=timeout_seconds,
                                     initial_events_end=initial_events_end)

    # --- the ApiClient protocol --------------------------------------------------------------

    async def create(self, resource: Resource, body: dict[str, Any], *,
                     namespace: str | None = None, name: str | None = None,
                     subresource: str | None = None) -> dict[str, Any]:
        body = json.loads(storage.dumps(body))  # the caller keeps its dict
        if subresource:
            from minikube_py.apiserver.subresources import create_subresource

            return await create_subresource(self, resource, name or "", subresource, body,
                                            namespace, RequestOptions())
        return await self.create_object(resource, body, namespace)

    async def get(self, resource: Resource, name: str, *, namespace: str | None = None,
                  subresource: str | None = None) -> dict[str, Any]:
        if subresource and subresource != "status":
            from minikube_py.apiserver.subresources import get_subresource

            return await get_subresource(self, resource, name, subresource, namespace)
        return await self.get_object(resource, name, namespace)

    async def list(self, resource: Resource, *, namespace: str | None = None,
                   label_selector: str = "", field_selector: str = "", limit: int = 0,
                   continue_token: str = "", resource_version: str = "") -> dict[str, Any]:
        flt = build_filter(resource.group, resource.plural, label_selector, field_selector)
        res = await self.list_objects(resource, namespace, flt, limit=limit,
                                      continue_token=continue_token,
                                      resource_version=resource_version)
        return list_body(resource, res)

    async def update(self, resource: Resource, body: dict[str, Any], *,
                     namespace: str | None = None,
                     subresource: str | None = None) -> dict[str, Any]:
        body = json.loads(storage.dumps(body))
        if subresource == "scale":
            from minikube_py.apiserver.subresources import update_scale

            return await update_scale(self, resource, body, namespace, RequestOptions())
        return await self.update_object(resource, body, namespace, subresource)

    async def patch(self, resource: Resource, name: str, patch: Any, *,
                    patch_type: str = MERGE_PATCH, namespace: str | None = None,
                    subresource: str | None = None) -> dict[str, Any]:
        patch = json.loads(storage.dumps(patch))
        return await self.patch_object(resource, name, patch, patch_type, namespace, subresource)

    async def delete(self, resource: Resource, name: str, *, namespace: str | None = None,
                     grace_period_seconds: int | None = None,
                     propagation_policy: str | None = None,
                     preconditions: dict[str, Any] | None = None) -> dict[str, Any]:
        obj, _ = await self.delete_object(resource, name, namespace,
                                          grace_period_seconds=grace_period_seconds,
                                          propagation_policy=propagation_policy,
                                          preconditions=preconditions)
        return obj

    async def watch(self, resource: Resource, *, namespace: str | None = None,
                    resource_version: str = "", label_selector: str = "",
                    field_selector: str = "", allow_bookmarks: bool = False,
                    timeout_seconds: int | None = None) -> AsyncIterator[WatchEvent]:
        flt = build_filter(resource.group, resource.plural, label_selector, field_selector)
        events = self.watch_events(resource, namespace, flt, resource_version,
                                   allow_bookmarks=allow_bookmarks,
                                   timeout_seconds=timeout_seconds)
        try:
            async for kind, ev in events:
                yield WatchEvent(kind, ev if isinstance(ev, dict) else ev.fresh_object())
        finally:
            await events.aclose()

    async def read_log(self, namespace: str, pod: str, container: str | None = None, *,
                       follow: bool = False, tail_lines: int | None = None,
                       timestamps: bool = False, since_seconds: int | None = None,
                       limit_bytes: int | None = None,
                       previous: bool = False) -> AsyncIterator[bytes]:
        """Open the pod's log stream on its node's kubelet (errors raise here, before any
        byte is streamed); iterate the result for chunks of text."""
        from minikube_py.apiserver.logs import open_kubelet_log

        return await open_kubelet_log(self, namespace, pod, container, follow=follow,
                                      tail_lines=tail_lines, timestamps=timestamps,
                                      since_seconds=since_seconds, limit_bytes=limit_bytes,
                                      previous=previous)


def list_body(resource: Resource, res: ListResult) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(res.revision)}
    if res.continue_token:
        meta["continue"] = res.continue_token
    if res.remaining is not None and res.continue_token:
        meta["remainingItemCount"] = res.remaining
    return {"kind": resource.list_kind, "apiVersion": resource.api_version, "metadata": meta,
            "items": res.items}


__all__ = ["EVENTS", "ApiService", "ListResult", "RequestOptions", "list_body"]
