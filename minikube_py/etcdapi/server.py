"""etcd's v3 gRPC services (on our own gRPC server, grpcserver.py), answering from a store that speaks our `KV` protocol.

Thin shells: each RPC converts its request (`convert.py`), calls the store and converts
the answer back; store errors become etcd's status codes and messages. What etcd offers
and we cannot is refused with UNIMPLEMENTED and a message naming it, never ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeVar

import grpc
from aetcd.rpc import rpc_pb2, rpc_pb2_grpc

from minikube_py.etcdapi import convert
from minikube_py.etcdapi.convert import EtcdError
from minikube_py.etcdapi.grpcserver import GrpcServer
from minikube_py.pki.tls import cert_identity
from minikube_py.store.types import (
    KV,
    CompactedError,
    Compare,
    CompareOp,
    CompareTarget,
    EventType,
    LeaseNotFoundError,
    PutOp,
    StoreError,
    WatchStream,
)

T = TypeVar("T")

VERSION = "3.4.0-minikube-py"  # what Status reports: the etcd API level we follow, and who we are
CLUSTER_ID = 0x6D696E696B7562  # "minikub": one fixed id; we serve one cluster
# etcd's bounds: at most 9e9 s; at least 1.5 election timeouts, 2 s with its defaults
MAX_LEASE_TTL = 9_000_000_000
MIN_LEASE_TTL = 2
INVALID_WATCH_ID = -1  # clientv3.InvalidWatchID: the id of progress answers and refusals


class Backend(KV, Protocol):
    """What the API needs beyond `KV`: RaftStore offers both."""

    async def lease_keepalive(self, lease_id: int) -> float: ...

    @property
    def is_leader(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class RaftStatus:
    leader: int  # member id, 0 if none is known
    term: int
    index: int  # last committed index
    applied: int


def raft_status_of(store: object, member_id: int) -> RaftStatus:
    """The Raft position of the store for Status and response headers: a RaftStore's own
    (`raft_position()`); a store without Raft (MemoryKV) is a lone leader at term 0."""
    position = getattr(store, "raft_position", None)
    if position is None:
        return RaftStatus(member_id if getattr(store, "is_leader", False) else 0, 0, 0, 0)
    at = position()
    return RaftStatus(int(at.leader), int(at.term), int(at.commit), int(at.applied))


async def _answer(context: grpc.aio.ServicerContext, call: Awaitable[T]) -> T:
    """`call`'s result, or the RPC aborted with the status etcd gives for its error."""
    try:
        return await call
    except EtcdError as e:
        await _abort(context, e)
    except StoreError as e:
        await _abort(context, convert.from_store_error(e))


async def _abort(context: grpc.aio.ServicerContext, error: EtcdError) -> NoReturn:
    await context.abort(error.code, error.message)
    raise AssertionError("unreachable: abort raises")


@dataclass(slots=True)
class _LeaseRecord:
    granted_ttl: int
    deadline: float


class _Core:
    """State the services share: the store, who we are, and leases granted through us."""

    def __init__(self, kv: Backend, member_id: int, status: Callable[[], RaftStatus],
                 clock: Callable[[], float]) -> None:
        self.kv = kv
        self.member_id = member_id
        self.status = status
        self.clock = clock
        # TimeToLive needs granted TTLs and deadlines, which the store does not expose:
        # we keep them for leases granted through this API (see LeaseTimeToLive).
        self.leases: dict[int, _LeaseRecord] = {}

    def header(self, revision: int = 0) -> Any:
        return rpc_pb2.ResponseHeader(
            cluster_id=CLUSTER_ID, member_id=self.member_id,
            revision=revision or self.kv.revision, raft_term=self.status().term)


