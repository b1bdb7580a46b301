"""The feed: what the page is sent, each change once, framed as Server-Sent Events."""

from __future__ import annotations

import json
from typing import Any

from minikube_py.dashboard.feed import RECENT_EVENTS, Feed, sse_frame


def parse(frame: bytes | None) -> tuple[str, Any]:
    assert frame is not None
    event, data = frame.decode().removesuffix("\n\n").split("\n")
    return event.removeprefix("event: "), json.loads(data.removeprefix("data: "))


def test_a_frame_is_one_event_and_one_data_line() -> None:
    frame = sse_frame("log", ["a\nb"])
    assert frame == b'event: log\ndata: ["a\\nb"]\n\n'


def test_changes_since_the_last_flush_go_in_one_delta_each_key_once() -> None:
    feed = Feed(["pods", "nodes"])
    feed.upsert("pods", {"key": "ns/a", "status": "Pending"})
    feed.upsert("pods", {"key": "ns/a", "status": "Running"})
    feed.upsert("pods", {"key": "ns/b", "status": "Pending"})
    assert parse(feed.flush()) == ("delta", {"pods": {"upsert": [
        {"key": "ns/a", "status": "Running"}, {"key": "ns/b", "status": "Pending"}],
        "delete": []}})
    assert feed.flush() is None


def test_a_row_added_and_deleted_before_a_flush_is_sent_as_deleted() -> None:
    feed = Feed(["pods"])
    feed.upsert("pods", {"key": "ns/a"})
    feed.flush()
    feed.upsert("pods", {"key": "ns/a", "status": "x"})
    feed.delete("pods", "ns/a")
    assert parse(feed.flush()) == ("delta", {"pods": {"upsert": [], "delete": ["ns/a"]}})


def test_an_unchanged_row_or_an_unknown_delete_sends_nothing() -> None:
    feed = Feed(["pods"])
    feed.upsert("pods", {"key": "ns/a", "status": "Running"})
    feed.flush()
    assert not feed.upsert("pods", {"key": "ns/a", "status": "Running"})
    assert not feed.delete("pods", "ns/zzz")
    assert not feed.has_pending()


def test_a_reset_has_every_table_and_the_most_recent_events_only() -> None:
    feed = Feed(["pods", "events"])
    feed.upsert("pods", {"key": "ns/a"})
    for i in range(RECENT_EVENTS + 5):
        feed.upsert("events", {"key": f"ns/e{i}", "time": f"2026-01-01T00:{i // 60:02d}:"
                                                          f"{i % 60:02d}Z"})
    kind, tables = parse(feed.reset_frame())
    assert kind == "reset"
    assert tables["pods"] == [{"key": "ns/a"}]
    assert len(tables["events"]) == RECENT_EVENTS
    assert tables["events"][0]["key"] == "ns/e5"
