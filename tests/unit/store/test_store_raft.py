"""Specification of the Raft core: unit behaviours and a seeded, replayable cluster simulation."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import msgpack
import pytest

from minikube_py.store.raft import (
    NONE,
    ConfChange,
    ConfChangeError,
    ConfChangeType,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    ProposalDroppedError,
    Raft,
    RaftConfig,
    RaftInvariantError,
    ReadIndexDroppedError,
    Ready,
    Role,
    Snapshot,
    SnapshotMeta,
    split_for_persist,
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
    persisting: tuple[Ready, list[Message]] | None = None  # a Ready whose fsync runs


class Simulation:
    """Members over a network that drops, duplicates, delays, reorders and partitions.

    With `reads`, members also ask for read indexes and leaders hand leadership over at
    random; every confirmed read must be at or after every write applied anywhere before
    the read was asked for (linearizable reads).

    With `membership`, leaders also change the membership at random: add a learner,
    promote it once it caught up, remove a non-leader voter or now and then themselves.
    Members removed keep ticking; members that join start blank, knowing the founders."""

    def __init__(
        self,
        size: int,
        seed: int,
        *,
        pre_vote: bool = True,
        check_quorum: bool = True,
        reads: bool = False,
        membership: bool = False,
        max_size_per_msg: int = 16,
        max_inflight_msgs: int = 4,
    ) -> None:
        """The flow control defaults are tight enough that the faults meet it: entries of
        a few bytes, so 3-5 go per append, and 4 appends in flight per follower."""
        self.rng = random.Random(seed)
        self.flow = {"max_size_per_msg": max_size_per_msg, "max_inflight_msgs": max_inflight_msgs}
        self.membership = membership
        self.votes: dict[tuple[int, int], int] = {}  # (term, member) -> whom it voted for
        self.conf_changes: list[str] = []  # membership changes as their leader applied them
        self.features = {"pre_vote": pre_vote, "check_quorum": check_quorum}
        self.reads = reads
        self.read_floor: dict[bytes, tuple[int, int]] = {}  # ctx -> (asker, acked index then)
        self.confirmed_reads: list[tuple[int, int]] = []  # (term of the asker, read index)
        self.ids = tuple(range(1, size + 1))
        self.founders = self.ids
        self.members = {i: Member(None, Disk()) for i in self.ids}
        for i in self.ids:
            self.start(i)
        self.network: list[Message] = []
        self.cut: set[frozenset[int]] = set()
        self.leaders: dict[int, int] = {}  # term -> leader
        self.committed: dict[int, tuple[int, bytes]] = {}  # index -> (term, data) ever applied
        self.proposed = 0
        self.acked: list[bytes] = []
        self.refused: list[tuple[int, bytes]] = []  # (member, id) of forwarded proposals refused
        self.crash_at_persist: set[int] = set()  # crash between sending and persisting

    def start(self, i: int) -> None:
        d = self.members[i].disk
        cfg = RaftConfig(
            i, self.founders, election_tick=10, max_entries_per_message=8, **self.flow,
            pre_vote=self.features["pre_vote"], check_quorum=self.features["check_quorum"],
        )  # fmt: skip
        raft = Raft(
            cfg, random.Random(self.rng.random()),
            hard_state=d.hard_state, snapshot=d.snapshot, entries=list(d.entries),
        )  # fmt: skip
        if d.snapshot is not None:
            raft.local_snapshot = Snapshot(d.snapshot, msgpack.packb(d.snapshot_data))
        self.members[i] = Member(raft, d, list(d.snapshot_data))

    def crash(self, i: int) -> None:
        self.members[i].raft = None
        self.members[i].persisting = None  # that fsync never ended
        self.crash_at_persist.discard(i)

    def process(self, i: int, *, crash_before_persist: bool = False) -> None:
        """Persist, send and apply each Ready as RaftStore does: a leader's appends go out
        before its fsync (`split_for_persist`), and while that fsync runs (here: until the
        member's next turn, 30% of the time) messages that arrive are stepped, so followers'
        answers can reach the leader before its own copy is durable.
        `crash_before_persist`: the member crashes right after sending, losing the Ready's
        entries and hard state."""
        m = self.members[i]
        r = m.raft
        assert r is not None
        if m.persisting is not None:  # its fsync ends now
            rd, late = m.persisting
            m.persisting = None
            self.complete(i, rd, late)
        if r.role is Role.LEADER:
            self.check_elected(r)
        while r.has_ready():
            rd = r.ready()
            on_disk = m.disk.hard_state
            early, late = split_for_persist(r.role, rd.messages, new_term_or_vote=(
                rd.hard_state is not None
                and (rd.hard_state.term, rd.hard_state.vote) != (on_disk.term, on_disk.vote)))
            self.network.extend(early)
            if early and (rd.entries or rd.hard_state is not None):
                if crash_before_persist and any(
                        o.raft is not None for j, o in self.members.items() if j != i):
                    self.crash(i)
                    return
                if self.rng.random() < 0.3:
                    m.persisting = (rd, late)
                    return
            self.complete(i, rd, late)

    def complete(self, i: int, rd: Ready, late: list[Message]) -> None:
        """The Ready is durable: on the disk, its other messages sent, applied, advanced."""
        m = self.members[i]
        r = m.raft
        assert r is not None
        if rd.snapshot is not None:
            m.disk.snapshot = rd.snapshot.meta
            m.disk.snapshot_data = msgpack.unpackb(rd.snapshot.data)
            m.disk.entries = []
            m.applied = list(m.disk.snapshot_data)
            self.check_applied(m.applied, 1)
        if rd.hard_state is not None:
            m.disk.hard_state = hs = rd.hard_state
            if hs.vote != NONE:
                voted = self.votes.setdefault((hs.term, i), hs.vote)
                assert voted == hs.vote, f"member {i} voted twice in term {hs.term}"
        if rd.entries:
            first = rd.entries[0].index
            m.disk.entries = [e for e in m.disk.entries if e.index < first] + rd.entries
        self.network.extend(late)
        self.refused.extend((i, ctx) for ctx in rd.dropped_proposals)
        for rs in rd.read_states:
            self.check_read(i, r.term, rs.ctx, rs.index, rs.dropped)
        for e in rd.committed_entries:
            assert e.index == len(m.applied) + 1, "applied out of order"
            m.applied.append(e.data)
            self.check_applied([e.data], e.index, e.term)
            if e.type is EntryType.CONF_CHANGE:
                cc = ConfChange.unpack(e.data)
                if r.role is Role.LEADER:
                    kind = "leader removed" if cc.member == i else cc.type.name
                    self.conf_changes.append(kind)
                r.apply_conf_change(cc)
        r.advance(rd)
        if r.role is Role.LEADER:
            assert self.leaders.setdefault(r.term, i) == i, "two leaders in one term"

    def check_elected(self, r: Raft) -> None:
        """A leader is a voter of its own membership, elected by a quorum of it: votes
        are persisted before they are sent, so a quorum's are on disk by now."""
        assert r.id in r.voters, f"leader {r.id} of term {r.term} is not in {r.voters}"
        if self.leaders.get(r.term) == r.id:
            return  # checked when it was first seen leading, with the voters it was elected by
        granted = {v for v in r.voters if v == r.id or self.votes.get((r.term, v)) == r.id}
        assert len(granted) > len(r.voters) // 2, (
            f"leader {r.id} of term {r.term} has votes {granted} of voters {r.voters}"
        )

    def check_applied(self, data: list[bytes], first: int, term: int | None = None) -> None:
        for offset, d in enumerate(data):
            index = first + offset
            seen = self.committed.setdefault(index, (term or -1, d))
            assert seen[1] == d, f"index {index} committed as {seen[1]!r} and {d!r}"

    def check_read(self, i: int, term: int, ctx: bytes, index: int, dropped: bool) -> None:
        # a duplicated request or answer can answer a ctx twice: each answer must hold
        asker, floor = self.read_floor[ctx]
        assert asker == i, f"read {ctx!r} of member {asker} answered to {i}"
        if not dropped:
            assert index >= floor, f"read {ctx!r} at {index} misses write {floor} acked before it"
            self.confirmed_reads.append((term, index))

    def ask_read(self, i: int) -> None:
        r = self.members[i].raft
        assert r is not None
        ctx = b"read-%d" % len(self.read_floor) + b"-%d" % self.rng.getrandbits(32)
        self.read_floor[ctx] = (i, max(self.committed, default=0))
        with contextlib.suppress(ReadIndexDroppedError):
            r.read_index(ctx)

    def transfer_randomly(self, live: list[int]) -> None:
        for i in live:
            r = self.members[i].raft
            assert r is not None
            if r.role is Role.LEADER:
                r.transfer_leadership(self.rng.choice([p for p in r.voters if p != i]))

    def maybe_compact(self, i: int) -> None:
        m = self.members[i]
        r = m.raft
        assert r is not None
        if r.applied - r.log.snap_index >= 5:
            data = list(m.applied[: r.applied])
            r.compact_log(r.applied, msgpack.packb(data))
            assert r.local_snapshot is not None
            m.disk.snapshot = r.local_snapshot.meta
            m.disk.snapshot_data = data
            m.disk.entries = [e for e in m.disk.entries if e.index > r.log.snap_index]

    def change_membership(self, live: list[int]) -> None:
        """Have a leader propose one membership change; refusals (one is pending, the
        learner is behind, it lost the lead) are part of the game."""
        rafts = [r for i in live if (r := self.members[i].raft) and r.role is Role.LEADER]
        if not rafts:
            return
        r = self.rng.choice(rafts)
        learners = [p for p in r.learners if p in self.members]
        removable = [p for p in r.voters if p != r.id] if len(r.voters) >= 3 else []
        removable += r.learners
        roll = self.rng.random()
        if learners and roll < 0.5:
            cc = ConfChange(ConfChangeType.PROMOTE, self.rng.choice(learners))
        elif not learners and len(r.voters) < len(self.founders) + 2 and roll < 0.6:
            new = max(self.ids) + 1
            cc = ConfChange(ConfChangeType.ADD_LEARNER, new)
        elif removable and roll < 0.85:
            cc = ConfChange(ConfChangeType.REMOVE, self.rng.choice(removable))
        elif len(r.voters) >= 3:
            cc = ConfChange(ConfChangeType.REMOVE, r.id)
        else:
            return
        with contextlib.suppress(ConfChangeError, ProposalDroppedError):
            r.propose_conf_change(cc)
            if cc.type is ConfChangeType.ADD_LEARNER:  # it starts blank, and waits to be sent to
                self.ids += (cc.member,)
                self.members[cc.member] = Member(None, Disk())
                self.start(cc.member)

    def current_members(self) -> tuple[int, ...]:
        """Whom the cluster counts now: everyone, or the sole leader's members."""
        if not self.membership:
            return self.ids
        leaders = [m.raft for m in self.members.values() if m.raft and m.raft.role is Role.LEADER]
        if len(leaders) != 1:
            return self.ids
        return leaders[0].voters + leaders[0].learners

    def deliver(self, msg: Message) -> None:
        r = self.members[msg.to].raft
        if r is None or frozenset((msg.frm, msg.to)) in self.cut:
            self.report_snapshot(msg, ok=False)
            return
        r.step(msg)
        self.report_snapshot(msg, ok=True)

    def report_snapshot(self, msg: Message, *, ok: bool) -> None:
        """What a transport does: tell the sender how sending a snapshot ended."""
        sender = self.members[msg.frm].raft
        if msg.type is MessageType.SNAP and sender is not None:
            sender.report_snapshot(msg.to, ok=ok)

    def step_randomly(self, faults: bool) -> None:
        rng = self.rng
        roll = rng.random()
        live = [i for i in self.ids if self.members[i].raft is not None]
        if roll < 0.6 and self.network:
            msg = self.network.pop(rng.randrange(len(self.network)))  # reorder
            if faults and rng.random() < 0.1:
                self.report_snapshot(msg, ok=False)
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
                with contextlib.suppress(ProposalDroppedError):  # it is handing over
                    self.members[rng.choice(leaders)].raft.propose(b"p%d" % self.proposed)  # type: ignore[union-attr]
        elif roll < 0.87:
            self.maybe_compact(rng.choice(live))
        elif faults and roll < 0.875 and len(live) > 1:
            victim = rng.choice(live)
            if rng.random() < 0.5:
                self.crash(victim)
            else:  # at its next fsync, if it sends before it (a leader does)
                self.crash_at_persist.add(victim)
        elif faults and roll < 0.88:
            dead = [i for i in self.ids if self.members[i].raft is None]
            if dead:
                self.start(rng.choice(dead))
        elif faults and roll < 0.885:
            a, b = rng.sample(self.ids, 2)
            self.cut.symmetric_difference_update({frozenset((a, b))})
        elif self.reads and roll < 0.9:
            # each read is a heartbeat round: asked more often, they swamp the network
            self.ask_read(rng.choice(live))
        elif self.reads and faults and roll < 0.91:
            self.transfer_randomly(live)
        elif self.membership and faults and 0.91 <= roll < 0.95:
            self.change_membership(live)
        for i in self.ids:
            if self.members[i].raft is not None:
                self.process(i, crash_before_persist=i in self.crash_at_persist)

    def heal(self) -> None:
        self.cut.clear()
        self.crash_at_persist.clear()
        for i in self.ids:
            if self.members[i].raft is None:
                self.start(i)


