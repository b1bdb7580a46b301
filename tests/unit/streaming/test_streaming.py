"""The upgrade proxy: the request head a hop forwards, the pure option mapping of each hop,
and a spliced connection carrying bytes both ways (over loopback, no containers)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from multidict import MultiDict

from minikube_py.api.errors import ApiError
from minikube_py.apiserver.streaming import exec_query, kubelet_target, port_query
from minikube_py.kubelet.streaming import runtime_accepts, stream_options
from minikube_py.pki.tls import client_context
from minikube_py.streaming.request_head import is_upgrade_request, render_request_head
from minikube_py.streaming.splice import UpstreamUnreachable, splice_upgrade
from tests.certs import TrialPki, make_test_pki


def test_request_head_keeps_repeated_headers_and_replaces_host() -> None:
    head = render_request_head("POST", "/exec/x", [
        (b"Host", b"client.example"), (b"Upgrade", b"SPDY/3.1"),
        (b"X-Stream-Protocol-Version", b"v5.channel.k8s.io"),
        (b"X-Stream-Protocol-Version", b"v4.channel.k8s.io")], "127.0.0.1:1")
    assert head == (b"POST /exec/x HTTP/1.1\r\nHost: 127.0.0.1:1\r\nUpgrade: SPDY/3.1\r\n"
                    b"X-Stream-Protocol-Version: v5.channel.k8s.io\r\n"
                    b"X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n")


def test_request_head_drops_named_headers() -> None:
    head = render_request_head("GET", "/", [(b"Authorization", b"Bearer t")], "h:1",
                               drop=("authorization",))
    assert b"Bearer" not in head


def test_request_head_refuses_a_target_that_would_split_the_request() -> None:
    with pytest.raises(ValueError):
        render_request_head("GET", "/a\r\nX: y", [], "h:1")


def test_upgrade_request_needs_both_connection_upgrade_and_upgrade() -> None:
    assert is_upgrade_request({"Connection": "keep-alive, Upgrade", "Upgrade": "SPDY/3.1"})
    assert not is_upgrade_request({"Upgrade": "SPDY/3.1"})
    assert not is_upgrade_request({"Connection": "Upgrade"})


def test_exec_query_maps_stream_flags_to_the_kubelets_names() -> None:
    query = {"stdin": "true", "stdout": "true", "stderr": "false", "tty": "true"}
    assert exec_query(query, ["sh", "-c", "echo"], "exec") == [
        ("command", "sh"), ("command", "-c"), ("command", "echo"),
        ("input", "1"), ("output", "1"), ("tty", "1")]


def test_exec_query_needs_a_stream_and_a_command() -> None:
    with pytest.raises(ApiError, match="at least 1 of stdin"):
        exec_query({}, ["ls"], "exec")
    with pytest.raises(ApiError, match="at least one command"):
        exec_query({"stdout": "true"}, [], "exec")
    assert exec_query({"stdout": "true"}, [], "attach") == [("output", "1")]


def test_port_query_splits_and_checks_ports() -> None:
    assert port_query(["80,8080", "9000"]) == [("port", "80"), ("port", "8080"),
                                                ("port", "9000")]
    with pytest.raises(ApiError):
        port_query(["http"])


def test_kubelet_target_quotes_names() -> None:
    assert kubelet_target("exec", "ns", "p", "c", [("command", "a b")]) == \
        "/exec/ns/p/c?command=a+b"
    assert kubelet_target("portforward", "ns", "p", "", []) == "/portforward/ns/p"


def test_stream_options_merge_stderr_into_a_tty() -> None:
    opts = stream_options({"input": "1", "output": "1", "error": "1", "tty": "1"}, ["sh"])
    assert (opts.stdin, opts.stdout, opts.stderr, opts.tty) == (True, True, False, True)


def test_runtime_takes_spdy_and_websocket_up_to_v4_only() -> None:
    ws = {"Upgrade": "websocket"}
    assert runtime_accepts("exec", {"Upgrade": "SPDY/3.1"})
    assert runtime_accepts("exec", ws)  # no subprotocol asked for
    assert runtime_accepts("exec", {**ws, "Sec-WebSocket-Protocol": "v5.channel.k8s.io, "
                                    "v4.channel.k8s.io"})
    assert not runtime_accepts("exec", {**ws, "Sec-WebSocket-Protocol": "v5.channel.k8s.io"})
    assert not runtime_accepts("portforward", {
        **ws, "Sec-WebSocket-Protocol": "SPDY/3.1+portforward.k8s.io"})


async def _echo_upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers 101 after the head (echoing its request line), then echoes bytes upper-cased."""
    head = await reader.readuntil(b"\r\n\r\n")
    request_line = head.split(b"\r\n")[0]
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n"
                 b"X-Request: " + request_line + b"\r\n\r\n")
    while data := await reader.read(1024):
        writer.write(data.upper())
        await writer.drain()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[int]:
    upstream = await asyncio.start_server(_echo_upstream, "127.0.0.1", 0)
    up_port = upstream.sockets[0].getsockname()[1]

    async def handler(request: web.Request) -> web.StreamResponse:
        return await splice_upgrade(request, "127.0.0.1", up_port, "/next?x=1")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    assert site._server is not None
    port: int = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield port
    finally:
        await runner.cleanup()
        upstream.close()
        with contextlib.suppress(Exception):
            await upstream.wait_closed()


