"""Serve a WebSocket exec, attach or port-forward from a runtime streaming server that speaks
only SPDY for it: dial the runtime with a SPDY/3.1 upgrade first (so its refusal reaches the
client as an HTTP error), then accept the WebSocket and move bytes, as kube's
StreamTranslatorHandler (exec, attach) and StreamTunnelHandler (port-forward) do."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

from minikube_py.streaming.channels import (
    RUNTIME_EXEC_PROTOCOL,
    V5_PROTOCOL,
    ExecStreams,
    ExecTranslator,
)
from minikube_py.streaming.request_head import parse_response_head, render_request_head
from minikube_py.streaming.spdy import SpdyProtocolError
from minikube_py.streaming.splice import (
    CONNECT_TIMEOUT,
    READ_CHUNK,
    ActiveSplices,
    UpstreamUnreachable,
)

# kubectl 1.31+ port-forward: SPDY frames carried as binary WebSocket messages (client-go's
# tunneling dialer), so the SPDY session is between kubectl and the runtime.
PORT_FORWARD_TUNNEL_PROTOCOL = "SPDY/3.1+portforward.k8s.io"
RUNTIME_PORT_FORWARD_PROTOCOL = "portforward.k8s.io"
MAX_MESSAGE = 16 * 1024 * 1024  # kubectl cp writes 32 KiB at a time; a bound, not a need
MAX_ERROR_BODY = 64 * 1024

log = logging.getLogger(__name__)


class UpstreamRefused(Exception):
    """The runtime answered the upgrade with something other than 101."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


async def dial_spdy(host: str, port: int, target: str, protocol: str
                    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection upgraded to SPDY/3.1 with the runtime, speaking `protocol`."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as e:
        raise UpstreamUnreachable(f"dial tcp {host}:{port}: {e or 'timeout'}") from None
    try:
        writer.write(render_request_head("POST", target, [
            (b"Connection", b"Upgrade"), (b"Upgrade", b"SPDY/3.1"),
            (b"X-Stream-Protocol-Version", protocol.encode())], f"{host}:{port}"))
        head = parse_response_head(
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), CONNECT_TIMEOUT))
        if head.status != 101:
            size = min(int(head.headers.get("content-length", "0") or 0), MAX_ERROR_BODY)
            raise UpstreamRefused(head.status, (await _body(reader, size)).decode(
                errors="replace"))
    except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError,
            asyncio.LimitOverrunError) as e:
        writer.close()
        raise UpstreamUnreachable(f"upgrade to SPDY at {host}:{port}: {e or 'timeout'}"
                                  ) from None
    except UpstreamRefused:
        writer.close()
        raise
    return reader, writer


async def _body(reader: asyncio.StreamReader, size: int) -> bytes:
    """Up to `size` bytes of a refusal's body: what came, if the runtime hung up early."""
    try:
        return await asyncio.wait_for(reader.readexactly(size), CONNECT_TIMEOUT)
    except asyncio.IncompleteReadError as e:
        return e.partial


async def bridge_exec(request: web.Request, host: str, port: int, target: str,
                      streams: ExecStreams, *, active: ActiveSplices) -> web.StreamResponse:
    """A v5.channel.k8s.io WebSocket session on the runtime's SPDY exec or attach URL."""
    reader, writer = await dial_spdy(host, port, target, RUNTIME_EXEC_PROTOCOL)
    ws = web.WebSocketResponse(protocols=(V5_PROTOCOL,), max_msg_size=MAX_MESSAGE)
    translator = ExecTranslator(streams)

    async def client_to_runtime() -> None:
        async for message in ws:
            if message.type == WSMsgType.BINARY and (out := translator.from_client(message.data)):
                writer.write(out)
                await writer.drain()

    async def runtime_to_client() -> None:
        while data := await reader.read(READ_CHUNK):
            out = translator.from_runtime(data)
            if out.reply:
                writer.write(out.reply)
            for message in out.messages:
                await ws.send_bytes(message)
            if out.finished:
                return

    with contextlib.closing(writer):
        await ws.prepare(request)
        writer.write(translator.open())
        await _pump(ws, client_to_runtime, runtime_to_client, active)
    return ws


async def tunnel_port_forward(request: web.Request, host: str, port: int, target: str, *,
                              active: ActiveSplices) -> web.StreamResponse:
    """kubectl's SPDY port-forward session, carried in WebSocket messages, spliced to the
    runtime's SPDY port-forward URL."""
    reader, writer = await dial_spdy(host, port, target, RUNTIME_PORT_FORWARD_PROTOCOL)
    ws = web.WebSocketResponse(protocols=(PORT_FORWARD_TUNNEL_PROTOCOL,),
                               max_msg_size=MAX_MESSAGE)

    async def client_to_runtime() -> None:
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                writer.write(message.data)
                await writer.drain()

    async def runtime_to_client() -> None:
        while data := await reader.read(READ_CHUNK):
            await ws.send_bytes(data)

    with contextlib.closing(writer):
        await ws.prepare(request)
        await _pump(ws, client_to_runtime, runtime_to_client, active)
    return ws


async def _pump(ws: web.WebSocketResponse, up: Callable[[], Awaitable[None]],
                down: Callable[[], Awaitable[None]], active: ActiveSplices) -> None:
    """Run both directions until either ends (the client left, or the runtime ended the
    session), then close the WebSocket, which ends the error channel kubectl reads."""
    async def guarded(direction: Callable[[], Awaitable[None]]) -> None:
        try:
            await direction()
        except ConnectionError:
            pass  # either side hanging up is how a session ends
        except SpdyProtocolError as e:
            log.warning("runtime streaming server broke SPDY/3.1, session ended: %s", e)

    pumps = {asyncio.create_task(guarded(up), name="websocket-bridge-up"),
             asyncio.create_task(guarded(down), name="websocket-bridge-down")}
    active.track(pumps)
    try:
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
    finally:
        active.forget(pumps)
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        with contextlib.suppress(ConnectionError):
            await ws.close()
