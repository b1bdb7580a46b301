"""The Raft consensus core in etcd-io/raft's shape: pure, synchronous, driven by step/tick/ready/advance."""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

NONE = 0  # no member; member ids are positive


class MessageType(enum.IntEnum):
    APP = 1
    APP_RESP = 2
    VOTE = 3
    VOTE_RESP = 4
    HEARTBEAT = 5
    HEARTBEAT_RESP = 6
    SNAP = 7


class EntryType(enum.IntEnum):
    NORMAL = 0
    CONF_CHANGE = 1  # reserved for membership changes (one member at a time)


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

    def pack(self) -> list[Any]:
        snap = None
        if self.snapshot is not None:
            m = self.snapshot.meta
            snap = [m.index, m.term, list(m.voters), self.snapshot.data]
        return [
            int(self.type), self.to, self.frm, self.term, self.log_term, self.index,
            [e.pack() for e in self.entries], self.commit, self.reject, self.reject_hint, snap,
        ]  # fmt: skip

    @classmethod
    def unpack(cls, t: Any) -> Message:
        snap = None
        if t[10] is not None:
            i, term, voters, data = t[10]
            snap = Snapshot(SnapshotMeta(i, term, tuple(voters)), data)
        return cls(
            MessageType(t[0]), t[1], t[2], t[3], t[4], t[5],
            tuple(Entry.unpack(e) for e in t[6]), t[7], t[8], t[9], snap,
        )  # fmt: skip


@dataclass(slots=True)
class Ready:
    """What the application must do, in this order: persist the snapshot, hard state
    and entries (fsync); send the messages; apply the committed entries; then `advance`."""

    hard_state: HardState | None
    entries: list[Entry]
    snapshot: Snapshot | None
    messages: list[Message]
    committed_entries: list[Entry]

    @property
    def must_sync(self) -> bool:
        return bool(self.entries) or self.hard_state is not None or self.snapshot is not None


class Role(enum.Enum):
    FOLLOWER = "follower"
    CANDIDATE = "candidate"
    LEADER = "leader"


class ProposalDroppedError(Exception):
    """The member cannot take the proposal (it is not the leader)."""


class RaftInvariantError(Exception):
    """The log or a message breaks Raft's rules: a bug, or corrupted storage."""


@dataclass(slots=True)
class Progress:
    """The leader's view of one follower: probe one append at a time until a match, then pipeline."""

    match: int = 0
    next: int = 1
    probing: bool = True
    paused: bool = False


