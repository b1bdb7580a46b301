"""The WebSocket bridge's async shell over loopback: a v5 exec session and a port-forward
tunnel against a fake runtime streaming server that speaks SPDY/3.1, and the runtime's
refusal reaching the client as the handshake's HTTP status."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from minikube_py.kubelet.streaming import needs_translation
from minikube_py.streaming.channels import CLOSE, ERROR, STDIN, STDOUT, V5_PROTOCOL, ExecStreams
from minikube_py.streaming.request_head import parse_response_head
from minikube_py.streaming.spdy import DataFrame, FrameDecoder, FrameEncoder, SynStream
from minikube_py.streaming.splice import ActiveSplices
from minikube_py.streaming.websocket_bridge import (
    PORT_FORWARD_TUNNEL_PROTOCOL,
    UpstreamRefused,
    bridge_exec,
    tunnel_port_forward,
)

SUCCESS = b'{"metadata":{},"status":"Success"}'
SEEN_PROTOCOLS: list[str] = []
REFUSALS: list[str] = []


async def _fake_runtime(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """/refuse answers 404; /exec upper-cases stdin onto stdout and, at stdin's end, writes
    Success on the error stream and hangs up; /tunnel echoes bytes reversed; /garbage sends
    what is not SPDY/3 and stays."""
    request_line, _, rest = (await reader.readuntil(b"\r\n\r\n")).partition(b"\r\n")
    # The request's headers read as a response's would: the same name: value lines.
    head = parse_response_head(b"HTTP/1.1 200 OK\r\n" + rest)
    SEEN_PROTOCOLS.append(head.headers["x-stream-protocol-version"])
    assert head.headers["upgrade"] == "SPDY/3.1"
    path = request_line.split()[1].decode()
    if path == "/refuse":
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nno ")
        await writer.drain()
        writer.write(b"session")  # the body in two pieces
        await writer.drain()
        writer.close()
        return
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                 b"Upgrade: SPDY/3.1\r\n\r\n")
    if path == "/garbage":
        writer.write(b"\x80\x02" + bytes(10))  # a SPDY/2 control frame
        await reader.read()
        return
    if path == "/tunnel":
        while data := await reader.read(1024):
            writer.write(data[::-1])
        writer.close()
        return
    decoder, encoder, ids = FrameDecoder(), FrameEncoder(), {}
    while data := await reader.read(1024):
        for frame in decoder.feed(data):
            if isinstance(frame, SynStream):
                ids[dict(frame.headers)["streamtype"]] = frame.stream_id
            elif isinstance(frame, DataFrame) and frame.stream_id == ids["stdin"]:
                writer.write(encoder.data(ids["stdout"], frame.data.upper()))
                if frame.fin:
                    writer.write(encoder.data(ids["error"], SUCCESS, fin=True)
                                 + encoder.data(ids["stdout"], b"", fin=True)
                                 + encoder.data(ids["stderr"], b"", fin=True))
                    await writer.drain()
                    writer.close()
                    return


@pytest.fixture
def active() -> ActiveSplices:
    return ActiveSplices()


@pytest.fixture
async def kubelet(active: ActiveSplices) -> AsyncIterator[str]:
    runtime = await asyncio.start_server(_fake_runtime, "127.0.0.1", 0)
    runtime_port = runtime.sockets[0].getsockname()[1]

    async def handler(request: web.Request) -> web.StreamResponse:
        target = request.match_info["target"]
        try:
            if target == "tunnel":
                return await tunnel_port_forward(request, "127.0.0.1", runtime_port, "/tunnel",
                                                 active=active)
            return await bridge_exec(request, "127.0.0.1", runtime_port, "/" + target,
                                     ExecStreams(stdin=True, stdout=True, stderr=True,
                                                 tty=False), active=active)
        except UpstreamRefused as e:
            REFUSALS.append(e.body)
            return web.Response(status=e.status, text=e.body)

    app = web.Application()
    app.router.add_get("/{target}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
        runtime.close()
        with contextlib.suppress(Exception):
            await runtime.wait_closed()


async def test_v5_session_carries_stdin_its_end_output_and_status(kubelet: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(
            f"{kubelet}/exec", protocols=(V5_PROTOCOL,)) as ws:
        assert ws.protocol == V5_PROTOCOL
        await ws.send_bytes(bytes([STDIN]) + b"hello")
        await ws.send_bytes(bytes([CLOSE, STDIN]))
        received = [m.data async for m in ws if m.type == aiohttp.WSMsgType.BINARY]
    assert received == [bytes([STDOUT]) + b"HELLO", bytes([ERROR]) + SUCCESS]
    assert SEEN_PROTOCOLS[-1] == "v4.channel.k8s.io"


async def test_runtime_refusal_is_the_handshakes_status(kubelet: str) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as failed:
            await session.ws_connect(f"{kubelet}/refuse", protocols=(V5_PROTOCOL,))
    assert failed.value.status == 404
    assert REFUSALS[-1] == "no session"


async def test_port_forward_tunnel_moves_bytes_both_ways(kubelet: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(
            f"{kubelet}/tunnel", protocols=(PORT_FORWARD_TUNNEL_PROTOCOL,)) as ws:
        assert ws.protocol == PORT_FORWARD_TUNNEL_PROTOCOL
        await ws.send_bytes(b"spdy")
        assert (await asyncio.wait_for(ws.receive_bytes(), 5)) == b"ydps"
    assert SEEN_PROTOCOLS[-1] == "portforward.k8s.io"


async def test_kubelet_shutdown_ends_a_session(kubelet: str, active: ActiveSplices) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(
            f"{kubelet}/tunnel", protocols=(PORT_FORWARD_TUNNEL_PROTOCOL,)) as ws:
        await ws.send_bytes(b"ab")
        assert (await asyncio.wait_for(ws.receive_bytes(), 5)) == b"ba"
        assert len(active) == 1
        active.close_all()
        message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type == aiohttp.WSMsgType.CLOSE
    assert len(active) == 0


async def test_a_runtime_not_speaking_spdy3_ends_the_session_with_a_warning(
        kubelet: str, caplog: pytest.LogCaptureFixture) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(
            f"{kubelet}/garbage", protocols=(V5_PROTOCOL,)) as ws:
        message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type == aiohttp.WSMsgType.CLOSE
    assert "broke SPDY/3.1" in caplog.text and "version 2" in caplog.text


def test_response_head_parses_status_and_lowercases_names() -> None:
    head = parse_response_head(b"HTTP/1.1 101 Switching Protocols\r\n"
                               b"X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n")
    assert (head.status, head.headers) == (101, {"x-stream-protocol-version":
                                                 "v4.channel.k8s.io"})
    with pytest.raises(ValueError):
        parse_response_head(b"SSH-2.0-x\r\n\r\n")


def test_only_the_newest_websocket_protocols_are_translated() -> None:
    ws = {"Upgrade": "websocket"}
    assert needs_translation("exec", {**ws, "Sec-WebSocket-Protocol": "v5.channel.k8s.io"})
    assert needs_translation("attach", {**ws, "Sec-WebSocket-Protocol":
                                        "v4.channel.k8s.io, v5.channel.k8s.io"})
    assert needs_translation("portforward", {**ws, "Sec-WebSocket-Protocol":
                                             "SPDY/3.1+portforward.k8s.io"})
    assert not needs_translation("exec", {**ws, "Sec-WebSocket-Protocol": "v4.channel.k8s.io"})
    assert not needs_translation("portforward", {**ws, "Sec-WebSocket-Protocol":
                                                 "v4.channel.k8s.io"})
    assert not needs_translation("exec", {"Upgrade": "SPDY/3.1"})
