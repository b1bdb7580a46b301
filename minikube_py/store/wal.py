"""The write-ahead log: CRC-framed msgpack records in segment files, plus state snapshots."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack

from minikube_py.store.raft import Entry, EntryType, HardState, Snapshot, SnapshotMeta

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<II")  # payload length, crc32(payload)
_ENTRY, _HARD_STATE = 0, 1
SEGMENT_BYTES = 64 * 1024 * 1024
_KEEP_SNAPSHOTS = 2
# A snapshot file (format 2): frame((_SNAPSHOT_MAGIC, index, term, voters, learners)),
# then the state's bytes as they were streamed, then _TRAILER: their length and crc32.
# Files written before learners existed have no learners in the head (read as none).
# Format 1 was one frame((index, term, voters, data)), which needed the whole state in memory.
_SNAPSHOT_MAGIC = b"minikube-py snapshot 2"
_TRAILER = struct.Struct("<QI")


class WalCorruptError(Exception):
    """A record before the tail of the log is damaged: refuse to start rather than lose data."""


class WalIOError(Exception):
    """Writing or syncing the log or a snapshot failed. After a failed fsync the kernel may
    have dropped the unwritten pages and forgotten the error, so nothing written since the
    last good sync can be trusted to be durable: the store must stop (as etcd does)."""


@contextlib.contextmanager
def _io(what: str) -> Iterator[None]:
    try:
        yield
    except OSError as e:
        raise WalIOError(f"{what} failed: {e}") from e


@dataclass(slots=True)
class Recovered:
    hard_state: HardState
    snapshot: Snapshot | None
    entries: list[Entry]  # contiguous, right after the snapshot index


@dataclass(slots=True)
class _Segment:
    path: Path
    max_index: int = 0


def frame(payload: bytes) -> bytes:
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def read_records(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """Yield (offset, end, record) for each intact record, up to the end of the data or
    of the records: a segment is preallocated, so zeros from some offset to the end of
    the file are the space not written yet. At a damaged record (which includes a zero
    header with data after it), yield (offset, offset, None) and stop; the caller decides
    whether the damage is tolerable."""
    pos, size = 0, len(data)
    while pos < size:
        if pos + _HEADER.size > size:
            if not _zeros_from(data, pos):
                yield pos, pos, None
            return
        length, crc = _HEADER.unpack_from(data, pos)
        if length == 0 and crc == 0 and _zeros_from(data, pos):
            return
        end = pos + _HEADER.size + length
        body = data[pos + _HEADER.size : end]
        if length == 0 or len(body) < length or zlib.crc32(body) != crc:
            yield pos, pos, None
            return
        yield pos, end, msgpack.unpackb(body, use_list=True)
        pos = end


def _read_segment(path: Path) -> bytes:
    """The segment's bytes but for its unwritten (preallocated, zero-filled) end, if the
    file system reports that as a hole: reading 60 MiB of zeros would slow every start
    after a crash by a tenth of a second. Whatever it reports as a hole reads as zeros,
    so the records and the damage found are the same either way."""
    with path.open("rb") as f:
        fd = f.fileno()
        size = os.fstat(fd).st_size
        end = size
        with contextlib.suppress(OSError):  # no SEEK_HOLE here: read it all
            hole = os.lseek(fd, 0, os.SEEK_HOLE)
            if hole < size and not _data_after(fd, hole):
                end = hole
        f.seek(0)
        return f.read(end)


def _data_after(fd: int, offset: int) -> bool:
    try:
        os.lseek(fd, offset, os.SEEK_DATA)
    except OSError as e:
        if e.errno == errno.ENXIO:  # nothing but holes from `offset` to the end
            return False
        raise
    return True


def _zeros_from(data: bytes, offset: int) -> bool:
    return data.count(0, offset) == len(data) - offset


class WriteAheadLog:
    """Segments `wal/<seq>.wal` and snapshots `snap/<index>.snap` under one directory.

    `append` only writes; `sync` makes everything appended so far durable. The
    node appends a whole Ready batch, then syncs once (group commit).
    """

    def __init__(
        self,
        directory: Path,
        *,
        fsync: Callable[[int], None] = os.fdatasync,
        segment_bytes: int = SEGMENT_BYTES,
    ) -> None:
        self.dir = Path(directory)
        self.wal_dir = self.dir / "wal"
        self.snap_dir = self.dir / "snap"
        self._fsync = fsync
        self._segment_bytes = segment_bytes
        self._segments: list[_Segment] = []
        self._fd = -1
        self._size = 0
        self._hard_state = HardState()
        self._dirty = False
        # for `append` only, which the one thread that writes the log calls (a Packer
        # is not thread-safe); saves building one per entry
        self._packer = msgpack.Packer(use_bin_type=True)
        self._preallocation_failed = False  # warned once (it may fail at every new segment)

    # ---- recovery ------------------------------------------------------------

    def open(self) -> Recovered:
        """Read the latest snapshot and every segment, repair a torn tail, open for append."""
        self.wal_dir.mkdir(parents=True, exist_ok=True)
        self.snap_dir.mkdir(parents=True, exist_ok=True)
        snapshot = self._load_latest_snapshot()
        snap_index = snapshot.meta.index if snapshot else 0
        entries: dict[int, Entry] = {}
        last = 0
        hard_state = HardState()
        paths = sorted(self.wal_dir.glob("*.wal"))
        end = 0  # of the records in the last segment: appending goes on from there
        for n, path in enumerate(paths):
            segment = _Segment(path)
            data = _read_segment(path)
            end = 0
            for offset, record_end, record in read_records(data):
                if record is None:
                    if n != len(paths) - 1:
                        raise WalCorruptError(_damage(path, data, offset))
                    if _is_tail(data, offset):
                        log.warning("%s: torn or corrupt tail at offset %d; truncating",
                                    path, offset)
                    elif _is_torn(data, offset):
                        log.warning(
                            "%s: a torn write at offset %d (%s), with %d bytes written after "
                            "it: the unsynced end of a crash, whose pages reached the disk "
                            "out of order (nothing after the last fsync was acknowledged); "
                            "truncating there, as etcd does", path, offset,
                            "a zero-filled record header" if _zero_header(data, offset)
                            else "a zero-filled sector inside a record",
                            _written_after(data, offset))
                    else:
                        raise WalCorruptError(_damage(path, data, offset))
                    _truncate(path, offset)
                    break
                end = record_end
                if record[0] == _ENTRY:
                    e = Entry(record[1], record[2], record[3], EntryType(record[4]))
                    segment.max_index = max(segment.max_index, e.index)
                    # a rewritten index replaces everything after it (Raft log truncation)
                    for i in range(e.index, last + 1):
                        entries.pop(i, None)
                    entries[e.index] = e
                    last = e.index
                elif record[0] == _HARD_STATE:
                    hard_state = HardState(record[1], record[2], record[3])
            self._segments.append(segment)
        self._hard_state = hard_state
        kept = [entries[i] for i in sorted(entries) if i > snap_index]
        for expected, e in enumerate(kept, start=snap_index + 1):
            if e.index != expected:
                raise WalCorruptError(f"log gap: expected index {expected}, found {e.index}")
        if self._segments:
            self._open_segment(self._segments[-1].path, end)
        else:
            self._cut()
        return Recovered(hard_state, snapshot, kept)

    def _load_latest_snapshot(self) -> Snapshot | None:
        for path in sorted(self.snap_dir.glob("*.snap"), reverse=True):
            snapshot = _read_snapshot(path)
            if snapshot is not None:
                return snapshot
            log.warning("%s: damaged snapshot, trying an older one", path)
        return None

    # ---- appending -------------------------------------------------------------

    def append(self, hard_state: HardState | None, entries: list[Entry]) -> None:
        """Write (not yet durable) the entries and then the hard state, in one write."""
        pack, header, crc32 = self._packer.pack, _HEADER.pack, zlib.crc32
        parts = []
        for e in entries:
            payload = pack((_ENTRY, e.term, e.index, e.data, e.type))
            parts.append(header(len(payload), crc32(payload)))
            parts.append(payload)
        if hard_state is not None:
            self._hard_state = hard_state
            parts.append(self._hard_state_record(hard_state))
        if not parts:
            return
        buf = b"".join(parts)
        try:  # not `with _io(...)`: this is every write's path, and a try costs nothing
            _write_all(self._fd, buf, self._size)
        except OSError as e:
            raise WalIOError(f"write to the WAL failed: {e}") from e
        self._size += len(buf)
        self._dirty = True
        if entries:
            seg = self._segments[-1]
            seg.max_index = max(seg.max_index, entries[-1].index)
        if self._size >= self._segment_bytes:
            self.sync()
            self._cut()

    def sync(self) -> None:
        """fsync the open segment: everything appended before this call is durable after it."""
        if self._dirty:
            try:
                self._fsync(self._fd)
            except OSError as e:
                raise WalIOError(f"fsync of the WAL failed: {e}") from e
            self._dirty = False

    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Write the snapshot atomically, then drop segments and snapshots it makes redundant."""
        self.write_snapshot(snapshot.meta, [snapshot.data])
        self.release_to_snapshot(snapshot.meta.index)

    def write_snapshot(self, meta: SnapshotMeta, chunks: Iterable[bytes]) -> None:
        """Write a snapshot file atomically from the state's bytes as they come, never all
        in memory. Touches only the snapshot directory, so a worker thread may run it
        while the log is appended to; `release_to_snapshot` then lets the log go."""
        head = frame(msgpack.packb((_SNAPSHOT_MAGIC, meta.index, meta.term, list(meta.voters),
                                    list(meta.learners)), use_bin_type=True))
        final = self.snap_dir / f"{meta.index:016x}.snap"
        tmp = final.with_suffix(".tmp")
        with _io("writing a snapshot"):
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _write_all(fd, head)
                size = crc = 0
                for chunk in chunks:
                    _write_all(fd, chunk)
                    size += len(chunk)
                    crc = zlib.crc32(chunk, crc)
                _write_all(fd, _TRAILER.pack(size, crc))
                self._fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, final)
            self._sync_dir(self.snap_dir)

    def release_to_snapshot(self, index: int, *, keep_snapshots: int = _KEEP_SNAPSHOTS) -> None:
        """A snapshot at `index` is durable: start a new segment, delete the segments and
        older snapshots it makes redundant (keeping the newest `keep_snapshots`, so a
        damaged newest one has a fallback)."""
        self.sync()
        self._cut()
        covered = [s for s in self._segments[:-1] if s.max_index <= index]
        for seg in covered:
            seg.path.unlink()
        self._segments = [s for s in self._segments if s not in covered]
        older = sorted(self.snap_dir.glob("*.snap"), reverse=True)[keep_snapshots:]
        for old in older:
            old.unlink()
        # so that a crash cannot bring a deleted file back
        if covered:
            self._sync_dir(self.wal_dir)
        if older:
            self._sync_dir(self.snap_dir)

    def close(self, *, sync: bool = True) -> None:
        """Sync and close, giving back the segment's unused preallocated space; `sync=False`
        after a failed write or fsync, which must not be retried (a retried fsync can
        report success for pages that were lost)."""
        if self._fd >= 0:
            try:
                if sync:
                    self.sync()
                    with _io("closing the WAL"):
                        self._give_back_unused_space()
            finally:
                os.close(self._fd)
                self._fd = -1

    def disk_bytes(self) -> int:
        """The size of the log's segments and snapshots on disk (preallocated space
        included, as a database file's is)."""
        total = 0
        for directory in (self.wal_dir, self.snap_dir):
            with contextlib.suppress(OSError):
                for entry in os.scandir(directory):
                    with contextlib.suppress(OSError):
                        total += entry.stat().st_size
        return total

    @property
    def segment_count(self) -> int:
        return len(self._segments)

    # ---- segments ----------------------------------------------------------------

    def _cut(self) -> None:
        """Start a new segment; it opens with the current hard state so old ones can go."""
        seq = int(self._segments[-1].path.stem, 16) + 1 if self._segments else 1
        path = self.wal_dir / f"{seq:016x}.wal"
        if self._fd >= 0:
            with _io("closing a WAL segment"):
                self._give_back_unused_space()
            os.close(self._fd)
        self._segments.append(_Segment(path))
        with _io("starting a WAL segment"):
            self._open_segment(path, 0)
            record = self._hard_state_record(self._hard_state)
            _write_all(self._fd, record, 0)
            self._size += len(record)
            self._fsync(self._fd)
            self._sync_dir(self.wal_dir)

    def _open_segment(self, path: Path, end: int) -> None:
        """Open for appending at `end`, the segment preallocated to its full size: an
        fdatasync then writes data only, not also the file's new size and blocks, which
        costs several times as much (etcd does the same)."""
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        self._size = end
        if os.fstat(self._fd).st_size < self._segment_bytes:
            try:
                os.posix_fallocate(self._fd, 0, self._segment_bytes)
            except OSError as e:
                # Not supported here, or not that much space left: the segment grows as it
                # is written instead (and a full disk fails the write that does not fit).
                if not self._preallocation_failed:
                    log.warning("%s: cannot preallocate %d bytes (%s); WAL segments grow as "
                                "written", path, self._segment_bytes, e)
                self._preallocation_failed = True
                os.ftruncate(self._fd, end)  # nothing half-reserved stays behind

    def _give_back_unused_space(self) -> None:
        """Cut the open segment's zero-filled slack (on close and when a new one starts)."""
        if os.fstat(self._fd).st_size > self._size:
            os.ftruncate(self._fd, self._size)

    def _sync_dir(self, path: Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @staticmethod
    def _hard_state_record(hs: HardState) -> bytes:
        return frame(msgpack.packb((_HARD_STATE, hs.term, hs.vote, hs.commit), use_bin_type=True))


def _read_snapshot(path: Path) -> Snapshot | None:
    """The snapshot in `path` (either format), or None if it is damaged."""
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < _HEADER.size:
            return None
        length, crc = _HEADER.unpack(f.read(_HEADER.size))
        payload = f.read(length)
        if len(payload) != length or zlib.crc32(payload) != crc:
            return None
        head = msgpack.unpackb(payload, use_list=True)
        if head[0] != _SNAPSHOT_MAGIC:  # format 1: the state is inside the frame
            index, term, voters, data = head
            return Snapshot(SnapshotMeta(index, term, tuple(voters)), data)
        _, index, term, voters, *rest = head  # no learners in a file from before them
        learners = tuple(rest[0]) if rest else ()
        data_size = size - _HEADER.size - length - _TRAILER.size
        data = f.read(max(data_size, 0))
        trailer = f.read(_TRAILER.size)
    if data_size < 0 or len(trailer) != _TRAILER.size \
            or _TRAILER.unpack(trailer) != (len(data), zlib.crc32(data)):
        return None
    return Snapshot(SnapshotMeta(index, term, tuple(voters), learners), data)


def _is_tail(data: bytes, offset: int) -> bool:
    """Whether the damaged record at `offset` is the last thing in the file but for the
    preallocated zeros (a torn or half-written final append) rather than damage with
    written data after it."""
    if offset + _HEADER.size > len(data):
        return True
    length: int = _HEADER.unpack_from(data, offset)[0]
    end = offset + _HEADER.size + length
    return end >= len(data) or _zeros_from(data, end)


_SECTOR = 512  # the unit a disk writes whole or not at all


def _zero_header(data: bytes, offset: int) -> bool:
    return data[offset:offset + _HEADER.size].count(0) == _HEADER.size


def _is_torn(data: bytes, offset: int) -> bool:
    """Whether the damaged record at `offset` of the last segment is a torn write (etcd's
    test): its header never reached the disk (all zeros), or a whole sector inside it is
    zeros. After a crash the pages of the last, unsynced batch may have reached the disk in
    any order, so written data may follow; a record damaged otherwise (a flipped bit) is
    not a crash's doing."""
    if _zero_header(data, offset):
        return True
    length: int = _HEADER.unpack_from(data, offset)[0]
    start = offset + _HEADER.size
    end = min(start + length, len(data))
    # the record's body cut at sector boundaries (partial first and last pieces too): a
    # piece that is all zeros is a sector whose write never reached the disk
    at = start
    while at < end:
        piece_end = min((at // _SECTOR + 1) * _SECTOR, end)
        if data.count(0, at, piece_end) == piece_end - at:
            return True
        at = piece_end
    return False


def _written_after(data: bytes, offset: int) -> int:
    """Bytes after `offset` that are not zero (what the truncation drops)."""
    return len(data) - offset - data.count(0, offset)


def _damage(path: Path, data: bytes, offset: int) -> str:
    """Why the log refuses to start, for the operator."""
    return (f"{path}: a damaged record at offset {offset}, before the end of the log; "
            "refusing to start rather than lose what follows it")


def _truncate(path: Path, size: int) -> None:
    """Cut a torn tail off for good: appending goes on at `size`, and what the tail
    held must not come back behind the new records after a crash."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes, offset: int | None = None) -> None:
    """Write all of `data`: at `offset`, or (None) at the file's position."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view) if offset is None else os.pwrite(fd, view, offset)
        view = view[written:]
        if offset is not None:
            offset += written
