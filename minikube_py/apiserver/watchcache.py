"""Watch fan-out: one store watch on /registry/ feeds every API watch through bounded queues."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import Resource
from minikube_py.api.selectors import ObjectFilter
from minikube_py.apiserver.storage import REGISTRY, decode, too_old, with_revision
from minikube_py.store.types import KV, CompactedError, Event, EventType, KeyValue, prefix_end
from minikube_py.tasks import TaskSet

log = logging.getLogger(__name__)

HISTORY_EVENTS = 10_000  # recent events kept so watches from a recent resourceVersion replay
# Events whose decoded object and watch lines stay cached: the ones watchers are still
# taking. Older history keeps its bytes only (a replay decodes again).
HOT_EVENTS = 512
MAX_PENDING = 10_000  # a watcher further behind than this is dropped (the client re-lists)


class CachedEvent:
    """One store event, decoded at most once however many watchers see it."""

    __slots__ = ("_lines", "_obj", "_prev", "deleted", "key", "prev_revision", "prev_value",
                 "revision", "value")

    def __init__(self, ev: Event) -> None:
        self.key = ev.kv.key
        self.revision = ev.kv.mod_revision
        self.deleted = ev.type is EventType.DELETE
        self.value = ev.kv.value
        self.prev_value = ev.prev_kv.value if ev.prev_kv is not None else None
        self.prev_revision = ev.prev_kv.mod_revision if ev.prev_kv is not None else 0
        self._obj: dict[str, Any] | None = None
        self._prev: dict[str, Any] | None = None
        self._lines: dict[str, bytes] = {}

    @classmethod
    def of_stored(cls, kv: KeyValue) -> CachedEvent:
        """An object as listed: the initial state of a watch, sent as ADDED."""
        return cls(Event(EventType.PUT, kv))

    def object(self) -> dict[str, Any]:
        """The object the event carries (for a deletion: the last state, at the delete rev).
        Shared by every reader: never mutate it."""
        if self._obj is None:
            raw = self.prev_value if self.deleted else self.value
            self._obj = decode(raw or b"{}", self.revision)
        return self._obj

    def drop_cache(self) -> None:
        self._obj = self._prev = None
        self._lines = {}

    def previous(self) -> dict[str, Any] | None:
        if self.deleted:
            return self.object()
        if self.prev_value is None:
            return None
        if self._prev is None:
            self._prev = decode(self.prev_value, self.prev_revision)
        return self._prev

    def line(self, event_type: str) -> bytes:
        """The watch stream line for this event (JSON + newline), encoded once per type."""
        cached = self._lines.get(event_type)
        if cached is None:
            raw = (self.prev_value if self.deleted else self.value) or b"{}"
            cached = b"".join((b'{"type":"', event_type.encode(), b'","object":',
                               with_revision(raw, self.revision), b"}\n"))
            self._lines[event_type] = cached
        return cached


def classify(ev: CachedEvent, flt: ObjectFilter | None) -> str | None:
    """The watch event type a filtered watcher sees for `ev`, or None to skip it: an object
    that stops matching is DELETED for it, one that starts matching is ADDED."""
    if ev.deleted:
        if flt is None or flt.empty or flt.matches(ev.object()):
            return "DELETED"
        return None
    prev = ev.prev_value is not None
    if flt is None or flt.empty:
        return "MODIFIED" if prev else "ADDED"
    now = flt.matches(ev.object())
    before = prev and flt.matches(ev.previous() or {})
    if now:
        return "MODIFIED" if before else "ADDED"
    return "DELETED" if before else None


class Watcher:
    """One API watch's queue. The fan-out pushes synchronously; the request handler pulls."""

    def __init__(self, prefix: bytes, flt: ObjectFilter | None, after_revision: int) -> None:
        self.prefix = prefix
        self.filter = flt
        self.after_revision = after_revision  # deliver only events newer than this
        self.pending: collections.deque[tuple[str, CachedEvent]] = collections.deque()
        self.wakeup = asyncio.Event()
        self.closed = False
        self.overflowed = False
        # A watch of one object by name (an informer on `metadata.name=X`, as the root CA
        # publisher's): its key ends in "/X", and an object's name never changes, so every
        # other key is skipped without decoding its value.
        name = flt.fields.exact("metadata.name") if flt is not None else None
        self._key_suffix = b"/" + name.encode() if name else None

    def offer(self, ev: CachedEvent) -> None:
        if self.closed or ev.revision <= self.after_revision or not ev.key.startswith(self.prefix):
            return
        if self._key_suffix is not None and not ev.key.endswith(self._key_suffix):
            return
        kind = classify(ev, self.filter)
        if kind is None:
            return
        if len(self.pending) >= MAX_PENDING:
            self.overflowed = True
            self.close()
            return
        self.pending.append((kind, ev))
        self.wakeup.set()

    def close(self) -> None:
        self.closed = True
        self.wakeup.set()

    async def next_batch(self, timeout: float | None) -> list[tuple[str, CachedEvent]] | None:
        """Wait for events; [] on timeout, None once closed and drained."""
        while not self.pending:
            if self.closed:
                return None
            self.wakeup.clear()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that races with the wakeup (CPython gh-86296), leaving the watch unstoppable.
            try:
                async with asyncio.timeout(timeout):
                    await self.wakeup.wait()
            except TimeoutError:
                return []
        batch = [e for e in self.pending if e[1].revision > self.after_revision]
        self.pending.clear()
        return batch


