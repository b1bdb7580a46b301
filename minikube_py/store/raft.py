"""The Raft consensus core in etcd-io/raft's shape: pure, synchronous, driven by step/tick/ready/advance."""

from __future__ import annotations

import enum
import random
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack

NONE = 0  # no member; member ids are positive


class MessageType(enum.IntEnum):
    APP = 1
    APP_RESP = 2
    VOTE = 3
    VOTE_RESP = 4
    HEARTBEAT = 5
    HEARTBEAT_RESP = 6
    SNAP = 7
    PRE_VOTE = 8  # "would you vote for me at term+1?"; nobody's term changes
    PRE_VOTE_RESP = 9
    TIMEOUT_NOW = 10  # leader transfer: campaign at once, skipping the pre-vote
    READ_INDEX = 11  # a follower asks the leader for a read index (context: the request)
    READ_INDEX_RESP = 12  # index: the read index; reject: the leader gave the request up
    PROP = 13  # a follower hands its proposal to the leader (entries: the data; context: its id)
    PROP_RESP = 14  # reject: the member took no proposal (not leading, or handing over)


# A forced vote (leader transfer) is not held back by the voters' leader lease.
CAMPAIGN_TRANSFER = b"transfer"


class EntryType(enum.IntEnum):
    NORMAL = 0
    CONF_CHANGE = 1  # a membership change (one member at a time): data is a packed ConfChange


@dataclass(frozen=True, slots=True)
class Entry:
    term: int
    index: int
    data: bytes = b""
    type: EntryType = EntryType.NORMAL

    def pack(self) -> tuple[int, int, bytes, int]:
        return (self.term, self.index, self.data, int(self.type))

    @classmethod
    def unpack(cls, t: Any) -> Entry:
        return cls(t[0], t[1], t[2], EntryType(t[3]))


class ConfChangeType(enum.IntEnum):
    ADD_LEARNER = 1  # a new member that receives the log but neither votes nor counts
    PROMOTE = 2  # a learner becomes a voter
    REMOVE = 3  # a voter or learner leaves


@dataclass(frozen=True, slots=True)
class ConfChange:
    """One membership change, carried in a CONF_CHANGE entry's data. It takes effect
    where it is applied (`Raft.apply_conf_change`), not where it is appended, as in etcd 3.4."""

    type: ConfChangeType
    member: int

    def pack(self) -> bytes:
        return bytes(msgpack.packb([int(self.type), self.member]))

    @classmethod
    def unpack(cls, data: bytes) -> ConfChange:
        t, member = msgpack.unpackb(data)
        return cls(ConfChangeType(t), member)


@dataclass(frozen=True, slots=True)
class ConfState:
    """Who is in the cluster: voters elect and make quorums; learners only follow the log."""

    voters: tuple[int, ...]
    learners: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class HardState:
    term: int = 0
    vote: int = NONE
    commit: int = 0


@dataclass(frozen=True, slots=True)
class SnapshotMeta:
    index: int = 0
    term: int = 0
    voters: tuple[int, ...] = ()
    learners: tuple[int, ...] = ()  # last, so older positional constructions still mean the same

    @property
    def conf_state(self) -> ConfState:
        return ConfState(self.voters, self.learners)


@dataclass(frozen=True, slots=True)
class Snapshot:
    meta: SnapshotMeta
    data: bytes


