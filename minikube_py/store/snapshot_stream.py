"""Snapshots cut into chunks for the peer transport and put back together on arrival, sans-IO.

A SNAP message carries the leader's whole state, tens of MiB for a real cluster, which no
single frame may (`frames.DEFAULT_MAX_FRAME`). The chunking lives here, below the Raft core,
as etcd's rafthttp streams a snapshot apart from its message stream:

- the core stays pure and unaware of sizes: it sends one SNAP message, waits in its
  snapshot state, and learns from `Raft.report_snapshot` how sending it ended;
- the receiving core sees a SNAP only once every byte has arrived, so a transfer cut off
  part way leaves no trace in Raft's state, and the leader simply tries again later;
- the transport writes one chunk at a time between its other messages, so heartbeats and
  appends to that peer are not held up behind the whole snapshot, and it holds one chunk's
  frame in memory at a time, not a second copy of the snapshot.

A transfer is numbered by its sender; chunk 0 carries the SNAP message without its data and
the data's total size, every chunk a slice of the data in order. A receiver keeps one
partial transfer per sender: a new transfer replaces the partial one, and a chunk out of
place is a broken stream (on one ordered connection, a peer that skips chunks misbehaves).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from minikube_py.store.raft import Message, MessageType, Snapshot

DEFAULT_CHUNK_SIZE = 1024 * 1024


class SnapshotStreamError(Exception):
    """A peer's chunks do not make up a snapshot (out of order, too many bytes, a first
    chunk that is no SNAP message); the partial transfer is dropped."""


@dataclass(frozen=True, slots=True)
class SnapshotChunk:
    transfer: int  # the sender's number for this transfer
    seq: int  # 0, 1, 2, ... within the transfer
    data: bytes
    total_size: int = 0  # the snapshot data's size: set on chunk 0
    header: Message | None = None  # the SNAP message with empty data: on chunk 0 only

    def pack(self) -> list[Any]:
        head = None if self.header is None else self.header.pack()
        return [self.transfer, self.seq, self.total_size, head, self.data]

    @classmethod
    def unpack(cls, t: Any) -> SnapshotChunk:
        transfer, seq, total, head, data = t
        if not all(type(v) is int for v in (transfer, seq, total)) or not isinstance(data, bytes):
            raise TypeError("a chunk is (transfer, seq, total size, header, bytes)")
        return cls(transfer, seq, data, total, None if head is None else Message.unpack(head))


def split_snapshot(message: Message, transfer: int, chunk_size: int) -> Iterator[SnapshotChunk]:
    """The chunks of a SNAP message, made one at a time as they are asked for."""
    if message.type is not MessageType.SNAP or message.snapshot is None:
        raise ValueError(f"only a SNAP message with a snapshot is chunked, not {message.type.name}")
    if chunk_size < 1:
        raise ValueError(f"the chunk size must be at least 1 byte, not {chunk_size}")
    data = message.snapshot.data
    header = replace(message, snapshot=Snapshot(message.snapshot.meta, b""))
    view = memoryview(data)
    yield SnapshotChunk(transfer, 0, bytes(view[:chunk_size]), len(data), header)
    for seq, offset in enumerate(range(chunk_size, len(data), chunk_size), start=1):
        yield SnapshotChunk(transfer, seq, bytes(view[offset:offset + chunk_size]))


def chunk_count(message: Message, chunk_size: int) -> int:
    assert message.snapshot is not None
    return max(1, -(-len(message.snapshot.data) // chunk_size))


class SnapshotAssembler:
    """One sender's chunks in, its SNAP messages out: at most one partial transfer held."""

    def __init__(self) -> None:
        self._header: Message | None = None
        self._transfer = 0
        self._next_seq = 0
        self._total = 0
        self._parts: list[bytes] = []
        self._size = 0

    @property
    def partial_bytes(self) -> int:
        """The bytes of the transfer under way (0 if none)."""
        return self._size if self._header is not None else 0

    def discard(self) -> None:
        """Drop the partial transfer (its connection ended, say)."""
        self._header, self._parts, self._size = None, [], 0

    def feed(self, chunk: SnapshotChunk) -> Message | None:
        """The whole SNAP message once `chunk` completes it, else None. Raises
        SnapshotStreamError (and drops the partial transfer) if it does not fit."""
        if chunk.seq == 0:
            self._start(chunk)
        elif self._header is None or (chunk.transfer, chunk.seq) != (self._transfer,
                                                                      self._next_seq):
            expected = (f"chunk {self._next_seq} of transfer {self._transfer}"
                        if self._header is not None else "a transfer's first chunk")
            self.discard()
            raise SnapshotStreamError(
                f"got chunk {chunk.seq} of transfer {chunk.transfer}, expected {expected}")
        self._parts.append(chunk.data)
        self._size += len(chunk.data)
        self._next_seq = chunk.seq + 1
        if self._size > self._total:
            total = self._total
            self.discard()
            raise SnapshotStreamError(
                f"transfer {chunk.transfer} sent more than the {total} bytes it announced")
        if self._size < self._total:
            return None
        return self._finish()

    def _start(self, chunk: SnapshotChunk) -> None:
        self.discard()  # a new transfer replaces a partial one
        head = chunk.header
        if head is None or head.type is not MessageType.SNAP or head.snapshot is None:
            raise SnapshotStreamError(
                f"the first chunk of transfer {chunk.transfer} carries no SNAP message")
        if chunk.total_size < 0:
            raise SnapshotStreamError(f"transfer {chunk.transfer} announced a negative size")
        self._header, self._transfer, self._total = head, chunk.transfer, chunk.total_size

    def _finish(self) -> Message:
        head = self._header
        assert head is not None and head.snapshot is not None
        data = b"".join(self._parts)
        self.discard()
        return replace(head, snapshot=Snapshot(head.snapshot.meta, data))
