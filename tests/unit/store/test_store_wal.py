"""Specification of the write-ahead log: round trip, tail repair, corruption, snapshots."""

from __future__ import annotations

import zlib
from pathlib import Path

import msgpack
import pytest

from minikube_py.store import wal as wal_module
from minikube_py.store.raft import Entry, HardState, Snapshot, SnapshotMeta
from minikube_py.store.wal import WalCorruptError, WriteAheadLog, frame


def entries(lo: int, hi: int, term: int = 1) -> list[Entry]:
    return [Entry(term, i, b"data-%d" % i) for i in range(lo, hi + 1)]


def write(tmp_path: Path, *batches: list[Entry], segment_bytes: int = 1 << 20) -> None:
    wal = WriteAheadLog(tmp_path, segment_bytes=segment_bytes)
    wal.open()
    for batch in batches:
        wal.append(HardState(1, 1, batch[-1].index), batch)
        wal.sync()
    wal.close()


def reopen(tmp_path: Path) -> tuple[HardState, list[int]]:
    wal = WriteAheadLog(tmp_path)
    rec = wal.open()
    wal.close()
    return rec.hard_state, [e.index for e in rec.entries]


def last_segment(tmp_path: Path) -> Path:
    return sorted((tmp_path / "wal").glob("*.wal"))[-1]


def test_entries_and_hard_state_round_trip(tmp_path: Path) -> None:
    write(tmp_path, entries(1, 3), entries(4, 5))
    wal = WriteAheadLog(tmp_path)
    rec = wal.open()
    assert rec.hard_state == HardState(1, 1, 5)
    assert rec.entries == entries(1, 5)
    assert rec.snapshot is None


def test_a_rewritten_index_replaces_the_conflicting_suffix(tmp_path: Path) -> None:
    write(tmp_path, entries(1, 5), entries(3, 3, term=2))
    wal = WriteAheadLog(tmp_path)
    assert [(e.index, e.term) for e in wal.open().entries] == [(1, 1), (2, 1), (3, 2)]


def test_a_truncated_tail_is_cut_off_and_the_log_stays_usable(tmp_path: Path) -> None:
    write(tmp_path, entries(1, 3), entries(4, 4))
    seg = last_segment(tmp_path)
    seg.write_bytes(seg.read_bytes()[:-20])  # into entry 4
    assert reopen(tmp_path)[1] == [1, 2, 3]
    write(tmp_path, entries(4, 6))
    assert reopen(tmp_path) == (HardState(1, 1, 6), [1, 2, 3, 4, 5, 6])


def test_a_corrupt_last_record_is_cut_off(tmp_path: Path) -> None:
    write(tmp_path, entries(1, 3), entries(4, 4))
    seg = last_segment(tmp_path)
    data = bytearray(seg.read_bytes())
    data[-3] ^= 0xFF  # inside the last record (the hard state after entry 4)
    seg.write_bytes(bytes(data))
    hs, indexes = reopen(tmp_path)
    assert indexes == [1, 2, 3, 4] and hs == HardState(1, 1, 3)


def test_corruption_before_the_tail_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, entries(1, 10))
    seg = last_segment(tmp_path)
    data = bytearray(seg.read_bytes())
    data[40] ^= 0xFF
    seg.write_bytes(bytes(data))
    with pytest.raises(WalCorruptError):
        WriteAheadLog(tmp_path).open()


def test_corruption_in_an_earlier_segment_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, *[entries(i, i) for i in range(1, 200)], segment_bytes=512)
    first = sorted((tmp_path / "wal").glob("*.wal"))[0]
    first.write_bytes(first.read_bytes()[:-3])
    with pytest.raises(WalCorruptError):
        WriteAheadLog(tmp_path).open()


def test_snapshot_then_replay_of_later_entries(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, segment_bytes=256)
    wal.open()
    for i in range(1, 50):
        wal.append(HardState(1, 1, i), entries(i, i))
        wal.sync()
    segments_before = wal.segment_count
    wal.save_snapshot(Snapshot(SnapshotMeta(40, 1, (1,)), b"state@40"))
    assert wal.segment_count < segments_before
    wal.append(HardState(1, 1, 51), entries(50, 51))
    wal.close()
    rec = WriteAheadLog(tmp_path).open()
    assert rec.snapshot == Snapshot(SnapshotMeta(40, 1, (1,)), b"state@40")
    assert [e.index for e in rec.entries] == list(range(41, 52))
    assert rec.hard_state.commit == 51


def test_a_snapshot_written_in_pieces_reads_back_whole(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.open()
    wal.write_snapshot(SnapshotMeta(7, 2, (1, 2, 3)), iter([b"state", b"-in-", b"pieces"]))
    wal.close()
    assert WriteAheadLog(tmp_path).open().snapshot == Snapshot(
        SnapshotMeta(7, 2, (1, 2, 3)), b"state-in-pieces")


@pytest.mark.parametrize("damage", ["truncated", "flipped byte"])
def test_a_damaged_snapshot_falls_back_to_the_older_one(tmp_path: Path, damage: str) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.open()
    wal.save_snapshot(Snapshot(SnapshotMeta(10, 1, (1,)), b"state@10"))
    wal.save_snapshot(Snapshot(SnapshotMeta(20, 1, (1,)), b"state@20"))
    wal.close()
    newest = tmp_path / "snap" / f"{20:016x}.snap"
    data = bytearray(newest.read_bytes())
    if damage == "truncated":
        del data[-3:]
    else:
        data[-20] ^= 0xFF  # inside the state's bytes
    newest.write_bytes(bytes(data))
    assert WriteAheadLog(tmp_path).open().snapshot == Snapshot(
        SnapshotMeta(10, 1, (1,)), b"state@10")


def test_a_snapshot_file_in_the_first_format_still_loads(tmp_path: Path) -> None:
    (tmp_path / "snap").mkdir()
    payload = msgpack.packb((40, 1, [1], b"state@40"), use_bin_type=True)
    (tmp_path / "snap" / f"{40:016x}.snap").write_bytes(frame(payload))
    assert WriteAheadLog(tmp_path).open().snapshot == Snapshot(
        SnapshotMeta(40, 1, (1,)), b"state@40")


def test_a_snapshot_keeps_its_learners(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.open()
    wal.write_snapshot(SnapshotMeta(9, 3, (1, 2, 3), (4, 5)), [b"state@9"])
    wal.close()
    assert WriteAheadLog(tmp_path).open().snapshot == Snapshot(
        SnapshotMeta(9, 3, (1, 2, 3), (4, 5)), b"state@9")


def test_a_snapshot_file_from_before_learners_still_loads(tmp_path: Path) -> None:
    # format 2 as written before learners: the head ends with the voters
    (tmp_path / "snap").mkdir()
    head = msgpack.packb((wal_module._SNAPSHOT_MAGIC, 40, 1, [1, 2, 3]), use_bin_type=True)
    data = b"state@40"
    trailer = wal_module._TRAILER.pack(len(data), zlib.crc32(data))
    (tmp_path / "snap" / f"{40:016x}.snap").write_bytes(frame(head) + data + trailer)
    assert WriteAheadLog(tmp_path).open().snapshot == Snapshot(
        SnapshotMeta(40, 1, (1, 2, 3)), b"state@40")