@dataclass(frozen=True, slots=True)
class Message:
    type: MessageType
    to: int
    frm: int
    term: int
    log_term: int = 0
    index: int = 0
    entries: tuple[Entry, ...] = ()
    commit: int = 0
    reject: bool = False
    reject_hint: int = 0
    snapshot: Snapshot | None = None
    # a ReadIndex request's ctx, a forwarded proposal's id, or CAMPAIGN_TRANSFER on a forced vote
    context: bytes = b""

    def pack(self) -> list[Any]:
        snap = None
        if self.snapshot is not None:
            m = self.snapshot.meta
            snap = [m.index, m.term, list(m.voters), self.snapshot.data]
            if m.learners:  # a cluster without learners stays readable by older peers
                snap.append(list(m.learners))
        return [
            int(self.type), self.to, self.frm, self.term, self.log_term, self.index,
            [e.pack() for e in self.entries], self.commit, self.reject, self.reject_hint, snap,
            self.context,
        ]  # fmt: skip

    @classmethod
    def unpack(cls, t: Any) -> Message:
        snap = None
        if t[10] is not None:
            i, term, voters, data, *rest = t[10]  # a peer from before learners sends 4
            learners = tuple(rest[0]) if rest else ()
            snap = Snapshot(SnapshotMeta(i, term, tuple(voters), learners), data)
        return cls(
            MessageType(t[0]), t[1], t[2], t[3], t[4], t[5],
            tuple(Entry.unpack(e) for e in t[6]), t[7], t[8], t[9], snap,
            t[11] if len(t) > 11 else b"",  # a peer from before ReadIndex sends 11 fields
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReadState:
    """The answer to `read_index(ctx)`: once the member has applied up to `index`, a read
    served from its state is linearizable. `dropped` says the request was given up (the
    leader that held it lost leadership before confirming it): retry it."""

    index: int
    ctx: bytes
    dropped: bool = False


@dataclass(slots=True)
class Ready:
    """What the application must do, in this order: persist the snapshot, hard state,
    conf state and entries (fsync); send the messages; apply the committed entries
    (calling `apply_conf_change` for each CONF_CHANGE one); then `advance`.
    `read_states` need no persisting: serve each once `applied >= index`. `conf_state`
    is set when membership changed since the last Ready: it holds as of the last entry
    applied, so a restart passes it back with the applied index it goes with.
    `dropped_proposals` are the ids of proposals this member forwarded that the member it
    sent them to refused: none of them was appended anywhere, so none will be applied."""

    hard_state: HardState | None
    entries: list[Entry]
    snapshot: Snapshot | None
    messages: list[Message]
    committed_entries: list[Entry]
    read_states: list[ReadState] = field(default_factory=list)
    conf_state: ConfState | None = None
    dropped_proposals: list[bytes] = field(default_factory=list)

    @property
    def must_sync(self) -> bool:
        return (
            bool(self.entries)
            or self.hard_state is not None
            or self.snapshot is not None
            or self.conf_state is not None
        )


class Role(enum.Enum):
    FOLLOWER = "follower"
    PRE_CANDIDATE = "pre-candidate"
    CANDIDATE = "candidate"
    LEADER = "leader"


# What a leader may send before its own Ready is persisted (Raft thesis 10.2.1: the leader
# writes its log in parallel with replicating it). Safe because the leader's own match
# counts towards a commit only once persisted (`advance` -> `_on_persisted_as_leader`), so
# a commit still stands on a quorum of durable copies. Answers that vouch for our own
# persisted state (append, vote and heartbeat responses) always wait for the fsync.
_SENT_BEFORE_PERSIST = frozenset({
    MessageType.APP, MessageType.HEARTBEAT, MessageType.SNAP,
    MessageType.READ_INDEX_RESP, MessageType.PROP_RESP,
})


def split_for_persist(role: Role, messages: list[Message], *, new_term_or_vote: bool
                      ) -> tuple[list[Message], list[Message]]:
    """A Ready's messages as (sendable at once, sendable only after its fsync).
    `new_term_or_vote`: the Ready's hard state has a term or vote not yet on disk; then
    nothing goes before it is (a single voter elects itself and sends appends in one
    Ready: sent early, a crash before the fsync would let it win that term again with
    another entry at the same index and term)."""
    if role is not Role.LEADER or new_term_or_vote:
        return [], messages
    before = [m for m in messages if m.type in _SENT_BEFORE_PERSIST]
    if len(before) == len(messages):
        return before, []
    return before, [m for m in messages if m.type not in _SENT_BEFORE_PERSIST]


class ProposalDroppedError(Exception):
    """The member cannot take the proposal (it is not the leader, or it is handing
    leadership over)."""


# How many forwarded proposals' ids a member remembers, so that a duplicate (a network
# that repeats messages) is neither appended twice nor refused after being appended.
FORWARDED_IDS_KEPT = 4096


class ReadIndexDroppedError(Exception):
    """The member cannot take the read request now (it knows no leader): retry later."""


class LeaderTransferError(Exception):
    """The caller asked for an impossible transfer (not the leader, or not a voter)."""


class ConfChangeError(Exception):
    """The leader refuses a membership change: one is still pending, the member is in the
    wrong state for it, or a learner to promote is too far behind. Nothing was proposed."""


class RaftInvariantError(Exception):
    """The log or a message breaks Raft's rules: a bug, or corrupted storage."""


@dataclass(slots=True)
class Progress:
    """The leader's view of one follower: probe one append at a time until a match, then
    pipeline up to `max_inflight_msgs` appends; or wait while a snapshot is sent to it
    (etcd's probe, replicate and snapshot states)."""

    match: int = 0
    next: int = 1
    probing: bool = True
    paused: bool = False
    recent_active: bool = False  # heard from since the last check-quorum
    # the index of the snapshot being sent to it (0: none): nothing else is sent meanwhile,
    # until it acknowledges the snapshot or the app reports how sending it ended
    pending_snapshot: int = 0
    # replicating: the last index of each append sent and not yet acknowledged, oldest first
    inflight: deque[int] = field(default_factory=deque)

    def become_probe(self, next_index: int) -> None:
        self.probing, self.pending_snapshot, self.next = True, 0, next_index
        self.inflight.clear()

    def free_inflight_through(self, index: int) -> None:
        while self.inflight and self.inflight[0] <= index:
            self.inflight.popleft()


@dataclass(slots=True)
class RaftConfig:
    member_id: int
    voters: tuple[int, ...]
    learners: tuple[int, ...] = ()
    election_tick: int = 10
    heartbeat_tick: int = 1
    max_entries_per_message: int = 256
    # Flow control (etcd's MaxSizePerMsg, MaxInflightMsgs): the bytes of entry data in one
    # append (one entry always goes, however large), and the appends sent to a replicating
    # follower before it acknowledges any; a slow follower then costs the leader a bounded
    # window of messages rather than a queue of its whole log.
    max_size_per_msg: int = 1024 * 1024
    max_inflight_msgs: int = 256
    # A member first asks for pre-votes at term+1 without bumping its term, so one that
    # was cut off cannot force a healthy leader out with its inflated term.
    pre_vote: bool = True
    # A leader that has not heard from a quorum for an election timeout steps down, and a
    # member that heard from a leader within one ignores (pre-)vote requests: a lease by ticks.
    check_quorum: bool = True

    def __post_init__(self) -> None:
        if self.max_entries_per_message < 1:
            raise ValueError(f"max_entries_per_message must be at least 1, not "
                             f"{self.max_entries_per_message}")
        if self.max_size_per_msg < 0:
            raise ValueError(f"max_size_per_msg must not be negative, not {self.max_size_per_msg}")
        if self.max_inflight_msgs < 1:
            raise ValueError(f"max_inflight_msgs must be at least 1, not {self.max_inflight_msgs}")


class RaftLog:
    """Entries after the snapshot point; `stabled` is the last index the app has persisted."""

    def __init__(self, snapshot: SnapshotMeta, entries: list[Entry]) -> None:
        self.snap_index = snapshot.index
        self.snap_term = snapshot.term
        self.entries = entries
        self.stabled = self.last_index
        if entries and entries[0].index != self.snap_index + 1:
            raise RaftInvariantError(
                f"log starts at {entries[0].index}, snapshot at {self.snap_index}"
            )

    @property
    def last_index(self) -> int:
        return self.entries[-1].index if self.entries else self.snap_index

    @property
    def last_term(self) -> int:
        return self.entries[-1].term if self.entries else self.snap_term

    def term(self, index: int) -> int | None:
        """Term of the entry at `index`; None if compacted away or beyond the end."""
        if index == self.snap_index:
            return self.snap_term
        if index < self.snap_index or index > self.last_index:
            return None
        return self.entries[index - self.snap_index - 1].term

    def matches(self, index: int, term: int) -> bool:
        return self.term(index) == term

    def slice(self, lo: int, hi: int) -> list[Entry]:
        """Entries [lo, hi); lo must be above the snapshot."""
        base = self.snap_index + 1
        return self.entries[lo - base : hi - base]

    def append(self, entries: Iterable[Entry]) -> None:
        self.entries.extend(entries)

    def truncate_from(self, index: int) -> None:
        del self.entries[index - self.snap_index - 1 :]
        self.stabled = min(self.stabled, index - 1)

    def compact_to(self, index: int, term: int) -> None:
        del self.entries[: max(0, index - self.snap_index)]
        self.snap_index, self.snap_term = index, term

    def reset_to_snapshot(self, meta: SnapshotMeta) -> None:
        self.entries = []
        self.snap_index, self.snap_term = meta.index, meta.term
        self.stabled = meta.index


@dataclass(slots=True)
class _ReadRequest:
    index: int  # the leader's commit when the request arrived
    frm: int  # who asked: the leader itself or a follower
    acks: set[int]


class PendingReads:
    """The leader's ReadIndex requests waiting for a quorum to confirm its leadership,
    oldest first: a heartbeat round acked by a quorum for one ctx confirms every older one too."""

    def __init__(self) -> None:
        self.requests: dict[bytes, _ReadRequest] = {}
        self.queue: list[bytes] = []

    def add(self, ctx: bytes, index: int, frm: int) -> None:
        if ctx not in self.requests:
            self.requests[ctx] = _ReadRequest(index, frm, {frm})
            self.queue.append(ctx)

    def ack(self, ctx: bytes, member: int, voters: tuple[int, ...]) -> int:
        """Record that `member` answered the heartbeat carrying `ctx`; returns how many of
        `voters` did so far (a learner's answer, or a removed member's, confirms nothing)."""
        req = self.requests.get(ctx)
        if req is None:
            return 0
        req.acks.add(member)
        return len(req.acks.intersection(voters))

    def pop_through(self, ctx: bytes) -> list[tuple[bytes, _ReadRequest]]:
        """Remove and return every request up to and including `ctx`."""
        cut = self.queue.index(ctx) + 1
        done, self.queue = self.queue[:cut], self.queue[cut:]
        return [(c, self.requests.pop(c)) for c in done]

    def pop_all(self) -> list[tuple[bytes, _ReadRequest]]:
        return self.pop_through(self.queue[-1]) if self.queue else []

    @property
    def last_ctx(self) -> bytes:
        return self.queue[-1] if self.queue else b""


def limit_size(entries: Sequence[Entry], max_size: int) -> tuple[Entry, ...]:
    """The longest prefix of `entries` whose data adds up to at most `max_size` bytes, but
    at least the first entry (an entry larger than the limit still has to go)."""
    size = 0
    for n, e in enumerate(entries):
        size += len(e.data)
        if n and size > max_size:
            return tuple(entries[:n])
    return tuple(entries)


class Raft:
    """One member's Raft state machine. Nothing here does IO or reads a clock.

    Entries are applied only once persisted locally (`stabled`), and the leader
    counts itself towards a quorum only for persisted entries, so a committed
    entry is always fsynced on a quorum.
    """

    def __init__(
        self,
        config: RaftConfig,
        rng: random.Random,
        *,
        hard_state: HardState = HardState(),
        snapshot: SnapshotMeta | None = None,
        entries: list[Entry] | None = None,
        conf_state: ConfState | None = None,
        applied: int = 0,
    ) -> None:
        """`conf_state`, if given, overrides the snapshot's: the membership as of `applied`
        (pass `applied` too, or the entries after the snapshot would be applied again)."""
        self.id = config.member_id
        self.config = config
        self.rng = rng
        snap = snapshot or SnapshotMeta(voters=config.voters, learners=config.learners)
        conf = conf_state or (
            snap.conf_state if snap.voters else ConfState(config.voters, config.learners)
        )
        self.voters: tuple[int, ...] = conf.voters
        self.learners: tuple[int, ...] = conf.learners
        self.prev_conf_state = conf
        self.log = RaftLog(snap, list(entries or []))
        self.term = hard_state.term
        self.vote = hard_state.vote
        self.commit = max(hard_state.commit, snap.index)
        if self.commit > self.log.last_index:
            raise RaftInvariantError(
                f"commit {self.commit} beyond last index {self.log.last_index}"
            )
        self.applied = max(snap.index, applied)
        if self.applied > self.commit:
            raise RaftInvariantError(f"applied {self.applied} beyond commit {self.commit}")
        # No membership change may be proposed until this index is applied: one at a time
        # (etcd's pendingConfIndex); a new leader sets it to its first entry, so a change
        # of an earlier term is always applied before a new one is proposed.
        self.pending_conf_index = 0
        # (index, membership from there on) since the last snapshot, for compact_log below
        self.conf_history: list[tuple[int, ConfState]] = [(self.applied, conf)]
        self.role = Role.FOLLOWER
        self.lead = NONE
        self.progress: dict[int, Progress] = {}
        self.votes: dict[int, bool] = {}
        self.msgs: list[Message] = []
        self._broadcast_wanted = False  # a leader owes its followers an append (see ready)
        self.pending_snapshot: Snapshot | None = None
        self.local_snapshot: Snapshot | None = None  # what the leader sends to lagging followers
        self.prev_hard_state = HardState(self.term, self.vote, self.commit)
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = 0
        self.lead_transferee = NONE
        self.read_states: list[ReadState] = []
        self.pending_reads = PendingReads()
        # requests that reached us as leader before an entry of our term committed
        self.deferred_reads: list[Message] = []
        self.dropped_proposals: list[bytes] = []  # ids of our forwarded proposals refused
        self.forwarded_seen: dict[bytes, None] = {}  # ids of PROPs answered, oldest first
        self._step_role: Callable[[Message], None] = self._step_follower
        self._reset_election_timeout()

    # ---- inputs ------------------------------------------------------------

    def tick(self) -> None:
        if self.role is Role.LEADER:
            self._tick_leader()
            return
        self.election_elapsed += 1
        alone = self.voters == (self.id,)
        if self.id in self.voters and (
            alone or self.election_elapsed >= self.randomized_election_timeout
        ):
            self.campaign()

    def _tick_leader(self) -> None:
        self.heartbeat_elapsed += 1
        self.election_elapsed += 1
        if self.election_elapsed >= self.config.election_tick:
            self.election_elapsed = 0
            if self.config.check_quorum and not self._quorum_active():
                self._become_follower(self.term, NONE)
                return
            self.lead_transferee = NONE  # the transfer had an election timeout; give it up
        if self.heartbeat_elapsed >= self.config.heartbeat_tick:
            self.heartbeat_elapsed = 0
            self._broadcast_heartbeat()

    def _quorum_active(self) -> bool:
        """Whether a quorum (counting us) was heard from since the last check; starts a new period."""
        active = sum(1 for p in self.voters if p == self.id or self.progress[p].recent_active)
        for p in self.voters:
            self.progress[p].recent_active = False
        return active >= self._quorum()

    def propose(self, data: bytes, entry_type: EntryType = EntryType.NORMAL) -> tuple[int, int]:
        """Append `data` to the leader's log; returns its (term, index). Membership changes
        go through `propose_conf_change`, which enforces one at a time."""
        if entry_type is EntryType.CONF_CHANGE:
            raise ValueError("propose membership changes with propose_conf_change")
        return self._append_proposal(data, entry_type)

    def forward_proposal(self, data: bytes, ctx: bytes) -> None:
        """A follower hands `data` to the leader it knows (PROP, as etcd forwards MsgProp);
        the leader appends it as if proposed there. `ctx` names the request, uniquely in
        the cluster: a member that cannot take it says so (its id comes back in a later
        Ready's `dropped_proposals`, and the proposal was appended nowhere). Otherwise the
        app recognises the entry by what `data` carries once it reaches its own log; the
        message or the entry can still be lost (the caller needs its own timeout). Raises
        ProposalDroppedError if we know no leader (or lead: propose there with `propose`)."""
        if not ctx:
            raise ValueError("a forwarded proposal needs a request id")
        if self.role is Role.LEADER:
            raise ProposalDroppedError(f"member {self.id} is the leader: propose, not forward")
        if self.role is not Role.FOLLOWER or self.lead == NONE:
            raise ProposalDroppedError(f"member {self.id} knows no leader to forward to")
        self._send(MessageType.PROP, self.lead, entries=(Entry(0, 0, data),), context=ctx)

    def _handle_forwarded_proposal(self, m: Message) -> None:
        """Append a follower's proposal, or tell it we cannot. Each id is answered once: a
        repeated message must neither append the data again nor refuse it once appended."""
        if m.context in self.forwarded_seen:
            return
        self.forwarded_seen[m.context] = None
        if len(self.forwarded_seen) > FORWARDED_IDS_KEPT:
            del self.forwarded_seen[next(iter(self.forwarded_seen))]
        taken = (
            self.role is Role.LEADER
            and self.lead_transferee == NONE
            and all(e.type is EntryType.NORMAL for e in m.entries)  # membership: leader only
        )
        if not taken:
            self._send(MessageType.PROP_RESP, m.frm, reject=True, context=m.context)
            return
        for e in m.entries:
            self._append_proposal(e.data, EntryType.NORMAL)

    def _append_proposal(self, data: bytes, entry_type: EntryType) -> tuple[int, int]:
        if self.role is not Role.LEADER:
            raise ProposalDroppedError(f"member {self.id} is not the leader (leader: {self.lead})")
        if self.lead_transferee != NONE:
            raise ProposalDroppedError(
                f"member {self.id} is handing leadership to {self.lead_transferee}"
            )
        entry = Entry(self.term, self.log.last_index + 1, data, entry_type)
        self.log.append([entry])
        self._broadcast_wanted = True  # one append per follower for the whole batch
        return entry.term, entry.index

    # ---- membership -----------------------------------------------------------

    # A learner is promoted only once its match reaches this share of the leader's
    # (etcd's server-side "learner is ready" check, 90%): promoted far behind, it would
    # count in the quorum while it cannot yet acknowledge anything new, and a 3-member
    # cluster with one slow member would stall commits until it caught up.
    PROMOTE_READY_NUM, PROMOTE_READY_DEN = 9, 10

    def propose_conf_change(self, cc: ConfChange) -> tuple[int, int]:
        """Propose one membership change; returns its entry's (term, index). It takes
        effect when applied: the app calls `apply_conf_change` as it applies the entry.
        Raises ConfChangeError if another change is not applied yet or `cc` makes no sense
        now, ProposalDroppedError if we are not leading."""
        if self.role is not Role.LEADER:
            raise ProposalDroppedError(f"member {self.id} is not the leader (leader: {self.lead})")
        if self.pending_conf_index > self.applied:
            raise ConfChangeError(
                f"a membership change is pending until index {self.pending_conf_index} "
                f"is applied (applied: {self.applied}); propose one change at a time"
            )
        self._check_conf_change(cc)
        term, index = self._append_proposal(cc.pack(), EntryType.CONF_CHANGE)
        self.pending_conf_index = index
        return term, index

    def _check_conf_change(self, cc: ConfChange) -> None:
        m = cc.member
        if cc.type is ConfChangeType.ADD_LEARNER:
            if m in self.voters or m in self.learners:
                raise ConfChangeError(f"member {m} is already in the cluster")
        elif cc.type is ConfChangeType.PROMOTE:
            if m not in self.learners:
                raise ConfChangeError(f"member {m} is not a learner (learners: {self.learners})")
            match, ours = self.progress[m].match, self.progress[self.id].match
            if match * self.PROMOTE_READY_DEN < ours * self.PROMOTE_READY_NUM:
                raise ConfChangeError(
                    f"learner {m} is too far behind to promote: it has {match} of our "
                    f"{ours} entries (needs {100 * self.PROMOTE_READY_NUM // self.PROMOTE_READY_DEN}%)"
                )
        elif m not in self.voters and m not in self.learners:
            raise ConfChangeError(f"member {m} is not in the cluster")
        elif self.voters == (m,):
            raise ConfChangeError(f"member {m} is the last voter: the cluster would be empty")

    def apply_conf_change(self, cc: ConfChange) -> ConfState:
        """Make an applied CONF_CHANGE entry take effect; returns the new membership.
        Applying one again (a restart replaying its log) changes nothing. A leader that
        removed itself steps down; one that removed a member stops sending to it."""
        m = cc.member
        voters, learners = set(self.voters), set(self.learners)
        if cc.type is ConfChangeType.ADD_LEARNER:
            if m not in voters:
                learners.add(m)
        elif cc.type is ConfChangeType.PROMOTE:
            if m in learners:
                learners.discard(m)
                voters.add(m)
        else:
            learners.discard(m)
            if voters != {m}:  # refused at proposal; an empty cluster could never recover
                voters.discard(m)
        self.voters, self.learners = tuple(sorted(voters)), tuple(sorted(learners))
        self.conf_history.append((self._next_conf_index(), self.conf_state))
        self._on_conf_changed()
        return self.conf_state

    def _next_conf_index(self) -> int:
        """The index of the CONF_CHANGE entry being applied: the first one committed after
        the last change we recorded (the app applies them in order)."""
        lo = max(self.conf_history[-1][0], self.log.snap_index) + 1
        for e in self.log.slice(lo, self.commit + 1):
            if e.type is EntryType.CONF_CHANGE:
                return e.index
        return self.applied  # not in our log (called outside applying): as of what is applied

    def conf_state_at(self, index: int) -> ConfState:
        """The membership once entries up to `index` are applied (at or after the last snapshot)."""
        at = self.conf_history[0][1]
        for i, conf in self.conf_history:  # in index order
            if i <= index:
                at = conf
        return at

    def _on_conf_changed(self) -> None:
        if self.id not in self.voters and self.role is not Role.FOLLOWER:
            # etcd: a leader that removes itself steps down; nobody votes it back in
            self._become_follower(self.term, NONE)
            return
        if self.role is not Role.LEADER:
            return
        last = self.log.last_index
        for p in self._members():
            if p not in self.progress:
                self.progress[p] = Progress(match=0, next=last + 1)
                self._send_append(p, self.progress[p])
        for p in set(self.progress) - set(self._members()):
            del self.progress[p]  # removed: we stop sending to it
        if self.lead_transferee not in self.voters:
            self.lead_transferee = NONE
        if self._maybe_commit():  # a smaller quorum may already hold more entries
            self._broadcast_wanted = True

    @property
    def conf_state(self) -> ConfState:
        return ConfState(self.voters, self.learners)

    def _members(self) -> tuple[int, ...]:
        return self.voters + self.learners

    def campaign(self, *, transfer: bool = False) -> None:
        """Start an election: a pre-election first if configured, unless a leader
        transfer asked us to campaign at once (then voters' leases do not hold us back)."""
        if self.id not in self.voters:
            return  # a learner or a removed member never campaigns
        self._start_election(pre=self.config.pre_vote and not transfer, transfer=transfer)

    def _start_election(self, *, pre: bool, transfer: bool = False) -> None:
        if pre:
            self._become_pre_candidate()
            vote_type, term = MessageType.PRE_VOTE, self.term + 1
        else:
            self._become_candidate()
            vote_type, term = MessageType.VOTE, self.term
        if self._poll(self.id, granted=True):
            return
        for peer in self.voters:
            if peer != self.id:
                self.msgs.append(Message(
                    vote_type, peer, self.id, term, log_term=self.log.last_term,
                    index=self.log.last_index, context=CAMPAIGN_TRANSFER if transfer else b"",
                ))  # fmt: skip

    def transfer_leadership(self, to: int) -> None:
        """Hand leadership to voter `to`: stop taking proposals, bring it up to date, then
        tell it to campaign at once. Given up after an election timeout."""
        if self.role is not Role.LEADER:
            raise LeaderTransferError(f"member {self.id} is not the leader (leader: {self.lead})")
        if to not in self.voters:
            raise LeaderTransferError(f"member {to} is not a voter of {self.voters}")
        if to == self.id or to == self.lead_transferee:
            return
        self.lead_transferee = to
        self.election_elapsed = 0  # the transfer gets one election timeout
        pr = self.progress[to]
        if pr.match == self.log.last_index:
            self._send(MessageType.TIMEOUT_NOW, to)
        else:
            self._send_append(to, pr)

    def read_index(self, ctx: bytes) -> None:
        """Ask for a linearizable read point; the answer is a ReadState carrying `ctx` in a
        later Ready. `ctx` must be unique across the cluster (e.g. member id + counter).
        Raises ReadIndexDroppedError when no leader is known. A request forwarded to a
        leader can still be lost in the network (the caller needs its own timeout) or be
        duplicated by it (the caller answers a ctx's first ReadState and ignores the rest)."""
        if self.role is Role.LEADER:
            self._handle_read_index(
                Message(MessageType.READ_INDEX, self.id, self.id, self.term, context=ctx)
            )
        elif self.lead == NONE:
            raise ReadIndexDroppedError(f"member {self.id} knows no leader to confirm a read")
        else:
            self._send(MessageType.READ_INDEX, self.lead, context=ctx)

    def step(self, m: Message) -> None:
        # A proposal has no term (etcd sends MsgProp as a local message): whoever leads
        # appends it, whatever term the follower knew, and an answer to one is news of no term.
        if m.type is MessageType.PROP:
            self._handle_forwarded_proposal(m)
            return
        if m.type is MessageType.PROP_RESP:
            if m.reject:
                self.dropped_proposals.append(m.context)
            return
        if m.type is MessageType.READ_INDEX_RESP:
            # valid whatever the term: the leader confirmed it after the request was made
            self._handle_read_index_response(m)
            return
        if m.type is MessageType.READ_INDEX and m.term < self.term:
            self._step_role(m)  # a read has no term; answering beats leaving the asker waiting
            return
        if m.term > self.term:
            if not self._step_higher_term(m):
                return
        elif m.term < self.term:
            self._answer_stale(m)
            return
        if m.type in (MessageType.VOTE, MessageType.PRE_VOTE):
            self._handle_vote(m)
        else:
            self._step_role(m)

    def _step_higher_term(self, m: Message) -> bool:
        """Whether to go on with a message from a later term (after adopting it if due)."""
        if m.type in (MessageType.VOTE, MessageType.PRE_VOTE):
            forced = m.context == CAMPAIGN_TRANSFER
            if self._in_lease(m.type) and not forced:
                return False  # we have a live leader: the candidate is cut off or early
        if m.type is MessageType.PRE_VOTE or (m.type is MessageType.PRE_VOTE_RESP and not m.reject):
            return True  # a pre-vote bumps nobody's term; a won one makes us campaign
        if m.type in (MessageType.APP, MessageType.HEARTBEAT, MessageType.SNAP):
            self._become_follower(m.term, m.frm)
        else:
            self._become_follower(m.term, NONE)
        return True

    def _in_lease(self, vote_type: MessageType) -> bool:
        """Heard from a leader within an election timeout. With check-quorum this holds back
        votes and pre-votes; with pre-vote alone, pre-votes only."""
        applies = self.config.check_quorum or (
            self.config.pre_vote and vote_type is MessageType.PRE_VOTE
        )
        return applies and self.lead != NONE and self.election_elapsed < self.config.election_tick

    def _answer_stale(self, m: Message) -> None:
        """A member whose term rose while cut off ignores a lower-term leader, and the
        leader's lease makes its votes be ignored: answer so the leader learns our term and
        the cluster can move on. A stale pre-candidate learns it lost."""
        if m.type in (MessageType.APP, MessageType.HEARTBEAT) and (
            self.config.check_quorum or self.config.pre_vote
        ):
            self._send(MessageType.APP_RESP, m.frm)
        elif m.type is MessageType.PRE_VOTE:
            self._send(MessageType.PRE_VOTE_RESP, m.frm, reject=True)

    # ---- outputs -----------------------------------------------------------

    def has_ready(self) -> bool:
        return bool(
            self.msgs
            or self._broadcast_wanted
            or self.read_states
            or self.dropped_proposals
            or self.pending_snapshot is not None
            or self.log.stabled < self.log.last_index
            or self._hard_state() != self.prev_hard_state
            or self.conf_state != self.prev_conf_state
            or self.applied < min(self.commit, self.log.stabled)
        )

    def ready(self) -> Ready:
        if self._broadcast_wanted:
            # proposals and commit advances since the last Ready go out as one append
            # per follower, not one per proposal or per answer
            self._broadcast_wanted = False
            if self.role is Role.LEADER:
                self._broadcast_append()
        hs = self._hard_state()
        ready = Ready(
            hard_state=hs if hs != self.prev_hard_state else None,
            entries=self.log.slice(self.log.stabled + 1, self.log.last_index + 1),
            snapshot=self.pending_snapshot,
            messages=self.msgs,
            committed_entries=self.log.slice(
                self.applied + 1, min(self.commit, self.log.stabled) + 1
            )
            if self.applied >= self.log.snap_index
            else [],
            read_states=self.read_states,
            conf_state=self.conf_state if self.conf_state != self.prev_conf_state else None,
            dropped_proposals=self.dropped_proposals,
        )
        self.msgs = []
        self.read_states = []
        self.dropped_proposals = []
        return ready

    def advance(self, ready: Ready) -> None:
        if ready.hard_state is not None:
            self.prev_hard_state = ready.hard_state
        if ready.conf_state is not None:
            self.prev_conf_state = ready.conf_state
        if ready.snapshot is not None:
            self.pending_snapshot = None
            self.applied = max(self.applied, ready.snapshot.meta.index)
            # our log now starts after it: leading later, we send it to who needs older entries
            self.local_snapshot = ready.snapshot
        if ready.entries:
            last = ready.entries[-1]
            if self.log.matches(last.index, last.term):
                self.log.stabled = max(self.log.stabled, last.index)
                if self.role is Role.LEADER:
                    self._on_persisted_as_leader()
        if ready.committed_entries:
            self.applied = max(self.applied, ready.committed_entries[-1].index)

    def forget_applied_entries(self) -> None:
        """Drop from memory every entry already applied and persisted. Only for a member
        with no peers: nobody will ask it for them, and its WAL keeps what a restart
        replays; a member with peers keeps them for slow followers until a snapshot."""
        if self._members() != (self.id,):
            raise RaftInvariantError("a member with peers keeps its log for its followers")
        index = min(self.applied, self.log.stabled)
        if index > self.log.snap_index:
            term = self.log.term(index)
            assert term is not None  # between the snapshot and the last index
            self.log.compact_to(index, term)

    def compact_log(self, index: int, data: bytes) -> None:
        """The app snapshotted its state at applied `index`: drop log entries up to it."""
        if index > self.applied:
            raise RaftInvariantError(f"cannot compact to {index}: applied only {self.applied}")
        term = self.log.term(index)
        if term is None:
            return
        # the app may snapshot an older state than it has applied: take the membership then
        conf = self.conf_state_at(index)
        self.local_snapshot = Snapshot(SnapshotMeta(index, term, conf.voters, conf.learners), data)
        self.log.compact_to(index, term)
        self.conf_history = [(index, conf)] + [(i, c) for i, c in self.conf_history if i > index]

    # ---- roles -------------------------------------------------------------

    def _become_follower(self, term: int, lead: int) -> None:
        self._reset(term)
        self.role, self.lead = Role.FOLLOWER, lead
        self._step_role = self._step_follower

    def _become_pre_candidate(self) -> None:
        # term and vote stay: a lost pre-election must leave no trace
        self._reset(self.term)
        self.role, self.lead = Role.PRE_CANDIDATE, NONE
        self._step_role = self._step_candidate

    def _become_candidate(self) -> None:
        self._reset(self.term + 1)
        self.vote = self.id
        self.role, self.lead = Role.CANDIDATE, NONE
        self._step_role = self._step_candidate

    def _reset(self, term: int) -> None:
        """What every role change clears; reads a leader held are given back as dropped."""
        if term != self.term:
            self.term, self.vote = term, NONE
        if self.role is Role.LEADER:
            self._drop_pending_reads()
        self.lead_transferee = NONE
        self._broadcast_wanted = False
        self.votes = {}
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self._reset_election_timeout()

    def _become_leader(self) -> None:
        self._reset(self.term)
        self.role, self.lead = Role.LEADER, self.id
        self._step_role = self._step_leader
        last = self.log.last_index
        self.progress = {p: Progress(match=0, next=last + 1) for p in self._members()}
        self.progress[self.id] = Progress(
            match=self.log.stabled, next=last + 1, probing=False, recent_active=True
        )
        # an entry of our own term lets earlier-term entries commit (Raft §5.4.2)
        _, self.pending_conf_index = self.propose(b"")

    def _reset_election_timeout(self) -> None:
        et = self.config.election_tick
        self.randomized_election_timeout = et + self.rng.randrange(et)

    # ---- message handlers ----------------------------------------------------

    def _step_follower(self, m: Message) -> None:
        if m.type in (MessageType.APP, MessageType.HEARTBEAT, MessageType.SNAP):
            self.election_elapsed = 0
            self.lead = m.frm
            self._handle_from_leader(m)
        elif m.type is MessageType.TIMEOUT_NOW:
            if self.id in self.voters:
                self.campaign(transfer=True)
        elif m.type is MessageType.READ_INDEX:
            # Sent to us while we led (or by a member that took us for the leader): refused,
            # so it asks its own leader again. Not relayed: a message travels only from the
            # member that wrote it (the transport checks the sender of every message).
            self._send(MessageType.READ_INDEX_RESP, m.frm, reject=True, context=m.context)

    def _step_candidate(self, m: Message) -> None:
        """Both a candidate and a pre-candidate: each counts only its own kind of answer."""
        expected = (
            MessageType.PRE_VOTE_RESP if self.role is Role.PRE_CANDIDATE else MessageType.VOTE_RESP
        )
        if m.type in (MessageType.APP, MessageType.HEARTBEAT, MessageType.SNAP):
            self._become_follower(m.term, m.frm)
            self._handle_from_leader(m)
        elif m.type is expected:
            self._poll(m.frm, granted=not m.reject)
        elif m.type is MessageType.READ_INDEX:
            self._send(MessageType.READ_INDEX_RESP, m.frm, reject=True, context=m.context)

    def _step_leader(self, m: Message) -> None:
        if m.type is MessageType.READ_INDEX:
            self._handle_read_index(m)
            return
        pr = self.progress.get(m.frm)
        if pr is None:
            return
        pr.recent_active = True
        if m.type is MessageType.APP_RESP:
            self._handle_append_response(m, pr)
            if m.frm == self.lead_transferee and pr.match == self.log.last_index:
                self._send(MessageType.TIMEOUT_NOW, m.frm)
        elif m.type is MessageType.HEARTBEAT_RESP:
            pr.paused = False
            if pr.inflight and len(pr.inflight) >= self.config.max_inflight_msgs:
                # the follower is alive but its acks were lost: let one more append go,
                # whose ack acknowledges the whole window
                pr.inflight.popleft()
            if pr.match < self.log.last_index:
                self._send_append(m.frm, pr)
            if m.context:
                self._ack_read(m.context, m.frm)

    # ---- ReadIndex -------------------------------------------------------------

    def _handle_read_index(self, m: Message) -> None:
        """Until an entry of our term commits, our commit index may lag what earlier
        leaders acknowledged, so it is no safe read point yet: defer the request."""
        if self.log.term(self.commit) != self.term:
            self.deferred_reads.append(m)
            return
        self.pending_reads.add(m.context, self.commit, m.frm)
        if not self._ack_read(m.context, self.id):
            self._broadcast_heartbeat(m.context)

    def _ack_read(self, ctx: bytes, voter: int) -> bool:
        """Count `voter`'s confirmation of our leadership for `ctx`; answers every request
        up to it once a quorum confirmed. Returns whether it did."""
        if self.pending_reads.ack(ctx, voter, self.voters) < self._quorum():
            return False
        for c, req in self.pending_reads.pop_through(ctx):
            if req.frm == self.id:
                self.read_states.append(ReadState(req.index, c))
            else:
                self._send(MessageType.READ_INDEX_RESP, req.frm, index=req.index, context=c)
        return True

    def _release_deferred_reads(self) -> None:
        deferred, self.deferred_reads = self.deferred_reads, []
        for m in deferred:
            self._handle_read_index(m)

    def _drop_pending_reads(self) -> None:
        """We stop leading: no request we hold can be confirmed any more; say so to each asker."""
        held = [(c, r.frm) for c, r in self.pending_reads.pop_all()]
        held += [(m.context, m.frm) for m in self.deferred_reads]
        self.deferred_reads = []
        for ctx, frm in held:
            if frm == self.id:
                self.read_states.append(ReadState(0, ctx, dropped=True))
            else:
                self._send(MessageType.READ_INDEX_RESP, frm, reject=True, context=ctx)

    def _handle_read_index_response(self, m: Message) -> None:
        # whatever our role now: we may have become leader since we forwarded the request
        self.read_states.append(ReadState(m.index, m.context, dropped=m.reject))

    def _handle_from_leader(self, m: Message) -> None:
        if m.type is MessageType.APP:
            self._handle_append(m)
        elif m.type is MessageType.HEARTBEAT:
            self.commit = max(self.commit, min(m.commit, self.log.last_index))
            self._send(MessageType.HEARTBEAT_RESP, m.frm, context=m.context)
        else:
            self._handle_snapshot(m)

    def _handle_vote(self, m: Message) -> None:
        """A pre-vote for a later term is granted on the log alone (its term is not ours
        yet, so our vote in this term does not bind it); a vote, once per term."""
        pre = m.type is MessageType.PRE_VOTE
        resp = MessageType.PRE_VOTE_RESP if pre else MessageType.VOTE_RESP
        up_to_date = (m.log_term, m.index) >= (self.log.last_term, self.log.last_index)
        can_vote = (
            self.vote == m.frm
            or (self.vote == NONE and self.lead == NONE)
            or (pre and m.term > self.term)
        )
        if can_vote and up_to_date:
            if not pre:
                self.vote = m.frm
                self.election_elapsed = 0
            # a granted pre-vote carries the candidate's term, so it is not taken as stale
            self.msgs.append(Message(resp, m.frm, self.id, m.term))
        else:
            self._send(resp, m.frm, reject=True)

    def _poll(self, voter: int, granted: bool) -> bool:
        """Record a (pre-)vote; moves on once the outcome is decided. Returns whether we
        became leader."""
        if voter not in self.voters:
            return False  # a learner's or a removed member's answer counts for nothing
        self.votes.setdefault(voter, granted)
        yes = sum(1 for v in self.votes.values() if v)
        no = len(self.votes) - yes
        if yes >= self._quorum():
            if self.role is Role.PRE_CANDIDATE:
                self._start_election(pre=False)
                return self.lead == self.id  # the election may have ended at once (alone)
            self._become_leader()
            return True
        if no >= self._quorum():
            self._become_follower(self.term, NONE)
        return False

    def _handle_append(self, m: Message) -> None:
        if m.index < self.commit:
            self._send(MessageType.APP_RESP, m.frm, index=self.commit)
            return
        if not self.log.matches(m.index, m.log_term):
            hint = self._conflict_hint(m.index, m.log_term)
            self._send(MessageType.APP_RESP, m.frm, index=m.index, reject=True, reject_hint=hint)
            return
        last_new = m.index + len(m.entries)
        for i, e in enumerate(m.entries):
            existing = self.log.term(e.index)
            if existing is None:
                self.log.append(m.entries[i:])
                break
            if existing != e.term:
                if e.index <= self.commit:
                    raise RaftInvariantError(f"conflict at committed index {e.index}")
                self.log.truncate_from(e.index)
                self.log.append(m.entries[i:])
                break
        self.commit = max(self.commit, min(m.commit, last_new))
        self._send(MessageType.APP_RESP, m.frm, index=last_new)

    def _conflict_hint(self, index: int, term: int) -> int:
        """The largest index <= `index` whose term is <= `term`: the leader probes from there."""
        i = min(index, self.log.last_index)
        while i > self.log.snap_index:
            t = self.log.term(i)
            if t is not None and t <= term:
                break
            i -= 1
        return i

    def _handle_snapshot(self, m: Message) -> None:
        assert m.snapshot is not None
        meta = m.snapshot.meta
        if meta.index <= self.commit:
            self._send(MessageType.APP_RESP, m.frm, index=self.commit)
            return
        if self.log.matches(meta.index, meta.term):
            # we already hold the snapshot's last entry: just fast-forward the commit
            self.commit = meta.index
            self._send(MessageType.APP_RESP, m.frm, index=self.log.last_index)
            return
        self.log.reset_to_snapshot(meta)
        self.voters, self.learners = meta.voters, meta.learners
        self.conf_history = [(meta.index, meta.conf_state)]
        self.commit = meta.index
        self.pending_snapshot = m.snapshot
        self._send(MessageType.APP_RESP, m.frm, index=meta.index)

    def _handle_append_response(self, m: Message, pr: Progress) -> None:
        pr.paused = False
        if m.reject:
            # while a snapshot is sent, a rejection answers an append from before it
            stale = m.index <= pr.match or (pr.probing and m.index != pr.next - 1)
            if stale or pr.pending_snapshot:
                return
            pr.become_probe(max(pr.match + 1, min(m.index, m.reject_hint + 1)))
            self._send_append(m.frm, pr)
            return
        pr.free_inflight_through(m.index)
        if m.index > pr.match:
            pr.match = m.index
            if pr.pending_snapshot and pr.match < self.log.snap_index:
                pass  # acked something older than what it needs: the snapshot still goes
            elif pr.probing:
                pr.pending_snapshot = 0
                pr.probing = False
                pr.inflight.clear()
            pr.next = max(pr.next, m.index + 1)
            if self._maybe_commit():
                self._broadcast_wanted = True  # the new commit index, with the next Ready
        if pr.next <= self.log.last_index and not self._broadcast_wanted:
            self._send_append(m.frm, pr)

    def report_snapshot(self, to: int, *, ok: bool) -> None:
        """The app says how sending a snapshot to `to` ended: `ok` once all of it went out,
        not ok if the transfer broke off (etcd's ReportSnapshot). Either way the leader goes
        back to probing `to`; after a failure the snapshot is sent again once `to` answers
        a heartbeat. The app must report every SNAP message it fails to deliver, or the
        leader sends nothing more to `to`. A report of no snapshot in flight is ignored."""
        pr = self.progress.get(to) if self.role is Role.LEADER else None
        if pr is None or not pr.pending_snapshot:
            return
        pr.become_probe(max(pr.match + 1, pr.pending_snapshot + 1) if ok else pr.match + 1)
        pr.paused = True  # wait for its ack, or for a heartbeat round before trying again

    def _on_persisted_as_leader(self) -> None:
        me = self.progress[self.id]
        me.match = self.log.stabled
        if self._maybe_commit():
            self._broadcast_wanted = True  # with the next Ready, with what it brings

    def _maybe_commit(self) -> bool:
        matches = sorted((self.progress[p].match for p in self.voters), reverse=True)
        candidate = matches[self._quorum() - 1]
        if candidate > self.commit and self.log.term(candidate) == self.term:
            self.commit = candidate
            if self.deferred_reads:
                self._release_deferred_reads()
            return True
        return False

    # ---- sending -------------------------------------------------------------

    def _broadcast_append(self) -> None:
        for peer in self._members():
            if peer != self.id:
                self._send_append(peer, self.progress[peer])

    def _broadcast_heartbeat(self, ctx: bytes | None = None) -> None:
        """Heartbeats carry the newest pending read's ctx, so a later round can confirm
        reads whose own round was lost."""
        context = self.pending_reads.last_ctx if ctx is None else ctx
        for peer in self._members():
            if peer != self.id:
                pr = self.progress[peer]
                pr.paused = False
                self._send(
                    MessageType.HEARTBEAT, peer, commit=min(pr.match, self.commit), context=context
                )

    def _send_append(self, to: int, pr: Progress) -> None:
        if pr.paused or pr.pending_snapshot:
            return
        if not pr.probing and len(pr.inflight) >= self.config.max_inflight_msgs:
            return  # the window is full: the next ack (or heartbeat answer) reopens it
        prev = pr.next - 1
        prev_term = self.log.term(prev)
        if prev_term is None or prev < self.log.snap_index:
            self._send_snapshot(to, pr)
            return
        hi = min(self.log.last_index + 1, pr.next + self.config.max_entries_per_message)
        entries = limit_size(self.log.slice(pr.next, hi), self.config.max_size_per_msg)
        self._send(
            MessageType.APP, to, log_term=prev_term, index=prev, entries=entries, commit=self.commit
        )
        if pr.probing:
            pr.paused = True
        elif entries:
            pr.next = entries[-1].index + 1
            pr.inflight.append(entries[-1].index)

    def _send_snapshot(self, to: int, pr: Progress) -> None:
        snap = self.local_snapshot
        if snap is None:
            # A store grown from one member kept no snapshot bytes: the app is making a
            # snapshot now; until it has one, the follower waits (etcd: "snapshot
            # temporarily unavailable"), asked again at the next heartbeat response.
            return
        self._send(MessageType.SNAP, to, snapshot=snap)
        pr.become_probe(snap.meta.index + 1)
        pr.paused = True
        pr.pending_snapshot = snap.meta.index

    def _send(self, type_: MessageType, to: int, **fields: Any) -> None:
        self.msgs.append(Message(type_, to, self.id, self.term, **fields))

    # ---- helpers -------------------------------------------------------------

    def _quorum(self) -> int:
        return len(self.voters) // 2 + 1

    def _hard_state(self) -> HardState:
        return HardState(self.term, self.vote, self.commit)

    @property
    def hard_state(self) -> HardState:
        return self._hard_state()