def converged(sim: Simulation) -> bool:
    """Every current member applied everything ever committed (members removed are left behind)."""
    applied = {len(sim.members[i].applied) for i in sim.current_members()}
    return len(applied) == 1 and applied.pop() >= max(sim.committed, default=0)


def run_faults_then_converge(
    sim: Simulation, fault_steps: int = 3000, *, min_committed: int = 10
) -> None:
    for _ in range(fault_steps):
        sim.step_randomly(faults=True)
    sim.heal()
    for _ in range(20000):
        sim.step_randomly(faults=False)
        if converged(sim) and not sim.network:
            break
    assert converged(sim), {i: len(m.applied) for i, m in sim.members.items()}
    logs = {tuple(sim.members[i].applied) for i in sim.current_members()}
    assert len(logs) == 1
    assert len(sim.committed) > min_committed, "the scenario committed too little to mean anything"


@pytest.mark.parametrize("features", [True, False], ids=["prevote+checkquorum", "plain"])
@pytest.mark.parametrize("size", [3, 5])
@pytest.mark.parametrize("seed", range(6))
def test_simulated_cluster_stays_safe_and_converges(size: int, seed: int, features: bool) -> None:
    run_faults_then_converge(Simulation(size, seed, pre_vote=features, check_quorum=features))


