"""etcd's v3 API over real gRPC on loopback, checked with etcd's own protobuf stubs."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from aetcd.rpc import kv_pb2, rpc_pb2

from minikube_py.etcdapi import convert
from minikube_py.etcdapi.server import EtcdServer
from minikube_py.store.types import prefix_end
from tests.unit.etcdapi.conftest import Etcd

R = rpc_pb2


async def put(etcd: Etcd, key: bytes, value: bytes = b"v", **kw: Any) -> Any:
    return await etcd.kv.Put(R.PutRequest(key=key, value=value, **kw))


async def test_put_range_delete_round_trip(etcd: Etcd) -> None:
    first = await put(etcd, b"/a/1", b"one")
    await put(etcd, b"/a/2", b"two")
    again = await put(etcd, b"/a/1", b"uno", prev_kv=True)
    await put(etcd, b"/b", b"other")
    assert again.prev_kv.value == b"one" and again.header.revision == first.header.revision + 2

    got = await etcd.kv.Range(R.RangeRequest(key=b"/a/", range_end=prefix_end(b"/a/")))
    assert [(kv.key, kv.value, kv.version) for kv in got.kvs] == [
        (b"/a/1", b"uno", 2), (b"/a/2", b"two", 1)]
    assert got.count == 2 and not got.more
    assert got.kvs[0].create_revision == first.header.revision
    assert got.header.revision == etcd.store.revision and got.header.cluster_id

    limited = await etcd.kv.Range(R.RangeRequest(key=b"/", range_end=b"0", limit=1))
    assert [kv.key for kv in limited.kvs] == [b"/a/1"] and limited.more and limited.count == 3

    past = await etcd.kv.Range(R.RangeRequest(key=b"/a/1", revision=first.header.revision))
    assert past.kvs[0].value == b"one"

    keys = await etcd.kv.Range(R.RangeRequest(key=b"/", range_end=b"0", keys_only=True,
                                              sort_order=R.RangeRequest.DESCEND,
                                              sort_target=R.RangeRequest.KEY))
    assert [(kv.key, kv.value) for kv in keys.kvs] == [(b"/b", b""), (b"/a/2", b""),
                                                       (b"/a/1", b"")]
    counted = await etcd.kv.Range(R.RangeRequest(key=b"/", range_end=b"0", count_only=True))
    assert counted.count == 3 and not counted.kvs

    newest = await etcd.kv.Range(R.RangeRequest(
        key=b"/", range_end=b"0", sort_target=R.RangeRequest.MOD,
        sort_order=R.RangeRequest.DESCEND, limit=1))
    assert [kv.key for kv in newest.kvs] == [b"/b"] and newest.more

    deleted = await etcd.kv.DeleteRange(R.DeleteRangeRequest(
        key=b"/a/", range_end=prefix_end(b"/a/"), prev_kv=True))
    assert deleted.deleted == 2 and sorted(kv.value for kv in deleted.prev_kvs) == [b"two", b"uno"]
    assert not (await etcd.kv.Range(R.RangeRequest(key=b"/a/1"))).kvs


async def test_put_ignore_value_keeps_the_value(etcd: Etcd) -> None:
    await put(etcd, b"k", b"kept")
    lease = await etcd.lease.LeaseGrant(R.LeaseGrantRequest(TTL=60))
    await etcd.kv.Put(R.PutRequest(key=b"k", ignore_value=True, lease=lease.ID))
    kv = (await etcd.kv.Range(R.RangeRequest(key=b"k"))).kvs[0]
    assert (kv.value, kv.lease) == (b"kept", lease.ID)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await etcd.kv.Put(R.PutRequest(key=b"missing", ignore_value=True))
    assert e.value.details() == convert.KEY_NOT_FOUND


async def test_txn_compare_and_swap(etcd: Etcd) -> None:
    created = await put(etcd, b"cas", b"v1")
    swap = R.TxnRequest(
        compare=[R.Compare(key=b"cas", target=R.Compare.MOD, result=R.Compare.EQUAL,
                           mod_revision=created.header.revision)],
        success=[R.RequestOp(request_put=R.PutRequest(key=b"cas", value=b"v2", prev_kv=True))],
        failure=[R.RequestOp(request_range=R.RangeRequest(key=b"cas"))])
    won = await etcd.kv.Txn(swap)
    assert won.succeeded and won.responses[0].response_put.prev_kv.value == b"v1"
    lost = await etcd.kv.Txn(swap)  # the mod revision moved on
    assert not lost.succeeded
    assert lost.responses[0].response_range.kvs[0].value == b"v2"
    assert lost.header.revision == won.header.revision

    greater = R.TxnRequest(
        compare=[R.Compare(key=b"cas", target=R.Compare.VALUE, result=R.Compare.GREATER,
                           value=b"v1")],
        success=[R.RequestOp(request_delete_range=R.DeleteRangeRequest(key=b"cas"))])
    assert (await etcd.kv.Txn(greater)).responses[0].response_delete_range.deleted == 1


async def expect_error(call: Any, code: grpc.StatusCode, details: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call
    assert (e.value.code(), e.value.details()) == (code, details)


async def test_errors_are_etcds(etcd: Etcd) -> None:
    rev = (await put(etcd, b"k", b"1")).header.revision
    await put(etcd, b"k", b"2")
    await put(etcd, b"k", b"3")
    await etcd.kv.Compact(R.CompactionRequest(revision=rev + 1, physical=True))
    await expect_error(etcd.kv.Range(R.RangeRequest(key=b"k", revision=rev)),
                       grpc.StatusCode.OUT_OF_RANGE, convert.COMPACTED)
    await expect_error(etcd.kv.Compact(R.CompactionRequest(revision=rev)),
                       grpc.StatusCode.OUT_OF_RANGE, convert.COMPACTED)
    await expect_error(etcd.kv.Range(R.RangeRequest(key=b"k", revision=rev + 100)),
                       grpc.StatusCode.OUT_OF_RANGE, convert.FUTURE_REV)
    await expect_error(etcd.kv.Put(R.PutRequest(key=b"", value=b"x")),
                       grpc.StatusCode.INVALID_ARGUMENT, convert.EMPTY_KEY)
    await expect_error(etcd.kv.Put(R.PutRequest(key=b"x", value=b"x", lease=12345)),
                       grpc.StatusCode.NOT_FOUND, convert.LEASE_NOT_FOUND)
    twice = R.TxnRequest(success=[R.RequestOp(request_put=R.PutRequest(key=b"d", value=b"1")),
                                  R.RequestOp(request_put=R.PutRequest(key=b"d", value=b"2"))])
    await expect_error(etcd.kv.Txn(twice), grpc.StatusCode.INVALID_ARGUMENT,
                       convert.DUPLICATE_KEY)
    nested = R.TxnRequest(success=[R.RequestOp(request_txn=R.TxnRequest())])
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await etcd.kv.Txn(nested)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED and "nested" in e.value.details()


class WatchClient:
    """One Watch stream: requests in, responses out, each awaited with a deadline."""

    def __init__(self, etcd: Etcd) -> None:
        self._requests: asyncio.Queue[Any] = asyncio.Queue()
        self._call = etcd.watch.Watch(self._iterate())

    async def _iterate(self) -> Any:
        while True:
            yield await self._requests.get()

    def send(self, **kw: Any) -> None:
        self._requests.put_nowait(R.WatchRequest(**kw))

    async def next(self) -> Any:
        return await asyncio.wait_for(self._call.read(), 5)

    def close(self) -> None:
        self._call.cancel()


async def test_watch_create_events_prev_kv_and_cancel(etcd: Etcd) -> None:
    start = (await put(etcd, b"/w/a", b"0")).header.revision
    watch = WatchClient(etcd)
    try:
        watch.send(create_request=R.WatchCreateRequest(
            key=b"/w/", range_end=prefix_end(b"/w/"), start_revision=start, prev_kv=True))
        created = await watch.next()
        assert created.created and not created.canceled
        wid = created.watch_id
        backlog = await watch.next()  # from the start revision: the first put
        assert [(e.type, e.kv.key, e.kv.value) for e in backlog.events] == [
            (kv_pb2.Event.PUT, b"/w/a", b"0")]
        await put(etcd, b"/w/a", b"1")
        await put(etcd, b"/elsewhere", b"x")
        await etcd.kv.DeleteRange(R.DeleteRangeRequest(key=b"/w/a"))
        changed = await watch.next()
        assert changed.events[0].prev_kv.value == b"0" and changed.events[0].kv.value == b"1"
        gone = (await watch.next()).events[0]
        assert gone.type == kv_pb2.Event.DELETE and gone.kv.key == b"/w/a"
        assert gone.prev_kv.value == b"1" and gone.kv.mod_revision == etcd.store.revision

        watch.send(progress_request=R.WatchProgressRequest())
        progress = await watch.next()
        assert progress.watch_id == -1 and not progress.events
        assert progress.header.revision == etcd.store.revision

        watch.send(cancel_request=R.WatchCancelRequest(watch_id=wid))
        cancelled = await watch.next()
        assert cancelled.canceled and cancelled.watch_id == wid
    finally:
        watch.close()


async def test_progress_request_of_an_idle_watcher_is_current(etcd: Etcd) -> None:
    watch = WatchClient(etcd)
    try:
        watch.send(create_request=R.WatchCreateRequest(key=b"idle"))
        assert (await watch.next()).created
        for i in range(3):
            await put(etcd, b"busy", str(i).encode())
        watch.send(progress_request=R.WatchProgressRequest())
        progress = await watch.next()
        assert not progress.events and progress.header.revision == etcd.store.revision
        # events of a revision just applied come before a progress answer that covers it
        watch.send(create_request=R.WatchCreateRequest(key=b"busy"))  # a second one, id auto
        created = await watch.next()
        assert created.created and not created.canceled and created.watch_id == 1
        await put(etcd, b"busy", b"last")
        watch.send(progress_request=R.WatchProgressRequest())
        event = await watch.next()
        assert [e.kv.value for e in event.events] == [b"last"] and event.watch_id == 1
        assert (await watch.next()).header.revision == etcd.store.revision

        watch.send(create_request=R.WatchCreateRequest(key=b"x", watch_id=1))
        taken = await watch.next()
        assert taken.canceled and taken.watch_id == -1 and "duplicate" in taken.cancel_reason
    finally:
        watch.close()


async def test_watch_goes_on_after_the_client_stops_sending(etcd: Etcd) -> None:
    async def one_request() -> Any:
        yield R.WatchRequest(create_request=R.WatchCreateRequest(key=b"h"))

    call = etcd.watch.Watch(one_request())  # the request stream ends after the create
    try:
        assert (await asyncio.wait_for(call.read(), 5)).created
        await put(etcd, b"h", b"still")
        got = await asyncio.wait_for(call.read(), 5)
        assert [e.kv.value for e in got.events] == [b"still"]
    finally:
        call.cancel()


async def test_watch_from_compacted_revision_is_cancelled(etcd: Etcd) -> None:
    old = (await put(etcd, b"c", b"1")).header.revision
    await put(etcd, b"c", b"2")
    await etcd.kv.Compact(R.CompactionRequest(revision=old + 1))
    watch = WatchClient(etcd)
    try:
        watch.send(create_request=R.WatchCreateRequest(key=b"c", start_revision=old))
        assert (await watch.next()).created
        cancelled = await watch.next()
        assert cancelled.canceled and cancelled.compact_revision == old + 1
        assert cancelled.cancel_reason == convert.COMPACTED
    finally:
        watch.close()


async def test_watch_filters_and_progress_notify(etcd: Etcd) -> None:
    watch = WatchClient(etcd)
    try:
        watch.send(create_request=R.WatchCreateRequest(
            key=b"f", progress_notify=True, filters=[R.WatchCreateRequest.NOPUT]))
        assert (await watch.next()).created
        await put(etcd, b"f", b"1")
        # the put is filtered out; with nothing to send, a progress notification comes
        notify = await watch.next()
        assert not notify.events and notify.header.revision == etcd.store.revision
        await etcd.kv.DeleteRange(R.DeleteRangeRequest(key=b"f"))
        deleted = await watch.next()
        while not deleted.events:  # more progress notifications may come first
            deleted = await watch.next()
        assert [e.type for e in deleted.events] == [kv_pb2.Event.DELETE]
    finally:
        watch.close()


async def test_leases(etcd: Etcd) -> None:
    grant = await etcd.lease.LeaseGrant(R.LeaseGrantRequest(TTL=30))
    assert grant.ID > 0 and grant.TTL == 30
    await put(etcd, b"leased", b"v", lease=grant.ID)

    ttl = await etcd.lease.LeaseTimeToLive(R.LeaseTimeToLiveRequest(ID=grant.ID, keys=True))
    assert ttl.grantedTTL == 30 and 0 < ttl.TTL <= 30 and list(ttl.keys) == [b"leased"]

    async def one(lease_id: int) -> Any:
        yield R.LeaseKeepAliveRequest(ID=lease_id)

    async for kept in etcd.lease.LeaseKeepAlive(one(grant.ID)):
        assert (kept.ID, kept.TTL) == (grant.ID, 30)
    async for unknown in etcd.lease.LeaseKeepAlive(one(999)):
        assert unknown.TTL == 0

    await etcd.lease.LeaseRevoke(R.LeaseRevokeRequest(ID=grant.ID))
    assert not (await etcd.kv.Range(R.RangeRequest(key=b"leased"))).kvs
    short = await etcd.lease.LeaseGrant(R.LeaseGrantRequest(TTL=0))
    assert short.TTL == 2  # raised to etcd's minimum
    await expect_error(etcd.lease.LeaseGrant(R.LeaseGrantRequest(TTL=10**10)),
                       grpc.StatusCode.OUT_OF_RANGE, "etcdserver: too large lease TTL")
    expired = await etcd.lease.LeaseTimeToLive(R.LeaseTimeToLiveRequest(ID=grant.ID))
    assert expired.TTL == -1
    await expect_error(etcd.lease.LeaseRevoke(R.LeaseRevokeRequest(ID=grant.ID)),
                       grpc.StatusCode.NOT_FOUND, convert.LEASE_NOT_FOUND)


async def test_time_to_live_of_a_lease_granted_elsewhere(etcd: Etcd) -> None:
    lease_id = await etcd.store.lease_grant(40)  # as the in-process API server does
    unseen = await etcd.lease.LeaseTimeToLive(R.LeaseTimeToLiveRequest(ID=lease_id))
    assert unseen.TTL == -1  # not known to the API until it is kept alive through it

    async def one() -> Any:
        yield R.LeaseKeepAliveRequest(ID=lease_id)

    async for kept in etcd.lease.LeaseKeepAlive(one()):
        assert kept.TTL == 40
    seen = await etcd.lease.LeaseTimeToLive(R.LeaseTimeToLiveRequest(ID=lease_id))
    assert seen.grantedTTL == 40 and 0 < seen.TTL <= 40


async def test_member_list_and_status(etcd: Etcd) -> None:
    await put(etcd, b"k", b"v")
    members = (await etcd.cluster.MemberList(R.MemberListRequest())).members
    assert [(m.ID, m.name, list(m.peerURLs), list(m.clientURLs)) for m in members] == [
        (1, "test-member", ["http://127.0.0.1:2380"], [f"http://{etcd.endpoint}"])]
    status = await etcd.maintenance.Status(R.StatusRequest())
    assert status.version.startswith("3.4.") and status.leader == 1
    assert status.raftTerm >= 1 and status.raftIndex >= 1 and status.dbSize > 0
    assert status.header.raft_term == status.raftTerm
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await etcd.cluster.MemberAdd(R.MemberAddRequest(peerURLs=["http://127.0.0.1:1"]))
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_store_closing_ends_watches_and_calls_readably(etcd: Etcd) -> None:
    watch = WatchClient(etcd)
    try:
        watch.send(create_request=R.WatchCreateRequest(key=b"k"))
        assert (await watch.next()).created
        await etcd.store.close()
        ended = await watch.next()
        assert ended.canceled and ended.cancel_reason == convert.STOPPED
    finally:
        watch.close()
    await expect_error(etcd.kv.Range(R.RangeRequest(key=b"k")),
                       grpc.StatusCode.UNAVAILABLE, convert.STOPPED)


def test_listens_on_loopback_only(etcd: Etcd) -> None:
    for host in ("0.0.0.0", "10.1.2.3", "example.com"):
        with pytest.raises(ValueError, match="loopback"):
            EtcdServer(etcd.store, host, 0)
