"""tmpfs mounts for the volumes that must never reach the node's disk (Secret and projected
volumes, emptyDir with medium Memory), found again and removed by path. mount(2) and
umount2(2) through libc: blocking, call from a thread."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

MNT_DETACH = 2
_MOUNTINFO = Path("/proc/self/mountinfo")
# The C library's symbols through the process's own handle, without
# ctypes.util.find_library's ldconfig subprocess at import.
_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, path: Path) -> None:
    if rc != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno), str(path))


def mount_tmpfs(path: Path, *, size_bytes: int | None = None, mode: int = 0o755) -> None:
    options = f"mode={mode:o}" + (f",size={size_bytes}" if size_bytes else "")
    _check(_libc.mount(b"tmpfs", os.fsencode(path), b"tmpfs", 0, options.encode()), path)


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as octal escapes.
    return (field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
            .replace("\\134", "\\"))


def mounts_under(root: Path) -> list[Path]:
    """Mount points at or below `root`, deepest first."""
    prefix = str(root).rstrip("/") + "/"
    found = []
    for line in _MOUNTINFO.read_text().splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            point = _unescape(fields[4])
            if point == prefix[:-1] or point.startswith(prefix):
                found.append(Path(point))
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


def is_mounted(path: Path) -> bool:
    return path in mounts_under(path)


def unmount_under(root: Path) -> list[Path]:
    """Detach every mount at or below `root` (a pod's volumes going away); returns them."""
    points = mounts_under(root)
    for point in points:
        _check(_libc.umount2(os.fsencode(point), MNT_DETACH), point)
    return points
