"""Expectations (kube's ControllerExpectations): after a controller asks for N creations
or deletions, it waits to see them in its cache before acting on that key again, so a
stale cache never makes it act twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

EXPECTATIONS_TTL = 300.0  # give up waiting (a watch event was lost) after 5 minutes


@dataclass
class _Pending:
    adds: int
    deletes: int
    since: float


@dataclass
class Expectations:
    clock: Callable[[], float] = time.monotonic
    ttl: float = EXPECTATIONS_TTL
    _pending: dict[str, _Pending] = field(default_factory=dict)

    def expect(self, key: str, *, adds: int = 0, deletes: int = 0) -> None:
        self._pending[key] = _Pending(adds, deletes, self.clock())

    def observed_add(self, key: str) -> None:
        p = self._pending.get(key)
        if p is not None:
            p.adds -= 1

    def observed_delete(self, key: str) -> None:
        p = self._pending.get(key)
        if p is not None:
            p.deletes -= 1

    def lower(self, key: str, *, adds: int = 0, deletes: int = 0) -> None:
        """A create/delete call failed: do not wait for what will never come."""
        p = self._pending.get(key)
        if p is not None:
            p.adds -= adds
            p.deletes -= deletes

    def satisfied(self, key: str) -> bool:
        p = self._pending.get(key)
        if p is None:
            return True
        if (p.adds <= 0 and p.deletes <= 0) or self.clock() - p.since > self.ttl:
            del self._pending[key]
            return True
        return False

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)
