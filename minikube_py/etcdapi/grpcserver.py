"""A gRPC server on asyncio: the gRPC-over-HTTP/2 wire protocol on `http2.ServerConnection`,
running the servicers grpc's generated code registers (`add_XServicer_to_server`).

Why not grpc.aio's server: measured on this 2-core machine, grpc.aio spends ~0.4 ms of CPU
per unary call with a servicer that does nothing (about 2,300 calls/s at 64 concurrent
callers), more than our whole store spends on a put; etcd answers the same client at
4,400/s. This server runs in the event loop the store runs in: a call is parsed, its
servicer run and its answer framed without a thread hop, and the answers that complete in
one loop iteration go out in one write.

It serves what grpc's generated servicers need: unary and streaming calls in both
directions, `context.abort` with any status code, deadlines (`grpc-timeout`), cancellation
by the client (RST_STREAM), messages up to `max_message` bytes, and graceful stop (GOAWAY,
then a grace period). Compressed messages are refused (UNIMPLEMENTED), as a server that
offers only `identity` does. Plaintext (h2c with prior knowledge, as grpc's insecure
channels and etcdctl speak it) or TLS (HTTP/2 by ALPN), where `authorize` may refuse a
client certificate: its calls then end with PERMISSION_DENIED and the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, NamedTuple, cast

import grpc

from minikube_py.etcdapi import http2
from minikube_py.etcdapi.http2 import encode_integer, encode_literal

log = logging.getLogger(__name__)

MAX_MESSAGE = 4 * 1024 * 1024  # grpc's default receive limit
_MESSAGE_PREFIX = 5  # compressed flag (1 byte) and length (4 bytes, big-endian)

# our response header block: `:status: 200` (static entry 8) and the content type as a
# literal never indexed with the name of static entry 31 (content-type)
_RESPONSE_HEADERS = b"\x88" + encode_integer(31, 4, 0x10) + bytes((16,)) + b"application/grpc"
_IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)  # Linux's value; Python 3.11 lacks the name
_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


class _Details(NamedTuple):  # what a generic handler is asked: grpc.HandlerCallDetails
    method: str
    invocation_metadata: tuple[tuple[str, str], ...]


MAX_STATUS_MESSAGE = 4096  # characters of grpc-message (encoded): a trailer fits one frame


def trailer_block(code: grpc.StatusCode, message: str = "") -> bytes:
    block = encode_literal("grpc-status", str(code.value[0]))
    if message:
        encoded = percent_encode(message)
        if len(encoded) > MAX_STATUS_MESSAGE:  # cut whole characters, so it stays UTF-8
            pieces, size = [], 0
            for char in message:
                piece = percent_encode(char)
                size += len(piece)
                if size > MAX_STATUS_MESSAGE - 20:
                    break
                pieces.append(piece)
            encoded = "".join(pieces) + percent_encode(" ...(cut)")
        block += encode_literal("grpc-message", encoded)
    return block


def percent_encode(message: str) -> str:
    """grpc-message's encoding: UTF-8, with bytes outside printable ASCII and '%' escaped."""
    return "".join(chr(b) if 0x20 <= b <= 0x7E and b != 0x25 else f"%{b:02X}"
                   for b in message.encode("utf-8"))


def parse_timeout(value: str) -> float | None:
    """`grpc-timeout` (digits and a unit) in seconds; None if malformed."""
    if not 2 <= len(value) <= 9 or not value[:-1].isascii() or not value[:-1].isdigit():
        return None
    unit = _TIMEOUT_UNITS.get(value[-1])
    return None if unit is None else int(value[:-1]) * unit


_OK_TRAILERS = trailer_block(grpc.StatusCode.OK)


def _serialized(handler: Any, response: Any) -> bytes:
    serialize = handler.response_serializer  # None: the servicer answers bytes
    return response if serialize is None else serialize(response)  # type: ignore[no-any-return]


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class _Requests:
    """The request stream of a streaming call, as the servicer iterates it."""

    __slots__ = ("_ended", "_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._ended = False
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: Any) -> None:
        self._items.append(item)
        self._wake()

    def end(self) -> None:
        self._ended = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def __aiter__(self) -> _Requests:
        return self

    async def __anext__(self) -> Any:
        while not self._items:
            if self._ended:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._items.popleft()


