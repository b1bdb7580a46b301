"""Specification of the write-ahead log: round trip, tail repair, corruption, preallocated
segments and what a crash leaves in them, snapshots."""

from __future__ import annotations

import shutil
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


# ---- preallocated segments: what a crash (kill -9, power loss) leaves -------------------


def crash_image(tmp_path: Path, *batches: list[Entry], segment_bytes: int = 1 << 16) -> Path:
    """The log's directory as a crash leaves it: appended and synced, never closed (so
    its last segment still has its preallocated, zero-filled end)."""
    live = tmp_path / "live"
    wal = WriteAheadLog(live, segment_bytes=segment_bytes)
    wal.open()
    for batch in batches:
        wal.append(HardState(1, 1, batch[-1].index), batch)
        wal.sync()
    image = tmp_path / "crashed"
    shutil.copytree(live, image)
    wal.close()
    return image


def records(path: Path) -> list[tuple[int, int]]:
    """(offset, end) of each intact record in the segment."""
    return [(offset, end) for offset, end, record in wal_module.read_records(path.read_bytes())
            if record is not None]


def damage(path: Path, offset: int, replacement: bytes) -> None:
    data = bytearray(path.read_bytes())
    data[offset : offset + len(replacement)] = replacement
    path.write_bytes(bytes(data))


def test_an_open_segment_is_preallocated_and_closing_gives_the_rest_back(
        tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, segment_bytes=1 << 16)
    wal.open()
    wal.append(HardState(1, 1, 3), entries(1, 3))
    wal.sync()
    seg = last_segment(tmp_path)
    assert seg.stat().st_size == 1 << 16
    wal.close()
    assert seg.stat().st_size == records(seg)[-1][1]


def test_the_zero_filled_end_of_a_crashed_segment_is_the_end_of_the_log(
        tmp_path: Path) -> None:
    image = crash_image(tmp_path, entries(1, 3), entries(4, 5))
    assert last_segment(image).stat().st_size == 1 << 16
    assert reopen(image) == (HardState(1, 1, 5), [1, 2, 3, 4, 5])
    write(image, entries(6, 7))  # appended after the records, not after the zeros
    assert reopen(image) == (HardState(1, 1, 7), [1, 2, 3, 4, 5, 6, 7])


def test_a_partly_written_record_followed_by_zeros_is_cut_off(tmp_path: Path) -> None:
    image = crash_image(tmp_path, entries(1, 3), [Entry(1, 4, b"x" * 300)])
    seg = last_segment(image)
    offset, end = records(seg)[-2]  # entry 4 (the hard state record follows it)
    damage(seg, offset + 100, bytes(end - offset - 100))  # its last pages never written
    damage(seg, end, bytes(100))  # nor was the hard state after it
    assert reopen(image)[1] == [1, 2, 3]
    write(image, [Entry(2, 4, b"y")])
    assert reopen(image) == (HardState(1, 1, 4), [1, 2, 3, 4])


def test_a_record_whose_crc_fails_followed_by_zeros_is_cut_off(tmp_path: Path) -> None:
    image = crash_image(tmp_path, entries(1, 3), entries(4, 4))
    seg = last_segment(image)
    end = records(seg)[-1][1]  # the end of the hard state after entry 4
    damage(seg, end - 2, bytes([seg.read_bytes()[end - 2] ^ 0xFF]))
    assert reopen(image) == (HardState(1, 1, 3), [1, 2, 3, 4])
    # the cut is for good: what the damaged record held does not come back behind new ones
    write(image, entries(5, 5))
    assert reopen(image) == (HardState(1, 1, 5), [1, 2, 3, 4, 5])


