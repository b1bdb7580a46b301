"""Three RaftStore members over an in-process transport: replication, and a follower that
fell behind the leader's snapshot catching up from it."""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from minikube_py.store.node import RaftStore
from minikube_py.store.raft import Message
from minikube_py.store.types import PutOp, prefix_end

IDS = (1, 2, 3)


class Network:
    """Delivers each message on the next loop iteration, to members that are up."""

    def __init__(self) -> None:
        self.members: dict[int, RaftStore] = {}

    def send(self, messages: Sequence[Message]) -> None:
        loop = asyncio.get_running_loop()
        for m in messages:
            target = self.members.get(m.to)
            if target is not None:
                loop.call_soon(target.receive, m)


class Cluster:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.net = Network()

    def member(self, i: int) -> RaftStore:
        # elections after 0.3-0.6 s of silence: no spurious one on a busy machine
        s = RaftStore(self.path / str(i), member_id=i, peers=IDS, transport=self.net,
                      rng=random.Random(i), tick_interval=0.01, election_tick=30,
                      snapshot_entries=50)
        self.net.members[i] = s
        return s

    async def leader(self) -> RaftStore:
        return await until(lambda: next((s for s in self.net.members.values() if s.is_leader),
                                        None), "a leader")


async def until(probe: Callable[[], Any], what: str, timeout: float = 10) -> Any:
    """Poll `probe` (a function, or a coroutine function) until it returns something true."""
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if inspect.isawaitable(got):
            got = await got
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    c = Cluster(tmp_path)
    await asyncio.gather(*(c.member(i).start() for i in IDS))
    yield c
    for s in list(c.net.members.values()):
        await s.close()


async def put(s: RaftStore, key: bytes) -> int:
    return (await s.txn([], [PutOp(key, b"v")], [])).revision


async def count(s: RaftStore, *, serializable: bool = False) -> int:
    return (await s.range(b"k", prefix_end(b"k"), serializable=serializable)).count


async def test_writes_through_the_leader_reach_every_member(cluster: Cluster) -> None:
    leader = await cluster.leader()
    for i in range(10):
        await put(leader, b"k%03d" % i)
    for s in cluster.net.members.values():
        await until(lambda s=s: count_is(s, 10), "every member to apply 10 writes")


async def test_a_follower_behind_the_leaders_snapshot_catches_up_from_it(
        cluster: Cluster) -> None:
    leader = await cluster.leader()
    for i in range(20):
        await put(leader, b"k%03d" % i)
    behind = next(i for i, s in cluster.net.members.items() if s is not leader)
    await cluster.net.members.pop(behind).abort()
    for i in range(20, 200):  # several snapshots: the entries it misses are compacted away
        await put(leader, b"k%03d" % i)
    assert leader._raft is not None and leader._raft.log.snap_index > 20
    restarted = cluster.member(behind)
    await restarted.start()
    await until(lambda: count_is(restarted, 200), "the restarted follower to catch up")
    assert restarted.revision == leader.revision


async def count_is(s: RaftStore, n: int) -> bool:
    """Whether `s` has applied `n` writes (its local state: it may not know a leader yet)."""
    return await count(s, serializable=True) == n
