"""Our gRPC server against grpc's own client (grpc.aio, C-core): calls of every shape, status
codes and messages, deadlines, cancellation, flow control with large messages, limits, stop.
(etcdctl, a Go client, drives it in test_etcdctl.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from minikube_py.etcdapi.grpcserver import GrpcServer, parse_timeout, percent_encode
from tests.conditions import until

SERVICE = "test.Echo"


class Echo:
    """Handlers over raw bytes (no protobuf): what each call saw, for the assertions."""

    def __init__(self) -> None:
        self.cancelled = asyncio.Event()
        self.started = asyncio.Event()
        self.remaining: float | None = None
        self.metadata: tuple[tuple[str, str], ...] = ()

    async def unary(self, request: bytes, context: Any) -> bytes:
        self.metadata = context.invocation_metadata()
        if request.startswith(b"abort:"):
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, request[6:].decode())
        if request == b"raise":
            raise RuntimeError("boom")
        if request == b"hang":
            self.remaining = context.time_remaining()
            self.started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        if request.startswith(b"big:"):
            return b"r" * int(request[4:])
        return request[::-1]

    async def chat(self, requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[bytes]:
        async for request in requests:
            count, size = (int(x) for x in request.split(b"x"))
            for i in range(count):
                yield i.to_bytes(4, "big") * (size // 4)

    async def summed(self, requests: AsyncIterator[bytes], context: Any) -> bytes:
        return str(sum([len(r) async for r in requests])).encode()

    async def counted(self, request: bytes, context: Any) -> AsyncIterator[bytes]:
        for i in range(int(request)):
            yield str(i).encode()
        if request == b"3":
            await context.abort(grpc.StatusCode.OUT_OF_RANGE, "no more than 3")


@pytest.fixture
async def served() -> AsyncIterator[tuple[Echo, grpc.aio.Channel, GrpcServer]]:
    echo = Echo()
    server = GrpcServer(max_message=8 * 1024 * 1024)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, {
        "Unary": grpc.unary_unary_rpc_method_handler(echo.unary),
        "Chat": grpc.stream_stream_rpc_method_handler(echo.chat),
        "Sum": grpc.stream_unary_rpc_method_handler(echo.summed),
        "Count": grpc.unary_stream_rpc_method_handler(echo.counted),
    })])
    port = await server.start("127.0.0.1", 0)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=[
        ("grpc.max_receive_message_length", 64 * 1024 * 1024),
        ("grpc.max_send_message_length", 64 * 1024 * 1024)])
    try:
        yield echo, channel, server
    finally:
        await channel.close()
        await server.stop(None)


def unary(channel: grpc.aio.Channel) -> Any:
    return channel.unary_unary(f"/{SERVICE}/Unary")


async def test_unary_calls_many_at_once_on_one_connection(served: Any) -> None:
    _, channel, _ = served
    call = unary(channel)
    answers = await asyncio.gather(*(call(b"%d-abc" % i, metadata=[("x-who", "me")])
                                     for i in range(300)))
    assert answers == [(b"%d-abc" % i)[::-1] for i in range(300)]
    assert ("x-who", "me") in served[0].metadata


async def test_an_abort_reaches_the_client_with_its_code_and_exact_message(served: Any) -> None:
    _, channel, _ = served
    message = "etcdserver: requested lease not found — 100% ünïcode\nline two"
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await unary(channel)(b"abort:" + message.encode())
    assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert e.value.details() == message


async def test_a_servicer_that_raises_is_an_unknown_status_not_a_hang(served: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await unary(served[1])(b"raise")
    assert e.value.code() is grpc.StatusCode.UNKNOWN
    assert "RuntimeError: boom" in (e.value.details() or "")


async def test_an_unknown_method_is_unimplemented(served: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await served[1].unary_unary("/test.Echo/Nope")(b"")
    assert e.value.code() is grpc.StatusCode.UNIMPLEMENTED
    assert "/test.Echo/Nope" in (e.value.details() or "")


async def test_a_deadline_reaches_the_servicer_and_cancels_it(served: Any) -> None:
    echo, channel, _ = served
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await unary(channel)(b"hang", timeout=0.3)
    assert e.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    await asyncio.wait_for(echo.cancelled.wait(), 5)
    # grpc-timeout travels in whole units of its own choosing, rounded up: a few ms over.
    assert echo.remaining is not None and 0 < echo.remaining <= 0.32


async def test_a_client_cancel_cancels_the_servicer(served: Any) -> None:
    echo, channel, _ = served
    call = unary(channel)(b"hang")
    await asyncio.wait_for(echo.started.wait(), 5)
    call.cancel()
    await asyncio.wait_for(echo.cancelled.wait(), 5)
    # the connection goes on serving
    assert await unary(channel)(b"ab") == b"ba"


async def test_messages_far_beyond_the_windows_arrive_whole(served: Any) -> None:
    _, channel, _ = served
    assert await unary(channel)(b"big:5000000") == b"r" * 5_000_000
    big = bytes(range(256)) * 20_000  # 5 MB up
    assert await channel.stream_unary(f"/{SERVICE}/Sum")(iter([big, big[:10]])) \
        == str(len(big) + 10).encode()


async def test_a_message_over_the_limit_is_refused(served: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await unary(served[1])(b"x" * (9 * 1024 * 1024))
    assert e.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_a_streamed_answer_follows_a_slow_reader_in_order(served: Any) -> None:
    """4 MB streamed to a reader that pauses: the server waits for its window, drops none."""
    _, _, server = served
    port = server._listener.sockets[0].getsockname()[1]
    # a client window that stays small (no BDP probing), so that 4 MB cannot all be in
    # flight: the server has to wait for the window while this reader pauses
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=[
        ("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 65_536)])
    chat = channel.stream_stream(f"/{SERVICE}/Chat")
    call = chat()
    await call.write(b"400x10000")
    seen = 0
    async for message in call:
        i, repeat = (seen, 2500) if seen < 400 else (seen - 400, 2)
        assert message == i.to_bytes(4, "big") * repeat
        seen += 1
        if seen == 1:  # a reader that pauses: the server stops at the client's window
            await until(lambda: any(c._blocked for c in server._connections),
                        "the server to wait for the client's window")
        if seen == 400:
            await call.write(b"2x8")
            await call.done_writing()
    assert seen == 402
    assert await call.code() is grpc.StatusCode.OK
    await channel.close()


async def test_a_server_stream_ends_with_the_servicers_status(served: Any) -> None:
    call = served[1].unary_stream(f"/{SERVICE}/Count")(b"3")
    got = [m async for m in _until_error(call)]
    assert got == [b"0", b"1", b"2"]
    assert await call.code() is grpc.StatusCode.OUT_OF_RANGE
    assert await call.details() == "no more than 3"
    empty = served[1].unary_stream(f"/{SERVICE}/Count")(b"0")
    assert [m async for m in empty] == []
    assert await empty.code() is grpc.StatusCode.OK


async def _until_error(call: Any) -> AsyncIterator[bytes]:
    try:
        async for message in call:
            yield message
    except grpc.aio.AioRpcError:
        return


async def test_stop_ends_open_streams_as_unavailable(served: Any) -> None:
    _, channel, server = served
    call = channel.stream_stream(f"/{SERVICE}/Chat")()
    await call.write(b"1x4")
    assert await call.read() == b"\0\0\0\0"
    await server.stop(0.2)
    assert await call.code() is grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("value, seconds", [("10S", 10.0), ("250m", 0.25), ("3H", 10800.0),
                                            ("7u", 7e-6), ("1", None), ("12x", None),
                                            ("123456789S", None), ("-1S", None)])
def test_grpc_timeout_header(value: str, seconds: float | None) -> None:
    assert parse_timeout(value) == seconds


def test_grpc_message_percent_encoding() -> None:
    assert percent_encode("a 100% é\n") == "a 100%25 %C3%A9%0A"


async def test_stop_with_grace_ends_a_call_whose_request_never_arrived_whole(
        served: Any) -> None:
    """A call with no task yet (its request still coming) must not keep stop() spinning."""
    _, channel, server = served
    call = channel.stream_unary(f"/{SERVICE}/Sum")()  # a request stream never ended...
    await call.write(b"x")
    echo_call = unary(channel)(b"ab")  # ...and a unary call beside it, answered at once
    assert await echo_call == b"ba"
    await asyncio.wait_for(server.stop(0.3), 5)
    assert await call.code() is grpc.StatusCode.UNAVAILABLE


async def test_a_huge_status_message_is_cut_to_fit_its_frame(served: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await unary(served[1])(b"abort:" + "é".encode() * 20_000, timeout=5)
    assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    details = e.value.details() or ""
    assert details.startswith("é" * 100) and details.endswith(" ...(cut)")


@pytest.mark.parametrize("value", ["\u00b2S", "1\u0661S"])
def test_grpc_timeout_with_non_ascii_digits_is_malformed(value: str) -> None:
    assert parse_timeout(value) is None
