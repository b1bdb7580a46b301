"""Lease expiry bookkeeping: which leases are due at a given time (pure; the caller owns the clock)."""

from __future__ import annotations

import random
from collections.abc import Container


class LeaseDeadlines:
    """Expiry deadlines of leases, held only by the member that enforces them (the leader).

    Like etcd, deadlines are not replicated: a new leader restarts every lease's
    full TTL (`reset`), so a lease never expires early, only late.
    """

    def __init__(self) -> None:
        self._deadline: dict[int, float] = {}
        self._ttl: dict[int, int] = {}
        self._revoking: set[int] = set()

    def __contains__(self, lease_id: int) -> bool:
        return lease_id in self._deadline

    def grant(self, lease_id: int, ttl: int, now: float) -> None:
        self._ttl[lease_id] = ttl
        self._deadline[lease_id] = now + ttl

    def keepalive(self, lease_id: int, now: float) -> bool:
        if lease_id not in self._deadline or lease_id in self._revoking:
            return False
        self._deadline[lease_id] = now + self._ttl[lease_id]
        return True

    def remaining(self, lease_id: int, now: float) -> float:
        return max(0.0, self._deadline[lease_id] - now) if lease_id in self._deadline else -1.0

    def forget(self, lease_id: int) -> None:
        self._deadline.pop(lease_id, None)
        self._ttl.pop(lease_id, None)
        self._revoking.discard(lease_id)

    def reset(self, leases: dict[int, int], now: float) -> None:
        """Start every lease's TTL afresh (on becoming leader or after a restart)."""
        self._deadline = {lid: now + ttl for lid, ttl in leases.items()}
        self._ttl = dict(leases)
        self._revoking.clear()

    def take_expired(self, now: float) -> list[int]:
        """Leases past their deadline that are not already being revoked; marks them revoking."""
        due = [lid for lid, t in self._deadline.items() if t <= now and lid not in self._revoking]
        self._revoking.update(due)
        return sorted(due)

    def retry(self, lease_id: int) -> None:
        """A revoke failed (e.g. lost leadership); let `take_expired` offer it again."""
        self._revoking.discard(lease_id)


def new_lease_id(rng: random.Random, taken: Container[int]) -> int:
    """A positive 63-bit id not in `taken` (etcd's ids are int64 > 0)."""
    while True:
        lease_id = rng.getrandbits(63)
        if lease_id and lease_id not in taken:
            return lease_id
