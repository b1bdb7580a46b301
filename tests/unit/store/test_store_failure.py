"""Specification of RaftStore after a failed fsync: stop for good, as etcd does; never hang,
never acknowledge, and say why."""

from __future__ import annotations

import asyncio
import errno
import os
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from minikube_py.store.node import RaftStore
from minikube_py.store.types import Event, PutOp, StoreFailedError, prefix_end
from minikube_py.store.watch import Watcher
from minikube_py.supervisor import FatalError, Supervisor

EIO_MESSAGE = "fsync of the WAL failed: [Errno 5] Input/output error"


class FailingDisk:
    """fdatasync that works until `fail()`; then every call raises EIO, as a dying disk's
    does. `during_sync`, if set, runs inside each fsync (on the store's loop, or in a
    worker thread after a slow fsync), so a test can act while a write is in flight."""

    def __init__(self) -> None:
        self.failing = False
        self.calls_after_failure = 0
        self.during_sync: Callable[[], None] | None = None

    def fail(self) -> None:
        self.failing = True

    def __call__(self, fd: int) -> None:
        if self.during_sync is not None:
            self.during_sync()
        if self.failing:
            self.calls_after_failure += 1
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.fdatasync(fd)


@pytest.fixture
def disk() -> FailingDisk:
    return FailingDisk()


@pytest.fixture
async def store(tmp_path: Path, disk: FailingDisk) -> AsyncIterator[RaftStore]:
    s = RaftStore(tmp_path, rng=random.Random(1), fsync=disk)
    await s.start()
    yield s
    await s.close()


async def put(s: RaftStore, key: bytes, value: bytes = b"v") -> int:
    return (await s.txn([], [PutOp(key, value)], [])).revision


async def drain(stream: Watcher) -> list[list[Event]]:
    return [batch async for batch in stream]


async def test_a_write_whose_fsync_fails_is_refused_with_the_cause(
        store: RaftStore, disk: FailingDisk) -> None:
    disk.fail()
    with pytest.raises(StoreFailedError, match=EIO_MESSAGE.replace("[", r"\[")):
        await asyncio.wait_for(put(store, b"a"), 5)


async def test_after_a_failed_fsync_every_later_request_fails_at_once(
        store: RaftStore, disk: FailingDisk) -> None:
    disk.fail()
    with pytest.raises(StoreFailedError):
        await asyncio.wait_for(put(store, b"a"), 5)
    with pytest.raises(StoreFailedError, match="fsync of the WAL failed"):
        await put(store, b"b")
    with pytest.raises(StoreFailedError):
        await store.range(b"a")
    with pytest.raises(StoreFailedError):
        await store.compact(store.revision)
    assert disk.calls_after_failure == 1, "a failed fsync must never be retried"


async def test_the_write_in_flight_and_every_pending_one_fail_together(
        store: RaftStore, disk: FailingDisk) -> None:
    pending: list[asyncio.Future[int]] = []
    loop = asyncio.get_running_loop()

    def more_writes() -> None:
        pending.extend(asyncio.ensure_future(put(store, b"k%02d" % i)) for i in range(20))

    def more_writes_arrive() -> None:  # while the first write's fsync runs
        disk.during_sync = None
        loop.call_soon_threadsafe(more_writes)
    disk.during_sync = more_writes_arrive
    disk.fail()
    first = asyncio.ensure_future(put(store, b"in-flight"))
    results = await asyncio.wait_for(asyncio.gather(first, return_exceptions=True), 5)
    results += await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 5)
    assert len(results) == 21
    assert all(isinstance(r, StoreFailedError) for r in results), results


async def test_a_failed_fsync_ends_every_watch_and_a_new_one_fails_with_the_cause(
        store: RaftStore, disk: FailingDisk) -> None:
    stream = store.watch(b"/p/", prefix_end(b"/p/"))
    disk.fail()
    with pytest.raises(StoreFailedError):
        await asyncio.wait_for(put(store, b"/p/a"), 5)
    assert await asyncio.wait_for(drain(stream), 5) == []
    with pytest.raises(StoreFailedError, match="fsync of the WAL failed"):
        await anext(aiter(store.watch(b"/p/", prefix_end(b"/p/"))))


async def test_run_ends_with_a_fatal_error_that_names_the_cause(
        store: RaftStore, disk: FailingDisk) -> None:
    running = asyncio.ensure_future(store.run())
    disk.fail()
    with pytest.raises(StoreFailedError):
        await asyncio.wait_for(put(store, b"a"), 5)
    with pytest.raises(FatalError) as info:
        await asyncio.wait_for(running, 5)
    assert str(info.value) == EIO_MESSAGE


async def test_the_supervisor_reports_a_failed_fsync_in_one_plain_line(
        store: RaftStore, disk: FailingDisk, caplog: pytest.LogCaptureFixture) -> None:
    sup = Supervisor()
    sup.start("store", store.run())
    disk.fail()
    with pytest.raises(StoreFailedError):
        await asyncio.wait_for(put(store, b"a"), 5)
    why = await asyncio.wait_for(sup.wait(asyncio.Event()), 5)
    await sup.shutdown()
    assert str(why) == f"store: {EIO_MESSAGE}"
    assert "Traceback" not in caplog.text


async def test_close_after_a_failed_fsync_neither_syncs_nor_snapshots(
        tmp_path: Path, disk: FailingDisk) -> None:
    s = RaftStore(tmp_path, rng=random.Random(1), fsync=disk)
    await s.start()
    await put(s, b"a")
    disk.fail()
    with pytest.raises(StoreFailedError):
        await asyncio.wait_for(put(s, b"b"), 5)
    await asyncio.wait_for(s.close(), 5)
    assert disk.calls_after_failure == 1
    assert list((tmp_path / "snap").glob("*.snap")) == []


async def test_writes_acknowledged_before_the_failure_survive_a_restart(
        tmp_path: Path, disk: FailingDisk) -> None:
    s = RaftStore(tmp_path, rng=random.Random(1), fsync=disk)
    await s.start()
    acknowledged = [await put(s, b"k%02d" % i) for i in range(10)]
    disk.fail()
    with pytest.raises(StoreFailedError):
        await asyncio.wait_for(put(s, b"late"), 5)
    await s.close()
    s = RaftStore(tmp_path, rng=random.Random(1))
    await s.start()
    got = await s.range(b"k", prefix_end(b"k"))
    assert [kv.mod_revision for kv in got.kvs] == acknowledged
    await s.close()


async def test_start_on_a_disk_that_cannot_sync_fails_with_the_cause(tmp_path: Path) -> None:
    disk = FailingDisk()
    disk.fail()
    s = RaftStore(tmp_path, rng=random.Random(1), fsync=disk)
    with pytest.raises(StoreFailedError, match=r"WAL segment failed: \[Errno 5\]"):
        await asyncio.wait_for(s.start(), 5)


async def test_a_bug_in_a_store_loop_fails_requests_and_ends_run(
        store: RaftStore, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    running = asyncio.ensure_future(store.run())

    def broken_tick() -> None:
        raise RuntimeError("tick broke")

    assert store._raft is not None
    monkeypatch.setattr(store._raft, "tick", broken_tick)
    with pytest.raises(FatalError, match="the store's ticker failed: RuntimeError: tick broke"):
        await asyncio.wait_for(running, 5)
    with pytest.raises(StoreFailedError, match="RuntimeError: tick broke"):
        await put(store, b"a")
    assert caplog.text.count("Traceback") == 1  # a bug is logged with its traceback, once
