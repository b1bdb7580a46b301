"""One serve per data dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from minikube_py.datalock import DataDirBusy, DataDirLock


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    first, second = DataDirLock(tmp_path), DataDirLock(tmp_path)
    first.acquire()
    with pytest.raises(DataDirBusy, match=f"pid {os.getpid()}"):
        second.acquire()
    first.release()
    second.acquire()
    second.release()


def test_the_holder_is_seen_without_taking_the_lock(tmp_path: Path) -> None:
    lock = DataDirLock(tmp_path)
    assert lock.holder() is None and not lock.path.exists()  # nothing created
    lock.acquire()
    assert DataDirLock(tmp_path).holder() == str(os.getpid())
    lock.release()
    assert DataDirLock(tmp_path).holder() is None
    second = DataDirLock(tmp_path)
    second.acquire()  # looking did not keep it
    second.release()
