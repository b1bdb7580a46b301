"""One serial worker per pod UID: a sync never runs twice at once for a pod; requests that
arrive during a sync coalesce into one more sync; failures retry with back-off. Workers are
detached children in a TaskSet: one that breaks is logged and its pod tried again later."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from minikube_py.tasks import TaskSet

log = logging.getLogger("minikube_py.kubelet.workers")

SyncFn = Callable[[str], Awaitable[float | None]]  # returns "sync me again in N s" or None


class PodWorkers:
    def __init__(self, sync: SyncFn, *, retry_initial: float = 0.5,
                 retry_max: float = 30.0) -> None:
        self._sync = sync
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._children = TaskSet("pod-worker", logger=log)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._dirty: set[str] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._failures: dict[str, int] = {}
        self._closed = False

    def enqueue(self, uid: str) -> None:
        if self._closed:
            return  # stopping: a late informer event or probe result has nothing to start
        if uid in self._tasks:
            self._dirty.add(uid)
            return
        self._tasks[uid] = self._children.spawn(uid, self._work(uid),
                                                on_error=lambda _e: self._retry_later(uid))

    def enqueue_after(self, uid: str, delay: float) -> None:
        old = self._timers.pop(uid, None)
        if old is not None:
            old.cancel()
        self._timers[uid] = asyncio.get_running_loop().call_later(
            max(0.0, delay), self._fire_timer, uid)

    def _retry_later(self, uid: str) -> None:
        """A worker that broke (the task set logs why) leaves its pod to a later retry."""
        if not self._closed:
            self.enqueue_after(uid, self._retry_max)

    def _fire_timer(self, uid: str) -> None:
        self._timers.pop(uid, None)
        self.enqueue(uid)

    def forget(self, uid: str) -> None:
        timer = self._timers.pop(uid, None)
        if timer is not None:
            timer.cancel()
        self._failures.pop(uid, None)

    @property
    def busy(self) -> set[str]:
        return set(self._tasks)

    async def _work(self, uid: str) -> None:
        try:
            while True:
                self._dirty.discard(uid)
                try:
                    again = await self._sync(uid)
                    self._failures.pop(uid, None)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    n = self._failures.get(uid, 0)
                    self._failures[uid] = n + 1
                    again = min(self._retry_initial * 2 ** min(n, 30), self._retry_max)
                    log.warning("sync of pod %s failed; retrying in %.1fs", uid, again,
                                exc_info=True)
                if again is not None:
                    self.enqueue_after(uid, again)
                if uid not in self._dirty:
                    return
        finally:
            self._tasks.pop(uid, None)

    async def close(self) -> None:
        self._closed = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        await self._children.close()
