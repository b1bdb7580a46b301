"""Specification of the Raft core: unit behaviours and a seeded, replayable cluster simulation."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import msgpack
import pytest

from minikube_py.store.raft import (
    Entry,
    HardState,
    Message,
    MessageType,
    ProposalDroppedError,
    Raft,
    RaftConfig,
    RaftInvariantError,
    Ready,
    Role,
    Snapshot,
    SnapshotMeta,
)


def drain(r: Raft) -> list[Ready]:
    """Persist-and-apply every Ready of a member with no peers."""
    readies = []
    while r.has_ready():
        rd = r.ready()
        readies.append(rd)
        r.advance(rd)
    return readies


def test_a_single_member_elects_itself_on_first_tick() -> None:
    r = Raft(RaftConfig(1, (1,)), random.Random(0))
    r.tick()
    assert r.role is Role.LEADER and r.term == 1


def test_a_single_member_commits_once_persisted() -> None:
    r = Raft(RaftConfig(1, (1,)), random.Random(0))
    r.tick()
    drain(r)
    _, index = r.propose(b"x")
    rd = r.ready()
    assert [e.data for e in rd.entries] == [b"x"] and rd.committed_entries == []
    r.advance(rd)  # "persisted"
    rd = r.ready()
    assert [e.index for e in rd.committed_entries] == [index]


def test_a_follower_refuses_proposals() -> None:
    r = Raft(RaftConfig(1, (1, 2, 3)), random.Random(0))
    with pytest.raises(ProposalDroppedError):
        r.propose(b"x")


def test_a_member_votes_once_per_term() -> None:
    r = Raft(RaftConfig(1, (1, 2, 3)), random.Random(0))
    r.step(Message(MessageType.VOTE, 1, 2, term=5))
    r.step(Message(MessageType.VOTE, 1, 3, term=5))
    replies = [m for m in r.ready().messages if m.type is MessageType.VOTE_RESP]
    assert [(m.to, m.reject) for m in replies] == [(2, False), (3, True)]


def test_a_member_refuses_a_candidate_with_a_stale_log() -> None:
    r = Raft(
        RaftConfig(1, (1, 2, 3)),
        random.Random(0),
        hard_state=HardState(term=2),
        entries=[Entry(1, 1), Entry(2, 2)],
    )
    r.step(Message(MessageType.VOTE, 1, 2, term=3, log_term=1, index=5))
    assert [m.reject for m in r.ready().messages] == [True]


def test_messages_round_trip_through_msgpack() -> None:
    m = Message(
        MessageType.SNAP, 2, 1, 3, 1, 4, (Entry(1, 5, b"d"),), 4, True, 2,
        Snapshot(SnapshotMeta(4, 1, (1, 2, 3)), b"state"),
    )  # fmt: skip
    packed = msgpack.packb(m.pack(), use_bin_type=True)
    assert Message.unpack(msgpack.unpackb(packed)) == m


# ---- simulation ----------------------------------------------------------------


@dataclass
class Disk:
    hard_state: HardState = field(default_factory=HardState)
    snapshot: SnapshotMeta | None = None
    snapshot_data: list[bytes] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Member:
    raft: Raft | None
    disk: Disk
    applied: list[bytes] = field(default_factory=list)  # data of applied entries, index-1 based


class Simulation:
    """Members over a network that drops, duplicates, delays, reorders and partitions."""

    def __init__(self, size: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.ids = tuple(range(1, size + 1))
        self.members = {i: Member(None, Disk()) for i in self.ids}
        for i in self.ids:
            self.start(i)
        self.network: list[Message] = []
        self.cut: set[frozenset[int]] = set()
        self.leaders: dict[int, int] = {}  # term -> leader
        self.committed: dict[int, tuple[int, bytes]] = {}  # index -> (term, data) ever applied
        self.proposed = 0
        self.acked: list[bytes] = []

    def start(self, i: int) -> None:
        d = self.members[i].disk
        cfg = RaftConfig(i, self.ids, election_tick=10, max_entries_per_message=8)
        raft = Raft(
            cfg, random.Random(self.rng.random()),
            hard_state=d.hard_state, snapshot=d.snapshot, entries=list(d.entries),
        )  # fmt: skip
        if d.snapshot is not None:
            raft.local_snapshot = Snapshot(d.snapshot, msgpack.packb(d.snapshot_data))
        self.members[i] = Member(raft, d, list(d.snapshot_data))

    def crash(self, i: int) -> None:
        self.members[i].raft = None

    def process(self, i: int) -> None:
        m = self.members[i]
        r = m.raft
        assert r is not None
        while r.has_ready():
            rd = r.ready()
            if rd.snapshot is not None:
                m.disk.snapshot = rd.snapshot.meta
                m.disk.snapshot_data = msgpack.unpackb(rd.snapshot.data)
                m.disk.entries = []
                m.applied = list(m.disk.snapshot_data)
                self.check_applied(m.applied, 1)
            if rd.hard_state is not None:
                m.disk.hard_state = rd.hard_state
            if rd.entries:
                first = rd.entries[0].index
                m.disk.entries = [e for e in m.disk.entries if e.index < first] + rd.entries
            self.network.extend(rd.messages)
            for e in rd.committed_entries:
                assert e.index == len(m.applied) + 1, "applied out of order"
                m.applied.append(e.data)
                self.check_applied([e.data], e.index, e.term)
            r.advance(rd)
            if r.role is Role.LEADER:
                assert self.leaders.setdefault(r.term, i) == i, "two leaders in one term"

    def check_applied(self, data: list[bytes], first: int, term: int | None = None) -> None:
        for offset, d in enumerate(data):
            index = first + offset
            seen = self.committed.setdefault(index, (term or -1, d))
            assert seen[1] == d, f"index {index} committed as {seen[1]!r} and {d!r}"

    def maybe_compact(self, i: int) -> None:
        m = self.members[i]
        r = m.raft
        assert r is not None
        if r.applied - r.log.snap_index >= 5:
            data = list(m.applied[: r.applied])
            r.compact_log(r.applied, msgpack.packb(data))
            m.disk.snapshot = SnapshotMeta(r.log.snap_index, r.log.snap_term, r.voters)
            m.disk.snapshot_data = data
            m.disk.entries = [e for e in m.disk.entries if e.index > r.log.snap_index]

    def deliver(self, msg: Message) -> None:
        r = self.members[msg.to].raft
        if r is None or frozenset((msg.frm, msg.to)) in self.cut:
            return
        r.step(msg)

    def step_randomly(self, faults: bool) -> None:
        rng = self.rng
        roll = rng.random()
        live = [i for i in self.ids if self.members[i].raft is not None]
        if roll < 0.6 and self.network:
            msg = self.network.pop(rng.randrange(len(self.network)))  # reorder
            if faults and rng.random() < 0.1:
                return  # drop
            if faults and rng.random() < 0.05:
                self.network.append(msg)  # duplicate
            self.deliver(msg)
        elif roll < 0.75:
            r = self.members[rng.choice(live)].raft
            assert r is not None
            r.tick()
        elif faults and roll < 0.85:
            leaders = [i for i in live if self.members[i].raft.role is Role.LEADER]  # type: ignore[union-attr]
            if leaders:
                self.proposed += 1
                self.members[rng.choice(leaders)].raft.propose(b"p%d" % self.proposed)  # type: ignore[union-attr]
        elif roll < 0.87:
            self.maybe_compact(rng.choice(live))
        elif faults and roll < 0.875 and len(live) > 1:
            self.crash(rng.choice(live))
        elif faults and roll < 0.88:
            dead = [i for i in self.ids if self.members[i].raft is None]
            if dead:
                self.start(rng.choice(dead))
        elif faults and roll < 0.885:
            a, b = rng.sample(self.ids, 2)
            self.cut.symmetric_difference_update({frozenset((a, b))})
        for i in self.ids:
            if self.members[i].raft is not None:
                self.process(i)

    def heal(self) -> None:
        self.cut.clear()
        for i in self.ids:
            if self.members[i].raft is None:
                self.start(i)


def converged(sim: Simulation) -> bool:
    applied = {len(m.applied) for m in sim.members.values()}
    return len(applied) == 1 and applied.pop() >= max(sim.committed, default=0)


@pytest.mark.parametrize("size", [3, 5])
@pytest.mark.parametrize("seed", range(6))
def test_simulated_cluster_stays_safe_and_converges(size: int, seed: int) -> None:
    sim = Simulation(size, seed)
    for _ in range(3000):
        sim.step_randomly(faults=True)
    sim.heal()
    for _ in range(20000):
        sim.step_randomly(faults=False)
        if converged(sim) and not sim.network:
            break
    assert converged(sim), {i: len(m.applied) for i, m in sim.members.items()}
    logs = {tuple(m.applied) for m in sim.members.values()}
    assert len(logs) == 1
    assert len(sim.committed) > 10, "the scenario committed too little to mean anything"


def test_a_lone_member_forgets_applied_entries_and_keeps_committing() -> None:
    r = Raft(RaftConfig(1, (1,)), random.Random(0))
    r.tick()
    drain(r)
    for i in range(5):
        r.propose(b"x%d" % i)
    drain(r)
    r.forget_applied_entries()
    assert r.log.entries == [] and r.log.snap_index == r.applied == r.commit
    _, index = r.propose(b"after")
    applied = [e for rd in drain(r) for e in rd.committed_entries]
    assert [(e.index, e.data) for e in applied] == [(index, b"after")]


def test_a_member_with_peers_keeps_its_log_for_followers() -> None:
    r = Raft(RaftConfig(1, (1, 2, 3)), random.Random(0))
    with pytest.raises(RaftInvariantError):
        r.forget_applied_entries()
