"""Three RaftStore members over an in-process transport: replication, a follower that fell
behind the leader's snapshot catching up from it, linearizable reads on every member,
failing fast without a leader, and a leader that hands leadership over when it closes."""

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
from minikube_py.store.raft import ConfState, Message, MessageType, ReadState
from minikube_py.store.types import (
    LeaderTransferringError,
    NoLeaderError,
    NotLeaderError,
    PutOp,
    RangeOp,
    RangeResult,
    RequestTimeoutError,
    prefix_end,
)

IDS = (1, 2, 3)


class Network:
    """Delivers each message on the next loop iteration, to members that are up; drops
    every message to or from a member in `cut`, and the next `lose_snapshots` snapshots;
    sends each twice if `duplicate`. Reports each snapshot's fate to its sender."""

    def __init__(self, *, duplicate: bool = False) -> None:
        self.members: dict[int, RaftStore] = {}
        self.cut: set[int] = set()
        self.duplicate = duplicate
        self.lose_snapshots = 0
        self.snapshots_delivered = 0

    def send(self, messages: Sequence[Message]) -> None:
        loop = asyncio.get_running_loop()
        for m in messages:
            target = self.members.get(m.to)
            delivered = target is not None and not {m.to, m.frm} & self.cut
            if delivered and m.type is MessageType.SNAP:
                if self.lose_snapshots:
                    self.lose_snapshots -= 1
                    delivered = False
                else:
                    self.snapshots_delivered += 1
            if delivered:
                for _ in range(2 if self.duplicate else 1):
                    loop.call_soon(target.receive, m)  # type: ignore[union-attr]
            sender = self.members.get(m.frm)
            if m.type is MessageType.SNAP and sender is not None:
                loop.call_soon(sender.report_snapshot, m.to, delivered)


class Cluster:
    def __init__(self, path: Path, *, duplicate: bool = False, **options: Any) -> None:
        self.path = path
        self.net = Network(duplicate=duplicate)
        self.memberships: dict[int, list[ConfState]] = {}  # what on_membership said, by member
        # elections after 0.3-0.6 s of silence: no spurious one on a busy machine
        self.options: dict[str, Any] = {
            "tick_interval": 0.01, "election_tick": 30, "snapshot_entries": 50, **options}

    def member(self, i: int, *, peers: Sequence[int] = IDS,
               learners: Sequence[int] = ()) -> RaftStore:
        """Member `i` (a new one, or one restarted on its data dir). A member joining
        later starts with the founders as `peers` and itself in `learners`."""
        s = RaftStore(self.path / str(i), member_id=i, peers=peers, learners=learners,
                      transport=self.net, rng=random.Random(i),
                      on_membership=self.memberships.setdefault(i, []).append, **self.options)
        self.net.members[i] = s
        return s

    @property
    def election_timeout(self) -> float:
        """The shortest time a member waits in silence before it campaigns."""
        return float(self.options["election_tick"] * self.options["tick_interval"])

    async def start(self) -> Cluster:
        await asyncio.gather(*(self.member(i).start() for i in IDS))
        return self

    async def close(self) -> None:
        for s in list(self.net.members.values()):
            await s.close()

    def followers(self, leader: RaftStore) -> list[RaftStore]:
        return [s for s in self.net.members.values() if s is not leader]

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
    c = await Cluster(tmp_path).start()
    yield c
    await c.close()


async def put(s: RaftStore, key: bytes) -> int:
    return (await s.txn([], [PutOp(key, b"v")], [])).revision


async def put_retrying(cluster: Cluster, key: bytes, timeout: float = 10) -> RaftStore:
    """Put through whichever member leads, as a client does: a leader that stepped down
    meanwhile (check-quorum, when a loaded machine delays heartbeats past an election
    timeout) is asked again once there is one. Returns the member that took it."""
    deadline = time.monotonic() + timeout
    while True:
        leader = await cluster.leader()
        try:
            await put(leader, key)
            return leader
        except (NotLeaderError, NoLeaderError):
            assert time.monotonic() < deadline, f"no leader took {key!r} in {timeout}s"


async def count(s: RaftStore, *, serializable: bool = False) -> int:
    return (await s.range(b"k", prefix_end(b"k"), serializable=serializable)).count


