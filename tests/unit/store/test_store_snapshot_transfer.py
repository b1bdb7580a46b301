"""RaftStore members over PeerTransports (mutual TLS on loopback) with a small frame limit:
a member that was down, and a learner that joins after the log was compacted, catch up
through a snapshot many times larger than one frame, sent in chunks."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from minikube_py.store.node import RaftStore
from minikube_py.store.raft import Message
from minikube_py.store.transport import PeerTransport
from minikube_py.store.types import NoLeaderError, NotLeaderError, PutOp, prefix_end
from tests.certs import TrialPki, make_test_pki
from tests.conditions import until

CLUSTER = 0xC2
LOOPBACK = "127.0.0.1"
IDS = (1, 2, 3)
MAX_FRAME = 32 * 1024
CHUNK = 8 * 1024
VALUE = b"v" * 2048
KEYS = 120  # 240 KiB of values: a snapshot of about eight frame limits


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TrialPki:
    return make_test_pki(tmp_path_factory.mktemp("snapshot-pki"))


class TlsCluster:
    """Members with a PeerTransport each; a member restarted keeps its data dir and port.
    Queues are short, so the appends queued for a member that is down do not outlast a
    few heartbeats (with a long queue it would catch up from the queue, not a snapshot)."""

    def __init__(self, path: Path, pki: TrialPki) -> None:
        self.path, self.pki = path, pki
        self.stores: dict[int, RaftStore] = {}
        self.transports: dict[int, PeerTransport] = {}
        self.ports: dict[int, int] = {}

    async def start_member(self, i: int, *, peers: Sequence[int] = IDS,
                           learners: Sequence[int] = ()) -> RaftStore:
        def deliver(m: Message) -> None:
            if (s := self.stores.get(i)) is not None:  # not while it is stopped
                s.receive(m)

        def report(peer: int, ok: bool) -> None:
            if (s := self.stores.get(i)) is not None:
                s.report_snapshot(peer, ok)

        t = PeerTransport(i, CLUSTER, LOOPBACK, self.ports.get(i, 0),
                          self.pki.member_server(CLUSTER, i),
                          self.pki.member_client(CLUSTER, i), {}, deliver,
                          on_snapshot_status=report, max_frame=MAX_FRAME,
                          snapshot_chunk_size=CHUNK, backoff_cap=0.2, max_queue=32)
        await t.start()
        self.ports[i], self.transports[i] = t.port, t
        self.stores[i] = s = RaftStore(
            self.path / str(i), member_id=i, peers=peers, learners=learners, transport=t,
            rng=random.Random(i), tick_interval=0.01, election_tick=30, snapshot_entries=20)
        self.wire()
        await s.start()
        return s

    def wire(self) -> None:
        addresses = {j: (LOOPBACK, p) for j, p in self.ports.items()}
        for t in self.transports.values():
            t.update_peers(addresses)

    async def stop_member(self, i: int) -> None:
        await self.stores[i].close()
        del self.stores[i]
        await self.transports.pop(i).close()

    async def close(self) -> None:
        for i in list(self.stores):
            await self.stop_member(i)

    async def leader(self) -> RaftStore:
        found: list[RaftStore] = []

        def one() -> bool:
            found[:] = [s for s in self.stores.values() if s.is_leader]
            return len(found) == 1

        await until(one, "a leader", timeout=10)
        return found[0]

    async def put(self, key: bytes) -> None:
        """Through whichever member leads, as a client does (check-quorum may depose one)."""
        for _ in range(50):
            try:
                await (await self.leader()).txn([], [PutOp(key, VALUE)], [])
                return
            except (NotLeaderError, NoLeaderError):
                continue
        raise AssertionError(f"no leader took {key!r}")


@pytest.fixture
async def cluster(tmp_path: Path, pki: TrialPki) -> AsyncIterator[TlsCluster]:
    c = TlsCluster(tmp_path, pki)
    for i in IDS:
        await c.start_member(i)
    yield c
    await c.close()


async def count(s: RaftStore) -> int:
    return (await s.range(b"k", prefix_end(b"k"), serializable=True)).count


async def write_past_a_snapshot(cluster: TlsCluster) -> RaftStore:
    """Write KEYS values, until the leader's log starts after a snapshot over MAX_FRAME."""
    for n in range(KEYS):
        await cluster.put(b"k%04d" % n)
    leader = await cluster.leader()

    def compacted() -> bool:
        snap = leader._raft_core.local_snapshot
        return snap is not None and len(snap.data) > 4 * MAX_FRAME \
            and leader._raft_core.log.snap_index > 2

    await until(compacted, "the leader to snapshot and compact its log")
    return leader


async def test_a_member_that_was_down_catches_up_through_a_chunked_snapshot(
        cluster: TlsCluster) -> None:
    await cluster.put(b"k-first")
    down = next(i for i in IDS if not cluster.stores[i].is_leader)
    await cluster.stop_member(down)
    leader = await write_past_a_snapshot(cluster)
    back = await cluster.start_member(down)

    async def caught_up() -> bool:
        return await count(back) == KEYS + 1

    await until(caught_up, f"member {down} to catch up", timeout=20)
    sent = cluster.transports[leader._id].stats()[down]
    assert sent.snapshots_sent >= 1 and sent.snapshot_chunks_sent >= 8
    assert cluster.transports[down].stats()[leader._id].snapshots_received >= 1
    assert sent.too_large == 0


async def test_a_new_learner_catches_up_through_a_chunked_snapshot(cluster: TlsCluster) -> None:
    leader = await write_past_a_snapshot(cluster)
    await leader.add_learner(4)
    learner = await cluster.start_member(4, learners=(4,))

    async def caught_up() -> bool:
        return await count(learner) == KEYS

    await until(caught_up, "the learner to catch up", timeout=20)
    assert cluster.transports[4].stats()[leader._id].snapshots_received >= 1
    assert cluster.transports[leader._id].stats()[4].too_large == 0
    await asyncio.wait_for(leader.promote(4), 10)  # it holds the whole log: ready to vote
