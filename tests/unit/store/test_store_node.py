"""Specification of RaftStore: durability across restarts and crashes, watch, group commit."""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from minikube_py.store.node import RaftStore
from minikube_py.store.types import (
    KV,
    CompactedError,
    EventType,
    PutOp,
    StoreClosedError,
    prefix_end,
)


class CountingFsync:
    """fdatasync, counted; `during_sync`, if set, runs inside each call."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        self.during_sync: Callable[[], None] | None = None

    def __call__(self, fd: int) -> None:
        with self._lock:
            self.calls += 1
        if self.during_sync is not None:
            self.during_sync()
        os.fdatasync(fd)


def make(path: Path, **kwargs: object) -> RaftStore:
    return RaftStore(path, rng=random.Random(1), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[RaftStore]:
    s = make(tmp_path)
    await s.start()
    yield s
    await s.close()


async def put(s: KV, key: bytes, value: bytes = b"v", lease: int = 0) -> int:
    return (await s.txn([], [PutOp(key, value, lease)], [])).revision


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_write_is_readable_once_acknowledged(store: RaftStore) -> None:
    rev = await put(store, b"a", b"1")
    got = await store.range(b"a")
    assert got.kvs[0].value == b"1" and got.kvs[0].mod_revision == rev == store.revision


async def test_the_raft_position_follows_the_writes(store: RaftStore) -> None:
    before = store.raft_position()
    await put(store, b"a", b"1")
    after = store.raft_position()
    assert (after.leader, after.term) == (1, before.term) and after.term >= 1
    assert after.applied == after.commit == before.applied + 1


async def test_data_and_revision_survive_close_and_reopen(tmp_path: Path) -> None:
    s = make(tmp_path)
    await s.start()
    for i in range(20):
        await put(s, b"k%02d" % i, b"%d" % i)
    rev = s.revision
    await s.close()
    s = make(tmp_path)
    await s.start()
    got = await s.range(b"k", prefix_end(b"k"))
    assert len(got.kvs) == 20 and s.revision == rev
    assert await put(s, b"more") == rev + 1
    await s.close()


async def test_acknowledged_writes_survive_a_crash(tmp_path: Path) -> None:
    s = make(tmp_path, snapshot_entries=7)  # also crosses a few snapshots
    await s.start()
    revs = [await put(s, b"k%02d" % i) for i in range(30)]
    await s.abort()  # no close: no final sync, no final snapshot
    s = make(tmp_path)
    await s.start()
    assert (await s.range(b"k", prefix_end(b"k"))).count == 30
    assert s.revision == revs[-1]
    await s.close()


async def test_closed_store_refuses_requests(tmp_path: Path) -> None:
    s = make(tmp_path)
    await s.start()
    await s.close()
    with pytest.raises(StoreClosedError):
        await put(s, b"a")


async def test_watch_delivers_committed_events(store: RaftStore) -> None:
    stream = store.watch(b"/p/", prefix_end(b"/p/"), prev_kv=True)
    await put(store, b"/p/a", b"1")
    await put(store, b"/p/a", b"2")
    it = aiter(stream)
    first = await asyncio.wait_for(anext(it), 5)
    second = await asyncio.wait_for(anext(it), 5)
    assert [e.kv.value for e in first + second] == [b"1", b"2"]
    assert second[0].prev_kv is not None and second[0].prev_kv.value == b"1"


async def test_watch_from_a_compacted_revision_fails(store: RaftStore) -> None:
    r1 = await put(store, b"a")
    r2 = await put(store, b"a")
    await store.compact(r2)
    with pytest.raises(CompactedError):
        await anext(aiter(store.watch(b"a", start_revision=r1)))


async def test_concurrent_writes_share_fsyncs(tmp_path: Path) -> None:
    fsync = CountingFsync()
    s = make(tmp_path, fsync=fsync)
    await s.start()
    before = fsync.calls
    revs = await asyncio.gather(*(put(s, b"k%03d" % i) for i in range(200)))
    assert len(set(revs)) == 200
    assert fsync.calls - before < 100, f"{fsync.calls - before} fsyncs for 200 writes"
    await s.close()


async def test_writes_made_while_an_fsync_runs_all_go_into_the_next_batch(
        tmp_path: Path) -> None:
    fsync = CountingFsync()
    s = make(tmp_path, fsync=fsync)
    await s.start()
    later: list[asyncio.Future[int]] = []
    loop = asyncio.get_running_loop()

    def more_writes() -> None:
        later.extend(asyncio.ensure_future(put(s, b"later%02d" % i)) for i in range(50))

    def more_writes_arrive() -> None:  # inside the fsync, on the loop or in a thread
        fsync.during_sync = None
        loop.call_soon_threadsafe(more_writes)
    fsync.during_sync = more_writes_arrive
    batches = s.fsync_batches
    first = await put(s, b"first")
    revs = await asyncio.wait_for(asyncio.gather(*later), 5)
    assert sorted(revs) == list(range(first + 1, first + 51))
    assert s.fsync_batches - batches == 2  # the first write's, then one for all 50
    await s.close()


class SlowThenQuickFsync:
    """An fsync that takes 10 ms of the store's clock while `slow` and none otherwise (it
    syncs nothing and waits for nothing: this is about where it runs); records whether
    each call ran on the loop thread."""

    def __init__(self) -> None:
        self.slow = False
        self.now = 0.0  # the store's clock, moved only by fsyncs
        self.on_loop: list[bool] = []
        self.loop_thread = threading.get_ident()

    def clock(self) -> float:
        return self.now

    def __call__(self, fd: int) -> None:
        self.on_loop.append(threading.get_ident() == self.loop_thread)
        if self.slow:
            self.now += 0.01


async def test_after_a_slow_fsync_the_next_one_runs_off_the_loop(tmp_path: Path) -> None:
    fsync = SlowThenQuickFsync()
    s = make(tmp_path, fsync=fsync, clock=fsync.clock)
    await s.start()
    fsync.slow = True
    await put(s, b"a")
    await put(s, b"b")
    calls = len(fsync.on_loop)
    for i in range(5):
        await put(s, b"k%d" % i)
    assert not any(fsync.on_loop[calls:]), fsync.on_loop  # the loop was never held
    fsync.slow = False
    for i in range(20):
        await put(s, b"q%d" % i)
    assert fsync.on_loop[-1], fsync.on_loop  # quick again: back on the loop
    await s.close()


async def test_an_expired_lease_is_revoked_by_the_leader(tmp_path: Path) -> None:
    now = [0.0]
    s = make(tmp_path, clock=lambda: now[0], tick_interval=0.01)
    await s.start()
    lease = await s.lease_grant(5)
    await put(s, b"a", lease=lease)
    stream = s.watch(b"a")
    now[0] = 6.0
    batch = await asyncio.wait_for(anext(aiter(stream)), 5)
    assert batch[0].type is EventType.DELETE
    await wait_for(lambda: not s._mvcc.leases())
    await s.close()
