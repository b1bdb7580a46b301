"""Informers: list+watch one resource into a local cache and tell handlers what changed.

Objects in the cache are shared by every handler and reader: never mutate one; copy it
(copy.deepcopy) before changing and writing it back through the client.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import random
from collections.abc import Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import Resource
from minikube_py.client.interface import ApiClient
from minikube_py.tasks import TaskSet

log = logging.getLogger("minikube_py.informer")

Obj = dict[str, Any]
AddHandler = Callable[[Obj], None]
UpdateHandler = Callable[[Obj, Obj], None]
DeleteHandler = Callable[[Obj], None]


def object_key(obj: Obj) -> str:
    """"namespace/name" for namespaced objects, "name" for cluster-scoped ones."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


@dataclass
class _Handlers:
    on_add: AddHandler | None = None
    on_update: UpdateHandler | None = None
    on_delete: DeleteHandler | None = None


@dataclass
class Informer:
    client: ApiClient
    resource: Resource
    namespace: str | None = None
    label_selector: str = ""
    field_selector: str = ""
    # Watches end now and then (server timeout) so a lost connection is noticed.
    watch_timeout_seconds: int = 300
    # Keep only kind, apiVersion and metadata of each object (kube's metadata informers),
    # for components that read nothing else: a cache of every kind then costs little.
    metadata_only: bool = False
    # Or keep what this makes of each object (client-go's SetTransform), for a reader of a
    # few fields. It must keep metadata's name, namespace and resourceVersion: the cache is
    # keyed by them and the watch resumes from the last.
    transform: Callable[[Obj], Obj] | None = None
    # Objects per LIST page: a smaller page is a smaller peak of decoded JSON at a re-list.
    page_size: int = 500
    rng: random.Random = field(default_factory=random.Random)
    synced: asyncio.Event = field(default_factory=asyncio.Event)
    _cache: dict[str, Obj] = field(default_factory=dict)
    _handlers: list[_Handlers] = field(default_factory=list)
    _resource_version: str = ""

    def add_handlers(self, on_add: AddHandler | None = None,
                     on_update: UpdateHandler | None = None,
                     on_delete: DeleteHandler | None = None) -> None:
        """Handlers run synchronously in the informer's task: they should only enqueue.
        A handler added after the first sync is replayed the current contents as adds."""
        h = _Handlers(on_add, on_update, on_delete)
        self._handlers.append(h)
        if self.synced.is_set() and on_add:
            for obj in list(self._cache.values()):
                on_add(obj)

    def get(self, key: str) -> Obj | None:
        return self._cache.get(key)

    def list(self) -> builtins.list[Obj]:
        return list(self._cache.values())

    def keys(self) -> builtins.list[str]:
        return list(self._cache)

    def view(self) -> Mapping[str, Obj]:
        """The cache, read-only and not copied: key -> object (a cluster-scoped kind's key
        is its name). For a lookup by key in code that takes a mapping."""
        return MappingProxyType(self._cache)

    @property
    def resource_version(self) -> str:
        return self._resource_version

    async def run(self) -> None:
        """List, then watch from the list's resourceVersion; re-list when the watch
        expires (410) and back off on errors. Runs until cancelled."""
        backoff = 0.2
        while True:
            try:
                await self._list()
                backoff = 0.2
                while True:
                    await self._watch()
            except ApiError as e:
                if e.code == 410:
                    continue  # expired: re-list at once
                # 404: the resource is not served (a custom resource whose CRD went, or is
                # not there yet): waited for quietly, not warned about every few seconds.
                level = logging.DEBUG if e.code == 404 else logging.WARNING
                log.log(level, "informer %s: %s; retrying in %.1fs", self.resource, e,
                        backoff)
            except Exception as e:
                # Any failure of the connection (aiohttp's errors are not all OSErrors) or
                # of the stream: the cache must outlive it, so list again after a pause.
                log.warning("informer %s: %s: %s; retrying in %.1fs", self.resource,
                            type(e).__name__, e, backoff)
            await asyncio.sleep(backoff * (1 + self.rng.random()))
            backoff = min(backoff * 2, 10.0)

    async def _list(self) -> None:
        items: builtins.list[Obj] = []
        token = ""
        while True:
            page = await self.client.list(
                self.resource, namespace=self.namespace, label_selector=self.label_selector,
                field_selector=self.field_selector, limit=self.page_size, continue_token=token,
            )
            for item in page.get("items") or []:
                # List items carry no kind; handlers expect whole objects.
                item.setdefault("kind", self.resource.kind)
                item.setdefault("apiVersion", self.resource.api_version)
                items.append(self._kept(item))
            meta = page.get("metadata") or {}
            token = meta.get("continue") or ""
            if not token:
                self._resource_version = meta.get("resourceVersion", "")
                break
        self._replace(items)
        self.synced.set()

    def _replace(self, items: builtins.list[Obj]) -> None:
        fresh = {object_key(o): o for o in items}
        old = self._cache
        self._cache = fresh
        for key, obj in old.items():
            if key not in fresh:
                self._fire_delete(obj)
        for key, obj in fresh.items():
            before = old.get(key)
            if before is None:
                self._fire_add(obj)
            elif _rv(before) != _rv(obj):
                self._fire_update(before, obj)

    async def _watch(self) -> None:
        stream = self.client.watch(
            self.resource, namespace=self.namespace, resource_version=self._resource_version,
            label_selector=self.label_selector, field_selector=self.field_selector,
            allow_bookmarks=True,
            timeout_seconds=int(self.watch_timeout_seconds * (1 + self.rng.random())),
        )
        async with aclosing(stream):  # type: ignore[type-var]
            async for event in stream:
                obj = self._kept(event.object)
                rv = _rv(obj)
                if rv:
                    self._resource_version = rv
                if event.type == "BOOKMARK":
                    continue
                key = object_key(obj)
                if event.type == "DELETED":
                    gone = self._cache.pop(key, None)
                    self._fire_delete(gone if gone is not None else obj)
                    continue
                before = self._cache.get(key)
                self._cache[key] = obj
                if before is None:
                    self._fire_add(obj)
                else:
                    self._fire_update(before, obj)

    def _kept(self, obj: Obj) -> Obj:
        if self.transform is not None:
            return self.transform(obj)
        if not self.metadata_only:
            return obj
        return {"apiVersion": obj.get("apiVersion", self.resource.api_version),
                "kind": obj.get("kind", self.resource.kind), "metadata": obj.get("metadata")}

    def _fire_add(self, obj: Obj) -> None:
        for h in self._handlers:
            if h.on_add:
                self._call(h.on_add, obj)

    def _fire_update(self, old: Obj, new: Obj) -> None:
        for h in self._handlers:
            if h.on_update:
                self._call(h.on_update, old, new)

    def _fire_delete(self, obj: Obj) -> None:
        for h in self._handlers:
            if h.on_delete:
                self._call(h.on_delete, obj)

    def _call(self, handler: Callable[..., None], *objs: Obj) -> None:
        """One handler failing on one object (a bug, or an object it did not expect) must
        not stop the others, nor the cache that every component shares."""
        try:
            handler(*objs)
        except Exception:
            meta = objs[-1].get("metadata") or {}
            log.exception("informer %s: handler %s failed on %s/%s", self.resource,
                          getattr(handler, "__qualname__", handler), meta.get("namespace", ""),
                          meta.get("name", ""))


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