class KVService(rpc_pb2_grpc.KVServicer):  # type: ignore[misc]
    def __init__(self, core: _Core) -> None:
        self._core = core

    async def Range(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await _answer(context, self._range(request))

    async def _range(self, request: Any) -> Any:
        convert.require_key(request.key)
        # count is over the whole range before limit and filters, as etcd's is
        result = await self._core.kv.range(
            request.key, request.range_end, revision=int(request.revision),
            limit=convert.range_fetch_limit(request), count_only=request.count_only)
        return convert.range_response(self._core.header(result.revision), result, request)

    async def Put(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await _answer(context, self._put(request))

    async def _put(self, request: Any) -> Any:
        convert.require_key(request.key)
        if request.ignore_value and request.value:
            raise EtcdError(grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: value is provided")
        if request.ignore_lease and request.lease:
            raise EtcdError(grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: lease is provided")
        op = PutOp(request.key, request.value, int(request.lease), request.prev_kv)
        compares: list[Compare] = []
        while True:
            if request.ignore_value or request.ignore_lease:
                # keep the current value or lease: put only if the key did not change meanwhile
                current = (await self._core.kv.range(request.key)).kvs
                if not current:
                    raise EtcdError(grpc.StatusCode.INVALID_ARGUMENT, convert.KEY_NOT_FOUND)
                kv = current[0]
                op = PutOp(request.key, kv.value if request.ignore_value else request.value,
                           kv.lease if request.ignore_lease else int(request.lease),
                           request.prev_kv)
                compares = [Compare(request.key, CompareTarget.MOD, CompareOp.EQUAL,
                                    kv.mod_revision)]
            result = await self._core.kv.txn(compares, [op], [])
            if result.succeeded:
                break
        response = convert.op_result_to_pb(self._core.header(result.revision),
                                           result.responses[0], None).response_put
        return response

    async def DeleteRange(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await _answer(context, self._delete(request))

    async def _delete(self, request: Any) -> Any:
        op = convert.op_from_pb(rpc_pb2.RequestOp(request_delete_range=request))
        result = await self._core.kv.txn([], [op], [])
        return convert.op_result_to_pb(self._core.header(result.revision),
                                       result.responses[0], None).response_delete_range

    async def Txn(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await _answer(context, self._txn(request))

    async def _txn(self, request: Any) -> Any:
        compares = [convert.compare_from_pb(c) for c in request.compare]
        success = [convert.op_from_pb(op) for op in request.success]
        failure = [convert.op_from_pb(op) for op in request.failure]
        result = await self._core.kv.txn(compares, success, failure)
        header = self._core.header(result.revision)
        taken = request.success if result.succeeded else request.failure
        response = rpc_pb2.TxnResponse(header=header, succeeded=result.succeeded)
        response.responses.extend(
            convert.op_result_to_pb(header, r, op) for r, op in zip(result.responses, taken,
                                                                    strict=True))
        return response

    async def Compact(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await _answer(context, self._compact(request))

    async def _compact(self, request: Any) -> Any:
        # `physical` asks to wait until compaction is done; ours is done once acknowledged.
        await self._core.kv.compact(int(request.revision))
        return rpc_pb2.CompactionResponse(header=self._core.header())


class WatchService(rpc_pb2_grpc.WatchServicer):  # type: ignore[misc]
    def __init__(self, core: _Core, progress_interval: float) -> None:
        self._core = core
        self._progress_interval = progress_interval

    async def Watch(self, request_iterator: AsyncIterator[Any],
                    context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        session = _WatchSession(self._core, self._progress_interval)
        reader = asyncio.ensure_future(session.read(request_iterator))
        reader.add_done_callback(lambda _: session.out.put_nowait(_READER_DONE))
        try:
            while True:
                response = await session.out.get()
                if response is _READER_DONE:
                    # a failed read ends the stream; a client that stops sending still
                    # gets its events until it hangs up, as from etcd
                    if not reader.cancelled() and reader.exception() is not None:
                        reader.result()
                    continue
                yield response
        finally:
            reader.cancel()
            await session.close()


_READER_DONE = object()  # queued out when a Watch stream's requests end


class _WatchSession:
    """One Watch stream: its watchers, each pumped by a task into one outgoing queue, and a
    ticker for the watchers that asked for progress notifications."""

    def __init__(self, core: _Core, progress_interval: float) -> None:
        self._core = core
        self._progress_interval = progress_interval
        self.out: asyncio.Queue[Any] = asyncio.Queue()
        self._watchers: dict[int, tuple[WatchStream, asyncio.Task[None]]] = {}
        self._notify: set[int] = set()  # watchers that asked for progress notifications
        self._quiet: set[int] = set()  # of those, the ones sent nothing since the last tick
        self._ticker: asyncio.Task[None] | None = None
        self._next_id = 0

    async def read(self, requests: AsyncIterator[Any]) -> None:
        async for request in requests:
            kind = request.WhichOneof("request_union")
            if kind == "create_request":
                self._create(request.create_request)
            elif kind == "cancel_request":
                self._cancel(request.cancel_request.watch_id)
            elif kind == "progress_request":
                revision = await self._drained_revision()
                self.out.put_nowait(rpc_pb2.WatchResponse(
                    header=self._core.header(revision), watch_id=INVALID_WATCH_ID))

    async def _drained_revision(self) -> int:
        """A revision through which every watcher has queued out all its events.

        The store hands each revision's events to every watcher synchronously as it applies
        it, which wakes their pumps (scheduled on the loop, in order). Yielding once lets
        every pump woken so far run: a pump's step drains its whole backlog without
        awaiting anything else. So all events up to the revision read before the yield are
        queued out after it; anything later is for a later revision."""
        revision = self._core.kv.revision
        await asyncio.sleep(0)
        return revision

    def _create(self, r: Any) -> None:
        watch_id = int(r.watch_id)
        if not watch_id:  # 0 asks us to pick one (etcd's AutoWatchID); ours start at 0 too
            while self._next_id in self._watchers:
                self._next_id += 1
            watch_id = self._next_id
            self._next_id += 1
        elif watch_id in self._watchers or watch_id < 0:
            self.out.put_nowait(rpc_pb2.WatchResponse(
                header=self._core.header(), watch_id=INVALID_WATCH_ID, created=True,
                canceled=True, cancel_reason="mvcc: duplicate watch ID provided on the WatchStream"))
            return
        revision = self._core.kv.revision
        stream = self._core.kv.watch(r.key, r.range_end, start_revision=int(r.start_revision),
                                     prev_kv=r.prev_kv)
        self.out.put_nowait(rpc_pb2.WatchResponse(
            header=self._core.header(revision), watch_id=watch_id, created=True))
        skip = {rpc_pb2.WatchCreateRequest.NOPUT: EventType.PUT,
                rpc_pb2.WatchCreateRequest.NODELETE: EventType.DELETE}
        dropped = {skip[f] for f in r.filters}
        pump = asyncio.ensure_future(self._pump(watch_id, stream, dropped))
        self._watchers[watch_id] = (stream, pump)
        if r.progress_notify:
            self._notify.add(watch_id)
            if self._ticker is None:
                self._ticker = asyncio.ensure_future(self._tick())

    async def _pump(self, watch_id: int, stream: WatchStream, dropped: set[EventType]) -> None:
        reason = convert.STOPPED
        try:
            async for batch in stream:  # nothing else awaited here: see _drained_revision
                events = [convert.event_to_pb(e) for e in batch if e.type not in dropped]
                if events:
                    response = rpc_pb2.WatchResponse(header=self._core.header(),
                                                     watch_id=watch_id)
                    response.events.extend(events)
                    self.out.put_nowait(response)
                    self._quiet.discard(watch_id)
        except CompactedError as e:
            self._forget(watch_id)
            self.out.put_nowait(rpc_pb2.WatchResponse(
                header=self._core.header(), watch_id=watch_id, canceled=True,
                compact_revision=e.compact_revision, cancel_reason=convert.COMPACTED))
            return
        except StoreError as e:
            reason = convert.from_store_error(e).message
        if watch_id in self._watchers:  # the store ended it, not the client
            self._forget(watch_id)
            self.out.put_nowait(rpc_pb2.WatchResponse(
                header=self._core.header(), watch_id=watch_id, canceled=True,
                cancel_reason=reason))

    async def _tick(self) -> None:
        """Every interval, a progress notification (no events, the revision it is synced
        through) to each watcher that asked for them and was sent nothing meanwhile."""
        while True:
            self._quiet = set(self._notify)
            await asyncio.sleep(self._progress_interval)
            revision = await self._drained_revision()
            for watch_id in sorted(self._quiet & self._notify):
                self.out.put_nowait(rpc_pb2.WatchResponse(
                    header=self._core.header(revision), watch_id=watch_id))

    def _forget(self, watch_id: int) -> tuple[WatchStream, asyncio.Task[None]] | None:
        self._notify.discard(watch_id)
        return self._watchers.pop(watch_id, None)

    def _cancel(self, watch_id: int) -> None:
        entry = self._forget(watch_id)
        if entry is None:
            return  # etcd answers nothing for an unknown id
        stream, pump = entry
        stream.close()
        pump.cancel()
        self.out.put_nowait(rpc_pb2.WatchResponse(
            header=self._core.header(), watch_id=watch_id, canceled=True))

    async def close(self) -> None:
        entries = list(self._watchers.values())
        self._watchers.clear()
        tasks = [pump for _, pump in entries]
        if self._ticker is not None:
            tasks.append(self._ticker)
        for stream, _ in entries:
            stream.close()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class LeaseService(rpc_pb2_grpc.LeaseServicer):  # type: ignore[misc]
    def __init__(self, core: _Core) -> None:
        self._core = core

    async def LeaseGrant(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await _answer(context, self._grant(request))

    async def _grant(self, request: Any) -> Any:
        if request.ID:
            raise convert.unsupported("choosing the lease ID (the store picks it)")
        if request.TTL > MAX_LEASE_TTL:
            raise EtcdError(grpc.StatusCode.OUT_OF_RANGE, "etcdserver: too large lease TTL")
        ttl = max(int(request.TTL), MIN_LEASE_TTL)  # etcd raises a short TTL, it does not refuse it
        lease_id = await self._core.kv.lease_grant(ttl)
        self._core.leases[lease_id] = _LeaseRecord(ttl, self._core.clock() + ttl)
        return rpc_pb2.LeaseGrantResponse(header=self._core.header(), ID=lease_id, TTL=ttl)

    async def LeaseRevoke(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await _answer(context, self._revoke(request))

    async def _revoke(self, request: Any) -> Any:
        await self._core.kv.lease_revoke(int(request.ID))
        self._core.leases.pop(int(request.ID), None)
        return rpc_pb2.LeaseRevokeResponse(header=self._core.header())

    async def LeaseKeepAlive(self, request_iterator: AsyncIterator[Any],
                             context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        async for request in request_iterator:
            lease_id = int(request.ID)
            try:
                remaining = await self._core.kv.lease_keepalive(lease_id)
            except LeaseNotFoundError:
                remaining = 0.0  # etcd answers TTL 0 for a lease it does not have
                self._core.leases.pop(lease_id, None)
            except StoreError as e:
                await _abort(context, convert.from_store_error(e))
            if remaining > 0:
                # just renewed, so what is left is the whole TTL: this is how TimeToLive
                # learns of leases granted elsewhere but kept alive through us
                self._core.leases[lease_id] = _LeaseRecord(math.ceil(remaining),
                                                           self._core.clock() + remaining)
            yield rpc_pb2.LeaseKeepAliveResponse(
                header=self._core.header(), ID=lease_id, TTL=math.ceil(remaining))

    async def LeaseTimeToLive(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await _answer(context, self._time_to_live(request))

    async def _time_to_live(self, request: Any) -> Any:
        """What we know: leases granted or kept alive through this API, their granted TTL
        and the time left as of the last grant or keepalive through it (a keepalive made
        elsewhere, e.g. by the in-process API server, is not seen, so the TTL may read
        low). Any other lease, or one whose deadline passed, reads as expired (TTL -1), as
        etcd answers for a lease it does not have."""
        lease_id = int(request.ID)
        record = self._core.leases.get(lease_id)
        remaining = -1 if record is None else math.ceil(record.deadline - self._core.clock())
        if record is None or remaining <= 0:
            return rpc_pb2.LeaseTimeToLiveResponse(header=self._core.header(), ID=lease_id,
                                                   TTL=-1)
        response = rpc_pb2.LeaseTimeToLiveResponse(
            header=self._core.header(), ID=lease_id, TTL=remaining,
            grantedTTL=record.granted_ttl)
        if request.keys:
            every = await self._core.kv.range(b"\x00", b"\x00")
            response.keys.extend(kv.key for kv in every.kvs if kv.lease == lease_id)
        return response

    async def LeaseLeases(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        """Only the leases granted through this API (the store lists none publicly)."""
        return rpc_pb2.LeaseLeasesResponse(
            header=self._core.header(),
            leases=[rpc_pb2.LeaseStatus(ID=i) for i in sorted(self._core.leases)])


@dataclass(frozen=True, slots=True)
class EtcdMember:
    """One store member as etcd's MemberList shows it."""

    id: int
    name: str
    peer_urls: tuple[str, ...] = ()
    client_urls: tuple[str, ...] = ()
    is_learner: bool = False


class ClusterService(rpc_pb2_grpc.ClusterServicer):  # type: ignore[misc]
    def __init__(self, core: _Core, name: str, peer_urls: Sequence[str],
                 client_urls: Callable[[], list[str]],
                 members: Callable[[], list[EtcdMember]] | None = None) -> None:
        self._core = core
        self._name = name
        self._peer_urls = list(peer_urls)
        self._client_urls = client_urls
        self._members = members

    async def MemberList(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        if self._members is not None:
            members = [rpc_pb2.Member(ID=m.id, name=m.name, peerURLs=list(m.peer_urls),
                                      clientURLs=list(m.client_urls), isLearner=m.is_learner)
                       for m in self._members()]
        else:
            members = [rpc_pb2.Member(ID=self._core.member_id, name=self._name,
                                      peerURLs=self._peer_urls,
                                      clientURLs=self._client_urls())]
        return rpc_pb2.MemberListResponse(header=self._core.header(), members=members)

    async def MemberAdd(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await _abort(context, convert.unsupported("changing cluster membership"))

    MemberRemove = MemberUpdate = MemberPromote = MemberAdd


class MaintenanceService(rpc_pb2_grpc.MaintenanceServicer):  # type: ignore[misc]
    def __init__(self, core: _Core, data_dir: Path | None) -> None:
        self._core = core
        self._data_dir = data_dir

    async def Status(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        status = self._core.status()
        size = await asyncio.get_running_loop().run_in_executor(None, self._db_size)
        return rpc_pb2.StatusResponse(
            header=self._core.header(), version=VERSION, dbSize=size, dbSizeInUse=size,
            leader=status.leader, raftIndex=status.index, raftTerm=status.term,
            raftAppliedIndex=status.applied)

    def _db_size(self) -> int:
        """Bytes on disk under the store's data dir (WAL and snapshots); 0 if not given."""
        if self._data_dir is None:
            return 0
        total = 0
        for path in self._data_dir.rglob("*"):
            with contextlib.suppress(OSError):
                if path.is_file():
                    total += path.stat().st_size
        return total

    async def Alarm(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        if request.action != rpc_pb2.AlarmRequest.GET:
            await _abort(context, convert.unsupported("raising or clearing alarms"))
        return rpc_pb2.AlarmResponse(header=self._core.header())  # we raise none


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


ADMIN_GROUP = "system:masters"


def admins_only(peercert: Any) -> str | None:
    """The etcd API's authorization over TLS: the store holds every Secret, so only the
    cluster's admins (a certificate of the cluster CA in group system:masters, as
    DATA/pki/admin.crt is) may use it; anyone else is told why not."""
    who = cert_identity(peercert)
    if who is not None and ADMIN_GROUP in who.groups:
        return None
    name = "no certificate" if who is None else \
        f"CN={who.user or '-'}, O={','.join(who.groups) or '-'}"
    return (f"etcdserver: permission denied: the etcd API is for the cluster's admins "
            f"(a client certificate in group {ADMIN_GROUP}, e.g. DATA/pki/admin.crt), "
            f"not {name}")


class EtcdServer:
    """etcd's v3 API for `kv` on host:port (port 0 picks a free one; see `port` after
    `start`). `members` lists the store's members for MemberList; without it, one member:
    `member_id`, `name` and `peer_urls`.

    Without `tls` it has no authentication, and the store holds every Secret: so it then
    listens on loopback only (a ValueError otherwise). With `tls` (a context asking for
    client certificates: `pki.tls.grpc_server_context`) only admins' certificates are
    served (`admins_only`), on any address.
    """

    def __init__(
        self,
        kv: Backend,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        member_id: int = 1,
        name: str = "minikube-py",
        peer_urls: Sequence[str] = (),
        data_dir: Path | str | None = None,
        status: Callable[[], RaftStatus] | None = None,
        clock: Callable[[], float] = time.monotonic,
        progress_interval: float = 600.0,
        members: Callable[[], list[EtcdMember]] | None = None,
        tls: ssl.SSLContext | None = None,
        freebind: bool = False,
    ) -> None:
        if tls is None and not _is_loopback(host):
            raise ValueError(f"etcd API: {host!r} is not a loopback address; without TLS "
                             "and authentication it serves loopback only")
        self._host = host
        self._port = port
        self._bound = 0
        self._tls = tls
        self._freebind = freebind  # `host` is an address serve assigns later (the node's)
        core = _Core(kv, member_id, status or (lambda: raft_status_of(kv, member_id)), clock)
        self._server = GrpcServer(authorize=admins_only if tls is not None else None)
        rpc_pb2_grpc.add_KVServicer_to_server(KVService(core), self._server)
        rpc_pb2_grpc.add_WatchServicer_to_server(WatchService(core, progress_interval),
                                                 self._server)
        rpc_pb2_grpc.add_LeaseServicer_to_server(LeaseService(core), self._server)
        rpc_pb2_grpc.add_ClusterServicer_to_server(
            ClusterService(core, name, peer_urls, lambda: [self.url], members), self._server)
        rpc_pb2_grpc.add_MaintenanceServicer_to_server(
            MaintenanceService(core, Path(data_dir) if data_dir is not None else None),
            self._server)

    @property
    def port(self) -> int:
        return self._bound

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{'https' if self._tls is not None else 'http'}://{host}:{self._bound}"

    async def start(self) -> None:
        self._bound = await self._server.start(self._host, self._port, self._tls,
                                               freebind=self._freebind)

    async def stop(self, grace: float | None = None) -> None:
        await self._server.stop(grace)
