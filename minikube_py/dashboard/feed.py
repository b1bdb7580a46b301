"""The page's live state, as the browser receives it: the rows of every table, and the
changes since the last flush, framed as Server-Sent Events. Pure (no IO, no clock): the
server feeds it watch events and decides when to flush.

The stream a browser reads is one `reset` frame (every table's rows, so a reconnecting
EventSource starts over from the truth), then `delta` frames: per table, the rows added or
changed (`upsert`) and the keys gone (`delete`), each key once per frame, so a burst of
watch events (a Deployment's pods starting) costs one frame, not one per event. `metrics`
frames carry node usage, which cannot be watched: they come at the metrics resolution."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from minikube_py.dashboard.rows import Row

# Of the events, the page keeps the most recent: a reset sends no more than this.
RECENT_EVENTS = 200


def sse_frame(event: str, data: Any) -> bytes:
    """One Server-Sent Event: compact JSON on one data line (JSON escapes newlines)."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class Feed:
    def __init__(self, tables: Iterable[str]) -> None:
        self._rows: dict[str, dict[str, Row]] = {t: {} for t in tables}
        self._pending: dict[str, dict[str, Row | None]] = {t: {} for t in self._rows}
        self.metrics: dict[str, Any] = {"available": False, "reason": "not read yet"}

    def upsert(self, table: str, row: Row) -> bool:
        """Record a row; False (nothing to send) when it is the one the page already has."""
        key = row["key"]
        if self._rows[table].get(key) == row:
            return False
        self._rows[table][key] = row
        self._pending[table][key] = row
        return True

    def delete(self, table: str, key: str) -> bool:
        if self._rows[table].pop(key, None) is None:
            return False
        self._pending[table][key] = None
        return True

    def rows(self, table: str) -> Mapping[str, Row]:
        return self._rows[table]

    def has_pending(self) -> bool:
        return any(self._pending.values())

    def flush(self) -> bytes | None:
        """The `delta` frame of everything changed since the last flush (None: nothing)."""
        delta: dict[str, dict[str, list[Any]]] = {}
        for table, changes in self._pending.items():
            if not changes:
                continue
            upserts = [r for r in changes.values() if r is not None]
            deletes = [k for k, r in changes.items() if r is None]
            delta[table] = {"upsert": upserts, "delete": deletes}
            changes.clear()
        return sse_frame("delta", delta) if delta else None

    def reset_frame(self) -> bytes:
        """Every table as it stands (the recent events only)."""
        tables = {t: list(rows.values()) for t, rows in self._rows.items()}
        if "events" in tables:
            tables["events"] = sorted(tables["events"], key=lambda r: r.get("time", ""))[
                -RECENT_EVENTS:]
        return sse_frame("reset", tables)

    def set_metrics(self, metrics: dict[str, Any]) -> bytes:
        self.metrics = metrics
        return self.metrics_frame()

    def metrics_frame(self) -> bytes:
        return sse_frame("metrics", self.metrics)