@dataclass
class InformerFactory:
    """Hands out one shared informer per (resource, namespace, selectors) and runs them all."""

    client: ApiClient
    # (resource, namespace, labels, fields, late full copy of a metadata-only one) -> informer
    _informers: dict[tuple[Resource, str | None, str, str, bool], Informer] = \
        field(default_factory=dict)
    _tasks: TaskSet | None = None  # while running

    def informer(self, resource: Resource, *, namespace: str | None = None,
                 label_selector: str = "", field_selector: str = "",
                 metadata_only: bool = False) -> Informer:
        """The shared informer for these selectors. A full one serves a metadata-only
        request too; a metadata-only one handed out earlier becomes full for a full
        request (before the factory runs; after that a separate full one is started)."""
        key = (resource, namespace, label_selector, field_selector, False)
        inf = self._informers.get(key)
        if inf is not None and inf.metadata_only and not metadata_only:
            if self._tasks is None:
                inf.metadata_only = False
            else:
                key = (resource, namespace, label_selector, field_selector, True)
                inf = self._informers.get(key)
        if inf is None:
            inf = Informer(self.client, resource, namespace, label_selector, field_selector,
                           metadata_only=metadata_only)
            self._informers[key] = inf
            if self._tasks is not None:
                self._start(self._tasks, inf)
        return inf

    @staticmethod
    def _start(tasks: TaskSet, inf: Informer) -> None:
        tasks.spawn(f"informer:{inf.resource}", inf.run(), critical=True)

    async def run(self) -> None:
        """Runs every informer handed out, now or later, until cancelled. An informer
        only ends by a bug; then this raises ChildTaskFailed, so the supervisor stops the
        cluster rather than let every component work from a cache that no longer follows
        the API."""
        tasks = self._tasks = TaskSet("informers", logger=log)
        for inf in list(self._informers.values()):
            self._start(tasks, inf)
        try:
            await tasks.wait_failure()
        finally:
            self._tasks = None
            await tasks.close()
