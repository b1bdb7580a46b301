"""MemoryKV: the `KV` protocol over the MVCC state machine, in memory, with no durability."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Sequence

from minikube_py.store.lease import LeaseDeadlines, new_lease_id
from minikube_py.store.mvcc import MVCCStore
from minikube_py.store.types import (
    Compare,
    LeaseNotFoundError,
    Op,
    RangeResult,
    StoreClosedError,
    TxnResult,
)
from minikube_py.store.watch import Watcher, WatchHub
from minikube_py.tasks import TaskSet


class MemoryKV:
    """A single-process store for tests and throwaway clusters: every call applies at once.

    Lease expiry runs in a background task started by the first `lease_grant`
    (so it needs a running loop, which every async method has); `close()` stops it.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        lease_check_interval: float = 0.5,
    ) -> None:
        self._mvcc = MVCCStore()
        self._hub = WatchHub()
        self._clock = clock
        self._rng = rng or random.Random()
        self._deadlines = LeaseDeadlines()
        self._lease_check_interval = lease_check_interval
        self._tasks = TaskSet("memorykv")
        self._expiring = False
        self._closed = False

    @property
    def revision(self) -> int:
        return self._mvcc.revision

    @property
    def compact_revision(self) -> int:
        return self._mvcc.compact_revision

    @property
    def mvcc(self) -> MVCCStore:
        return self._mvcc

    async def range(
        self,
        key: bytes,
        range_end: bytes = b"",
        *,
        revision: int = 0,
        limit: int = 0,
        count_only: bool = False,
    ) -> RangeResult:
        self._check_open()
        return self._mvcc.range(
            key, range_end, revision=revision, limit=limit, count_only=count_only
        )

    async def txn(self, compares: list[Compare], success: list[Op], failure: list[Op]) -> TxnResult:
        self._check_open()
        result, events = self._mvcc.txn(compares, success, failure)
        self._hub.publish(events)
        return result

    async def compact(self, revision: int) -> None:
        self._check_open()
        self._mvcc.compact(revision)

    async def lease_grant(self, ttl_seconds: int) -> int:
        self._check_open()
        lease_id = new_lease_id(self._rng, {lease.id for lease in self._mvcc.leases()})
        self._mvcc.lease_grant(lease_id, ttl_seconds)
        self._deadlines.grant(lease_id, ttl_seconds, self._clock())
        if not self._expiring:
            self._expiring = True
            self._tasks.spawn("lease-expiry", self._expire_leases_forever(), critical=True)
        return lease_id

    async def lease_revoke(self, lease_id: int) -> None:
        self._check_open()
        self._deadlines.forget(lease_id)
        self._hub.publish(self._mvcc.lease_revoke(lease_id))

    async def lease_keepalive(self, lease_id: int) -> float:
        """Restart the lease's TTL; returns the TTL in seconds (etcd's LeaseKeepAlive)."""
        self._check_open()
        if not self._deadlines.keepalive(lease_id, self._clock()):
            raise LeaseNotFoundError(lease_id)
        return self._deadlines.remaining(lease_id, self._clock())

    def expire_leases(self) -> Sequence[int]:
        """Revoke every lease past its deadline now; returns their ids."""
        expired = self._deadlines.take_expired(self._clock())
        for lease_id in expired:
            self._deadlines.forget(lease_id)
            with contextlib.suppress(LeaseNotFoundError):
                self._hub.publish(self._mvcc.lease_revoke(lease_id))
        return expired

    def watch(
        self,
        key: bytes,
        range_end: bytes = b"",
        *,
        start_revision: int = 0,
        prev_kv: bool = False,
    ) -> Watcher:
        return self._hub.open(self._mvcc, key, range_end, start_revision, prev_kv)

    async def close(self) -> None:
        self._closed = True
        self._hub.close_all()
        await self._tasks.close()

    async def _expire_leases_forever(self) -> None:
        while True:
            await asyncio.sleep(self._lease_check_interval)
            self.expire_leases()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError("store closed")