class _Call:
    __slots__ = (
        "buffer",
        "code",
        "deadline",
        "details",
        "expired",
        "handler",
        "headers_sent",
        "metadata",
        "method",
        "request",
        "requests",
        "stream_id",
        "task",
        "timer",
    )

    def __init__(self, stream_id: int, method: str, handler: Any,
                 metadata: tuple[tuple[str, str], ...], deadline: float | None) -> None:
        self.stream_id = stream_id
        self.method = method
        self.handler = handler
        self.metadata = metadata
        self.deadline = deadline
        self.buffer = bytearray()
        self.request: Any = None  # a unary call's one request, once read
        self.requests: _Requests | None = _Requests() if handler.request_streaming else None
        self.task: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.expired = False
        self.headers_sent = False
        self.code: grpc.StatusCode | None = None  # set_code / set_details, for the end
        self.details = ""


class ServicerContext:
    """What a servicer gets as `context`: the subset of grpc.aio.ServicerContext servicers
    use. `abort` ends the call with a status; the rest read or set the call's state."""

    __slots__ = ("_call", "_peer")

    def __init__(self, call: _Call, peer: str) -> None:
        self._call = call
        self._peer = peer

    async def abort(self, code: grpc.StatusCode, details: str = "",
                    trailing_metadata: Any = ()) -> None:
        raise _Abort(code, details)

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._call.metadata

    def peer(self) -> str:
        return self._peer

    def time_remaining(self) -> float | None:
        deadline = self._call.deadline
        return None if deadline is None else max(0.0, deadline - time.monotonic())

    def set_code(self, code: grpc.StatusCode) -> None:
        self._call.code = code

    def set_details(self, details: str) -> None:
        self._call.details = details

    def cancelled(self) -> bool:
        return self._call.expired

    def done(self) -> bool:
        return self._call.task is not None and self._call.task.done()