class WatchFanout:
    """Reads the store's change stream once, keeps recent history, feeds the watchers."""

    def __init__(self, kv: KV, resource_of_key: Callable[[bytes], Resource | None]) -> None:
        self._kv = kv
        self._resource_of_key = resource_of_key
        self._watchers: set[Watcher] = set()
        self._history: collections.deque[CachedEvent] = collections.deque()
        self.revision = 0  # every event up to here has been dispatched
        self._history_start = 0  # every event after this revision is in the history
        self.ready = asyncio.Event()
        # Called with every event under their prefix before any watcher is offered it
        # (the authorizers' state, which must be current when a watcher acts on an event).
        self.listeners: list[tuple[tuple[bytes, ...], Callable[[CachedEvent], None]]] = []

    async def start(self, tasks: TaskSet, revision: int | None = None) -> None:
        """Follow the store from `revision` (by default its current one), as a critical
        child of `tasks`: the API server cannot serve watches without it."""
        self.revision = self._history_start = \
            self._kv.revision if revision is None else revision
        tasks.spawn("watch-fanout", self._run(), critical=True)

    def close_watchers(self, prefix: bytes = b"") -> None:
        """End the watches under `prefix` (all by default): a custom resource's, when its
        definition goes."""
        for w in list(self._watchers):
            if w.prefix.startswith(prefix):
                w.close()

    async def _run(self) -> None:
        stream = self._kv.watch(REGISTRY, prefix_end(REGISTRY),
                                start_revision=self.revision + 1, prev_kv=True)
        self.ready.set()
        try:
            async for batch in stream:
                self._dispatch(batch)
        finally:
            stream.close()
            self.close_watchers()

    def _dispatch(self, batch: list[Event]) -> None:
        for raw in batch:
            ev = CachedEvent(raw)
            if self._resource_of_key(ev.key) is None:
                continue
            self._history.append(ev)
            if len(self._history) > HOT_EVENTS:
                self._history[-HOT_EVENTS - 1].drop_cache()
            for prefixes, listener in self.listeners:
                if ev.key.startswith(prefixes):
                    listener(ev)
            for w in self._watchers:
                w.offer(ev)
            self.revision = max(self.revision, ev.revision)
        while len(self._history) > HISTORY_EVENTS:
            self._history_start = self._history.popleft().revision
        if batch:
            self.revision = max(self.revision, batch[-1].kv.mod_revision)

    def subscribe(self, prefix: bytes, flt: ObjectFilter | None,
                  after_revision: int) -> Watcher | None:
        """A watcher fed every change after `after_revision`, or None when that is older than
        the history (the caller then watches the store directly, which may answer 410)."""
        if after_revision < self._history_start:
            return None
        w = Watcher(prefix, flt, after_revision)
        if after_revision < self.revision:
            replay = []
            for ev in reversed(self._history):
                if ev.revision <= after_revision:
                    break
                replay.append(ev)
            for ev in reversed(replay):
                w.offer(ev)
        self._watchers.add(w)
        return w

    def unsubscribe(self, w: Watcher) -> None:
        self._watchers.discard(w)
        w.close()

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)

    def watchers_by_prefix(self) -> collections.Counter[bytes]:
        """How many watchers there are of each key prefix (for /metrics)."""
        return collections.Counter(w.prefix for w in self._watchers if not w.closed)


class StoreWatcher(Watcher):
    """The rare path for a watch older than the fan-out's history: a Watcher fed by a store
    watch of its own, so the request handler waits on it (timeouts, bookmarks) as on any."""

    def __init__(self, kv: KV, prefix: bytes, flt: ObjectFilter | None,
                 after_revision: int) -> None:
        super().__init__(prefix, flt, after_revision)
        self.progress = after_revision  # every store event up to here has been offered
        self.error: ApiError | None = None  # why the feed ended, for the watch's ERROR event
        self._task = asyncio.create_task(self._feed(kv), name="apiserver-store-watch")

    async def _feed(self, kv: KV) -> None:
        stream = kv.watch(self.prefix, prefix_end(self.prefix),
                          start_revision=self.after_revision + 1, prev_kv=True)
        try:
            async for batch in stream:
                for raw in batch:
                    self.offer(CachedEvent(raw))
                if self.closed:
                    return
                if batch:
                    self.progress = max(self.progress, batch[-1].kv.mod_revision)
        except CompactedError as e:
            self.error = too_old(self.after_revision, e.compact_revision)
        except Exception:
            log.exception("the store watch behind an API watch failed")
        finally:
            stream.close()
            self.close()

    async def stop(self) -> None:
        self.close()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
