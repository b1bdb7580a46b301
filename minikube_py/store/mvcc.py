"""The MVCC key-value state machine (etcd's mvcc): pure, synchronous, deterministic."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import msgpack

from minikube_py.store.types import (
    CompactedError,
    Compare,
    CompareOp,
    CompareTarget,
    DeleteOp,
    DeleteResult,
    Event,
    EventType,
    FutureRevisionError,
    KeyValue,
    LeaseNotFoundError,
    Op,
    OpResult,
    PutOp,
    PutResult,
    RangeOp,
    RangeResult,
    StoreError,
    TxnResult,
)

# etcd's store starts at revision 1, so the first write is revision 2.
INITIAL_REVISION = 1


class DuplicateKeyError(StoreError):
    """A transaction writes the same key twice (etcd: "duplicate key given in txn request")."""


@dataclass(slots=True)
class _History:
    """Every retained version of one key; `kvs[i] is None` marks a deletion."""

    revs: list[int] = field(default_factory=list)
    subs: list[int] = field(default_factory=list)
    kvs: list[KeyValue | None] = field(default_factory=list)

    def at(self, revision: int) -> KeyValue | None:
        i = bisect.bisect_right(self.revs, revision)
        return self.kvs[i - 1] if i else None

    def add(self, revision: int, sub: int, kv: KeyValue | None) -> None:
        self.revs.append(revision)
        self.subs.append(sub)
        self.kvs.append(kv)


@dataclass(slots=True)
class Lease:
    id: int
    ttl: int
    keys: set[bytes] = field(default_factory=set)


def key_in_range(key: bytes, start: bytes, end: bytes) -> bool:
    """etcd's interval rule: end b"" = the single key, end b"\\x00" = every key >= start."""
    if not end:
        return key == start
    if end == b"\x00":
        return key >= start
    return start <= key < end


def _slice(sorted_keys: list[bytes], start: bytes, end: bytes) -> Sequence[bytes]:
    lo = bisect.bisect_left(sorted_keys, start)
    if not end:
        return (
            sorted_keys[lo : lo + 1] if lo < len(sorted_keys) and sorted_keys[lo] == start else ()
        )
    hi = len(sorted_keys) if end == b"\x00" else bisect.bisect_left(sorted_keys, end)
    return sorted_keys[lo:hi]