def test_a_zero_header_with_records_after_it_is_a_torn_end(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """After a power loss the unsynced batch's pages may reach the disk in any order: a
    record whose header never did, with later ones that did. Nothing there was
    acknowledged (it was not fsynced), so the log ends at the hole, as etcd's does."""
    image = crash_image(tmp_path, entries(1, 3), entries(4, 10))
    seg = last_segment(image)
    offset, _ = records(seg)[6]  # entry 5 (after the opening hard state, 1-3, theirs, 4)
    damage(seg, offset, bytes(wal_module._HEADER.size))
    assert reopen(image)[1] == [1, 2, 3, 4]
    assert "a zero-filled record header" in caplog.text and "bytes written after" in caplog.text
    write(image, entries(5, 5))  # and what came after the hole never comes back
    assert reopen(image)[1] == [1, 2, 3, 4, 5]


def test_a_record_with_a_zero_sector_and_records_after_it_is_a_torn_end(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    image = crash_image(tmp_path, entries(1, 3), [Entry(1, 4, b"x" * 2000)], entries(5, 6))
    seg = last_segment(image)
    offset, _ = next(r for r in records(seg) if r[1] - r[0] > 2000)  # entry 4
    sector = -(-(offset + 8) // 512) * 512
    damage(seg, sector, bytes(512))  # one sector of it never written
    assert reopen(image)[1] == [1, 2, 3]
    assert "a zero-filled sector inside a record" in caplog.text


def test_a_small_record_torn_at_a_sector_boundary_with_records_after_it_is_a_torn_end(
        tmp_path: Path) -> None:
    """Records are mostly smaller than a sector: the piece of one after a sector boundary
    that never reached the disk (zeros), with later pages that did, is still torn."""
    image = crash_image(tmp_path, entries(1, 3), entries(4, 60))
    seg = last_segment(image)
    offset, end = next(r for r in records(seg)[6:] if r[0] // 512 != (r[1] - 1) // 512)
    boundary = (offset // 512 + 1) * 512
    damage(seg, boundary, bytes(end - boundary))  # its part in the next sector: lost
    kept = reopen(image)[1]
    assert kept[:4] == [1, 2, 3, 4] and kept == list(range(1, len(kept) + 1)) and len(kept) < 60


def test_data_after_a_zero_header_in_the_zero_filled_end_is_dropped(tmp_path: Path) -> None:
    image = crash_image(tmp_path, entries(1, 3))
    seg = last_segment(image)
    end = records(seg)[-1][1]
    damage(seg, end + 1000, b"not zero")
    assert reopen(image)[1] == [1, 2, 3]


def test_data_after_a_hole_in_the_zero_filled_end_is_read_and_dropped(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # the unwritten end may be a hole (not read, as it holds only zeros): what follows
    # one is still read, and dropped with the rest of the torn end
    image = crash_image(tmp_path, entries(1, 3))
    seg = last_segment(image)
    end = records(seg)[-1][1]
    with seg.open("r+b") as f:
        f.truncate(end)
        f.truncate(1 << 20)  # a hole up to 1 MiB
        f.seek((1 << 20) - 4096)
        f.write(b"not zero")
    assert reopen(image)[1] == [1, 2, 3]
    assert "with 8 bytes written after it" in caplog.text


def test_a_flipped_bit_with_records_after_it_is_refused(tmp_path: Path) -> None:
    image = crash_image(tmp_path, entries(1, 10))
    seg = last_segment(image)
    offset, _ = records(seg)[3]
    damage(seg, offset + 9, bytes([seg.read_bytes()[offset + 9] ^ 0x01]))
    with pytest.raises(WalCorruptError, match=f"damaged record at offset {offset}, before"):
        WriteAheadLog(image).open()


def test_a_segment_whose_end_is_a_hole_reads_whole(tmp_path: Path) -> None:
    image = crash_image(tmp_path, entries(1, 3))
    seg = last_segment(image)
    with seg.open("r+b") as f:
        f.truncate(records(seg)[-1][1])
        f.truncate(1 << 20)
    assert reopen(image) == (HardState(1, 1, 3), [1, 2, 3])


def test_segments_roll_over_and_each_full_one_keeps_only_its_records(tmp_path: Path) -> None:
    image = crash_image(tmp_path, *[entries(i, i) for i in range(1, 60)], segment_bytes=512)
    segments = sorted((image / "wal").glob("*.wal"))
    assert len(segments) > 3
    for full in segments[:-1]:
        assert full.stat().st_size == records(full)[-1][1]
    assert segments[-1].stat().st_size == 512
    assert reopen(image) == (HardState(1, 1, 59), list(range(1, 60)))


def test_a_segment_that_cannot_be_preallocated_grows_as_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
        ) -> None:
    def no_space(fd: int, offset: int, length: int) -> None:
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(wal_module.os, "posix_fallocate", no_space)
    image = crash_image(tmp_path, *[entries(i, i) for i in range(1, 60)], segment_bytes=512)
    assert len(list((image / "wal").glob("*.wal"))) > 3
    seg = last_segment(image)
    assert seg.stat().st_size == records(seg)[-1][1]
    warnings = [r for r in caplog.records if "cannot preallocate" in r.getMessage()]
    assert len(warnings) == 1  # not one per segment
    assert reopen(image)[1] == list(range(1, 60))


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
