"""API watches: initial state, resume from a resourceVersion, bookmarks, timeouts."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from minikube_py.api.resources import Resource
from minikube_py.api.selectors import ObjectFilter
from minikube_py.apiserver import storage
from minikube_py.apiserver.watchcache import CachedEvent, direct_store_events

if TYPE_CHECKING:
    from minikube_py.apiserver.service import ApiService


async def watch_events(svc: ApiService, resource: Resource, namespace: str | None, flt: ObjectFilter,
                       resource_version: str = "", *, allow_bookmarks: bool = False,
                       timeout_seconds: float | None = None,
                       initial_events_end: bool = False,
                       ) -> AsyncGenerator[tuple[str, CachedEvent | dict[str, Any]], None]:
    """(type, event) pairs; initial state first when resource_version is "" or "0".
    Dict payloads are fresh objects (initial state, bookmarks); CachedEvents are shared."""
    prefix = storage.list_prefix(resource, namespace if resource.namespaced else None)
    rev = storage.parse_resource_version(resource_version)
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    await svc.fanout.ready.wait()
    initial: list[dict[str, Any]] = []
    if rev == 0:
        w = svc.fanout.subscribe(prefix, flt, svc.fanout.revision)
        assert w is not None
        listed = await svc.list_objects(resource, namespace, flt)
        w.after_revision = listed.revision
        initial, last = listed.items, listed.revision
    else:
        w = svc.fanout.subscribe(prefix, flt, rev)
        last = rev
    try:
        for obj in initial:
            yield "ADDED", obj
        if initial_events_end:
            # The watch-list protocol: a bookmark marks the end of the initial state.
            yield "BOOKMARK", {"kind": resource.kind, "apiVersion": resource.api_version,
                               "metadata": {"resourceVersion": str(last), "annotations": {
                                   "k8s.io/initial-events-end": "true"}}}
        if w is None:
            async for kind, ev in direct_store_events(svc.kv, prefix, flt, rev):
                if deadline is not None and time.monotonic() > deadline:
                    return
                yield kind, ev
            return
        while True:
            wait = svc.bookmark_interval if allow_bookmarks else None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                wait = left if wait is None else min(wait, left)
            batch = await w.next_batch(wait)
            if batch is None:
                return
            if not batch:
                if allow_bookmarks and svc.fanout.revision > last and \
                        (deadline is None or time.monotonic() < deadline):
                    last = svc.fanout.revision
                    yield "BOOKMARK", {"kind": resource.kind,
                                       "apiVersion": resource.api_version,
                                       "metadata": {"resourceVersion": str(last)}}
                continue
            for kind, ev in batch:
                last = ev.revision
                yield kind, ev
    finally:
        if w is not None:
            svc.fanout.unsubscribe(w)