class MVCCStore:
    """Keys with their full retained history, one global revision, leases and compaction.

    Every write transaction increments the revision once (ops inside it get
    sub-revisions); `txn` returns the result and the events it produced.
    """

    def __init__(self) -> None:
        self._revision = INITIAL_REVISION
        self._compact_revision = 0
        self._live: dict[bytes, KeyValue] = {}
        self._live_keys: list[bytes] = []  # sorted; current-revision ranges
        self._history: dict[bytes, _History] = {}
        self._history_keys: list[bytes] = []  # sorted; past-revision ranges
        self._event_revs: list[int] = []
        self._event_batches: list[list[Event]] = []
        self._leases: dict[int, Lease] = {}
        # per-transaction scratch state
        self._pending_events: list[Event] = []
        self._sub = 0

    # ---- reads -------------------------------------------------------------

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def compact_revision(self) -> int:
        return self._compact_revision

    def __len__(self) -> int:
        return len(self._live)

    def get(self, key: bytes) -> KeyValue | None:
        return self._live.get(key)

    def range(
        self,
        key: bytes,
        range_end: bytes = b"",
        *,
        revision: int = 0,
        limit: int = 0,
        count_only: bool = False,
    ) -> RangeResult:
        rev = self._check_read_revision(revision)
        if rev == self._revision:
            keys = _slice(self._live_keys, key, range_end)
            count = len(keys)
            if count_only:
                return RangeResult([], count, False, self._revision)
            if limit and count > limit:
                keys = keys[:limit]
            live = self._live
            return RangeResult([live[k] for k in keys], count, len(keys) < count, self._revision)
        found: list[KeyValue] = []
        for k in _slice(self._history_keys, key, range_end):
            kv = self._history[k].at(rev)
            if kv is not None:
                found.append(kv)
        count = len(found)
        if count_only:
            return RangeResult([], count, False, self._revision)
        if limit and count > limit:
            found = found[:limit]
        return RangeResult(found, count, len(found) < count, self._revision)

    def _check_read_revision(self, revision: int) -> int:
        if revision <= 0:
            return self._revision
        if revision > self._revision:
            raise FutureRevisionError(revision, self._revision)
        if revision < self._compact_revision:
            raise CompactedError(revision, self._compact_revision)
        return revision

    def events_since(self, revision: int) -> list[list[Event]]:
        """Event batches (one per revision) with revision >= `revision`, for watch catch-up."""
        if revision < self._compact_revision:
            raise CompactedError(revision, self._compact_revision)
        i = bisect.bisect_left(self._event_revs, revision)
        return self._event_batches[i:]

    # ---- writes ------------------------------------------------------------

    def txn(
        self, compares: Sequence[Compare], success: Sequence[Op], failure: Sequence[Op]
    ) -> tuple[TxnResult, list[Event]]:
        """Compare, then run one branch atomically; the events are those of the new revision."""
        succeeded = all(self._compare(c) for c in compares)
        ops = success if succeeded else failure
        self._validate(ops)
        rev = self._revision + 1
        self._pending_events = []
        self._sub = 0
        responses: list[OpResult] = []
        for op in ops:
            if isinstance(op, RangeOp):
                responses.append(self.range(op.key, op.range_end, limit=op.limit))
            elif isinstance(op, PutOp):
                responses.append(self._put(rev, op))
            else:
                responses.append(self._delete(rev, op))
        events = self._finish_write(rev)
        if events:
            # results were built against the pending revision; ranges read before
            # the first write still name the old one, as etcd's do
            responses = [_with_revision(r, rev) for r in responses]
        return TxnResult(succeeded, self._revision, responses), events

    def put(self, key: bytes, value: bytes, lease: int = 0) -> tuple[TxnResult, list[Event]]:
        return self.txn([], [PutOp(key, value, lease)], [])

    def delete_range(self, key: bytes, range_end: bytes = b"") -> tuple[TxnResult, list[Event]]:
        return self.txn([], [DeleteOp(key, range_end)], [])

    def _validate(self, ops: Sequence[Op]) -> None:
        seen: set[bytes] = set()
        for op in ops:
            if isinstance(op, PutOp):
                if op.key in seen:
                    raise DuplicateKeyError(f"duplicate key given in txn request: {op.key!r}")
                seen.add(op.key)
                if op.lease and op.lease not in self._leases:
                    raise LeaseNotFoundError(op.lease)

    def _compare(self, c: Compare) -> bool:
        kv = self._live.get(c.key)
        actual: int | bytes
        if c.target is CompareTarget.VALUE:
            actual = kv.value if kv else b""
        elif c.target is CompareTarget.VERSION:
            actual = kv.version if kv else 0
        elif c.target is CompareTarget.CREATE:
            actual = kv.create_revision if kv else 0
        else:
            actual = kv.mod_revision if kv else 0
        expected = c.value
        if isinstance(actual, bytes) != isinstance(expected, bytes):
            raise TypeError(f"compare {c.target.value} of {c.key!r} against {expected!r}")
        if c.op is CompareOp.EQUAL:
            return actual == expected
        if c.op is CompareOp.NOT_EQUAL:
            return actual != expected
        if c.op is CompareOp.LESS:
            return actual < expected  # type: ignore[operator]
        return actual > expected  # type: ignore[operator]

    def _put(self, rev: int, op: PutOp) -> PutResult:
        prev = self._live.get(op.key)
        if prev is None:
            kv = KeyValue(op.key, op.value, rev, rev, 1, op.lease)
            bisect.insort(self._live_keys, op.key)
        else:
            kv = KeyValue(op.key, op.value, prev.create_revision, rev, prev.version + 1, op.lease)
            if prev.lease and prev.lease != op.lease:
                self._detach(prev.lease, op.key)
        if op.lease:
            self._leases[op.lease].keys.add(op.key)
        self._live[op.key] = kv
        self._record(rev, op.key, kv)
        self._pending_events.append(Event(EventType.PUT, kv, prev))
        return PutResult(rev, prev if op.prev_kv else None)

    def _delete(self, rev: int, op: DeleteOp) -> DeleteResult:
        keys = list(_slice(self._live_keys, op.key, op.range_end))
        prevs: list[KeyValue] = []
        for k in keys:
            prev = self._live.pop(k)
            if prev.lease:
                self._detach(prev.lease, k)
            prevs.append(prev)
            self._record(rev, k, None)
            tomb = KeyValue(k, b"", 0, rev, 0)
            self._pending_events.append(Event(EventType.DELETE, tomb, prev))
        if keys:
            lo = bisect.bisect_left(self._live_keys, keys[0])
            del self._live_keys[lo : lo + len(keys)]
        return DeleteResult(rev, len(keys), prevs if op.prev_kv else [])

    def _record(self, rev: int, key: bytes, kv: KeyValue | None) -> None:
        hist = self._history.get(key)
        if hist is None:
            hist = self._history[key] = _History()
            bisect.insort(self._history_keys, key)
        hist.add(rev, self._sub, kv)
        self._sub += 1

    def _finish_write(self, rev: int) -> list[Event]:
        events = self._pending_events
        self._pending_events = []
        if events:
            self._revision = rev
            self._event_revs.append(rev)
            self._event_batches.append(events)
        return events

    # ---- leases ------------------------------------------------------------

    def lease_grant(self, lease_id: int, ttl: int) -> None:
        if lease_id <= 0 or lease_id in self._leases:
            raise StoreError(f"lease {lease_id:#x} already exists or is invalid")
        self._leases[lease_id] = Lease(lease_id, ttl)

    def lease_revoke(self, lease_id: int) -> list[Event]:
        """Delete the lease and, in one revision, every key attached to it."""
        lease = self._leases.pop(lease_id, None)
        if lease is None:
            raise LeaseNotFoundError(lease_id)
        rev = self._revision + 1
        self._pending_events = []
        self._sub = 0
        for key in sorted(lease.keys):
            self._delete(rev, DeleteOp(key))
        return self._finish_write(rev)

    def leases(self) -> list[Lease]:
        return list(self._leases.values())

    def _detach(self, lease_id: int, key: bytes) -> None:
        lease = self._leases.get(lease_id)
        if lease is not None:
            lease.keys.discard(key)

    # ---- compaction --------------------------------------------------------

    def compact(self, revision: int) -> None:
        """Forget versions older than `revision`, keeping the newest one at or below it."""
        if revision > self._revision:
            raise FutureRevisionError(revision, self._revision)
        if revision <= self._compact_revision:
            raise CompactedError(revision, self._compact_revision)
        self._compact_revision = revision
        dead: list[bytes] = []
        for key, hist in self._history.items():
            # keep the newest version below `revision` too: it is the state at the
            # compact revision and the prev_kv of the first retained event
            keep_from = bisect.bisect_left(hist.revs, revision) - 1
            if keep_from > 0:
                del hist.revs[:keep_from], hist.subs[:keep_from], hist.kvs[:keep_from]
            if hist.kvs[0] is None and hist.revs[0] < revision:
                del hist.revs[0], hist.subs[0], hist.kvs[0]
                if not hist.revs:
                    dead.append(key)
        for key in dead:
            del self._history[key]
        if dead:
            gone = set(dead)
            self._history_keys = [k for k in self._history_keys if k not in gone]
        i = bisect.bisect_left(self._event_revs, revision)
        del self._event_revs[:i], self._event_batches[:i]

    # ---- snapshots ---------------------------------------------------------

    def to_snapshot(self) -> bytes:
        """All retained state as msgpack; `from_snapshot` rebuilds an equal store."""
        keys = []
        for key in self._history_keys:
            hist = self._history[key]
            versions = [
                (r, s) if kv is None else (r, s, kv.value, kv.create_revision, kv.version, kv.lease)
                for r, s, kv in zip(hist.revs, hist.subs, hist.kvs, strict=True)
            ]
            keys.append((key, versions))
        leases = [(lease.id, lease.ttl) for lease in self._leases.values()]
        state = (1, self._revision, self._compact_revision, keys, leases)
        return msgpack.packb(state, use_bin_type=True)  # type: ignore[no-any-return]

    @classmethod
    def from_snapshot(cls, data: bytes) -> MVCCStore:
        fmt, revision, compact_revision, keys, leases = msgpack.unpackb(data, use_list=False)
        if fmt != 1:
            raise ValueError(f"unknown MVCC snapshot format {fmt}")
        store = cls()
        store._revision = revision
        store._compact_revision = compact_revision
        for lease_id, ttl in leases:
            store._leases[lease_id] = Lease(lease_id, ttl)
        changes: list[tuple[int, int, bytes, KeyValue | None, KeyValue | None]] = []
        for key, versions in keys:
            hist = store._history[key] = _History()
            prev: KeyValue | None = None
            for v in versions:
                kv = None if len(v) == 2 else KeyValue(key, v[2], v[3], v[0], v[4], v[5])
                hist.add(v[0], v[1], kv)
                changes.append((v[0], v[1], key, kv, prev))
                prev = kv
            if prev is not None:
                store._live[key] = prev
                if prev.lease in store._leases:
                    store._leases[prev.lease].keys.add(key)
        store._history_keys = [k for k, _ in keys]
        store._live_keys = [k for k in store._history_keys if k in store._live]
        store._rebuild_events(changes)
        return store

    def _rebuild_events(
        self, changes: Iterable[tuple[int, int, bytes, KeyValue | None, KeyValue | None]]
    ) -> None:
        for rev, _sub, key, kv, prev in sorted(changes, key=lambda c: (c[0], c[1])):
            if rev < self._compact_revision:
                continue
            if kv is None:
                event = Event(EventType.DELETE, KeyValue(key, b"", 0, rev, 0), prev)
            else:
                event = Event(EventType.PUT, kv, prev)
            if self._event_revs and self._event_revs[-1] == rev:
                self._event_batches[-1].append(event)
            else:
                self._event_revs.append(rev)
                self._event_batches.append([event])


def _with_revision(result: OpResult, revision: int) -> OpResult:
    if isinstance(result, RangeResult) and result.revision != revision:
        return RangeResult(result.kvs, result.count, result.more, revision)
    return result


def snapshot_equal(a: MVCCStore, b: MVCCStore) -> bool:
    """Whether two stores hold the same observable state (for tests and assertions)."""
    everything = (b"\x00", b"\x00")
    ra, rb = a.range(*everything), b.range(*everything)
    return (
        a.revision == b.revision
        and a.compact_revision == b.compact_revision
        and ra.kvs == rb.kvs
        and sorted((x.id, x.ttl, sorted(x.keys)) for x in a.leases())
        == sorted((x.id, x.ttl, sorted(x.keys)) for x in b.leases())
    )
