"""EtcdKV: the store's `KV` protocol over an external etcd's v3 gRPC API (serve's
--datastore-endpoint), as kube-apiserver and k3s use etcd.

A thin shell: requests and answers are converted in `convert.py`; etcd's statuses become
the store errors the API server already answers for (410, 504, 503). `revision` and
`compact_revision` are read synchronously by the API server, so they are kept from what
etcd tells us: every response header, every watch answer, and our own compactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import grpc
from aetcd.rpc import rpc_pb2, rpc_pb2_grpc

from minikube_py.etcdapi import convert
from minikube_py.etcdapi.convert import RequestContext
from minikube_py.store.types import (
    CompactedError,
    Compare,
    Event,
    LeaseNotFoundError,
    Op,
    RangeResult,
    StoreClosedError,
    StoreError,
    StoreUnavailableError,
    TxnResult,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_PORT = 2379
# Pauses between attempts to re-open a watch whose connection broke (clientv3 retries
# forever too); the last one repeats.
WATCH_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


class EndpointError(ValueError):
    """A --datastore-endpoint we cannot use; the message says why."""


@dataclass(frozen=True, slots=True)
class EtcdTLS:
    """How to reach an https etcd (k3s's --datastore-cafile/-certfile/-keyfile): the CA
    its serving certificate is checked against (the system's roots when empty), and our
    client certificate and key when it asks for one (both or neither)."""

    cafile: str = ""
    certfile: str = ""
    keyfile: str = ""

    def __post_init__(self) -> None:
        if bool(self.certfile) != bool(self.keyfile):
            raise EndpointError("--datastore-certfile and --datastore-keyfile go together")

    @property
    def given(self) -> bool:
        return bool(self.cafile or self.certfile)

    def credentials(self) -> grpc.ChannelCredentials:
        """The files, read now (EndpointError naming the one that cannot be read)."""
        def read(path: str, flag: str) -> bytes | None:
            if not path:
                return None
            try:
                return Path(path).read_bytes()
            except OSError as e:
                raise EndpointError(f"--datastore-{flag} {path}: {e.strerror}") from None
        return grpc.ssl_channel_credentials(root_certificates=read(self.cafile, "cafile"),
                                            private_key=read(self.keyfile, "keyfile"),
                                            certificate_chain=read(self.certfile, "certfile"))


def split_endpoints(endpoints: str) -> list[str]:
    """The endpoints of a comma-separated --datastore-endpoint, blanks around them dropped
    (EndpointError if none, or one twice)."""
    listed = [e.strip() for e in endpoints.split(",") if e.strip()]
    if not listed:
        raise EndpointError(f"{endpoints!r}: no endpoint")
    if len(set(listed)) != len(listed):
        raise EndpointError(f"{endpoints}: an endpoint is listed twice")
    return listed


def endpoint_scheme(endpoints: str) -> str:
    """"http" or "https", the one scheme of every endpoint (EndpointError when they differ:
    the same client talks to all of them, with or without TLS)."""
    schemes = {urlsplit(e if "://" in e else f"http://{e}").scheme
               for e in split_endpoints(endpoints)}
    if len(schemes) != 1:
        raise EndpointError(f"{endpoints}: every endpoint is http:// or every one https://")
    return schemes.pop()


def check_endpoints(endpoints: str, tls: EtcdTLS) -> list[str]:
    """The gRPC targets of --datastore-endpoint, checked with its TLS flags."""
    scheme = endpoint_scheme(endpoints)
    if scheme == "http" and tls.given:
        raise EndpointError(f"{endpoints}: the --datastore-cafile/-certfile/-keyfile are for "
                            "https:// endpoints")
    return [grpc_target(e) for e in split_endpoints(endpoints)]


def grpc_target(endpoint: str) -> str:
    """The gRPC target ("host:port") of an etcd client URL (http[s]://HOST[:PORT])."""
    url = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    if url.scheme not in ("http", "https"):
        raise EndpointError(f"{endpoint}: an etcd endpoint is http:// or https://")
    if url.path not in ("", "/") or url.query or url.fragment or url.username:
        raise EndpointError(f"{endpoint}: an etcd endpoint is http[s]://HOST:PORT, nothing "
                            "more")
    try:
        port = url.port or DEFAULT_PORT
    except ValueError as e:
        raise EndpointError(f"{endpoint}: {e}") from None
    if not url.hostname:
        raise EndpointError(f"{endpoint}: no host")
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    return f"{host}:{port}"


class _Endpoint:
    """One etcd endpoint: its channel and the stubs on it."""

    def __init__(self, url: str, target: str, tls: grpc.ChannelCredentials | None) -> None:
        self.url = url
        # A LIST of a big cluster is one Range answer far above gRPC's 4 MiB default (kube's
        # etcd client lifts the limit the same way); requests stay under etcd's own limit.
        options = [("grpc.max_receive_message_length", -1)]
        self.channel = grpc.aio.insecure_channel(target, options=options) if tls is None \
            else grpc.aio.secure_channel(target, tls, options=options)
        self.kv = rpc_pb2_grpc.KVStub(self.channel)
        self.watch = rpc_pb2_grpc.WatchStub(self.channel)
        self.lease = rpc_pb2_grpc.LeaseStub(self.channel)


class EtcdKV:
    """The `KV` protocol (and `lease_keepalive`) on an etcd cluster's endpoints (a comma-
    separated list: `connect()` takes the first that answers, and requests move to the next
    when the one in use cannot be reached, as etcd's client fails over). `connect()` first:
    it checks that etcd answers and learns its revision and compacted revision.

    A read that finds its endpoint unreachable is asked again of the next one; a write is
    not (it may have been applied before the connection broke): it fails, retryably, and
    the next request goes to the next endpoint."""

    def __init__(self, endpoints: str, *, tls: EtcdTLS = EtcdTLS(),
                 request_timeout: float = 10.0,
                 watch_retry_delays: Sequence[float] = WATCH_RETRY_DELAYS) -> None:
        targets = check_endpoints(endpoints, tls)
        credentials = tls.credentials() if endpoint_scheme(endpoints) == "https" else None
        self._endpoints = [_Endpoint(url, target, credentials)
                           for url, target in zip(split_endpoints(endpoints), targets,
                                                  strict=True)]
        self._current = 0
        self._timeout = request_timeout
        self._retry_delays = tuple(watch_retry_delays)
        self._revision = 0
        self._compact_revision = 0
        self._watches: set[EtcdWatch] = set()
        self._closed = False

    @property
    def endpoint(self) -> str:
        """The endpoint requests go to now."""
        return self._endpoints[self._current].url

    @property
    def _kv(self) -> Any:
        return self._endpoints[self._current].kv

    @property
    def _watch(self) -> Any:
        return self._endpoints[self._current].watch

    @property
    def _lease(self) -> Any:
        return self._endpoints[self._current].lease

    def _fail_over(self, from_url: str) -> None:
        """The endpoint `from_url` cannot be reached: use the next one (unless another
        request moved on already)."""
        if len(self._endpoints) > 1 and self.endpoint == from_url:
            self._current = (self._current + 1) % len(self._endpoints)
            log.warning("etcd at %s cannot be reached; using %s", from_url, self.endpoint)

    @property
    def revision(self) -> int:
        """The newest revision etcd has told us of (at least that of our last write)."""
        return self._revision

    @property
    def compact_revision(self) -> int:
        return self._compact_revision

    async def connect(self, timeout: float) -> None:
        """Wait up to `timeout` for an answer from one of the endpoints, each asked in turn;
        raises StoreUnavailableError."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        # each endpoint gets a share of the time on a round, so a dead first one does not
        # keep us from a live second one
        share = max(0.2, timeout / (2 * len(self._endpoints)))
        details: dict[str, str] = {}
        while True:
            for _ in self._endpoints:
                left = deadline - loop.time()
                if left <= 0:
                    if len(self._endpoints) == 1:
                        raise StoreUnavailableError(
                            f"etcd at {self.endpoint} does not answer "
                            f"({details.get(self.endpoint, 'no answer')} within {timeout:g} s)")
                    shown = "; ".join(f"{url}: {why}" for url, why in details.items())
                    raise StoreUnavailableError(
                        f"no etcd endpoint answers within {timeout:g} s ({shown})")
                url = self.endpoint
                try:
                    response = await self._kv.Range(
                        rpc_pb2.RangeRequest(key=b"\x00", count_only=True),
                        timeout=min(left, share), wait_for_ready=True)
                except grpc.aio.AioRpcError as e:
                    details[url] = "no answer" \
                        if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED else str(e.details())
                    self._fail_over(url)
                    continue
                self._observe(response.header)
                self._compact_revision = await self._find_compact_revision()
                return

    async def _find_compact_revision(self) -> int:
        """etcd does not report its compacted revision: it is the oldest one a read at a
        past revision is served at (a binary search, once, at connect)."""
        async def readable(revision: int) -> bool:
            try:
                await self._call(lambda e: e.kv.Range, rpc_pb2.RangeRequest(
                    key=b"\x00", revision=revision, count_only=True),
                    RequestContext(self.endpoint, revision=revision))
            except CompactedError:
                return False
            return True

        if await readable(1):
            return 0
        low, high = 1, self._revision  # not readable at low; readable at high
        while high - low > 1:
            middle = (low + high) // 2
            if await readable(middle):
                high = middle
            else:
                low = middle
        return high

    async def range(self, key: bytes, range_end: bytes = b"", *, revision: int = 0,
                    limit: int = 0, count_only: bool = False) -> RangeResult:
        response = await self._call(lambda e: e.kv.Range, rpc_pb2.RangeRequest(
            key=key, range_end=range_end, revision=revision, limit=limit,
            count_only=count_only), self._context(revision=revision))
        return convert.range_result_from_pb(response, int(response.header.revision))

    async def txn(self, compares: list[Compare], success: list[Op],
                  failure: list[Op]) -> TxnResult:
        request = rpc_pb2.TxnRequest(compare=[convert.compare_to_pb(c) for c in compares],
                                     success=[convert.op_to_pb(op) for op in success],
                                     failure=[convert.op_to_pb(op) for op in failure])
        return convert.txn_result_from_pb(await self._call(lambda e: e.kv.Txn, request,
                                                           self._context()))

    async def compact(self, revision: int) -> None:
        await self._call(lambda e: e.kv.Compact, rpc_pb2.CompactionRequest(revision=revision),
                         self._context(revision=revision))
        self._compact_revision = max(self._compact_revision, revision)

    async def lease_grant(self, ttl_seconds: int) -> int:
        response = await self._call(lambda e: e.lease.LeaseGrant,
                                    rpc_pb2.LeaseGrantRequest(TTL=ttl_seconds), self._context())
        if response.error:
            raise StoreError(f"etcd at {self.endpoint} refused a lease: {response.error}")
        return int(response.ID)

    async def lease_revoke(self, lease_id: int) -> None:
        await self._call(lambda e: e.lease.LeaseRevoke, rpc_pb2.LeaseRevokeRequest(ID=lease_id),
                         self._context(lease_id=lease_id))

    async def lease_keepalive(self, lease_id: int) -> float:
        """Restart the lease's TTL; returns the TTL in seconds (one round of etcd's stream)."""
        self._check_open()
        call = self._lease.LeaseKeepAlive(timeout=self._timeout)
        try:
            await call.write(rpc_pb2.LeaseKeepAliveRequest(ID=lease_id))
            response = await call.read()
        except grpc.aio.AioRpcError as e:
            raise self._error(e, self._context(lease_id=lease_id)) from None
        finally:
            call.cancel()
        if response is grpc.aio.EOF or response.TTL <= 0:
            raise LeaseNotFoundError(lease_id)
        self._observe(response.header)
        return float(response.TTL)

    def watch(self, key: bytes, range_end: bytes = b"", *, start_revision: int = 0,
              prev_kv: bool = False) -> EtcdWatch:
        # From "now" is after the newest revision we know of, at once, as the embedded
        # store's watch is: etcd takes the watch only when the stream is opened.
        start_revision = start_revision or self._revision + 1
        w = EtcdWatch(self, rpc_pb2.WatchCreateRequest(
            key=key, range_end=range_end, start_revision=start_revision, prev_kv=prev_kv))
        if not self._closed:
            self._watches.add(w)
        else:
            w.close()
        return w

    async def close(self) -> None:
        self._closed = True
        for w in list(self._watches):
            w.close()
        for endpoint in self._endpoints:
            await endpoint.channel.close()

    # --- the shell's plumbing -----------------------------------------------------------

    def _observe(self, header: Any) -> None:
        self._revision = max(self._revision, int(header.revision))

    def _context(self, *, revision: int = 0, lease_id: int = 0) -> RequestContext:
        return RequestContext(self.endpoint, revision=revision, current=self._revision,
                              compacted=self._compact_revision, lease_id=lease_id)

    def _error(self, e: grpc.aio.AioRpcError, at: RequestContext) -> StoreError:
        if self._closed:
            return StoreClosedError("store closed")
        error = convert.to_store_error(e.code(), e.details() or "", at)
        if isinstance(error, CompactedError) and not error.compact_revision:
            error.compact_revision = self._compact_revision
        return error

    async def _call(self, method: Callable[[_Endpoint], Callable[..., Awaitable[T]]],
                    request: Any, at: RequestContext) -> T:
        """`method` of the endpoint in use (e.g. `lambda e: e.kv.Range`) on `request`; a
        read is asked of the next endpoint while the one in use cannot be reached."""
        self._check_open()
        tries = len(self._endpoints) if isinstance(request, rpc_pb2.RangeRequest) else 1
        for attempt in range(tries):
            endpoint = self._endpoints[self._current]
            try:
                response = await method(endpoint)(request, timeout=self._timeout)
            except grpc.aio.AioRpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE or self._closed:
                    raise self._error(e, at) from None
                self._fail_over(endpoint.url)
                if attempt == tries - 1:
                    raise self._error(e, at) from None
                continue
            except asyncio.CancelledError:
                if self._closed:
                    raise StoreClosedError("store closed") from None
                raise
            self._observe(response.header)  # type: ignore[attr-defined]
            return response
        raise AssertionError("unreachable: the last try returns or raises")

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError("store closed")

    def _forget(self, w: EtcdWatch) -> None:
        self._watches.discard(w)

    def _note_compacted(self, revision: int) -> None:
        self._compact_revision = max(self._compact_revision, revision)


class _StreamEnded(Exception):
    """etcd closed a watch stream without an error (it is shutting down, say)."""


class EtcdWatch:
    """One etcd watch on a stream of its own (implements `WatchStream`). A broken
    connection is re-opened from the next revision, as clientv3 does; a start revision
    etcd has compacted raises CompactedError."""

    def __init__(self, kv: EtcdKV, request: Any) -> None:
        self._kv = kv
        self._request = request
        self._call: Any = None
        self._endpoint = kv.endpoint  # the stream's
        self._closed = False
        # Set by close(): a call cancelled before it started may never wake its reader.
        self._stop: asyncio.Future[None] | None = None

    def __aiter__(self) -> AsyncIterator[list[Event]]:
        return self._batches()

    def close(self) -> None:
        self._closed = True
        self._kv._forget(self)
        if self._call is not None:
            self._call.cancel()
        if self._stop is not None and not self._stop.done():
            self._stop.set_result(None)

    async def _batches(self) -> AsyncIterator[list[Event]]:
        failures = 0
        try:
            while not self._closed:
                try:
                    async for batch in self._one_stream():
                        failures = 0
                        yield batch
                    return
                except asyncio.CancelledError:
                    # close() cancels the gRPC call, which cancels whatever awaits it
                    if self._closed:
                        return
                    raise
                except (grpc.aio.AioRpcError, _StreamEnded) as e:
                    if self._closed:
                        return
                    if isinstance(e, grpc.aio.AioRpcError) and \
                            e.code() != grpc.StatusCode.UNAVAILABLE:
                        raise self._kv._error(e, self._kv._context(
                            revision=int(self._request.start_revision))) from None
                    self._kv._fail_over(self._endpoint)
                    delay = self._kv._retry_delays[min(failures,
                                                       len(self._kv._retry_delays) - 1)]
                    failures += 1
                    why = e.details() if isinstance(e, grpc.aio.AioRpcError) else str(e)
                    log.warning("watch on etcd at %s broke (%s); re-opening from revision "
                                "%d in %g s", self._kv.endpoint, why,
                                self._request.start_revision, delay)
                    await self._unless_closed(asyncio.sleep(delay))
        finally:
            self.close()

    async def _one_stream(self) -> AsyncIterator[list[Event]]:
        self._endpoint = self._kv.endpoint
        self._call = call = self._kv._watch.Watch()
        try:
            await self._unless_closed(call.write(rpc_pb2.WatchRequest(
                create_request=self._request)))
            while not self._closed:
                response = await self._unless_closed(call.read())
                if self._closed:
                    return
                if response is grpc.aio.EOF:
                    raise _StreamEnded("etcd ended the stream")
                self._kv._observe(response.header)
                if response.canceled:
                    self._refused(response)
                if response.events:
                    batch = [convert.event_from_pb(ev) for ev in response.events]
                    # resume after what was delivered should the connection break
                    self._request.start_revision = batch[-1].kv.mod_revision + 1
                    yield batch
        finally:
            with contextlib.suppress(Exception):
                call.cancel()

    async def _unless_closed(self, step: Awaitable[Any]) -> Any:
        """`step`'s result, or None once the watch is closed (`step` is then cancelled)."""
        if self._stop is None:
            self._stop = asyncio.get_running_loop().create_future()
            if self._closed:
                self._stop.set_result(None)
        work: asyncio.Future[Any] = asyncio.ensure_future(step)
        waiting: set[asyncio.Future[Any]] = {work, self._stop}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if not work.done():
            work.cancel()
            return None
        return work.result()

    def _refused(self, response: Any) -> None:
        if response.compact_revision:
            self._kv._note_compacted(int(response.compact_revision))
            raise CompactedError(int(self._request.start_revision),
                                 int(response.compact_revision))
        raise StoreError(f"etcd at {self._kv.endpoint} cancelled a watch: "
                         f"{response.cancel_reason or 'no reason given'}")
