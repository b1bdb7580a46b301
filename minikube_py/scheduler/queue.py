"""The scheduling queue: pods waiting for a node, with backoff for failed attempts and a
parking lot for unschedulable pods that a cluster change may help."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


@dataclass
class SchedulingQueue:
    """Pure: time comes from `clock`; the async shell polls `pop_ready` and sleeps until
    `next_ready_at`. Pods are identified by uid; the latest copy of each is kept."""

    clock: Callable[[], float]
    initial_backoff: float = 1.0
    max_backoff: float = 10.0
    # Unschedulable pods are retried at least this often even with no cluster event.
    max_unschedulable_seconds: float = 300.0
    _pods: dict[str, Obj] = field(default_factory=dict)
    _active: list[tuple[int, float, int, str]] = field(default_factory=list)
    _in_active: set[str] = field(default_factory=set)
    _backoff: dict[str, float] = field(default_factory=dict)  # uid -> ready at
    _unschedulable: dict[str, float] = field(default_factory=dict)  # uid -> parked at
    _attempts: dict[str, int] = field(default_factory=dict)
    _in_flight: set[str] = field(default_factory=set)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def __len__(self) -> int:
        return len(self._pods)

    def pending_counts(self) -> dict[str, int]:
        """Pods waiting in each part of the queue (kube's scheduler_pending_pods); one
        being scheduled now is in none."""
        return {"active": len(self._in_active), "backoff": len(self._backoff),
                "unschedulable": len(self._unschedulable), "gated": 0}

    def add(self, pod: Obj) -> None:
        """A new or updated pending pod. An update to a parked pod retries it."""
        uid = pod["metadata"]["uid"]
        self._pods[uid] = pod
        if uid in self._in_flight or uid in self._in_active or uid in self._backoff:
            return
        self._unschedulable.pop(uid, None)
        self._push(uid, pod)

    def refresh(self, pod: Obj) -> None:
        """Keep the latest copy of a queued pod without changing where it waits; a pod
        not queued yet is added."""
        uid = pod["metadata"]["uid"]
        if uid in self._pods:
            self._pods[uid] = pod
        else:
            self.add(pod)

    def delete(self, uid: str) -> None:
        self._pods.pop(uid, None)
        self._backoff.pop(uid, None)
        self._unschedulable.pop(uid, None)
        self._attempts.pop(uid, None)
        self._in_active.discard(uid)  # its heap entry is skipped when popped

    def done(self, uid: str) -> None:
        """The pod was bound: forget it."""
        self._in_flight.discard(uid)
        self.delete(uid)

    def requeue_backoff(self, uid: str) -> None:
        """An attempt failed for a transient reason (e.g. the bind call failed)."""
        self._in_flight.discard(uid)
        if uid not in self._pods:
            return
        self._backoff[uid] = self.clock() + self._backoff_for(uid)

    def park_unschedulable(self, uid: str) -> None:
        """No node fits: wait for a cluster change (or the periodic flush)."""
        self._in_flight.discard(uid)
        if uid not in self._pods:
            return
        self._unschedulable[uid] = self.clock()

    def cluster_changed(self) -> None:
        """A node appeared or changed, or a pod went away: parked pods may fit now. They go
        through backoff so a flapping cluster does not spin the scheduler."""
        now = self.clock()
        for uid in list(self._unschedulable):
            del self._unschedulable[uid]
            self._backoff[uid] = now + self._backoff_for(uid) if self._attempts.get(uid) else now

    def pop_ready(self) -> Obj | None:
        self._flush(self.clock())
        while self._active:
            _, _, _, uid = heapq.heappop(self._active)
            if uid not in self._in_active:
                continue
            self._in_active.discard(uid)
            pod = self._pods.get(uid)
            if pod is None:
                continue
            self._in_flight.add(uid)
            self._attempts[uid] = self._attempts.get(uid, 0) + 1
            return pod
        return None

    def next_ready_at(self) -> float | None:
        """When a backed-off or parked pod becomes ready, if none is ready now."""
        times = list(self._backoff.values())
        times += [t + self.max_unschedulable_seconds for t in self._unschedulable.values()]
        return min(times) if times else None

    def _flush(self, now: float) -> None:
        for uid, ready_at in list(self._backoff.items()):
            if ready_at <= now:
                del self._backoff[uid]
                if uid in self._pods:
                    self._push(uid, self._pods[uid])
        for uid, parked_at in list(self._unschedulable.items()):
            if parked_at + self.max_unschedulable_seconds <= now:
                del self._unschedulable[uid]
                if uid in self._pods:
                    self._push(uid, self._pods[uid])

    def _push(self, uid: str, pod: Obj) -> None:
        priority = int((pod.get("spec") or {}).get("priority") or 0)
        heapq.heappush(self._active, (-priority, self.clock(), next(self._seq), uid))
        self._in_active.add(uid)

    def _backoff_for(self, uid: str) -> float:
        attempts = max(1, self._attempts.get(uid, 1))
        return float(min(self.max_backoff, self.initial_backoff * 2 ** (attempts - 1)))
