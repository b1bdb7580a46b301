"""Specification of RaftStore snapshots: written off the event loop while writes go on;
what a lone member keeps in memory."""

from __future__ import annotations

import asyncio
import errno
import os
import random
import threading
from pathlib import Path

import pytest

from minikube_py.store.node import RaftStore
from minikube_py.store.types import PutOp, StoreFailedError, prefix_end


class SnapshotDisk:
    """fdatasync, except that syncing a snapshot file can be held (until `release()`) or
    made to fail with EIO; WAL syncs always go through."""

    def __init__(self) -> None:
        self.hold = threading.Event()
        self.released = threading.Event()
        self.held = threading.Event()
        self.fail = False

    def __call__(self, fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            if self.fail:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            if self.hold.is_set():
                self.held.set()
                self.released.wait(10)
        os.fdatasync(fd)


async def put(s: RaftStore, key: bytes, value: bytes = b"v") -> int:
    return (await s.txn([], [PutOp(key, value)], [])).revision


def snapshots(path: Path) -> list[str]:
    return sorted(p.name for p in (path / "snap").glob("*.snap"))


async def test_writes_are_acknowledged_while_a_snapshot_is_written(tmp_path: Path) -> None:
    disk = SnapshotDisk()
    disk.hold.set()
    s = RaftStore(tmp_path, rng=random.Random(1), fsync=disk, snapshot_entries=20)
    await s.start()
    for i in range(25):
        await put(s, b"k%02d" % i)
    await asyncio.wait_for(asyncio.to_thread(disk.held.wait, 5), 6)
    # the snapshot is stuck in its fsync; the store goes on
    revs = [await asyncio.wait_for(put(s, b"during%02d" % i), 5) for i in range(30)]
    assert revs == list(range(revs[0], revs[0] + 30))
    assert snapshots(tmp_path) == []
    disk.released.set()
    await s.close()
    s = RaftStore(tmp_path, rng=random.Random(1))
    await s.start()
    assert (await s.range(b"during", prefix_end(b"during"))).count == 30
    assert (await s.range(b"k", prefix_end(b"k"))).count == 25
    await s.close()


async def test_close_waits_for_the_snapshot_being_written(tmp_path: Path) -> None:
    disk = SnapshotDisk()
    disk.hold.set()
    s = RaftStore(tmp_path, rng=random.Random(1), fsync=disk, snapshot_entries=10)
    await s.start()
    for i in range(12):
        await put(s, b"k%02d" % i)
    await asyncio.wait_for(asyncio.to_thread(disk.held.wait, 5), 6)
    closing = asyncio.ensure_future(s.close())
    await asyncio.sleep(0.05)
    assert not closing.done()
    disk.released.set()
    await asyncio.wait_for(closing, 5)
    assert len(snapshots(tmp_path)) >= 1
    assert not list((tmp_path / "snap").glob("*.tmp"))


async def test_a_snapshot_that_cannot_be_written_stops_the_store(tmp_path: Path) -> None:
    disk = SnapshotDisk()
    disk.fail = True
    s = RaftStore(tmp_path, rng=random.Random(1), fsync=disk, snapshot_entries=5)
    await s.start()
    with pytest.raises(StoreFailedError, match=r"writing a snapshot failed: \[Errno 5\]"):
        for i in range(50):
            await asyncio.wait_for(put(s, b"k%02d" % i), 5)
    await s.close()


async def test_a_lone_member_keeps_neither_applied_entries_nor_snapshot_bytes(
        tmp_path: Path) -> None:
    s = RaftStore(tmp_path, rng=random.Random(1), snapshot_entries=50)
    await s.start()
    for i in range(120):
        await put(s, b"k%03d" % i)
    raft = s._raft
    assert raft is not None
    assert len(raft.log.entries) <= 1
    assert raft.local_snapshot is None
    await s.close()
    assert snapshots(tmp_path)