class _Connection(asyncio.Protocol):
    """One client connection: HTTP/2 in, calls run as tasks, answers framed back."""

    def __init__(self, server: GrpcServer) -> None:
        self._server = server
        self._h2 = http2.ServerConnection()
        self._transport: asyncio.Transport | None = None
        self._calls: dict[int, _Call] = {}
        self._flush_scheduled = False
        self._blocked: dict[int, asyncio.Future[None]] = {}  # streams waiting for a window
        self._writable = asyncio.Event()
        self._writable.set()
        self._peer = "unknown"
        self._refused: str | None = None  # why `authorize` refused this client
        self._loop = asyncio.get_running_loop()
        self.closed = asyncio.Event()

    # ---- transport callbacks ----

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        peer = self._transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            host = peer[0]
            self._peer = f"ipv6:[{host}]:{peer[1]}" if ":" in host else f"ipv4:{host}:{peer[1]}"
        if self._server.authorize is not None:
            self._refused = self._server.authorize(self._transport.get_extra_info("peercert"))
        if self._server.stopping:  # its TLS handshake ended after stop() began
            self._h2.close()
            self._flush()
            self._transport.close()
            return
        self._server._connections.add(self)
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._server._connections.discard(self)
        for call in list(self._calls.values()):
            self._cancel(call)
        self._calls.clear()
        self._writable.set()
        self.closed.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def data_received(self, data: bytes) -> None:
        try:
            events = self._h2.receive(data)
        except http2.H2Error as e:
            log.debug("gRPC client %s broke HTTP/2: %s", self._peer, e.message)
            self._h2.close(e.code, e.message)
            self._flush()
            if self._transport is not None:
                self._transport.close()
            return
        for event in events:
            if isinstance(event, http2.DataReceived):
                self._on_data(event)
            elif isinstance(event, http2.RequestReceived):
                self._on_request(event)
            elif isinstance(event, http2.StreamReset):
                call = self._calls.pop(event.stream_id, None)
                if call is not None:
                    self._cancel(call)
            # ClientGoingAway: the client opens no more streams; those open finish
        if self._blocked:
            for stream_id, drained in list(self._blocked.items()):
                if drained.done():  # its call ended while it waited (reset, deadline, stop)
                    del self._blocked[stream_id]
                elif not self._h2.has_pending(stream_id):
                    drained.set_result(None)
                    del self._blocked[stream_id]
        self._flush()

    # ---- output ----

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        out = self._h2.take_output()
        if out and self._transport is not None:
            self._transport.write(out)

    # ---- calls ----

    def _on_request(self, event: http2.RequestReceived) -> None:
        stream_id = event.stream_id
        method = ""
        content_type = ""
        timeout: str | None = None
        encoding = "identity"
        metadata: list[tuple[str, str]] = []
        post = False
        for name, value in event.headers:
            if name.startswith(":"):
                if name == ":path":
                    method = value
                elif name == ":method":
                    post = value == "POST"
            elif name == "content-type":
                content_type = value
            elif name == "grpc-timeout":
                timeout = value
            elif name == "grpc-encoding":
                encoding = value
            elif name != "te":
                metadata.append((name, value))
        if not post or not content_type.startswith("application/grpc"):
            # not a gRPC request: HTTP's answer, as grpc's servers give it
            self._h2.send_headers(stream_id, encode_literal(":status", "415" if post else "405"),
                                  end_stream=True)
            return
        if self._refused is not None:
            self._end(stream_id, grpc.StatusCode.PERMISSION_DENIED, self._refused)
            return
        handler = self._server._handler(method, tuple(metadata))
        if handler is None:
            self._end(stream_id, grpc.StatusCode.UNIMPLEMENTED, f"Method not found: {method}")
            return
        if encoding != "identity":
            self._end(stream_id, grpc.StatusCode.UNIMPLEMENTED,
                      f"grpc-encoding {encoding!r} is not supported (identity only)")
            return
        deadline: float | None = None
        if timeout is not None:
            seconds = parse_timeout(timeout)
            if seconds is None:
                self._end(stream_id, grpc.StatusCode.INTERNAL,
                          f"malformed grpc-timeout {timeout!r}")
                return
            deadline = time.monotonic() + seconds
        call = _Call(stream_id, method, handler, tuple(metadata), deadline)
        self._calls[stream_id] = call
        if deadline is not None:
            call.timer = self._loop.call_later(deadline - time.monotonic(), self._expire, call)
        if call.requests is not None:
            self._start(call)
        if event.end_stream:
            self._on_data(http2.DataReceived(stream_id, b"", True))

    def _on_data(self, event: http2.DataReceived) -> None:
        call = self._calls.get(event.stream_id)
        if call is None:
            return
        buffer = call.buffer
        if event.data:
            buffer += event.data
        while len(buffer) >= _MESSAGE_PREFIX:
            length = int.from_bytes(buffer[1:5], "big")
            if length > self._server.max_message:
                self._fail(call, grpc.StatusCode.RESOURCE_EXHAUSTED,
                           f"Received message larger than max ({length} vs. "
                           f"{self._server.max_message})")
                return
            if len(buffer) < _MESSAGE_PREFIX + length:
                break
            if buffer[0]:
                self._fail(call, grpc.StatusCode.UNIMPLEMENTED,
                           "compressed messages are not supported (identity only)")
                return
            raw = bytes(buffer[_MESSAGE_PREFIX:_MESSAGE_PREFIX + length])
            del buffer[:_MESSAGE_PREFIX + length]
            try:
                deserialize = call.handler.request_deserializer
                message = raw if deserialize is None else deserialize(raw)
            except Exception as e:  # protobuf's DecodeError, or a deserializer's own
                self._fail(call, grpc.StatusCode.INTERNAL, f"Failed to parse request: {e}")
                return
            if call.requests is not None:
                call.requests.put(message)
            elif call.request is not None or call.task is not None:
                self._fail(call, grpc.StatusCode.UNIMPLEMENTED,
                           "more than one request message for a unary call")
                return
            else:
                call.request = message
        if not event.end_stream:
            if len(buffer) > self._server.max_message + _MESSAGE_PREFIX:
                self._fail(call, grpc.StatusCode.RESOURCE_EXHAUSTED, "message too large")
            return
        if buffer:
            self._fail(call, grpc.StatusCode.INTERNAL, "the request ended inside a message")
        elif call.requests is not None:
            call.requests.end()
        elif call.request is None:
            self._fail(call, grpc.StatusCode.UNIMPLEMENTED,
                       "no request message for a unary call")
        else:
            self._start(call)

    def _start(self, call: _Call) -> None:
        handler = call.handler
        context = ServicerContext(call, self._peer)
        if handler.response_streaming:
            call.task = self._loop.create_task(self._run_streaming(call, context))
        else:
            call.task = self._loop.create_task(self._run_unary(call, context))

    async def _run_unary(self, call: _Call, context: ServicerContext) -> None:
        handler = call.handler
        try:
            if handler.request_streaming:
                response = await handler.stream_unary(call.requests, context)
            else:
                response = await handler.unary_unary(call.request, context)
            payload = _serialized(handler, response)
        except BaseException as e:  # every end of a call is answered
            self._ended_by(call, e)
            return
        if self._calls.pop(call.stream_id, None) is None:
            return  # reset by the client meanwhile
        self._done(call)
        h2 = self._h2
        h2.send_headers(call.stream_id, _RESPONSE_HEADERS)
        h2.send_data(call.stream_id, len(payload).to_bytes(5, "big") + payload)
        h2.send_trailers(call.stream_id, self._trailers(call))
        self._schedule_flush()

    async def _run_streaming(self, call: _Call, context: ServicerContext) -> None:
        handler = call.handler
        requests: Any = call.requests if handler.request_streaming else call.request
        run = handler.stream_stream if handler.request_streaming else handler.unary_stream
        try:
            responses: AsyncIterator[Any] = run(requests, context)
            async for response in responses:
                if call.stream_id not in self._calls:
                    break
                payload = _serialized(handler, response)
                if not call.headers_sent:
                    call.headers_sent = True
                    self._h2.send_headers(call.stream_id, _RESPONSE_HEADERS)
                self._h2.send_data(call.stream_id, len(payload).to_bytes(5, "big") + payload)
                self._schedule_flush()
                # back pressure: a client that does not read stops this stream, and a full
                # socket buffer stops them all
                if self._h2.has_pending(call.stream_id):
                    self._flush()
                    drained = self._loop.create_future()
                    self._blocked[call.stream_id] = drained
                    await drained  # a WINDOW_UPDATE from the client sends the rest
                await self._writable.wait()
        except BaseException as e:  # every end of a call is answered
            self._ended_by(call, e)
            return
        if self._calls.pop(call.stream_id, None) is None:
            return
        self._done(call)
        if not call.headers_sent:
            self._h2.send_headers(call.stream_id, _RESPONSE_HEADERS + self._trailers(call),
                                  end_stream=True)
        else:
            self._h2.send_trailers(call.stream_id, self._trailers(call))
        self._schedule_flush()

    def _trailers(self, call: _Call) -> bytes:
        if call.code is None or call.code is grpc.StatusCode.OK:
            return _OK_TRAILERS
        return trailer_block(call.code, call.details)

    def _ended_by(self, call: _Call, error: BaseException) -> None:
        """The servicer raised (or was cancelled): the status that says so."""
        if isinstance(error, _Abort):
            self._fail(call, error.code, error.details)
        elif isinstance(error, asyncio.CancelledError):
            if call.expired:
                self._fail(call, grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
            elif call.stream_id in self._calls and self._server.stopping:
                self._fail(call, grpc.StatusCode.UNAVAILABLE, "the server is stopping")
            else:
                self._calls.pop(call.stream_id, None)
                self._done(call)
        elif isinstance(error, Exception):
            log.error("gRPC %s failed", call.method, exc_info=error)
            self._fail(call, grpc.StatusCode.UNKNOWN,
                       f"Unexpected {type(error).__name__}: {error}")
        else:  # KeyboardInterrupt, SystemExit: not ours to answer
            self._calls.pop(call.stream_id, None)
            self._done(call)
            raise error

    def _fail(self, call: _Call, code: grpc.StatusCode, message: str) -> None:
        if self._calls.pop(call.stream_id, None) is None:
            return
        self._done(call)
        if call.task is not None and not call.task.done() \
                and call.task is not asyncio.current_task():
            call.task.cancel()
        if call.headers_sent:
            self._h2.send_trailers(call.stream_id, trailer_block(code, message))
        else:
            self._end(call.stream_id, code, message)
        self._schedule_flush()

    def _end(self, stream_id: int, code: grpc.StatusCode, message: str) -> None:
        """Trailers-only: the whole answer is one header block."""
        self._h2.send_headers(stream_id, _RESPONSE_HEADERS + trailer_block(code, message),
                              end_stream=True)

    def _expire(self, call: _Call) -> None:
        call.timer = None
        call.expired = True
        if call.task is None:  # the request has not arrived whole
            self._fail(call, grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
        elif not call.task.done():
            call.task.cancel()

    def _cancel(self, call: _Call) -> None:
        self._done(call)
        if call.task is not None and not call.task.done():
            call.task.cancel()

    @staticmethod
    def _done(call: _Call) -> None:
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None

    # ---- stopping ----

    def go_away(self) -> None:
        self._h2.close()
        self._flush()

    @property
    def idle(self) -> bool:
        return not self._calls

    def tasks(self) -> list[asyncio.Task[None]]:
        return [c.task for c in self._calls.values() if c.task is not None]

    def abort_calls(self) -> None:
        for call in list(self._calls.values()):
            if call.task is not None and not call.task.done():
                call.task.cancel()
            else:
                self._fail(call, grpc.StatusCode.UNAVAILABLE, "the server is stopping")

    def close(self) -> None:
        if self._transport is not None:
            self._flush()
            self._transport.close()


class GrpcServer:
    """The servers' side of grpc's generated `add_XServicer_to_server(servicer, server)`:
    it takes their method handlers, then serves them on `start(host, port)`."""

    def __init__(self, *, max_message: int = MAX_MESSAGE,
                 authorize: Callable[[Any], str | None] | None = None) -> None:
        """`authorize`: given a TLS client's verified certificate (`ssl`'s decoded form),
        None to serve it, or why not."""
        self.max_message = max_message
        self.authorize = authorize
        self._methods: dict[str, Any] = {}
        self._generic: list[Any] = []
        self._listener: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self.stopping = False

    # grpc's registration API, as the generated code calls it
    def add_generic_rpc_handlers(self, handlers: Iterable[Any]) -> None:
        self._generic.extend(handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        for name, handler in handlers.items():
            self._methods[f"/{service}/{name}"] = handler

    def _handler(self, method: str, metadata: tuple[tuple[str, str], ...]) -> Any:
        handler = self._methods.get(method)
        if handler is None:
            for generic in self._generic:
                handler = generic.service(_Details(method, metadata))
                if handler is not None:
                    self._methods[method] = handler
                    break
        return handler

    async def start(self, host: str, port: int, tls: ssl.SSLContext | None = None, *,
                    freebind: bool = False) -> int:
        """Listen (with `tls`: TLS only, its context offering ALPN "h2"); returns the port
        (the one picked, for port 0). `freebind`: bind `host` even if no interface holds it
        yet (Linux's IP_FREEBIND; for an address this process is about to assign)."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP named: asyncio turns Nagle off (TCP_NODELAY) only on sockets that
        # say so, and with Nagle every window's last bytes waited ~40 ms for an ACK
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if freebind:
                sock.setsockopt(socket.SOL_IP, _IP_FREEBIND, 1)
            sock.bind((host, port))
            self._listener = await loop.create_server(lambda: _Connection(self), sock=sock,
                                                      ssl=tls)
        except BaseException:
            sock.close()
            raise
        return int(self._listener.sockets[0].getsockname()[1])

    async def stop(self, grace: float | None = None) -> None:
        """Stop listening, tell every client to go away, let calls finish for `grace`
        seconds (None: not at all), then end the rest with UNAVAILABLE and close."""
        self.stopping = True
        if self._listener is not None:
            self._listener.close()
        connections = list(self._connections)
        for connection in connections:
            connection.go_away()
        if grace:
            # the calls running may finish; one whose request has not arrived whole (no
            # task yet) gets no more time than the grace
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    while tasks := [t for c in connections for t in c.tasks()
                                    if not t.done()]:
                        await asyncio.wait(tasks)
        tasks = [t for c in connections for t in c.tasks()]
        for connection in connections:
            connection.abort_calls()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for connection in connections:
            connection.close()
        if self._listener is not None:
            await self._listener.wait_closed()
            self._listener = None
