"""A keyed work queue for reconcile loops (client-go's rate-limited workqueue): a key is
queued at most once, never handed to two workers at once, and failures retry with
per-key exponential backoff."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from minikube_py.metrics.workqueue import QueueMetrics
from minikube_py.tasks import ChildTaskFailed, TaskSet

log = logging.getLogger("minikube_py.workqueue")


class ShutDown(Exception):
    """The queue was shut down while a worker waited for a key."""


@dataclass
class WorkQueue:
    name: str = "queue"
    base_delay: float = 0.005
    max_delay: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _queue: deque[str] = field(default_factory=deque)
    _dirty: set[str] = field(default_factory=set)  # queued, or to requeue once done
    _processing: set[str] = field(default_factory=set)
    _failures: dict[str, int] = field(default_factory=dict)
    _timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    _waiters: deque[asyncio.Future[None]] = field(default_factory=deque)
    _shut_down: bool = False
    # Counted in these when set (WorkqueueMetrics.for_queue): then when each key was queued
    # and taken is kept too.
    metrics: QueueMetrics | None = None
    _queued_at: dict[str, float] = field(default_factory=dict)
    _taken_at: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: str) -> None:
        if self._shut_down or key in self._dirty:
            return
        self._dirty.add(key)
        if self.metrics is not None:
            self.metrics.added()
            self._queued_at.setdefault(key, self.clock())
        if key in self._processing:
            return  # `done` puts it back: one key is never synced twice at once
        self._queue.append(key)
        self._notify()

    def add_after(self, key: str, delay: float) -> None:
        """Queue `key` after `delay` seconds (an earlier pending timer wins)."""
        if self._shut_down:
            return
        if delay <= 0:
            self.add(key)
            return
        existing = self._timers.get(key)
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        if existing is not None:
            if existing.when() <= when:
                return
            existing.cancel()
        self._timers[key] = loop.call_at(when, self._fire, key)

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: str) -> None:
        if self.metrics is not None:
            self.metrics.retried()
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        self.add_after(key, min(self.max_delay, self.base_delay * 2 ** failures))

    def forget(self, key: str) -> None:
        """Stop tracking failures of `key` (it synced fine)."""
        self._failures.pop(key, None)

    def failures(self, key: str) -> int:
        return self._failures.get(key, 0)

    @property
    def is_shut_down(self) -> bool:
        return self._shut_down

    async def get(self) -> str:
        while not self._queue:
            if self._shut_down:
                raise ShutDown(self.name)
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        key = self._queue.popleft()
        self._dirty.discard(key)
        self._processing.add(key)
        if self.metrics is not None:
            now = self.clock()
            self.metrics.waited(now - self._queued_at.pop(key, now))
            self._taken_at[key] = now
        return key

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if self.metrics is not None:
            now = self.clock()
            self.metrics.worked(now - self._taken_at.pop(key, now))
        if key in self._dirty:
            self._queue.append(key)
            self._notify()

    def shut_down(self) -> None:
        self._shut_down = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        while self._waiters:
            self._notify()

    def _notify(self) -> None:
        """Wake one waiting worker."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


async def run_workers(queue: WorkQueue, sync: Callable[[str], Awaitable[None]], *,
                      workers: int = 1) -> None:
    """Run `sync(key)` for queued keys on `workers` concurrent workers until cancelled or
    the queue is shut down. A sync that raises is retried with backoff; one that returns
    resets the backoff."""

    async def worker() -> None:
        while True:
            # Yield every round: a sync that never awaits and requeues itself at once
            # must not starve the rest of the event loop.
            await asyncio.sleep(0)
            try:
                key = await queue.get()
            except ShutDown:
                return
            try:
                await sync(key)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("%s: syncing %s failed (attempt %d): %s", queue.name, key,
                            queue.failures(key) + 1, e,
                            exc_info=log.isEnabledFor(logging.DEBUG))
                queue.add_rate_limited(key)
            else:
                queue.forget(key)
            finally:
                queue.done(key)

    tasks = TaskSet(queue.name, logger=log)
    for i in range(workers):
        tasks.spawn(f"worker-{i}", worker(), critical=True)
    try:
        await tasks.wait_failure()
    except ChildTaskFailed as e:
        if not (e.cause is None and queue.is_shut_down):
            raise  # a worker died of a bug (logged with its traceback by the task guard)
    finally:
        queue.shut_down()
        await tasks.close()
