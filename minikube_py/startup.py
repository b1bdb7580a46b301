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


# A spinner's frames (braille, as most terminal spinners), and the marks of a finished step.
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
DONE, WARNED, FAILED = "✓", "!", "✗"
CLEAR_LINE = "\r\x1b[K"


@dataclass
class Progress:
    """What `serve` tells a person while it starts: one line per step, with timings.

    Not on a terminal (a log, a test, CI), each step is one timestamped line, `[   123 ms]
    message`, which tests and scripts read. On a terminal each step is a ✓ line with the
    time it took, and while the next one runs a spinner line rewrites itself (`tick`)."""

    out: TextIO = field(default_factory=lambda: sys.stderr)
    clock: Callable[[], float] = time.monotonic
    started: float = field(default_factory=time.monotonic)
    tty: bool | None = None  # None: whether `out` is a terminal
    _last: float | None = None
    _frame: int = 0
    _spinning: bool = False
    _doing: str = ""

    def __post_init__(self) -> None:
        if self.tty is None:
            isatty = getattr(self.out, "isatty", None)
            self.tty = bool(isatty and isatty())

    def step(self, message: str) -> None:
        now = self.clock()
        if not self.tty:
            print(f"[{(now - self.started) * 1000:7.0f} ms] {message}", file=self.out,
                  flush=True)
            return
        took = now - (self.started if self._last is None else self._last)
        self._last = now
        mark = FAILED if message.startswith("error") else \
            WARNED if message.startswith("warning") else DONE
        self._write(f"{CLEAR_LINE}{mark} {message} ({took:.2f}s)\n")
        self._doing = ""
        self._draw_spinner(now)

    def doing(self, what: str) -> None:
        """Name the step under way on the spinner line, until the next step is done."""
        self._doing = what
        if self.tty:
            self._draw_spinner(self.clock())

    def spin(self, on: bool) -> None:
        """Show (or clear) the spinner line of the step under way (terminal only)."""
        self._spinning = on
        if self.tty and not on:
            self._write(CLEAR_LINE)
        elif self.tty:
            self._draw_spinner(self.clock())

    def tick(self) -> None:
        """Advance the spinner (a terminal only; called a few times a second)."""
        if self.tty and self._spinning:
            self._frame += 1
            self._draw_spinner(self.clock())

    def text(self, block: str) -> None:
        """A block of text as it is (a summary, a hint), below the steps."""
        if self.tty and self._spinning:
            self._write(CLEAR_LINE)
        print(block, file=self.out, flush=True)
        if self.tty:
            self._draw_spinner(self.clock())

    def _draw_spinner(self, now: float) -> None:
        if self._spinning:
            frame = SPINNER[self._frame % len(SPINNER)]
            self._write(f"{CLEAR_LINE}{frame} {self._doing or 'starting'}... "
                        f"{now - self.started:.1f}s")

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()


async def animate(progress: Progress, interval: float = 0.1) -> None:
    """Keep the spinner turning until cancelled (the animation's own pace, not a wait)."""
    while True:
        await asyncio.sleep(interval)
        progress.tick()


def ready_summary(*, api_url: str, kubeconfig: Path, merged: tuple[str, str] | None,
                  nodes: list[str], data_dir_flag: str) -> str:
    """What serve prints once the cluster is ready: where it is, how kubectl reaches it, and
    what to run next. `merged` is (file, context) of the merge into the user's kubeconfig;
    `data_dir_flag` is " --data-dir D" unless the data dir is the default one."""
    if merged is not None:
        reach = (f"merged into {merged[0]} as context {merged[1]} (current); also "
                 f"{kubeconfig}")
        first = ["kubectl get pods -A"]
    else:
        reach = str(kubeconfig)
        first = [f"export KUBECONFIG={kubeconfig}", "kubectl get pods -A"]
    lines = ["", f"  API server:  {api_url}", f"  kubeconfig:  {reach}"]
    if nodes:
        lines.append(f"  nodes:       {', '.join(nodes)}")
    lines += ["", "  Next:"]
    lines += [f"    {c}" for c in (*first, f"minikube-py status{data_dir_flag}",
                                    f"minikube-py dashboard{data_dir_flag}",
                                    f"minikube-py stop{data_dir_flag}")]
    return "\n".join([*lines, ""])


@contextlib.asynccontextmanager
async def starting(what: str, progress: Progress | None = None) -> AsyncIterator[None]:
    """Turn a failure of an outside part (a missing binary, no permission, containerd
    refusing to start) into a StartupError that names the part, instead of a traceback;
    with `progress`, the spinner names the part meanwhile."""
    if progress is not None:
        progress.doing(what)
    try:
        yield
    except (OSError, RuntimeError, ContainerdStartError) as e:
        hint = " (it needs root)" if isinstance(e, PermissionError) else ""
        raise StartupError(f"{what} failed: {e}{hint}") from e


async def until_ready(sup: Supervisor, ready: asyncio.Event, what: str,
                      progress: Progress | None = None) -> None:
    """Wait for `ready`, unless a component dies first (the spinner says for what)."""
    if progress is not None:
        progress.doing(f"waiting for {what}")
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
