"""Expectations (kube's UIDTrackingControllerExpectations): after a controller asks for pods
to be created or deleted, it waits to see that in its cache before acting on that owner
again, so a stale cache never makes it act twice. Creations are counted (their names are
not known in advance); deletions are tracked by pod uid, so the deletion of some other pod,
or a second event about the same one, never stands in for the one awaited."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

EXPECTATIONS_TTL = 300.0  # give up waiting (a watch event was lost) after 5 minutes


@dataclass
class _Pending:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)
    since: float = 0.0


@dataclass
class Expectations:
    clock: Callable[[], float] = time.monotonic
    ttl: float = EXPECTATIONS_TTL
    _pending: dict[str, _Pending] = field(default_factory=dict)

    def _raise(self, key: str) -> _Pending:
        pending = self._pending.setdefault(key, _Pending())
        pending.since = self.clock()
        return pending

    def expect_creations(self, key: str, count: int) -> None:
        """`count` more pods of `key` are being created; adds to what is awaited already."""
        if count > 0:
            self._raise(key).adds += count

    def expect_deletions(self, key: str, uids: Iterable[str]) -> None:
        """The pods with these uids are being deleted."""
        uids = set(uids)
        if uids:
            self._raise(key).deletes |= uids

    def creation_observed(self, key: str) -> None:
        """A pod of `key` appeared, or a create call failed (it never will)."""
        pending = self._pending.get(key)
        if pending is not None:
            pending.adds -= 1

    def deletion_observed(self, key: str, uid: str) -> None:
        """The pod with `uid` is going or gone, or deleting it failed. Idempotent."""
        pending = self._pending.get(key)
        if pending is not None:
            pending.deletes.discard(uid)

    def satisfied(self, key: str) -> bool:
        """Nothing awaited for `key` (or the wait timed out): the controller may act."""
        pending = self._pending.get(key)
        if pending is None:
            return True
        if (pending.adds <= 0 and not pending.deletes) or \
                self.clock() - pending.since > self.ttl:
            del self._pending[key]
            return True
        return False

    def forget(self, key: str) -> None:
        """The owner is gone."""
        self._pending.pop(key, None)
