"""Specification of snapshot chunking, sans-IO: a SNAP message goes out as frames under the
frame limit and comes back whole; a receiver holds one partial transfer per sender and
drops it when the stream does not fit together."""

from __future__ import annotations

import random

import pytest

from minikube_py.store.frames import FrameDecoder, encode_snapshot_chunk
from minikube_py.store.raft import Message, MessageType, Snapshot, SnapshotMeta
from minikube_py.store.snapshot_stream import (
    SnapshotAssembler,
    SnapshotChunk,
    SnapshotStreamError,
    chunk_count,
    split_snapshot,
)

MAX_FRAME = 2048
CHUNK = 1024


def snap_message(size: int, index: int = 7) -> Message:
    data = random.Random(index).randbytes(size)
    meta = SnapshotMeta(index, 3, (1, 2, 3), (4,))
    return Message(MessageType.SNAP, to=2, frm=1, term=3, snapshot=Snapshot(meta, data))


def chunks(m: Message, transfer: int = 1) -> list[SnapshotChunk]:
    return list(split_snapshot(m, transfer, CHUNK))


@pytest.mark.parametrize("size", [0, 1, CHUNK, 3 * CHUNK, 10 * CHUNK + 17])
def test_a_snapshot_goes_through_frames_under_the_limit_and_comes_back_whole(size: int) -> None:
    m = snap_message(size)
    frames = [encode_snapshot_chunk(c, MAX_FRAME) for c in chunks(m)]
    assert len(frames) == chunk_count(m, CHUNK) == max(1, -(-size // CHUNK))
    assert all(len(f) <= MAX_FRAME + 4 for f in frames)
    decoder, assembler = FrameDecoder(MAX_FRAME), SnapshotAssembler()
    out = []
    for f in frames:
        for chunk in decoder.feed(f):
            assert isinstance(chunk, SnapshotChunk)
            whole = assembler.feed(chunk)
            if whole is not None:
                out.append(whole)
    assert out == [m]
    assert assembler.partial_bytes == 0


def test_a_chunk_out_of_order_breaks_the_transfer_and_drops_it() -> None:
    cs = chunks(snap_message(5 * CHUNK))
    a = SnapshotAssembler()
    a.feed(cs[0])
    with pytest.raises(SnapshotStreamError, match="got chunk 2 of transfer 1, expected chunk 1"):
        a.feed(cs[2])
    assert a.partial_bytes == 0
    with pytest.raises(SnapshotStreamError, match="expected a transfer's first chunk"):
        a.feed(cs[1])


def test_a_new_transfer_replaces_the_partial_one() -> None:
    old, new = snap_message(5 * CHUNK, index=7), snap_message(2 * CHUNK, index=9)
    a = SnapshotAssembler()
    for c in chunks(old, transfer=1)[:3]:
        a.feed(c)
    assert a.partial_bytes == 3 * CHUNK
    fed = [a.feed(c) for c in chunks(new, transfer=2)]
    assert fed == [None, new]
    with pytest.raises(SnapshotStreamError):  # the old transfer is gone
        a.feed(chunks(old, transfer=1)[3])


def test_a_transfer_with_more_bytes_than_it_announced_is_refused() -> None:
    cs = chunks(snap_message(2 * CHUNK))
    a = SnapshotAssembler()
    a.feed(cs[0])
    with pytest.raises(SnapshotStreamError, match="more than the 2048 bytes it announced"):
        a.feed(SnapshotChunk(1, 1, b"x" * (CHUNK + 1)))
    assert a.partial_bytes == 0


def test_a_first_chunk_without_a_snap_message_is_refused() -> None:
    heartbeat = Message(MessageType.HEARTBEAT, to=2, frm=1, term=3)
    with pytest.raises(SnapshotStreamError, match="carries no SNAP message"):
        SnapshotAssembler().feed(SnapshotChunk(1, 0, b"", 0, heartbeat))
    with pytest.raises(SnapshotStreamError, match="carries no SNAP message"):
        SnapshotAssembler().feed(SnapshotChunk(1, 0, b"", 0, None))


def test_only_a_snap_message_is_chunked() -> None:
    with pytest.raises(ValueError, match="not HEARTBEAT"):
        next(split_snapshot(Message(MessageType.HEARTBEAT, to=2, frm=1, term=1), 1, CHUNK))
    with pytest.raises(ValueError, match="at least 1 byte"):
        next(split_snapshot(snap_message(10), 1, 0))
