"""The MVCC key-value state machine (etcd's mvcc): pure, synchronous, deterministic."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

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


# One retained version of a key: a put (its KeyValue) or a deletion (the deleting revision).
Version = KeyValue | int


def version_revision(v: Version) -> int:
    return v if isinstance(v, int) else v.mod_revision


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

    Memory is the point of the layout, since every retained version stays in RAM until
    compaction: a key's current version lives only in `_live`; `_past` holds, per key,
    the versions it superseded (oldest first, deletions as bare revisions), so a key
    written once costs no history at all; and instead of stored Event objects, one
    entry per revision names the key(s) it changed (`_changes`), from which `events_since`
    rebuilds the events (the previous version of a key is its prev_kv).
    """

    def __init__(self) -> None:
        self._revision = INITIAL_REVISION
        self._compact_revision = 0
        self._live: dict[bytes, KeyValue] = {}
        self._live_keys: list[bytes] = []  # sorted; current-revision ranges
        self._past: dict[bytes, list[Version]] = {}
        self._keys: list[bytes] = []  # sorted; every key live or with a past: old ranges
        # _changes[i]: the key (or, for a txn of several writes, the keys in the order
        # of their sub-revisions) changed at revision _changes_base + i; one per revision
        self._changes: list[bytes | tuple[bytes, ...]] = []
        self._changes_base = INITIAL_REVISION + 1
        self._leases: dict[int, Lease] = {}
        # open snapshot views, and the keys whose past list was copied since the last
        # one opened (a list a view may read is never changed in place: copy on write)
        self._views = 0
        self._copied: set[bytes] | None = None
        # per-transaction scratch state
        self._pending_events: list[Event] = []

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
        for k in _slice(self._keys, key, range_end):
            kv = self._at(k, rev)
            if kv is not None:
                found.append(kv)
        count = len(found)
        if count_only:
            return RangeResult([], count, False, self._revision)
        if limit and count > limit:
            found = found[:limit]
        return RangeResult(found, count, len(found) < count, self._revision)

    def _at(self, key: bytes, revision: int) -> KeyValue | None:
        """The version of `key` in effect at `revision` (None: absent then)."""
        live = self._live.get(key)
        if live is not None and live.mod_revision <= revision:
            return live
        past = self._past.get(key)
        if not past:
            return None
        i = bisect.bisect_right(past, revision, key=version_revision)
        v = past[i - 1] if i else None
        return None if v is None or isinstance(v, int) else v

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
        base = self._changes_base
        return [
            [self._event(rev, k) for k in (keys if isinstance(keys, tuple) else (keys,))]
            for rev, keys in enumerate(self._changes[max(0, revision - base) :],
                                       start=max(revision, base))
        ]

    def _event(self, revision: int, key: bytes) -> Event:
        """The event of `key` at `revision`, rebuilt from its versions."""
        past = self._past.get(key) or []
        live = self._live.get(key)
        version: Version
        if live is not None and live.mod_revision == revision:
            i, version = len(past), live
        else:
            i = bisect.bisect_left(past, revision, key=version_revision)
            version = past[i]
        before = past[i - 1] if i else None
        prev = None if before is None or isinstance(before, int) else before
        if isinstance(version, int):
            return Event(EventType.DELETE, KeyValue(key, b"", 0, revision, 0), prev)
        return Event(EventType.PUT, version, prev)

    # ---- writes ------------------------------------------------------------

    def txn(
        self, compares: Sequence[Compare], success: Sequence[Op], failure: Sequence[Op]
    ) -> tuple[TxnResult, list[Event]]:
        """Compare, then run one branch atomically; the events are those of the new revision."""
        # (every write's path: the common cases, no compares and one put, skip the loops)
        succeeded = not compares or all(self._compare(c) for c in compares)
        ops = success if succeeded else failure
        if len(ops) != 1 or not isinstance(ops[0], PutOp):
            self._validate(ops)
        elif ops[0].lease and ops[0].lease not in self._leases:
            raise LeaseNotFoundError(ops[0].lease)
        rev = self._revision + 1
        self._pending_events = []
        responses: list[OpResult] = []
        ranged = False
        for op in ops:
            if isinstance(op, PutOp):
                responses.append(self._put(rev, op))
            elif isinstance(op, RangeOp):
                responses.append(self.range(op.key, op.range_end, limit=op.limit))
                ranged = True
            else:
                responses.append(self._delete(rev, op))
        events = self._finish_write(rev)
        if events and ranged:
            # results were built against the pending revision; ranges read before
            # the first write still name the old one, as etcd's do
            responses = [_with_revision(r, rev) for r in responses]
        return TxnResult(succeeded, self._revision, responses), events

    def put(self, key: bytes, value: bytes, lease: int = 0) -> tuple[TxnResult, list[Event]]:
        return self.txn([], [PutOp(key, value, lease)], [])

    def delete_range(self, key: bytes, range_end: bytes = b"") -> tuple[TxnResult, list[Event]]:
        return self.txn([], [DeleteOp(key, range_end)], [])

    def _validate(self, ops: Sequence[Op]) -> None:
        """etcd's checks: a txn may not put one key twice, nor put a key it also deletes
        (so a key changes at most once per revision)."""
        seen: set[bytes] = set()
        for op in ops:
            if isinstance(op, PutOp):
                if op.key in seen:
                    raise DuplicateKeyError(f"duplicate key given in txn request: {op.key!r}")
                seen.add(op.key)
                if op.lease and op.lease not in self._leases:
                    raise LeaseNotFoundError(op.lease)
        if seen:
            for op in ops:
                if isinstance(op, DeleteOp):
                    for key in seen:
                        if key_in_range(key, op.key, op.range_end):
                            raise DuplicateKeyError(
                                f"duplicate key given in txn request: {key!r} is put and deleted")

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
            key = op.key
            kv = KeyValue(key, op.value, rev, rev, 1, op.lease)
            bisect.insort(self._live_keys, key)
            if key not in self._past:
                bisect.insort(self._keys, key)
        else:
            key = prev.key  # one bytes object per key, shared by all its versions
            kv = KeyValue(key, op.value, prev.create_revision, rev, prev.version + 1, op.lease)
            if prev.lease and prev.lease != op.lease:
                self._detach(prev.lease, key)
            self._retire(key, prev)
        if op.lease:
            self._leases[op.lease].keys.add(key)
        self._live[key] = kv
        self._changed(rev, key)
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
            self._retire(k, prev)
            self._retire(k, rev)
            self._changed(rev, k)
            tomb = KeyValue(k, b"", 0, rev, 0)
            self._pending_events.append(Event(EventType.DELETE, tomb, prev))
        if keys:
            lo = bisect.bisect_left(self._live_keys, keys[0])
            del self._live_keys[lo : lo + len(keys)]
        return DeleteResult(rev, len(keys), prevs if op.prev_kv else [])

    def _retire(self, key: bytes, version: Version) -> None:
        """Move a superseded version (or a deletion) into the key's past."""
        past = self._past.get(key)
        if past is None:
            self._past[key] = [version]
        else:
            if self._copied is not None and key not in self._copied:
                past = self._past[key] = past.copy()  # an open view may be reading it
            past.append(version)
        if self._copied is not None:
            self._copied.add(key)

    def _changed(self, rev: int, key: bytes) -> None:
        changes = self._changes
        if rev - self._changes_base == len(changes):
            changes.append(key)
        else:  # another write of the same transaction
            last = changes[-1]
            changes[-1] = (*last, key) if isinstance(last, tuple) else (last, key)

    def _finish_write(self, rev: int) -> list[Event]:
        events = self._pending_events
        self._pending_events = []
        if events:
            self._revision = rev
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
        for key in sorted(lease.keys):
            self._delete(rev, DeleteOp(key))
        return self._finish_write(rev)

    def leases(self) -> list[Lease]:
        return list(self._leases.values())

    def lease(self, lease_id: int) -> Lease | None:
        return self._leases.get(lease_id)

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
        emptied: list[bytes] = []
        for key, past in self._past.items():
            kept = _retained(past, self._live.get(key), revision)
            if len(kept) != len(past):
                # a new list, never a change in place: an open view may be reading the old
                self._past[key] = kept
            if not kept:
                emptied.append(key)
        gone: set[bytes] = set()
        for key in emptied:
            del self._past[key]
            if key not in self._live:
                gone.add(key)
        if gone:
            self._keys = [k for k in self._keys if k not in gone]
        cut = revision - self._changes_base
        if cut > 0:
            self._changes = self._changes[cut:]
            self._changes_base = revision

    # ---- snapshots ---------------------------------------------------------

    def snapshot_view(self) -> SnapshotView:
        """A frozen view of the state now, cheap to take (copies of the indexes, not of the
        data), that another thread may serialise while this store goes on; `release_view`
        it when done. Views rely on the GIL and on this store never changing in place a
        list a view can reach (past lists are copied on write while a view is open)."""
        self._views += 1
        self._copied = set()
        return SnapshotView(
            revision=self._revision, compact_revision=self._compact_revision,
            keys=list(self._keys), live=self._live.copy(), past=self._past.copy(),
            changes=list(self._changes), changes_base=self._changes_base,
            leases=[(lease.id, lease.ttl) for lease in self._leases.values()],
        )

    def release_view(self, view: SnapshotView) -> None:
        self._views -= 1
        if self._views == 0:
            self._copied = None

    def to_snapshot(self) -> bytes:
        """All retained state; `from_snapshot` rebuilds an equal store."""
        view = self.snapshot_view()
        try:
            return b"".join(view.chunks())
        finally:
            self.release_view(view)

    @classmethod
    def from_snapshot(cls, data: bytes) -> MVCCStore:
        unpacker = msgpack.Unpacker(use_list=False, max_buffer_size=max(len(data), 1))
        unpacker.feed(data)
        header = next(unpacker)
        if header[0] == 1:
            return cls._from_snapshot_v1(header)
        if header[0] != SNAPSHOT_FORMAT:
            raise ValueError(f"unknown MVCC snapshot format {header[0]}")
        _, revision, compact_revision, leases, key_count = header
        store = cls._restoring(revision, compact_revision, leases)
        while len(store._keys) < key_count:
            for key, versions in next(unpacker):
                store._restore_key(key, [
                    v if isinstance(v, int) else KeyValue(key, v[1], v[2], v[0], v[3], v[4])
                    for v in versions
                ])
        store._restore_changes(next(unpacker))
        return store

    @classmethod
    def _from_snapshot_v1(cls, state: Any) -> MVCCStore:
        """The first format: every version with its sub-revision, in one msgpack object."""
        _, revision, compact_revision, keys, leases = state
        store = cls._restoring(revision, compact_revision, leases)
        subs: dict[int, list[tuple[int, bytes]]] = {}
        for key, versions in keys:
            store._restore_key(key, [
                v[0] if len(v) == 2 else KeyValue(key, v[2], v[3], v[0], v[4], v[5])
                for v in versions
            ])
            for v in versions:
                subs.setdefault(v[0], []).append((v[1], key))
        store._restore_changes([
            (rev, [key for _, key in sorted(written)])
            for rev, written in subs.items() if len(written) > 1
        ])
        return store

    @classmethod
    def _restoring(cls, revision: int, compact_revision: int, leases: Any) -> MVCCStore:
        store = cls()
        store._revision = revision
        store._compact_revision = compact_revision
        store._changes_base = max(compact_revision, INITIAL_REVISION + 1)
        for lease_id, ttl in leases:
            store._leases[lease_id] = Lease(lease_id, ttl)
        return store

    def _restore_key(self, key: bytes, versions: list[Version]) -> None:
        """Add one key's versions, oldest first; keys come in sorted order."""
        self._keys.append(key)
        last = versions[-1]
        if isinstance(last, KeyValue):
            versions.pop()
            self._live[key] = last
            self._live_keys.append(key)
            if last.lease in self._leases:
                self._leases[last.lease].keys.add(key)
        if versions:
            self._past[key] = versions

    def _restore_changes(self, multi: Iterable[tuple[int, Sequence[bytes]]]) -> None:
        """Rebuild the per-revision change list from the versions, given the order of
        the keys of each revision that changed several."""
        base = self._changes_base
        changes: list[bytes | tuple[bytes, ...] | None] = [None] * (self._revision - base + 1)
        for key in self._keys:
            live = self._live.get(key)
            for v in (*self._past.get(key, ()), *((live,) if live else ())):
                rev = version_revision(v)
                if rev >= base:
                    changes[rev - base] = key
        canonical = {key: key for key in self._keys}
        for rev, keys in multi:
            if rev >= base:
                changes[rev - base] = tuple(canonical[k] for k in keys)
        if any(c is None for c in changes):
            raise ValueError("MVCC snapshot lacks the changes of some retained revisions")
        self._changes = changes  # type: ignore[assignment]