@dataclass(slots=True)
class RaftConfig:
    member_id: int
    voters: tuple[int, ...]
    election_tick: int = 10
    heartbeat_tick: int = 1
    max_entries_per_message: int = 256


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
    ) -> None:
        self.id = config.member_id
        self.config = config
        self.rng = rng
        snap = snapshot or SnapshotMeta(voters=config.voters)
        self.voters: tuple[int, ...] = snap.voters or config.voters
        self.log = RaftLog(snap, list(entries or []))
        self.term = hard_state.term
        self.vote = hard_state.vote
        self.commit = max(hard_state.commit, snap.index)
        if self.commit > self.log.last_index:
            raise RaftInvariantError(
                f"commit {self.commit} beyond last index {self.log.last_index}"
            )
        self.applied = snap.index
        self.role = Role.FOLLOWER
        self.lead = NONE
        self.progress: dict[int, Progress] = {}
        self.votes: dict[int, bool] = {}
        self.msgs: list[Message] = []
        self.pending_snapshot: Snapshot | None = None
        self.local_snapshot: Snapshot | None = None  # what the leader sends to lagging followers
        self.prev_hard_state = HardState(self.term, self.vote, self.commit)
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = 0
        self._step_role: Callable[[Message], None] = self._step_follower
        self._reset_election_timeout()

    # ---- inputs ------------------------------------------------------------

    def tick(self) -> None:
        if self.role is Role.LEADER:
            self.heartbeat_elapsed += 1
            if self.heartbeat_elapsed >= self.config.heartbeat_tick:
                self.heartbeat_elapsed = 0
                self._broadcast_heartbeat()
            return
        self.election_elapsed += 1
        alone = self.voters == (self.id,)
        if self.id in self.voters and (
            alone or self.election_elapsed >= self.randomized_election_timeout
        ):
            self.campaign()

    def propose(self, data: bytes, entry_type: EntryType = EntryType.NORMAL) -> tuple[int, int]:
        """Append `data` to the leader's log; returns its (term, index)."""
        if self.role is not Role.LEADER:
            raise ProposalDroppedError(f"member {self.id} is not the leader (leader: {self.lead})")
        entry = Entry(self.term, self.log.last_index + 1, data, entry_type)
        self.log.append([entry])
        self._broadcast_append()
        return entry.term, entry.index

    def campaign(self) -> None:
        self._become_candidate()
        if self._poll(self.id, granted=True):
            return
        for peer in self.voters:
            if peer != self.id:
                self._send(
                    MessageType.VOTE, peer, log_term=self.log.last_term, index=self.log.last_index
                )

    def step(self, m: Message) -> None:
        if m.term > self.term:
            leader = (
                m.frm
                if m.type in (MessageType.APP, MessageType.HEARTBEAT, MessageType.SNAP)
                else NONE
            )
            self._become_follower(m.term, leader)
        elif m.term < self.term:
            return  # stale; the sender learns the new term from our own messages
        if m.type is MessageType.VOTE:
            self._handle_vote(m)
        else:
            self._step_role(m)

    # ---- outputs -----------------------------------------------------------

    def has_ready(self) -> bool:
        return bool(
            self.msgs
            or self.pending_snapshot is not None
            or self.log.stabled < self.log.last_index
            or self._hard_state() != self.prev_hard_state
            or self.applied < min(self.commit, self.log.stabled)
        )

    def ready(self) -> Ready:
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
        )
        self.msgs = []
        return ready

    def advance(self, ready: Ready) -> None:
        if ready.hard_state is not None:
            self.prev_hard_state = ready.hard_state
        if ready.snapshot is not None:
            self.pending_snapshot = None
            self.applied = max(self.applied, ready.snapshot.meta.index)
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
        if self.voters != (self.id,):
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
        self.local_snapshot = Snapshot(SnapshotMeta(index, term, self.voters), data)
        self.log.compact_to(index, term)

    # ---- roles -------------------------------------------------------------

    def _become_follower(self, term: int, lead: int) -> None:
        if term != self.term:
            self.term, self.vote = term, NONE
        self.role, self.lead = Role.FOLLOWER, lead
        self._step_role = self._step_follower
        self.election_elapsed = 0
        self._reset_election_timeout()

    def _become_candidate(self) -> None:
        self.term += 1
        self.vote = self.id
        self.role, self.lead = Role.CANDIDATE, NONE
        self._step_role = self._step_candidate
        self.votes = {}
        self.election_elapsed = 0
        self._reset_election_timeout()

    def _become_leader(self) -> None:
        self.role, self.lead = Role.LEADER, self.id
        self._step_role = self._step_leader
        self.heartbeat_elapsed = 0
        last = self.log.last_index
        self.progress = {p: Progress(match=0, next=last + 1) for p in self.voters}
        self.progress[self.id] = Progress(match=self.log.stabled, next=last + 1, probing=False)
        # an entry of our own term lets earlier-term entries commit (Raft §5.4.2)
        self.propose(b"")

    def _reset_election_timeout(self) -> None:
        et = self.config.election_tick
        self.randomized_election_timeout = et + self.rng.randrange(et)

    # ---- message handlers ----------------------------------------------------

    def _step_follower(self, m: Message) -> None:
        if m.type in (MessageType.APP, MessageType.HEARTBEAT, MessageType.SNAP):
            self.election_elapsed = 0
            self.lead = m.frm
            self._handle_from_leader(m)

    def _step_candidate(self, m: Message) -> None:
        if m.type in (MessageType.APP, MessageType.HEARTBEAT, MessageType.SNAP):
            self._become_follower(m.term, m.frm)
            self._handle_from_leader(m)
        elif m.type is MessageType.VOTE_RESP:
            self._poll(m.frm, granted=not m.reject)

    def _step_leader(self, m: Message) -> None:
        pr = self.progress.get(m.frm)
        if pr is None:
            return
        if m.type is MessageType.APP_RESP:
            self._handle_append_response(m, pr)
        elif m.type is MessageType.HEARTBEAT_RESP:
            pr.paused = False
            if pr.match < self.log.last_index:
                self._send_append(m.frm, pr)

    def _handle_from_leader(self, m: Message) -> None:
        if m.type is MessageType.APP:
            self._handle_append(m)
        elif m.type is MessageType.HEARTBEAT:
            self.commit = max(self.commit, min(m.commit, self.log.last_index))
            self._send(MessageType.HEARTBEAT_RESP, m.frm)
        else:
            self._handle_snapshot(m)

    def _handle_vote(self, m: Message) -> None:
        up_to_date = (m.log_term, m.index) >= (self.log.last_term, self.log.last_index)
        can_vote = self.vote in (NONE, m.frm) and self.lead == NONE
        if can_vote and up_to_date:
            self.vote = m.frm
            self.election_elapsed = 0
            self._send(MessageType.VOTE_RESP, m.frm)
        else:
            self._send(MessageType.VOTE_RESP, m.frm, reject=True)

    def _poll(self, voter: int, granted: bool) -> bool:
        """Record a vote; becomes leader or follower once the outcome is decided."""
        self.votes.setdefault(voter, granted)
        yes = sum(1 for v in self.votes.values() if v)
        no = len(self.votes) - yes
        if yes >= self._quorum():
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
        self.voters = meta.voters
        self.commit = meta.index
        self.pending_snapshot = m.snapshot
        self._send(MessageType.APP_RESP, m.frm, index=meta.index)

    def _handle_append_response(self, m: Message, pr: Progress) -> None:
        pr.paused = False
        if m.reject:
            stale = m.index <= pr.match or (pr.probing and m.index != pr.next - 1)
            if stale:
                return
            pr.next = max(pr.match + 1, min(m.index, m.reject_hint + 1))
            pr.probing = True
            self._send_append(m.frm, pr)
            return
        if m.index > pr.match:
            pr.match = m.index
            pr.probing = False
            pr.next = max(pr.next, m.index + 1)
            if self._maybe_commit():
                self._broadcast_append()
        if pr.next <= self.log.last_index:
            self._send_append(m.frm, pr)

    def _on_persisted_as_leader(self) -> None:
        me = self.progress[self.id]
        me.match = self.log.stabled
        if self._maybe_commit():
            self._broadcast_append()

    def _maybe_commit(self) -> bool:
        matches = sorted((self.progress[p].match for p in self.voters), reverse=True)
        candidate = matches[self._quorum() - 1]
        if candidate > self.commit and self.log.term(candidate) == self.term:
            self.commit = candidate
            return True
        return False

    # ---- sending -------------------------------------------------------------

    def _broadcast_append(self) -> None:
        for peer in self.voters:
            if peer != self.id:
                self._send_append(peer, self.progress[peer])

    def _broadcast_heartbeat(self) -> None:
        for peer in self.voters:
            if peer != self.id:
                pr = self.progress[peer]
                pr.paused = False
                self._send(MessageType.HEARTBEAT, peer, commit=min(pr.match, self.commit))

    def _send_append(self, to: int, pr: Progress) -> None:
        if pr.paused:
            return
        prev = pr.next - 1
        prev_term = self.log.term(prev)
        if prev_term is None or prev < self.log.snap_index:
            self._send_snapshot(to, pr)
            return
        hi = min(self.log.last_index + 1, pr.next + self.config.max_entries_per_message)
        entries = tuple(self.log.slice(pr.next, hi))
        self._send(
            MessageType.APP, to, log_term=prev_term, index=prev, entries=entries, commit=self.commit
        )
        if pr.probing:
            pr.paused = True
        elif entries:
            pr.next = entries[-1].index + 1

    def _send_snapshot(self, to: int, pr: Progress) -> None:
        snap = self.local_snapshot
        if snap is None:
            raise RaftInvariantError("log compacted but no snapshot to send")
        self._send(MessageType.SNAP, to, snapshot=snap)
        pr.probing, pr.paused = True, True
        pr.next = snap.meta.index + 1

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
