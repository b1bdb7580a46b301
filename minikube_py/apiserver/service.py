"""ApiService: the API server's façade over a KV store; the in-process ApiClient.

Each request path lives in its own module (create, read, update, deletion, watchapi,
subresources); this class holds the shared state and wires them together.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from minikube_py.api.resources import EVENTS, Resource
from minikube_py.api.selectors import ObjectFilter, build_filter
from minikube_py.api.timefmt import rfc3339
from minikube_py.apiserver import create, deletion, read, storage, update, watchapi
from minikube_py.apiserver.bootstrap import ensure_builtin_objects
from minikube_py.apiserver.compaction import compaction_loop
from minikube_py.apiserver.create import EventLeases
from minikube_py.apiserver.ipalloc import ServiceAllocations
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.read import ListResult, list_body
from minikube_py.apiserver.requestbody import namespace_for
from minikube_py.apiserver.update import CONFLICT_MSG
from minikube_py.apiserver.watchcache import CachedEvent, WatchFanout
from minikube_py.client.interface import MERGE_PATCH, WatchEvent
from minikube_py.store.types import KV, KeyValue

if TYPE_CHECKING:
    from minikube_py.apiserver.logs import KubeletLogStream


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
        self.event_leases = EventLeases(kv)
        self._kubernetes_target_port = kubernetes_service_target_port
        self._tasks: list[asyncio.Task[None]] = []
        self.started = asyncio.Event()

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await self.fanout.start()
        await ensure_builtin_objects(self, self._kubernetes_target_port)
        self._tasks.append(asyncio.create_task(compaction_loop(self),
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

    def now(self) -> str:
        return rfc3339(self.clock())

    # --- shared steps that deletion.py and subresources.py reach through the service ------

    def _namespace_for(self, resource: Resource, namespace: str | None,
                       body: dict[str, Any] | None = None) -> str | None:
        return namespace_for(resource, namespace, body)

    async def _read_existing(self, resource: Resource, ns: str | None, name: str) -> KeyValue:
        return await read.read_existing(self.kv, resource, ns, name)

    async def _write_update(self, resource: Resource, kv: KeyValue, old: dict[str, Any],
                            new: dict[str, Any], precondition: str,
                            opts: RequestOptions) -> dict[str, Any] | None:
        return await update.write_update(self, resource, kv, old, new, precondition, opts)

    async def _delete_key(self, resource: Resource, kv: KeyValue) -> int | None:
        return await update.delete_key(self, resource, kv)

    # --- create, read, update, patch ------------------------------------------------------

    async def create_object(self, resource: Resource, body: dict[str, Any], namespace: str | None,
                            opts: RequestOptions | None = None) -> dict[str, Any]:
        """Create from a body the service may keep and mutate."""
        return await create.create_object(self, resource, body, namespace, opts)

    async def get_object(self, resource: Resource, name: str, namespace: str | None,
                         resource_version: str = "") -> dict[str, Any]:
        return await read.get_object(self.kv, resource, name, namespace, resource_version)

    async def list_objects(self, resource: Resource, namespace: str | None, flt: ObjectFilter,
                           *, limit: int = 0, continue_token: str = "",
                           resource_version: str = "",
                           resource_version_match: str = "") -> ListResult:
        return await read.list_objects(self.kv, resource, namespace, flt, limit=limit,
                                       continue_token=continue_token,
                                       resource_version=resource_version,
                                       resource_version_match=resource_version_match)

    async def update_object(self, resource: Resource, body: dict[str, Any],
                            namespace: str | None, subresource: str | None = None,
                            opts: RequestOptions | None = None, *,
                            name: str | None = None) -> dict[str, Any]:
        """PUT from a body the service may keep and mutate."""
        return await update.update_object(self, resource, body, namespace, subresource, opts,
                                          name=name)

    async def patch_object(self, resource: Resource, name: str, patch: Any, patch_type: str,
                           namespace: str | None, subresource: str | None = None,
                           opts: RequestOptions | None = None) -> dict[str, Any]:
        return await update.patch_object(self, resource, name, patch, patch_type, namespace,
                                         subresource, opts)

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
        if subresource == "scale":
            from minikube_py.apiserver.subresources import patch_scale

            return await patch_scale(self, resource, name, patch, patch_type, namespace,
                                     RequestOptions())
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
                       previous: bool = False) -> KubeletLogStream:
        """Open the pod's log stream on its node's kubelet (errors raise here, before any
        byte is streamed); iterate the result for chunks of text, then aclose() it."""
        from minikube_py.apiserver.logs import open_kubelet_log

        return await open_kubelet_log(self, namespace, pod, container, follow=follow,
                                      tail_lines=tail_lines, timestamps=timestamps,
                                      since_seconds=since_seconds, limit_bytes=limit_bytes,
                                      previous=previous)


__all__ = ["CONFLICT_MSG", "EVENTS", "ApiService", "ListResult", "RequestOptions", "list_body"]
