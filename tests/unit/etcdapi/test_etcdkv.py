"""EtcdKV on a real etcd (3.4, the session's): what the API server relies on beyond the
behaviour suite that runs on it (tests/unit/apiserver, modules marked both_stores)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from minikube_py.etcdapi.etcdkv import EtcdKV
from minikube_py.store.types import (
    CompactedError,
    DeleteOp,
    Event,
    EventType,
    FutureRevisionError,
    LeaseNotFoundError,
    PutOp,
    StoreClosedError,
    StoreUnavailableError,
    prefix_end,
)
from tests.etcd_server import NEEDS_ETCD, EtcdProcess

pytestmark = NEEDS_ETCD
WAIT = 10.0


@pytest.fixture
async def kv(etcd_process: EtcdProcess) -> AsyncIterator[EtcdKV]:
    etcd_process.wipe()
    store = EtcdKV(etcd_process.endpoint)
    await store.connect(timeout=WAIT)
    yield store
    await store.close()


async def put(kv: EtcdKV, key: bytes, value: bytes = b"v", lease: int = 0) -> int:
    return (await kv.txn([], [PutOp(key, value, lease=lease)], [])).revision


async def test_an_etcd_that_does_not_answer_is_named_within_the_timeout() -> None:
    store = EtcdKV("http://127.0.0.1:1")
    try:
        with pytest.raises(StoreUnavailableError,
                           match=r"etcd at http://127.0.0.1:1 does not answer .* 0.3 s"):
            await asyncio.wait_for(store.connect(timeout=0.3), WAIT)
    finally:
        await store.close()


async def test_connect_learns_the_revision_and_the_compacted_revision(
        kv: EtcdKV, etcd_process: EtcdProcess) -> None:
    for i in range(5):
        await put(kv, b"/c", str(i).encode())
    compacted = kv.revision - 2
    await kv.compact(compacted)
    other = EtcdKV(etcd_process.endpoint)
    await other.connect(timeout=WAIT)
    try:
        assert (other.revision, other.compact_revision) == (kv.revision, compacted)
    finally:
        await other.close()


async def test_the_revision_follows_what_a_watch_hears_of_other_writers(
        kv: EtcdKV, etcd_process: EtcdProcess) -> None:
    stream = kv.watch(b"/w", prefix_end(b"/w"))
    events = aiter(stream)
    writer = EtcdKV(etcd_process.endpoint)
    await writer.connect(timeout=WAIT)
    try:
        written = await put(writer, b"/w/1")
        batch = await asyncio.wait_for(anext(events), WAIT)
    finally:
        stream.close()
        await writer.close()
    assert [e.kv.mod_revision for e in batch] == [written]
    assert kv.revision == written


async def test_a_watch_from_now_misses_nothing_written_after_it_was_asked_for(
        kv: EtcdKV) -> None:
    stream = kv.watch(b"/n", prefix_end(b"/n"), prev_kv=True)  # not yet iterated
    first = await put(kv, b"/n/a", b"1")
    await put(kv, b"/n/a", b"2")
    events = aiter(stream)
    got: list[Event] = []
    try:
        while len(got) < 2:  # catching up, etcd may send both revisions in one answer
            got += await asyncio.wait_for(anext(events), WAIT)
    finally:
        stream.close()
    assert [e.kv.mod_revision for e in got] == [first, first + 1]
    assert got[1].prev_kv is not None and got[1].prev_kv.value == b"1"


async def test_reads_and_watches_before_the_compaction_are_refused_with_its_revision(
        kv: EtcdKV) -> None:
    old = await put(kv, b"/o")
    await put(kv, b"/o", b"newer")
    await kv.compact(kv.revision)
    with pytest.raises(CompactedError) as read:
        await kv.range(b"/o", revision=old)
    assert (read.value.requested, read.value.compact_revision) == (old, kv.revision)
    with pytest.raises(CompactedError) as watched:
        async for _ in kv.watch(b"/o", start_revision=old):
            pass
    assert watched.value.compact_revision == kv.compact_revision == kv.revision
    with pytest.raises(CompactedError):
        await kv.compact(old)  # as the embedded store: not twice


async def test_a_read_ahead_of_etcd_is_a_future_revision(kv: EtcdKV) -> None:
    with pytest.raises(FutureRevisionError) as e:
        await kv.range(b"/f", revision=kv.revision + 5)
    assert e.value.current == kv.revision


async def test_a_revoked_lease_takes_its_keys_and_cannot_be_kept_alive(kv: EtcdKV) -> None:
    lease = await kv.lease_grant(30)
    assert await kv.lease_keepalive(lease) == 30
    await put(kv, b"/l/a", lease=lease)
    stream = kv.watch(b"/l/", prefix_end(b"/l/"))
    events = aiter(stream)
    await kv.lease_revoke(lease)
    try:
        batch = await asyncio.wait_for(anext(events), WAIT)
    finally:
        stream.close()
    assert [(e.type, e.kv.key) for e in batch] == [(EventType.DELETE, b"/l/a")]
    with pytest.raises(LeaseNotFoundError):
        await kv.lease_keepalive(lease)
    with pytest.raises(LeaseNotFoundError):
        await kv.lease_revoke(lease)


async def test_closing_refuses_requests_and_ends_open_watches(kv: EtcdKV) -> None:
    stream = kv.watch(b"/x", prefix_end(b"/x"))
    pending = asyncio.ensure_future(anext(aiter(stream)))
    await put(kv, b"/y")  # a round trip: the watch stream is open by now or soon
    await kv.close()
    # not wait_for: its cancelling a stuck watch at the deadline would end it as well
    done, _ = await asyncio.wait({pending}, timeout=WAIT)
    assert done, "the watch did not end when its store closed"
    with pytest.raises(StopAsyncIteration):
        pending.result()
    with pytest.raises(StoreClosedError):
        await kv.range(b"/x")


class CuttableProxy:
    """A loopback TCP relay to etcd whose connections the test can cut."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        self._writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        for w in self._writers:
            w.transport.abort()
        self._writers.clear()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def test_a_broken_watch_resumes_after_the_last_event_it_delivered(
        kv: EtcdKV, etcd_process: EtcdProcess) -> None:
    proxy = CuttableProxy(int(etcd_process.endpoint.rsplit(":", 1)[1]))
    await proxy.start()
    through = EtcdKV(f"http://127.0.0.1:{proxy.port}", watch_retry_delays=(0.05,))
    try:
        await through.connect(timeout=WAIT)
        stream = through.watch(b"/r", prefix_end(b"/r"))
        events = aiter(stream)
        first = await put(kv, b"/r/1")
        assert [e.kv.mod_revision for e in await asyncio.wait_for(anext(events), WAIT)] \
            == [first]
        proxy.cut()
        second = await put(kv, b"/r/2")  # written while the watch is cut off
        await kv.txn([], [DeleteOp(b"/r/1")], [])
        seen: list[int] = []
        while len(seen) < 2:
            seen += [e.kv.mod_revision for e in await asyncio.wait_for(anext(events), WAIT)]
        assert seen == [second, second + 1]
        stream.close()
    finally:
        await through.close()
        await proxy.close()


async def test_a_range_answer_bigger_than_grpcs_default_limit_is_read(kv: EtcdKV) -> None:
    value = b"x" * (1024 * 1024)
    for i in range(5):
        await put(kv, f"/big/{i}".encode(), value)
    res = await kv.range(b"/big/", prefix_end(b"/big/"))
    assert [len(item.value) for item in res.kvs] == [len(value)] * 5
