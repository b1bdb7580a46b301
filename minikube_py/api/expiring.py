"""A bounded cache of answers that each hold until a given time (remembered credentials
and authorization decisions). Pure: the caller says what time it is."""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ExpiringCache(Generic[K, V]):
    """`put(key, value, until)`; `get(key, now)` gives the value while `now < until`.
    Once `limit` entries are held it starts over (a bound on memory, not a tuning knob)."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._entries: dict[K, tuple[V, float]] = {}

    def get(self, key: K, now: float) -> V | None:
        found = self._entries.get(key)
        return found[0] if found is not None and now < found[1] else None

    def put(self, key: K, value: V, until: float) -> None:
        if len(self._entries) >= self.limit:
            self._entries.clear()
        self._entries[key] = (value, until)

