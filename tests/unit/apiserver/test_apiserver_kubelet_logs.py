"""pods/log's side of the kubelet: a kubelet's refusal becomes kube's Status, and a kubelet
connection that breaks mid-stream ends the log quietly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from minikube_py.apiserver.logs import KubeletLogStream, kubelet_error

NOT_FOUND_STATUS = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                               "code": 404, "reason": "NotFound", "message": "pods \"x\" not found"})


@pytest.mark.parametrize(("code", "body", "expected"), [
    (400, 'previous terminated container "main" in pod "web" not found\n',
     (400, "BadRequest", 'previous terminated container "main" in pod "web" not found')),
    (404, 'container "main" in pod "web" not found\n',
     (404, "NotFound", 'container "main" in pod "web" not found')),
    (500, "CRI ContainerStatus failed\n", (500, "InternalError", "CRI ContainerStatus failed")),
    (503, "", (500, "InternalError", "the kubelet answered 503")),
    (404, NOT_FOUND_STATUS, (404, "NotFound", 'pods "x" not found')),
    (400, '"just a JSON string"', (400, "BadRequest", '"just a JSON string"')),
], ids=["bad request", "not found", "internal", "empty body", "a Status passes through",
        "JSON that is no Status"])
def test_kubelet_refusals_become_kube_statuses(code: int, body: str,
                                               expected: tuple[int, str, str]) -> None:
    error = kubelet_error(code, body)
    assert (error.code, error.reason, error.message) == expected


@dataclass
class BreakingKubelet:
    """A kubelet whose connection drops once the client has read the first line of a
    followed log (`read` is set by the test)."""

    url: str
    read: asyncio.Event


@pytest.fixture
async def breaking_kubelet() -> AsyncIterator[BreakingKubelet]:
    read = asyncio.Event()

    async def follow(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(b"first line\n")
        await asyncio.wait_for(read.wait(), 5)
        assert request.transport is not None
        request.transport.abort()
        return resp

    app = web.Application()
    app.router.add_get("/log", follow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield BreakingKubelet(f"http://127.0.0.1:{runner.addresses[0][1]}/log", read)
    await runner.cleanup()


async def test_a_kubelet_stream_that_breaks_ends_the_log_quietly(
        breaking_kubelet: BreakingKubelet) -> None:
    session = aiohttp.ClientSession()
    stream = KubeletLogStream(session, await session.get(breaking_kubelet.url))
    chunks: list[bytes] = []
    try:
        async for chunk in stream:
            chunks.append(chunk)
            breaking_kubelet.read.set()
    finally:
        await stream.aclose()
    assert b"".join(chunks) == b"first line\n"