@pytest.mark.parametrize("size", [3, 5])
@pytest.mark.parametrize("seed", range(10))
def test_simulated_reads_are_linearizable_across_leader_changes(size: int, seed: int) -> None:
    sim = Simulation(size, 100 + seed, reads=True)
    run_faults_then_converge(sim, fault_steps=8000)  # most reads find no leader: run longer
    read_terms = {term for term, _ in sim.confirmed_reads}
    assert len(sim.confirmed_reads) >= 3, "too few reads confirmed to mean anything"
    assert len(read_terms) > 1, "every read was confirmed under one leader"


def run_until(sim: Simulation, done: Callable[[], bool], steps: int = 20000) -> None:
    for _ in range(steps):
        if done():
            return
        sim.step_randomly(faults=False)
    raise AssertionError("the simulation never got there")


def sole_leader(sim: Simulation) -> Raft | None:
    leaders = [m.raft for m in sim.members.values() if m.raft and m.raft.role is Role.LEADER]
    return leaders[0] if len(leaders) == 1 else None


@pytest.mark.parametrize("size", [3, 5])
@pytest.mark.parametrize("seed", range(6))
def test_simulated_member_back_from_a_long_partition_leaves_the_leader_alone(
    size: int, seed: int
) -> None:
    sim = Simulation(size, 200 + seed)
    run_until(sim, lambda: sole_leader(sim) is not None and converged(sim))
    leader = sole_leader(sim)
    assert leader is not None
    term = leader.term
    loner = next(i for i in sim.ids if i != leader.id)
    sim.cut = {frozenset((loner, p)) for p in sim.ids if p != loner}
    ticks = 0
    while ticks < 20 * 10 * size:  # the loner alone sees about 20 election timeouts
        ticks += sim.rng.random() < 0.15
        sim.step_randomly(faults=False)
    sim.heal()
    loner_raft = sim.members[loner].raft
    assert loner_raft is not None
    run_until(sim, lambda: loner_raft.lead == leader.id)
    assert leader.role is Role.LEADER and leader.term == term
    assert {i for t, i in sim.leaders.items() if t >= term} == {leader.id}


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


