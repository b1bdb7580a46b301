"""Watch streams: fan out each applied revision's events to the watchers whose range matches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from minikube_py.store.mvcc import MVCCStore, key_in_range
from minikube_py.store.types import CompactedError, Event, StoreClosedError


class Watcher:
    """One watch: an async iterator of event batches (implements `WatchStream`).

    The queue is unbounded: a consumer that never reads grows memory (etcd would
    cancel a slow watcher; the API server's watch cache always reads).
    """

    def __init__(
        self,
        hub: WatchHub,
        key: bytes,
        range_end: bytes,
        start_revision: int,
        prev_kv: bool,
        error: Exception | None = None,
    ) -> None:
        self._hub = hub
        self.key = key
        self.range_end = range_end
        self.start_revision = start_revision
        self.prev_kv = prev_kv
        self._queue: asyncio.Queue[list[Event] | None] = asyncio.Queue()
        self._error = error
        self._closed = False

    def __aiter__(self) -> AsyncIterator[list[Event]]:
        return self

    async def __anext__(self) -> list[Event]:
        if self._error is not None:
            error, self._error = self._error, None
            self._closed = True
            raise error
        if self._closed:
            raise StopAsyncIteration
        batch = await self._queue.get()
        if batch is None:
            self._closed = True
            raise StopAsyncIteration
        return batch

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._hub.discard(self)
            self._queue.put_nowait(None)

    def offer(self, events: list[Event]) -> None:
        """Queue the events of one revision that fall in this watcher's range."""
        if events[0].kv.mod_revision < self.start_revision:
            return
        start, end = self.key, self.range_end
        if self.prev_kv:
            matched = [e for e in events if key_in_range(e.kv.key, start, end)]
        else:
            matched = [
                e if e.prev_kv is None else Event(e.type, e.kv)
                for e in events
                if key_in_range(e.kv.key, start, end)
            ]
        if matched:
            self._queue.put_nowait(matched)

    def fail(self, error: Exception) -> None:
        self._error = error
        self._queue.put_nowait(None)


class WatchHub:
    """All open watchers of one store; `publish` is called once per applied revision."""

    def __init__(self) -> None:
        self._watchers: set[Watcher] = set()
        self._closed = False
        self._error: Exception | None = None

    def __len__(self) -> int:
        return len(self._watchers)

    def open(
        self,
        mvcc: MVCCStore,
        key: bytes,
        range_end: bytes,
        start_revision: int,
        prev_kv: bool,
    ) -> Watcher:
        """A watcher caught up from history; raises (on first iteration) CompactedError."""
        if self._closed:
            error = self._error or StoreClosedError("store closed")
            return Watcher(self, key, range_end, 0, prev_kv, error)
        if start_revision <= 0:
            start_revision = mvcc.revision + 1
        try:
            backlog = mvcc.events_since(start_revision)
        except CompactedError as e:
            return Watcher(self, key, range_end, start_revision, prev_kv, e)
        watcher = Watcher(self, key, range_end, start_revision, prev_kv)
        for batch in backlog:
            watcher.offer(batch)
        self._watchers.add(watcher)
        return watcher

    def publish(self, events: list[Event]) -> None:
        if events:
            for watcher in self._watchers:
                watcher.offer(events)

    def discard(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def close_all(self, error: Exception | None = None) -> None:
        """End every stream (their iteration stops) and refuse new ones: with `error` if
        given (the store failed), else StoreClosedError."""
        if not self._closed:
            self._error = error
        self._closed = True
        for watcher in list(self._watchers):
            watcher.close()
