"""The user's kubeconfig we merge into, as files: kubectl's lock on it, an atomic write that
keeps its mode and owner, and the record in the data dir of what the merge changed (the text
surgery itself is kubeconfigmerge.py's)."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from minikube_py.kubeconfigmerge import (
    NEW_FILE,
    Entries,
    MergeRecord,
    MergeRefused,
    free_name,
    merge_text,
    only_skeleton_left,
    unmerge_text,
)

RECORD_FILE = "kubeconfig-merge.json"
# How long to wait for kubectl's lock (FILE.lock) before giving up on the merge.
LOCK_TIMEOUT = 5.0


def read_record(data_dir: Path) -> MergeRecord | None:
    try:
        return MergeRecord.from_json(json.loads((data_dir / RECORD_FILE).read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as e:
        raise MergeRefused(f"{data_dir / RECORD_FILE} is damaged ({e!r}): remove it and our "
                           "entries by hand (kubectl config delete-context ...)") from None


def _write_record(data_dir: Path, record: MergeRecord) -> None:
    path = data_dir / RECORD_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record.to_json(), indent=1) + "\n")
    os.replace(tmp, path)


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode()  # bytes: no newline translation
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as e:
        raise MergeRefused(f"{path} is not UTF-8 text ({e})") from None


def _write_atomic(path: Path, text: str) -> None:
    """Through a temporary file in the same directory and a rename (a kubectl reading never
    sees half a file), keeping the file's mode and owner (0600 for a new one: it holds the
    admin's key)."""
    _make_dir(path.parent)
    try:
        st = path.stat()
        mode, owner = stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid)
    except FileNotFoundError:  # a new file is its directory owner's (sudo: the user's)
        dir_st = path.parent.stat()
        mode, owner = 0o600, (dir_st.st_uid, dir_st.st_gid)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        if owner is not None and os.geteuid() == 0:
            os.fchown(fd, *owner)
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _make_dir(directory: Path) -> None:
    """A missing directory (~/.kube) made 0700 and, as root, given to the owner of the
    directory above it (under sudo, ~user/.kube stays the user's)."""
    if directory.exists():
        return
    _make_dir(directory.parent)
    directory.mkdir(mode=0o700)
    if os.geteuid() == 0:
        above = directory.parent.stat()
        os.chown(directory, above.st_uid, above.st_gid)


@contextlib.contextmanager
def _kubectl_lock(path: Path) -> Iterator[None]:
    """kubectl's own lock on a kubeconfig it writes: FILE.lock, made exclusively."""
    lock = path.with_name(path.name + ".lock")
    _make_dir(lock.parent)
    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        try:
            os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise MergeRefused(f"{path} is locked ({lock} exists: a kubectl writing it, "
                                   "or one that crashed; remove the lock if none runs)") \
                    from None
            time.sleep(0.05)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _resolved(path: Path) -> Path:
    """The file a symlinked kubeconfig points at (the rename replaces that, not the link)."""
    return path.resolve() if path.is_symlink() else path


def merge_kubeconfig(path: Path, entries: Entries, data_dir: Path, name: str) -> MergeRecord:
    """Merge our entries into `path` (made 0600 when missing) and make ours current,
    remembering in DATA what to undo; a merge into another file first leaves the old one."""
    path = _resolved(path.absolute())
    previous = read_record(data_dir)
    if previous is not None and Path(previous.path) != path:
        unmerge_kubeconfig(data_dir)
        previous = None
    with _kubectl_lock(path):
        text = _read(path)
        created = text is None
        if text is None:
            text = NEW_FILE
        if previous is None:
            previous = MergeRecord(str(path), free_name(text, name, str(path)),
                                   created_file=created)
        new, record = merge_text(text, entries, previous)
        _write_record(data_dir, record)  # first: a crash after the write still unmerges
        _write_atomic(path, new)
    return record


def unmerge_kubeconfig(data_dir: Path) -> str | None:
    """Take out what the recorded merge put in (None: there was none); what was done."""
    record = read_record(data_dir)
    if record is None:
        return None
    path = Path(record.path)
    with _kubectl_lock(path):
        text = _read(path)
        if text is None:
            done = f"{path} is gone: nothing to take out of it"
        else:
            new = unmerge_text(text, record)
            if record.created_file and only_skeleton_left(new):
                path.unlink()
                done = f"removed {path} (made for context {record.name})"
            else:
                if new != text:
                    _write_atomic(path, new)
                done = f"removed context {record.name} from {path}"
    (data_dir / RECORD_FILE).unlink(missing_ok=True)
    return done