@pytest.mark.parametrize("size", [3, 5])
def test_simulated_membership_changes_stay_safe_and_converge(size: int) -> None:
    """Learners join, catch up and are promoted, voters, learners and leaders are removed,
    all amid the faults; every safety check holds (one leader per term, elected by a
    quorum of its voters), and the members at the end converge. One seed can spend its
    run with most members down, so the floors are over all seeds of a size."""
    changes: list[str] = []
    committed = 0
    for seed in range(300, 308):
        sim = Simulation(size, seed, membership=True)
        run_faults_then_converge(sim, fault_steps=15000, min_committed=0)  # changes: one at a time
        changes += sim.conf_changes
        committed += len(sim.committed)
    assert {"ADD_LEARNER", "PROMOTE", "REMOVE", "leader removed"} <= set(changes), changes
    assert len(changes) >= 40 and committed >= 1000, (len(changes), committed)


def test_a_member_that_installed_a_snapshot_can_send_it_on() -> None:
    """Its log starts after the snapshot: leading later, it needs it for members further
    behind (a blank learner, say)."""
    r = Raft(RaftConfig(2, (1, 2, 3)), random.Random(0))
    snap = Snapshot(SnapshotMeta(5, 1, (1, 2, 3)), b"state")
    r.step(Message(MessageType.SNAP, 2, 1, 1, snapshot=snap))
    r.advance(r.ready())
    assert r.local_snapshot == snap and r.log.snap_index == 5
