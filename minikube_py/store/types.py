"""The key-value store's public vocabulary: what the API server may ask of the store.

The semantics are etcd's (v3): one global revision that every write increments,
ranges over [key, range_end), transactions that compare then act, watches that
start at any retained revision, and compaction that forgets old revisions.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: bytes
    value: bytes
    create_revision: int
    mod_revision: int
    version: int
    lease: int = 0


class EventType(enum.Enum):
    PUT = "PUT"
    DELETE = "DELETE"


@dataclass(frozen=True, slots=True)
class Event:
    """One change. For DELETE, `kv` carries the key, an empty value and the
    deleting revision as mod_revision; `prev_kv` is the value that was deleted."""

    type: EventType
    kv: KeyValue
    prev_kv: KeyValue | None = None


class CompareTarget(enum.Enum):
    VERSION = "version"
    CREATE = "create"
    MOD = "mod"
    VALUE = "value"


class CompareOp(enum.Enum):
    EQUAL = "="
    NOT_EQUAL = "!="
    LESS = "<"
    GREATER = ">"


@dataclass(frozen=True, slots=True)
class Compare:
    """A missing key compares as version=create=mod=0 and value=b""."""

    key: bytes
    target: CompareTarget
    op: CompareOp
    value: int | bytes


@dataclass(frozen=True, slots=True)
class RangeOp:
    key: bytes
    range_end: bytes = b""
    limit: int = 0


@dataclass(frozen=True, slots=True)
class PutOp:
    key: bytes
    value: bytes
    lease: int = 0
    prev_kv: bool = False


@dataclass(frozen=True, slots=True)
class DeleteOp:
    key: bytes
    range_end: bytes = b""
    prev_kv: bool = False


Op = RangeOp | PutOp | DeleteOp


@dataclass(frozen=True, slots=True)
class RangeResult:
    kvs: list[KeyValue]
    count: int
    more: bool
    revision: int  # the store revision the range was served at


@dataclass(frozen=True, slots=True)
class PutResult:
    revision: int
    prev_kv: KeyValue | None = None


@dataclass(frozen=True, slots=True)
class DeleteResult:
    revision: int
    deleted: int
    prev_kvs: list[KeyValue] = field(default_factory=list)


OpResult = RangeResult | PutResult | DeleteResult


@dataclass(frozen=True, slots=True)
class TxnResult:
    succeeded: bool
    revision: int  # store revision after the transaction
    responses: list[OpResult]


class StoreError(Exception):
    """Base class for errors the store reports to its callers."""


class CompactedError(StoreError):
    """The requested revision has been compacted away (the API answers 410 Gone)."""

    def __init__(self, requested: int, compact_revision: int) -> None:
        super().__init__(
            f"required revision {requested} has been compacted (compacted to {compact_revision})"
        )
        self.requested = requested
        self.compact_revision = compact_revision


class FutureRevisionError(StoreError):
    """The requested revision is newer than the store's current revision."""

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"required revision {requested} is a future revision (current {current})")
        self.requested = requested
        self.current = current


class NotLeaderError(StoreError):
    """The write was not taken and will not be applied: this member (or the leader a
    follower forwarded it to) does not lead now, or it was lost in a leader change.
    Retryable; also raised for what only the leader does (keepalive, membership)."""


class LeaderTransferringError(NotLeaderError):
    """This member is handing leadership to another; the write was not taken. Retryable:
    within an election timeout there is a new leader (or this one takes writes again)."""


class NoLeaderError(StoreError):
    """The member knows no leader (etcd's "etcdserver: no leader"): the cluster is
    electing one, or this member is cut off from a quorum. Nothing was read; a write that
    was already proposed may still be applied once a leader commits it."""


class RequestTimeoutError(StoreError):
    """The request got no answer in time (etcd's "etcdserver: request timed out"); a
    write may or may not be applied."""


class StoreUnavailableError(StoreError):
    """The datastore cannot be reached (an external etcd that is down, unreachable or
    overloaded). Nothing was read; a write that was in flight may or may not be applied."""


class StoreClosedError(StoreError):
    """The store is shutting down; the request was not applied."""


class StoreFailedError(StoreError):
    """The store stopped for good (a failed fsync of its log, say); the message names the
    cause. The request was not acknowledged and no later one will be; a write that was in
    flight may or may not be found after a restart, as after a crash."""


class WatchStream(Protocol):
    """Batches of events in revision order; every event of one revision arrives in
    one batch. Iteration ends when the watch is cancelled; raises CompactedError
    at once if the start revision is no longer retained."""

    def __aiter__(self) -> AsyncIterator[list[Event]]: ...

    def close(self) -> None: ...


class KV(Protocol):
    """What the API server needs from a datastore (embedded Raft or external etcd)."""

    @property
    def revision(self) -> int: ...

    @property
    def compact_revision(self) -> int: ...

    async def range(
        self,
        key: bytes,
        range_end: bytes = b"",
        *,
        revision: int = 0,
        limit: int = 0,
        count_only: bool = False,
    ) -> RangeResult: ...

    async def txn(
        self, compares: list[Compare], success: list[Op], failure: list[Op]
    ) -> TxnResult: ...

    async def compact(self, revision: int) -> None: ...

    async def lease_grant(self, ttl_seconds: int) -> int: ...

    async def lease_revoke(self, lease_id: int) -> None: ...

    def watch(
        self,
        key: bytes,
        range_end: bytes = b"",
        *,
        start_revision: int = 0,
        prev_kv: bool = False,
    ) -> WatchStream: ...


def prefix_end(prefix: bytes) -> bytes:
    """The range_end that selects every key starting with `prefix` (etcd's GetPrefixRangeEnd)."""
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\x00"  # every key


class LeaseNotFoundError(StoreError):
    """The lease does not exist (never granted, revoked or expired)."""

    def __init__(self, lease_id: int) -> None:
        super().__init__(f"lease {lease_id:#x} not found")
        self.lease_id = lease_id
