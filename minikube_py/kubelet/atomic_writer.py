"""Puts a volume's files on disk atomically, as the kubelet's AtomicWriter does: the files go
into a new hidden timestamped directory, the `..data` symlink is swapped to it with one
rename, and each visible name is a symlink through `..data`. A reader sees the old set of
files or the new one, never a mix; an unchanged payload writes nothing. Blocking IO: call it
from a thread."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from minikube_py.kubelet.pod_objects import ConfigError
from minikube_py.kubelet.volume_payloads import Payload

DATA_DIR = "..data"
NEW_DATA_DIR = "..data_tmp"
MAX_FILE_NAME = 255
MAX_PATH = 4096


def validate_path(path: str) -> None:
    """A payload path is relative, has no `..` element, does not start with `..` (those
    names are the writer's) and fits the filesystem's limits."""
    if not path:
        raise ConfigError(f'invalid path: must not be empty: "{path}"')
    if path.startswith("/"):
        raise ConfigError(f"invalid path: must be relative path: {path}")
    if len(path) > MAX_PATH:
        raise ConfigError(f"invalid path: must be less than or equal to {MAX_PATH} characters")
    items = path.split("/")
    for item in items:
        if item == "..":
            raise ConfigError(f"invalid path: must not contain '..': {path}")
        if len(item) > MAX_FILE_NAME:
            raise ConfigError("invalid path: filenames must be less than or equal to "
                              f"{MAX_FILE_NAME} characters")
    if items[0].startswith("..") and len(items[0]) > 2:
        raise ConfigError(f"invalid path: must not start with '..': {path}")


def clean_payload(payload: Payload) -> Payload:
    clean: Payload = {}
    for path, projection in payload.items():
        validate_path(path)
        clean[os.path.normpath(path)] = projection
    return clean


def write_atomically(target: Path, payload: Payload, *, now: float | None = None,
                     fs_group: int | None = None) -> bool:
    """Make `target` (an existing directory) hold exactly `payload`; True when it wrote."""
    files = clean_payload(payload)
    data_link = target / DATA_DIR
    old_ts = os.readlink(data_link) if data_link.is_symlink() else ""
    stale: set[str] = set()
    write = True
    if old_ts:
        stale = _paths_to_remove(files, target / old_ts)
        if not stale and not _payload_differs(files, target / old_ts, fs_group):
            write = False
            old_ts = ""  # nothing to swap; only make sure the visible links exist
    if write:
        ts_dir = _new_timestamp_dir(target, time.time() if now is None else now)
        try:
            _write_files(files, ts_dir, fs_group)
            tmp_link = target / NEW_DATA_DIR
            if tmp_link.is_symlink():
                tmp_link.unlink()  # left by a writer that died between its two steps
            os.symlink(ts_dir.name, tmp_link)
            os.rename(tmp_link, data_link)
        except BaseException:
            shutil.rmtree(ts_dir, ignore_errors=True)
            raise
    _create_visible_links(files, target)
    for path in stale:
        if "/" not in path:
            (target / path).unlink(missing_ok=True)
    if old_ts:
        shutil.rmtree(target / old_ts, ignore_errors=True)
    return write


def _paths_to_remove(files: Payload, old_dir: Path) -> set[str]:
    """What the old version has that the new one does not (a directory stays while a new
    file lives under it)."""
    current: set[str] = set()
    for root, dirs, names in os.walk(old_dir):
        rel_root = os.path.relpath(root, old_dir)
        for name in [*dirs, *names]:
            current.add(name if rel_root == "." else f"{rel_root}/{name}")
    wanted: set[str] = set()
    for path in files:
        while path:
            wanted.add(path)
            path = os.path.dirname(path)
    return current - wanted


def _payload_differs(files: Payload, old_dir: Path, fs_group: int | None) -> bool:
    for path, projection in files.items():
        on_disk = old_dir / path
        try:
            if on_disk.read_bytes() != projection.data:
                return True
            st = on_disk.stat()
            if st.st_mode & 0o7777 != _file_mode(projection.mode, fs_group):
                return True
            if projection.fs_user is not None and st.st_uid != projection.fs_user:
                return True
        except OSError:
            return True
    return False


def _new_timestamp_dir(target: Path, now: float) -> Path:
    stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime(now))
    ts_dir = Path(tempfile.mkdtemp(prefix=stamp, dir=target))
    # Group and others must be able to walk into it, whatever the umask.
    os.chmod(ts_dir, 0o755)
    return ts_dir


def _file_mode(mode: int, fs_group: int | None) -> int:
    # SetVolumeOwnership on these read-only volumes: the group can read what the owner can.
    return mode | 0o440 if fs_group is not None else mode


def _write_files(files: Payload, ts_dir: Path, fs_group: int | None) -> None:
    for path, projection in files.items():
        full = ts_dir / path
        full.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, projection.data)
        finally:
            os.close(fd)
        if fs_group is not None or projection.fs_user is not None:
            os.chown(full, -1 if projection.fs_user is None else projection.fs_user,
                     -1 if fs_group is None else fs_group)
        # chmod after the write: the mode asked for, not one the umask trimmed.
        os.chmod(full, _file_mode(projection.mode, fs_group))
    if fs_group is not None:
        for root, dirs, _ in os.walk(ts_dir):
            for d in [root, *(os.path.join(root, x) for x in dirs)]:
                os.chown(d, -1, fs_group)
                os.chmod(d, (os.stat(d).st_mode & 0o7777) | 0o2550)


def _create_visible_links(files: Payload, target: Path) -> None:
    for path in files:
        top = path.split("/", 1)[0]
        link = target / top
        if not os.path.lexists(link):
            os.symlink(f"{DATA_DIR}/{top}", link)
