"""Specification of RaftStore.purge_history: after a compaction, the store's files hold no
older revision (one snapshot, no log segment from before it), and the state survives."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from minikube_py.store.node import RaftStore
from minikube_py.store.types import PutOp, StoreClosedError, StoreError


async def put(s: RaftStore, key: bytes, value: bytes) -> int:
    return (await s.txn([], [PutOp(key, value)], [])).revision


def files_holding(path: Path, needle: bytes) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")
                  if p.is_file() and needle in p.read_bytes())


async def test_after_a_compaction_no_file_holds_an_older_value(tmp_path: Path) -> None:
    s = RaftStore(tmp_path, rng=random.Random(1), snapshot_entries=5)
    await s.start()
    for i in range(12):  # some snapshots on the way, so older snapshots and segments exist
        await put(s, b"k", b"old-value-%d" % i)
    await put(s, b"k", b"new-value")
    # the change at the compaction revision keeps its previous value (a watch from there
    # gets it): let that change be another key's
    await put(s, b"other", b"x")
    assert files_holding(tmp_path, b"old-value")
    await s.compact(s.revision)
    await s.purge_history()
    assert files_holding(tmp_path, b"old-value") == []
    assert len(list((tmp_path / "snap").glob("*.snap"))) == 1
    await s.close()


async def test_the_state_after_a_purge_survives_a_restart(tmp_path: Path) -> None:
    s = RaftStore(tmp_path, rng=random.Random(1))
    await s.start()
    for i in range(20):
        await put(s, b"k%02d" % i, b"v%d" % i)
    await s.purge_history()
    revision = await put(s, b"after", b"x")
    await s.abort()  # a crash: only what is on disk counts
    again = RaftStore(tmp_path, rng=random.Random(2))
    await again.start()
    assert again.revision == revision
    res = await again.range(b"k", b"l")
    assert [kv.value for kv in res.kvs] == [b"v%d" % i for i in range(20)]
    assert (await again.range(b"after")).kvs[0].value == b"x"
    await again.close()


async def test_writes_made_during_a_purge_are_all_kept(tmp_path: Path) -> None:
    s = RaftStore(tmp_path, rng=random.Random(1))
    await s.start()
    writes = [asyncio.create_task(put(s, b"w%03d" % i, b"v")) for i in range(100)]
    await asyncio.gather(s.purge_history(), *writes)
    await s.close()
    again = RaftStore(tmp_path, rng=random.Random(2))
    await again.start()
    assert (await again.range(b"w", b"x", count_only=True)).count == 100
    await again.close()


async def test_a_purge_is_refused_once_the_store_is_closed(tmp_path: Path) -> None:
    s = RaftStore(tmp_path, rng=random.Random(1))
    await s.start()
    await s.close()
    with pytest.raises(StoreClosedError):
        await s.purge_history()


async def test_a_purge_is_refused_for_a_member_with_peers(tmp_path: Path) -> None:
    class Unconnected:
        def send(self, messages: object) -> None:
            pass

    s = RaftStore(tmp_path, member_id=1, peers=[1, 2, 3], transport=Unconnected())
    await s.start()
    with pytest.raises(StoreError, match="without peers"):
        await s.purge_history()
    await s.close()
