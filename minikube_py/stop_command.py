"""`minikube-py stop`: a graceful stop of the serve (or join) holding a data dir, as Ctrl-C
does (SIGTERM: leadership handed over when the store has members, pods left running in
their shims for the next start to adopt), waiting until it lets go of the data dir's lock.
Never SIGKILL: past the timeout it says so and leaves the process alone."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from minikube_py.datalock import DataDirLock

# How often the lock is looked at while waiting, and how often progress is said.
POLL = 0.1
REPORT_EVERY = 5.0


class StopFailed(Exception):
    """It could not be stopped, or not in time; the message says why."""


def stop_holder(data_dir: Path, *, timeout: float, clock: Callable[[], float],
                say: Callable[[str], None], sleep: Callable[[float], None] = time.sleep,
                kill: Callable[[int, int], None] = os.kill,
                alive: Callable[[int], bool] | None = None) -> bool:
    """SIGTERM to the holder of `data_dir`'s lock, then wait (up to `timeout` seconds) for
    the lock to be free. False when nothing ran there."""
    lock = DataDirLock(data_dir)
    try:
        holder = lock.holder()
    except OSError as e:
        raise StopFailed(f"cannot read {data_dir}: {e.strerror} (run it as the user that runs "
                         "serve)") from e
    if holder is None:
        say(f"not running: nothing serves {data_dir}")
        return False
    try:
        pid = int(holder)
    except ValueError:
        raise StopFailed(f"{lock.path} is held, but names no pid ({holder!r})") from None
    try:
        kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass  # it ended meanwhile: the lock says whether it is gone
    except PermissionError:
        raise StopFailed(f"not allowed to signal pid {pid} (it runs as another user: run "
                         "stop as root or as that user)") from None
    alive = alive or process_alive
    started = clock()
    say(f"stopping minikube-py (pid {pid}) on {data_dir}...")
    said = started
    while lock.holder() is not None or alive(pid):
        now = clock()
        if now - started >= timeout:
            raise StopFailed(f"pid {pid} did not stop within {timeout:g} s; it still holds "
                             f"{data_dir} (its log says why; `kill -9 {pid}` would leave "
                             "its containerd and pods for the next start to clean up)")
        if now - said >= REPORT_EVERY:
            say(f"still stopping (pid {pid}, {now - started:.0f} s)...")
            said = now
        sleep(POLL)
    say(f"stopped ({clock() - started:.1f} s)")
    return True


def process_alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie, ended but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")
