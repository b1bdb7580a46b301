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


def grpc_target(endpoint: str) -> str:
    """The gRPC target ("host:port") of an etcd client URL (http://HOST[:PORT])."""
    url = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    if url.scheme != "http":
        raise EndpointError(f"{endpoint}: only http:// etcd endpoints are supported "
                            "(no TLS client certificates yet)")
    if url.path not in ("", "/") or url.query or url.fragment or url.username:
        raise EndpointError(f"{endpoint}: an etcd endpoint is http://HOST:PORT, nothing more")
    try:
        port = url.port or DEFAULT_PORT
    except ValueError as e:
        raise EndpointError(f"{endpoint}: {e}") from None
    if not url.hostname:
        raise EndpointError(f"{endpoint}: no host")
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    return f"{host}:{port}"


class EtcdKV:
    """The `KV` protocol (and `lease_keepalive`) on one etcd endpoint. `connect()` first:
    it checks that etcd answers and learns its revision and compacted revision."""

    def __init__(self, endpoint: str, *, request_timeout: float = 10.0,
                 watch_retry_delays: Sequence[float] = WATCH_RETRY_DELAYS) -> None:
        self.endpoint = endpoint
        # A LIST of a big cluster is one Range answer far above gRPC's 4 MiB default (kube's
        # etcd client lifts the limit the same way); requests stay under etcd's own limit.
        self._channel = grpc.aio.insecure_channel(grpc_target(endpoint), options=[
            ("grpc.max_receive_message_length", -1)])
        self._kv = rpc_pb2_grpc.KVStub(self._channel)
        self._watch = rpc_pb2_grpc.WatchStub(self._channel)
        self._lease = rpc_pb2_grpc.LeaseStub(self._channel)
        self._timeout = request_timeout
        self._retry_delays = tuple(watch_retry_delays)
        self._revision = 0
        self._compact_revision = 0
        self._watches: set[EtcdWatch] = set()
        self._closed = False

    @property
    def revision(self) -> int:
        """The newest revision etcd has told us of (at least that of our last write)."""
        return self._revision

    @property
    def compact_revision(self) -> int:
        return self._compact_revision

    async def connect(self, timeout: float) -> None:
        """Wait up to `timeout` for etcd's first answer; raises StoreUnavailableError."""
        try:
            response = await self._kv.Range(rpc_pb2.RangeRequest(key=b"\x00", count_only=True),
                                            timeout=timeout, wait_for_ready=True)
        except grpc.aio.AioRpcError as e:
            detail = "no answer" if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED \
                else e.details()
            raise StoreUnavailableError(
                f"etcd at {self.endpoint} does not answer ({detail} within {timeout:g} s)"
            ) from None
        self._observe(response.header)
        self._compact_revision = await self._find_compact_revision()

    async def _find_compact_revision(self) -> int:
        """etcd does not report its compacted revision: it is the oldest one a read at a
        past revision is served at (a binary search, once, at connect)."""
        async def readable(revision: int) -> bool:
            try:
                await self._call(self._kv.Range, rpc_pb2.RangeRequest(
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
        response = await self._call(self._kv.Range, rpc_pb2.RangeRequest(
            key=key, range_end=range_end, revision=revision, limit=limit,
            count_only=count_only), self._context(revision=revision))
        return convert.range_result_from_pb(response, int(response.header.revision))

    async def txn(self, compares: list[Compare], success: list[Op],
                  failure: list[Op]) -> TxnResult:
        request = rpc_pb2.TxnRequest(compare=[convert.compare_to_pb(c) for c in compares],
                                     success=[convert.op_to_pb(op) for op in success],
                                     failure=[convert.op_to_pb(op) for op in failure])
        return convert.txn_result_from_pb(await self._call(self._kv.Txn, request,
                                                           self._context()))

    async def compact(self, revision: int) -> None:
        await self._call(self._kv.Compact, rpc_pb2.CompactionRequest(revision=revision),
                         self._context(revision=revision))
        self._compact_revision = max(self._compact_revision, revision)

    async def lease_grant(self, ttl_seconds: int) -> int:
        response = await self._call(self._lease.LeaseGrant,
                                    rpc_pb2.LeaseGrantRequest(TTL=ttl_seconds), self._context())
        if response.error:
            raise StoreError(f"etcd at {self.endpoint} refused a lease: {response.error}")
        return int(response.ID)

    async def lease_revoke(self, lease_id: int) -> None:
        await self._call(self._lease.LeaseRevoke, rpc_pb2.LeaseRevokeRequest(ID=lease_id),
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
        await self._channel.close()

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

    async def _call(self, method: Callable[..., Awaitable[T]], request: Any,
                    at: RequestContext) -> T:
        self._check_open()
        try:
            response = await method(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as e:
            raise self._error(e, at) from None
        except asyncio.CancelledError:
            if self._closed:
                raise StoreClosedError("store closed") from None
            raise
        self._observe(response.header)  # type: ignore[attr-defined]
        return response

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
