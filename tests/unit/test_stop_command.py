"""`minikube-py stop`: SIGTERM to the data dir's holder, then wait for it to let go; never a
SIGKILL."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from minikube_py.stop_command import StopFailed, process_alive, stop_holder


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_nothing_running_is_said_and_not_an_error(tmp_path: Path) -> None:
    said: list[str] = []
    assert stop_holder(tmp_path, timeout=1, clock=Clock(), say=said.append) is False
    assert said == [f"not running: nothing serves {tmp_path}"]


def held(tmp_path: Path) -> int:
    """A child process holding tmp_path's lock (as serve would), its pid."""
    import fcntl
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: take the lock, say so, wait for a signal
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.close(r)
        fd = os.open(tmp_path / "serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, str(os.getpid()).encode())
        os.write(w, b"x")
        signal.pause()
        os._exit(0)
    os.close(w)
    assert os.read(r, 1) == b"x"
    os.close(r)
    return pid


def test_the_holder_gets_sigterm_and_stop_waits_until_it_is_gone(tmp_path: Path) -> None:
    pid = held(tmp_path)
    said: list[str] = []

    def sleep(seconds: float) -> None:  # a real process: real time
        os.waitpid(pid, os.WNOHANG)  # reap it once it ended, as its parent would
        time.sleep(seconds)

    assert stop_holder(tmp_path, timeout=30, clock=time.monotonic, say=said.append,
                       sleep=sleep)
    assert said[0] == f"stopping minikube-py (pid {pid}) on {tmp_path}..."
    assert said[-1].startswith("stopped (")
    assert not process_alive(pid)


def test_past_the_timeout_it_says_so_and_kills_nothing(tmp_path: Path) -> None:
    pid = held(tmp_path)
    sent: list[tuple[int, int]] = []
    clock = Clock()
    try:
        with pytest.raises(StopFailed, match=f"pid {pid} did not stop within 2 s"):
            stop_holder(tmp_path, timeout=2, clock=clock, say=lambda _: None,
                        sleep=clock.sleep, kill=lambda p, s: sent.append((p, s)))
        assert sent == [(pid, signal.SIGTERM)]
        assert process_alive(pid)
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