SNAPSHOT_FORMAT = 2
_KEYS_PER_CHUNK = 256


@dataclass(frozen=True, slots=True)
class SnapshotView:
    """The state of an MVCCStore at one revision, serialised by `chunks()`: a msgpack
    stream of a header [2, revision, compact revision, leases, key count], the keys in
    order in chunks of [key, versions] (a version: [revision, value, create revision,
    version, lease], or a bare revision for a deletion), then the revisions that changed
    several keys, with those keys in sub-revision order."""

    revision: int
    compact_revision: int
    keys: list[bytes]
    live: dict[bytes, KeyValue]
    past: dict[bytes, list[Version]]
    changes: list[bytes | tuple[bytes, ...]]
    changes_base: int
    leases: list[tuple[int, int]]

    def chunks(self) -> Iterator[bytes]:
        """Small pieces (a few hundred keys each), so a thread serialising a big store
        hands the GIL back to the event loop often."""
        packer = msgpack.Packer(use_bin_type=True)
        keys = self.keys
        yield packer.pack(
            [SNAPSHOT_FORMAT, self.revision, self.compact_revision, self.leases, len(keys)])
        live, past = self.live, self.past
        for lo in range(0, len(keys), _KEYS_PER_CHUNK):
            chunk = []
            for key in keys[lo : lo + _KEYS_PER_CHUNK]:
                versions: list[Any] = [
                    v if isinstance(v, int)
                    else (v.mod_revision, v.value, v.create_revision, v.version, v.lease)
                    for v in past.get(key, ())
                ]
                kv = live.get(key)
                if kv is not None:
                    versions.append(
                        (kv.mod_revision, kv.value, kv.create_revision, kv.version, kv.lease))
                chunk.append((key, versions))
            yield packer.pack(chunk)
        yield packer.pack([
            (self.changes_base + i, keys)
            for i, keys in enumerate(self.changes) if isinstance(keys, tuple)
        ])


def _retained(past: list[Version], live: KeyValue | None, revision: int) -> list[Version]:
    """What compaction to `revision` keeps of a key's past: every version from `revision`
    on, and the newest one before it (the state at `revision`, and the prev_kv of the
    next event) unless that is a deletion or the live version already plays that part."""
    if live is not None and live.mod_revision < revision:
        return []
    i = bisect.bisect_left(past, revision, key=version_revision)
    if i and not isinstance(past[i - 1], int):
        i -= 1
    return past[i:] if i else past


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