async def test_writes_through_the_leader_reach_every_member(cluster: Cluster) -> None:
    for i in range(10):
        await put_retrying(cluster, b"k%03d" % i)
    for s in cluster.net.members.values():
        await until(lambda s=s: count_is(s, 10), "every member to apply 10 writes")


async def test_a_follower_behind_the_leaders_snapshot_catches_up_from_it(
        cluster: Cluster) -> None:
    for i in range(20):
        leader = await put_retrying(cluster, b"k%03d" % i)
    behind = next(i for i, s in cluster.net.members.items() if s is not leader)
    await cluster.net.members.pop(behind).abort()
    for i in range(20, 200):  # several snapshots: the entries it misses are compacted away
        leader = await put_retrying(cluster, b"k%03d" % i)
    assert leader._raft is not None and leader._raft.log.snap_index > 20
    restarted = cluster.member(behind)
    await restarted.start()
    await until(lambda: count_is(restarted, 200), "the restarted follower to catch up")
    assert restarted.revision == leader.revision


async def test_a_snapshot_lost_on_the_way_is_sent_again(cluster: Cluster) -> None:
    """The transport reports the loss; the leader sends it again after a heartbeat round."""
    for i in range(20):
        leader = await put_retrying(cluster, b"k%03d" % i)
    behind = next(i for i, s in cluster.net.members.items() if s is not leader)
    await cluster.net.members.pop(behind).abort()
    for i in range(20, 120):
        leader = await put_retrying(cluster, b"k%03d" % i)
    assert leader._raft is not None and leader._raft.log.snap_index > 20
    cluster.net.lose_snapshots = 2
    restarted = cluster.member(behind)
    await restarted.start()
    await until(lambda: count_is(restarted, 120), "the restarted follower to catch up")
    assert cluster.net.lose_snapshots == 0 and cluster.net.snapshots_delivered >= 1


async def count_is(s: RaftStore, n: int) -> bool:
    """Whether `s` has applied `n` writes (its local state: it may not know a leader yet)."""
    return await count(s, serializable=True) == n


# ---- linearizable reads, no leader, leader transfer ---------------------------------------


@pytest.mark.parametrize("duplicate", [False, True], ids=["once", "duplicated"])
async def test_a_write_acknowledged_by_the_leader_is_read_on_every_member_at_once(
        tmp_path: Path, duplicate: bool) -> None:
    # a follower learns the new commit index only with the leader's next message: a
    # read of its local state right after the acknowledgement would miss the write
    c = await Cluster(tmp_path, duplicate=duplicate).start()
    try:
        leader = await c.leader()
        for i in range(10):
            key = b"k%03d" % i
            acked = await put(leader, key)
            for s in c.net.members.values():
                got = await s.range(key)
                assert got.count == 1 and got.revision >= acked, f"member {s._id} missed {key!r}"
    finally:
        await c.close()


async def test_concurrent_reads_share_one_read_index_request(cluster: Cluster) -> None:
    leader = await cluster.leader()
    await put(leader, b"k1")
    follower = cluster.followers(leader)[0]
    raft = follower._raft
    assert raft is not None
    calls = []
    real = raft.read_index

    def counting(ctx: bytes) -> None:
        calls.append(ctx)
        real(ctx)

    raft.read_index = counting  # type: ignore[method-assign]
    counts = await asyncio.gather(*(count(follower) for _ in range(20)))
    assert counts == [1] * 20
    assert 1 <= len(calls) <= 2, calls  # one batch, or two if the loop woke in between


async def test_a_dropped_read_request_is_asked_again(cluster: Cluster) -> None:
    leader = await cluster.leader()
    await put(leader, b"k1")
    follower = cluster.followers(leader)[0]
    raft = follower._raft
    assert raft is not None
    calls = []
    real = raft.read_index

    def drop_first(ctx: bytes) -> None:
        calls.append(ctx)
        if len(calls) == 1:  # what a leader that lost its lead answers
            raft.read_states.append(ReadState(0, ctx, dropped=True))
        else:
            real(ctx)

    raft.read_index = drop_first  # type: ignore[method-assign]
    assert await count(follower) == 1
    assert len(calls) == 2 and calls[0] != calls[1]  # each request has its own ctx


