"""Long-lived responses: watches older than the fan-out history keep their deadline and
bookmarks, bad watch requests fail before streaming, cancellation propagates, log streams
always close their kubelet session."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, make_mocked_request

from minikube_py.api.resources import CONFIGMAPS, PODS
from minikube_py.api.selectors import build_filter
from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.httpresource import (
    ResourceRequest,
    serve_log,
    serve_watch,
    while_connected,
)
from minikube_py.apiserver.logs import KubeletLogStream
from minikube_py.apiserver.service import ApiService
from tests.unit.apiserver.kinds import KINDS

from .conftest import pod_body

pytestmark = pytest.mark.both_stores  # each test runs on the in-memory store and on etcd


async def _wait_for(condition: Any, seconds: float = 2.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def _old_watch_start(svc: ApiService) -> int:
    """A resourceVersion older than the fan-out's history (the store-watch path)."""
    pod = await svc.create(PODS, pod_body("a"), namespace="default")
    svc.fanout._history_start = svc.kv.revision + 1
    return int(pod["metadata"]["resourceVersion"])


async def test_watch_older_than_history_ends_at_its_timeout(svc: ApiService) -> None:
    rv = await _old_watch_start(svc)
    flt = build_filter("", "")
    events = svc.watch_events(PODS, "default", flt, str(rv), timeout_seconds=0.1)

    async def drain() -> list[str]:
        return [kind async for kind, _ in events]

    assert await asyncio.wait_for(drain(), 3) == []


async def test_watch_older_than_history_sends_bookmarks(svc: ApiService) -> None:
    rv = await _old_watch_start(svc)
    other = pod_body("b")
    other["metadata"]["labels"] = {"app": "other"}
    b = await svc.create(PODS, other, namespace="default")
    flt = build_filter("app=web", "")
    events = svc.watch_events(PODS, "default", flt, str(rv), allow_bookmarks=True,
                              timeout_seconds=5)
    try:
        kind, ev = await asyncio.wait_for(events.__anext__(), 3)
    finally:
        await events.aclose()
    assert kind == "BOOKMARK"
    assert isinstance(ev, dict)
    assert ev["metadata"]["resourceVersion"] == b["metadata"]["resourceVersion"]


@pytest.fixture
async def base_url(svc: ApiService) -> AsyncIterator[str]:
    srv = TestServer(build_app(svc), host="127.0.0.1")
    await srv.start_server()
    yield f"http://127.0.0.1:{srv.port}"
    await srv.close()


@pytest.mark.parametrize(("query", "code"), [
    ("resourceVersion=abc", 400),
    ("labelSelector=a%20in%20(", 400),
    ("fieldSelector=spec.bogus=1", 400),
    ("timeoutSeconds=soon", 400),
    ("resourceVersionMatch=NotOlderThan", 422),
    ("sendInitialEvents=true&resourceVersionMatch=Exact", 422),
])
async def test_bad_watch_is_refused_before_streaming(base_url: str, query: str,
                                                     code: int) -> None:
    url = f"{base_url}/api/v1/namespaces/default/configmaps?watch=true&{query}"
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        status = await asyncio.wait_for(r.json(), 3)
    assert (r.status, status["kind"], status["code"]) == (code, "Status", code)


def _request(svc: Any, path: str, resource: Any, name: str | None = None,
             sub: str | None = None) -> ResourceRequest:
    return ResourceRequest(make_mocked_request("GET", path), svc, KINDS.strategy(resource),
                           "default", name, sub, False)


async def test_cancelled_watch_handler_propagates_cancellation(svc: ApiService) -> None:
    req = _request(svc, "/api/v1/namespaces/default/configmaps?watch=true", CONFIGMAPS)
    task = asyncio.create_task(serve_watch(req))
    await _wait_for(lambda: svc.fanout.watcher_count == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert svc.fanout.watcher_count == 0


class FakeLogStream:
    def __init__(self) -> None:
        self.closed = False

    def __aiter__(self) -> "FakeLogStream":
        return self

    async def __anext__(self) -> bytes:
        await asyncio.Event().wait()  # a follow stream with nothing new
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self.closed = True


class FakeLogService:
    def __init__(self) -> None:
        self.stream = FakeLogStream()
        self.opened = asyncio.Event()

    async def read_log(self, *args: Any, **kwargs: Any) -> FakeLogStream:
        self.opened.set()
        return self.stream


async def test_log_stream_closes_when_the_client_is_gone_before_prepare(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def gone(self: web.StreamResponse, request: web.BaseRequest) -> None:
        raise ConnectionResetError("client gone")

    monkeypatch.setattr(web.StreamResponse, "prepare", gone)
    fake = FakeLogService()
    await serve_log(_request(fake, "/api/v1/namespaces/default/pods/p/log", PODS, "p", "log"))
    assert fake.stream.closed


async def test_cancelled_log_handler_propagates_and_closes_the_stream() -> None:
    fake = FakeLogService()
    req = _request(fake, "/api/v1/namespaces/default/pods/p/log?follow=true", PODS, "p", "log")
    task = asyncio.create_task(serve_log(req))
    await asyncio.wait_for(fake.opened.wait(), 2)
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake.stream.closed


class FakeTransport:
    def __init__(self) -> None:
        self.closing = False
        self.looks = 0
        self.looked_three_times = asyncio.Event()

    def is_closing(self) -> bool:
        self.looks += 1
        if self.looks >= 3:
            self.looked_three_times.set()
        return self.closing


class FakeRequest:
    def __init__(self) -> None:
        self.transport: FakeTransport | None = FakeTransport()


async def test_a_silent_follow_ends_once_its_client_has_gone() -> None:
    stream = FakeLogStream()
    request = FakeRequest()
    chunks = while_connected(stream, request, poll=0.01)  # type: ignore[arg-type]
    reader = asyncio.create_task(anext(chunks, None))
    assert request.transport is not None
    await asyncio.wait_for(request.transport.looked_three_times.wait(), 2)
    assert not reader.done()  # nothing to write and the client is still there
    request.transport = None
    assert await asyncio.wait_for(reader, 2) is None


async def test_chunks_pass_through_while_the_client_stays() -> None:
    async def three() -> AsyncIterator[bytes]:
        for chunk in (b"a", b"b", b"c"):
            yield chunk

    got = [c async for c in while_connected(three(), FakeRequest(), poll=0.01)]  # type: ignore[arg-type]
    assert got == [b"a", b"b", b"c"]


class FakeKubeletResponse:
    released = False

    def release(self) -> None:
        self.released = True


async def test_kubelet_log_stream_closes_its_session_without_being_iterated() -> None:
    session = aiohttp.ClientSession()
    resp = FakeKubeletResponse()
    stream = KubeletLogStream(session, resp)  # type: ignore[arg-type]
    await stream.aclose()
    assert session.closed and resp.released
