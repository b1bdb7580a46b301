"""API watches: initial state, resume from a resourceVersion, bookmarks, timeouts."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any

from minikube_py.api.resources import Resource
from minikube_py.api.selectors import ObjectFilter
from minikube_py.apiserver import storage
from minikube_py.apiserver.rest.read import list_objects
from minikube_py.apiserver.watchcache import CachedEvent, StoreWatcher, WatchFanout
from minikube_py.store.types import KV, KeyValue


def watch_batches(fanout: WatchFanout, kv: KV, bookmark_interval: float, resource: Resource,
                  namespace: str | None, flt: ObjectFilter, resource_version: str = "", *,
                  allow_bookmarks: bool = False, timeout_seconds: float | None = None,
                  initial_events_end: bool = False) -> AsyncGenerator[Batch, None]:
    """Batches of (type, event) pairs, each what was ready at once; initial state first when
    resource_version is "" or "0".
    Objects come as CachedEvents (shared: read them, never change them); bookmarks as dicts.
    A bad resourceVersion raises here, before the caller starts a 200 response."""
    rev = storage.parse_resource_version(resource_version)
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    return _watch(fanout, kv, bookmark_interval, resource, namespace, flt, rev,
                  allow_bookmarks=allow_bookmarks, deadline=deadline,
                  initial_events_end=initial_events_end)


Batch = list[tuple[str, CachedEvent | dict[str, Any]]]
_INITIAL_BATCH = 500  # initial state goes out in batches of this many objects


async def _watch(fanout: WatchFanout, kv: KV, bookmark_interval: float, resource: Resource,
                 namespace: str | None, flt: ObjectFilter, rev: int, *, allow_bookmarks: bool,
                 deadline: float | None, initial_events_end: bool,
                 ) -> AsyncGenerator[Batch, None]:
    prefix = storage.list_prefix(resource, namespace if resource.namespaced else None)
    await fanout.ready.wait()
    initial: list[KeyValue] = []
    if rev == 0:
        w = fanout.subscribe(prefix, flt, fanout.revision)
        assert w is not None
        listed = await list_objects(kv, resource, namespace, flt)
        w.after_revision = listed.revision
        initial, last = listed.kvs, listed.revision
    else:
        w = fanout.subscribe(prefix, flt, rev) or StoreWatcher(kv, prefix, flt, rev)
        last = rev
    try:
        for i in range(0, len(initial), _INITIAL_BATCH):
            yield [("ADDED", CachedEvent.of_stored(s)) for s in initial[i:i + _INITIAL_BATCH]]
        if initial_events_end:
            # The watch-list protocol: a bookmark marks the end of the initial state.
            yield [("BOOKMARK", {"kind": resource.kind, "apiVersion": resource.api_version,
                                 "metadata": {"resourceVersion": str(last), "annotations": {
                                     "k8s.io/initial-events-end": "true"}}})]
        while True:
            wait = bookmark_interval if allow_bookmarks else None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                wait = left if wait is None else min(wait, left)
            batch = await w.next_batch(wait)
            if batch is None:
                if isinstance(w, StoreWatcher) and w.error is not None:
                    raise w.error
                return
            if not batch:
                # Every event up to `progress` has been delivered: a safe resume point.
                progress = w.progress if isinstance(w, StoreWatcher) else fanout.revision
                if allow_bookmarks and progress > last and \
                        (deadline is None or time.monotonic() < deadline):
                    last = progress
                    yield [("BOOKMARK", {"kind": resource.kind,
                                         "apiVersion": resource.api_version,
                                         "metadata": {"resourceVersion": str(last)}})]
                continue
            last = batch[-1][1].revision
            yield list(batch)
    finally:
        if isinstance(w, StoreWatcher):
            await w.stop()
        else:
            fanout.unsubscribe(w)