async def test_a_follower_cut_off_from_the_leader_fails_fast_with_no_leader(
        cluster: Cluster) -> None:
    leader = await cluster.leader()
    await put(leader, b"k1")
    follower = cluster.followers(leader)[0]
    assert follower._request_timeout > 5  # the default: far beyond what we allow below
    cluster.net.cut.add(follower._id)
    started = time.monotonic()
    with pytest.raises(NoLeaderError, match="no leader"):
        await count(follower)  # its request to the leader is lost; it notices no leader
    # silence for a randomized election timeout (at most twice the shortest), then a tick
    assert time.monotonic() - started < 2 * cluster.election_timeout + 0.5
    started = time.monotonic()
    with pytest.raises(NoLeaderError):
        await count(follower)
    with pytest.raises(NoLeaderError):
        await put(follower, b"k2")
    assert time.monotonic() - started < 0.1  # it knows: no waiting at all
    assert await count(follower, serializable=True) == 1  # local reads still served
    assert leader.is_leader  # pre-vote: the cut-off member deposed nobody
    cluster.net.cut.clear()
    await until(lambda: count_is_linearizable(follower, 1), "reads once it hears the leader")


async def test_a_write_on_a_leader_cut_off_from_the_rest_fails_with_no_leader(
        cluster: Cluster) -> None:
    leader = await cluster.leader()
    await put(leader, b"k1")
    cluster.net.cut.add(leader._id)
    started = time.monotonic()
    with pytest.raises(NoLeaderError, match="may still be applied"):
        await put(leader, b"k2")  # proposed, never committed; check-quorum deposes it
    assert time.monotonic() - started < 2 * cluster.election_timeout + 0.5


async def test_a_read_the_leader_never_answers_times_out(tmp_path: Path) -> None:
    c = await Cluster(tmp_path, request_timeout=0.05).start()
    try:
        leader = await c.leader()
        follower = c.followers(leader)[0]
        # (a leader is one before its first append has told the followers so)
        await until(lambda: follower.raft_position().leader == leader._id,
                    "the follower to know the leader")
        c.net.cut.add(follower._id)  # it still knows the leader for an election timeout
        with pytest.raises(RequestTimeoutError, match=f"leader member {leader._id}"):
            await count(follower)
        assert follower._reads_in_flight == {}  # the lost request is forgotten
    finally:
        await c.close()


async def test_a_write_during_a_leader_transfer_is_refused_as_retryable(
        cluster: Cluster) -> None:
    leader = await cluster.leader()
    target = cluster.followers(leader)[0]
    cluster.net.cut.add(target._id)  # the transfer cannot finish
    transfer = asyncio.create_task(leader.transfer_leadership(target._id))
    await until(lambda: leader._raft is not None and leader._raft.lead_transferee,
                "the transfer to start")
    with pytest.raises(LeaderTransferringError, match="handing leadership") as refused:
        await put(leader, b"k1")
    assert isinstance(refused.value, NotLeaderError)
    assert await transfer is False  # given up after an election timeout
    await put(leader, b"k1")  # it takes writes again


async def test_closing_the_leader_hands_leadership_over_without_an_election_timeout(
        tmp_path: Path) -> None:
    # long election timeouts (1-2 s): the survivors could not elect a leader sooner
    c = await Cluster(tmp_path, election_tick=100).start()
    try:
        leader = await c.leader()
        await put(leader, b"k1")
        started = time.monotonic()
        await leader.close()
        del c.net.members[leader._id]
        new = next(s for s in c.net.members.values() if s.is_leader)
        await put(new, b"k2")
        assert time.monotonic() - started < c.election_timeout / 2
        for s in c.net.members.values():
            assert await count(s) == 2
    finally:
        await c.close()


async def test_a_single_member_reads_without_a_read_index_round_trip(tmp_path: Path) -> None:
    s = RaftStore(tmp_path, rng=random.Random(1))
    await s.start()
    try:
        assert s._raft is not None

        def refuse(ctx: bytes) -> None:
            raise AssertionError("a lone member asked for a read index")

        s._raft.read_index = refuse  # type: ignore[method-assign]
        await put(s, b"k1")
        assert await count(s) == 1
        got = await s.txn([], [RangeOp(b"k1")], [])
        assert isinstance(got.responses[0], RangeResult) and got.responses[0].count == 1
    finally:
        await s.close()


async def count_is_linearizable(s: RaftStore, n: int) -> bool:
    try:
        return await count(s) == n
    except NoLeaderError:
        return False
