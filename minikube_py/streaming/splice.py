"""Take over an aiohttp connection that asked to switch protocols and splice its bytes, both
ways, to the next hop, as k8s.io/apimachinery's UpgradeAwareHandler does: the next hop's answer
(101 Switching Protocols, or an error) reaches the client untouched."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque

from aiohttp import web

from minikube_py.streaming.request_head import render_request_head

CONNECT_TIMEOUT = 10.0
READ_CHUNK = 64 * 1024
CLIENT_BUFFER_LIMIT = 1024 * 1024  # stop reading from the client beyond this much unsent data


class UpstreamUnreachable(Exception):
    """The next hop could not be dialled; nothing has been sent to the client yet."""


class SplicedResponse(web.StreamResponse):
    """What a handler returns once the connection was spliced and closed: aiohttp must not
    write a response of its own on it."""

    def __init__(self) -> None:
        super().__init__(status=101)

    async def prepare(self, request: web.BaseRequest) -> None:
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


class ActiveSplices:
    """The spliced connections one server carries, so that its shutdown ends them instead of
    waiting for every kubectl exec or port-forward to leave."""

    def __init__(self) -> None:
        self._pumps: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._pumps) // 2

    def track(self, pumps: set[asyncio.Task[None]]) -> None:
        self._pumps |= pumps

    def forget(self, pumps: set[asyncio.Task[None]]) -> None:
        self._pumps -= pumps

    def close_all(self) -> None:
        for task in self._pumps:
            task.cancel()


class _ClientBytes:
    """Stands in for aiohttp's payload parser after the upgrade: every byte the client sends
    lands here instead of in the HTTP parser."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._eof = False
        self._paused = False
        self._ready = asyncio.Event()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if data:
            self._chunks.append(data)
            self._size += len(data)
            self._ready.set()
            if self._size > CLIENT_BUFFER_LIMIT and not self._paused:
                self._paused = True
                self._transport.pause_reading()
        return False, b""

    def feed_eof(self) -> None:
        self._eof = True
        self._ready.set()

    async def read(self) -> bytes:
        """The next bytes from the client; b"" once it has gone."""
        while not self._chunks:
            if self._eof:
                return b""
            self._ready.clear()
            await self._ready.wait()
        data = self._chunks.popleft()
        self._size -= len(data)
        if self._paused and self._size <= CLIENT_BUFFER_LIMIT // 2:
            self._paused = False
            with contextlib.suppress(RuntimeError):  # transport already closed
                self._transport.resume_reading()
        return data


async def splice_upgrade(request: web.Request, host: str, port: int, target: str, *,
                         drop_headers: tuple[str, ...] = (),
                         active: ActiveSplices | None = None,
                         tls: ssl.SSLContext | None = None) -> web.StreamResponse:
    """Forward `request` (an upgrade request) to host:port as `target`, then copy bytes both
    ways until either side closes; over TLS with `tls` (the next hop's certificate checked
    for `host`). Raises UpstreamUnreachable before touching the client."""
    head = render_request_head(request.method, target, request.raw_headers, f"{host}:{port}",
                               drop=drop_headers)
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=tls,
                                    server_hostname=host if tls is not None else None),
            CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as e:
        # ssl.SSLError is an OSError: a next hop whose certificate fails is unreachable too.
        raise UpstreamUnreachable(f"dial tcp {host}:{port}: {e or 'timeout'}") from None
    transport = request.transport
    if transport is None:  # the client left while we dialled
        writer.close()
        return SplicedResponse()
    client = _ClientBytes(transport)
    # From here on aiohttp hands every byte the client sends to the parser we set, the way
    # WebSocketResponse takes over a connection. aiohttp's HTTP parser only knows websocket
    # upgrades: for others (SPDY/3.1) bytes sent together with the head would be parsed as a
    # next request. Clients wait for the 101 before sending (it may be refused), and no 101
    # can come before this point, so nothing is lost.
    request.protocol.set_parser(client)  # type: ignore[arg-type]
    request.protocol.keep_alive(False)
    writer.write(head)
    to_upstream = asyncio.create_task(_client_to_upstream(client, writer),
                                      name=f"splice-up {target}")
    to_client = asyncio.create_task(_upstream_to_client(reader, request),
                                    name=f"splice-down {target}")
    pumps = {to_upstream, to_client}
    if active is not None:
        active.track(pumps)
    try:
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if active is not None:
            active.forget(pumps)
        for task in (to_upstream, to_client):
            task.cancel()
        await asyncio.gather(to_upstream, to_client, return_exceptions=True)
        writer.close()
        transport.close()
    return SplicedResponse()


async def _client_to_upstream(client: _ClientBytes, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await client.read():
            writer.write(data)
            await writer.drain()


async def _upstream_to_client(reader: asyncio.StreamReader, request: web.Request) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(READ_CHUNK):
            await request.writer.write(data)
