"""What `serve` and `join` share while they start: progress lines a person can read, the
error that stops a start, and waiting for a component that may die first."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

from minikube_py.datalock import DataDirBusy, DataDirLock
from minikube_py.runtime.containerd import ContainerdStartError
from minikube_py.supervisor import Supervisor

T = TypeVar("T")


class StartupError(Exception):
    """The cluster could not start; the message says which part and why."""


@dataclass
class Progress:
    """What `serve` tells a person while it starts: one line per step, with timings."""

    out: TextIO = field(default_factory=lambda: sys.stderr)
    clock: Callable[[], float] = time.monotonic
    started: float = field(default_factory=time.monotonic)

    def step(self, message: str) -> None:
        elapsed = (self.clock() - self.started) * 1000
        print(f"[{elapsed:7.0f} ms] {message}", file=self.out, flush=True)


@contextlib.asynccontextmanager
async def starting(what: str) -> AsyncIterator[None]:
    """Turn a failure of an outside part (a missing binary, no permission, containerd
    refusing to start) into a StartupError that names the part, instead of a traceback."""
    try:
        yield
    except (OSError, RuntimeError, ContainerdStartError) as e:
        hint = " (it needs root)" if isinstance(e, PermissionError) else ""
        raise StartupError(f"{what} failed: {e}{hint}") from e


async def until_ready(sup: Supervisor, ready: asyncio.Event, what: str) -> None:
    """Wait for `ready`, unless a component dies first."""
    never = asyncio.Event()
    waiter = asyncio.create_task(ready.wait())
    failed = asyncio.create_task(sup.wait(never))
    done, _ = await asyncio.wait([waiter, failed], return_when=asyncio.FIRST_COMPLETED)
    for t in (waiter, failed):
        t.cancel()
    if failed in done and not failed.cancelled() and failed.result() is not None:
        raise StartupError(f"{what} did not become ready: {failed.result()}")




def lock_data_dir(sup: Supervisor, data_dir: Path) -> None:
    """Hold the data dir for this process until the supervisor stops (StartupError naming
    the holder when another serve or join has it)."""
    lock = DataDirLock(data_dir)
    try:
        lock.acquire()
    except DataDirBusy as e:
        raise StartupError(str(e)) from e

    async def unlock() -> None:
        lock.release()

    sup.on_stop("data-dir-lock", unlock)


async def start_unless_stopped(start: Coroutine[Any, Any, T], stop: asyncio.Event,
                               progress: Progress) -> T | None:
    """Run `start` unless a signal (`stop`) comes first: then it is cancelled (what it
    started is stopped by its own cleanup) and None returned. A start that waits for
    something that never comes (a server that is down) must not need kill -9."""
    starting_task = asyncio.create_task(start)
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({starting_task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if starting_task.done():
        return starting_task.result()
    progress.step("stopping (signal received while starting)")
    starting_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await starting_task
    progress.step("stopped")
    return None
