"""The hub: every open page gets each frame; a page that falls too far behind is dropped
(its EventSource reconnects and starts over from a reset) rather than buffered forever."""

from __future__ import annotations

import asyncio

from minikube_py.dashboard.feed import Feed
from minikube_py.dashboard.server import Hub


async def test_every_page_gets_the_frames_in_order() -> None:
    hub = Hub(Feed(["pods"]))
    a, first = hub.subscribe()
    b, _ = hub.subscribe()
    assert first.startswith(b"event: reset\n")
    hub.publish(b"one")
    hub.publish(b"two")
    assert [await a.next(), await a.next()] == [b"one", b"two"]
    assert await b.next() == b"one"


async def test_changes_in_one_turn_of_the_loop_are_one_frame() -> None:
    hub = Hub(Feed(["pods"]))
    page, _ = hub.subscribe()
    for status in ("Pending", "Running"):
        hub.feed.upsert("pods", {"key": "ns/a", "status": status})
        hub.changed()
    frame = await asyncio.wait_for(page.next(), 1)
    assert frame is not None and frame.count(b"ns/a") == 1 and b"Running" in frame


async def test_a_page_too_far_behind_is_dropped() -> None:
    hub = Hub(Feed(["pods"]), backlog=2)
    slow, _ = hub.subscribe()
    for frame in (b"1", b"2", b"3"):
        hub.publish(frame)
    assert await slow.next() is None
    assert slow not in hub.subscribers
    hub.publish(b"4")  # no longer fed