async def test_spliced_connection_relays_the_101_and_bytes_both_ways(proxy: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy)
    writer.write(b"POST /exec HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                 b"Upgrade: SPDY/3.1\r\nContent-Length: 0\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101 ")
    assert b"X-Request: POST /next?x=1 HTTP/1.1" in head
    writer.write(b"hello")
    assert await asyncio.wait_for(reader.readexactly(5), 5) == b"HELLO"
    big = bytes(range(97, 123)) * 100_000  # well past every buffer limit
    writer.write(big)
    assert await asyncio.wait_for(reader.readexactly(len(big)), 10) == big.upper()
    writer.close()


async def test_websocket_bytes_sent_with_the_head_are_not_lost(proxy: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                 b"\r\nhello")
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert await asyncio.wait_for(reader.readexactly(5), 5) == b"HELLO"
    writer.close()


async def test_spliced_connection_closes_when_the_upstream_does(proxy: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    writer.write_eof()  # the upstream echoes until it sees EOF, then closes
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TrialPki:
    return make_test_pki(tmp_path_factory.mktemp("splice"))


@contextlib.asynccontextmanager
async def tls_proxy(pki: TrialPki, upstream_trusts: Path) -> AsyncIterator[int]:
    """The API server's hop over TLS on both sides: clients reach it with the cluster CA,
    it reaches a kubelet-like upstream with its kubelet-client certificate, trusting
    `upstream_trusts`."""
    upstream = await asyncio.start_server(_echo_upstream, "127.0.0.1", 0,
                                          ssl=pki.kubelet_context())
    up_port = upstream.sockets[0].getsockname()[1]
    to_upstream = client_context(upstream_trusts, pki.layout.kubelet_client)

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            return await splice_upgrade(request, "127.0.0.1", up_port, "/next",
                                        tls=to_upstream)
        except UpstreamUnreachable as e:
            return web.Response(status=502, text=str(e))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=pki.api_server_context())
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()
        upstream.close()
        with contextlib.suppress(Exception):
            await upstream.wait_closed()


UPGRADE = (b"POST /exec HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
           b"Content-Length: 0\r\n\r\n")


async def test_a_splice_carries_bytes_both_ways_over_tls_on_both_hops(pki: TrialPki) -> None:
    async with tls_proxy(pki, pki.layout.ca.cert) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=pki.client(None))
        writer.write(UPGRADE)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101 ")
        big = bytes(range(97, 123)) * 100_000
        writer.write(big)
        assert await asyncio.wait_for(reader.readexactly(len(big)), 10) == big.upper()
        writer.close()


async def test_an_upstream_whose_certificate_the_ca_did_not_sign_is_unreachable(
        pki: TrialPki) -> None:
    other_ca = pki.stranger.cert.parent / "ca.crt"
    async with tls_proxy(pki, other_ca) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=pki.client(None))
        writer.write(UPGRADE)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        answer = head + await asyncio.wait_for(reader.readexactly(length), 5)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 502 ")
    assert b"CERTIFICATE_VERIFY_FAILED" in answer


def test_multidict_query_keeps_repeated_commands() -> None:
    # aiohttp's query is a MultiDict; exec_query receives the repeated values separately.
    q: MultiDict[str] = MultiDict([("command", "a"), ("command", "b"), ("stdout", "true")])
    assert exec_query(q, q.getall("command"), "exec")[:2] == [("command", "a"), ("command", "b")]
