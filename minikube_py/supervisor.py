"""Runs the cluster's long-lived tasks: named, guarded, and stopped together when one ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("minikube_py.supervisor")


class FatalError(Exception):
    """A component stops the cluster on purpose, for a reason it can put in words for the
    person running it ("fsync of the WAL failed: [Errno 5] Input/output error"). The
    supervisor reports it as `<component>: <message>`, with no traceback of its own: the
    component has already logged whatever more there was to say (a bug's traceback)."""


class TaskFailed(Exception):
    """A root task ended on its own: the cluster cannot go on without it."""

    def __init__(self, name: str, cause: BaseException | None) -> None:
        if isinstance(cause, FatalError):
            message = f"{name}: {cause}"
        else:
            why = f"{type(cause).__name__}: {cause}" if cause else "it returned"
            message = f"component {name!r} stopped ({why})"
        super().__init__(message)
        self.name = name
        self.cause = cause


@dataclass
class Supervisor:
    """Root tasks are expected to run until cancelled. The first one that ends (by
    returning or raising) brings the others down; cleanups then run in reverse order
    of registration, so the containerd child goes after the kubelet that uses it."""

    stop_grace_seconds: float = 5.0
    # How long each hook that runs before the tasks stop may take (a store that is gone
    # must not hold the stop up).
    before_stop_seconds: float = 2.0
    _before_stop: list[tuple[str, Callable[[], Awaitable[None]]]] = field(default_factory=list)
    _tasks: dict[str, asyncio.Task[Any]] = field(default_factory=dict)
    _cleanups: list[tuple[str, Callable[[], Awaitable[None]]]] = field(default_factory=list)
    _first_ended: str = ""  # the root task whose end brings the cluster down

    def start(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        if name in self._tasks:
            raise ValueError(f"a task named {name!r} is already running")
        task = asyncio.create_task(self._guard(name, coro), name=name)
        # a task cancelled before its first step never awaits `coro`: close it (a no-op
        # once it ran), or Python warns that it was never awaited
        task.add_done_callback(lambda _: coro.close())
        self._tasks[name] = task
        return task

    def on_stop(self, name: str, cleanup: Callable[[], Awaitable[None]]) -> None:
        self._cleanups.append((name, cleanup))

    def before_stop(self, name: str, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook` at shutdown while every task still runs (kube's pre-shutdown hooks:
        an API server withdraws its endpoints while it can still write them)."""
        self._before_stop.append((name, hook))

    async def _guard(self, name: str, coro: Coroutine[Any, Any, Any]) -> Any:
        try:
            result = await coro
        except asyncio.CancelledError:
            raise
        except FatalError:
            self._first_ended = self._first_ended or name
            raise
        except Exception as e:
            if self._first_ended:
                # Brought down by the first one (the store failed, so the kubelet's writes
                # fail too): one line, the cause is already reported.
                log.warning("component %s stopped too: %s: %s", name, type(e).__name__, e)
            else:
                self._first_ended = name
                log.exception("component %s crashed", name)
            raise
        self._first_ended = self._first_ended or name  # returned: it ended on its own too
        return result

    async def wait(self, stop: asyncio.Event) -> TaskFailed | None:
        """Wait until `stop` is set or a root task ends; returns why the cluster stopped
        (None for a requested stop)."""
        stopper = asyncio.create_task(stop.wait(), name="stop-request")
        try:
            done, _ = await asyncio.wait(
                [stopper, *self._tasks.values()], return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopper.cancel()
        ended = [t for t in done if t is not stopper]
        if not ended:
            return None
        # Several may have ended by now (the store, then what its failure broke): the
        # first one is the cause.
        first = self._tasks.get(self._first_ended)
        task = first if first is not None and first.done() else ended[0]
        cause = None if task.cancelled() else task.exception()
        return TaskFailed(task.get_name(), cause)

    async def shutdown(self) -> None:
        """Run the before-stop hooks, cancel every task, give them the grace period, then run
        the cleanups."""
        for name, hook in reversed(self._before_stop):
            try:
                await asyncio.wait_for(hook(), timeout=self.before_stop_seconds)
            except Exception as e:  # TimeoutError too: stopping goes on regardless
                log.warning("before stopping, %s failed: %s: %s", name, type(e).__name__, e)
        self._before_stop.clear()
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.stop_grace_seconds)
            for task in pending:
                log.warning("component %s did not stop within %.0fs", task.get_name(),
                            self.stop_grace_seconds)
        for task in self._tasks.values():
            if task.done() and not task.cancelled():
                task.exception()  # reported already (wait, or _guard's line): retrieved
        for name, cleanup in reversed(self._cleanups):
            try:
                await asyncio.wait_for(cleanup(), timeout=self.stop_grace_seconds * 2)
            except Exception:
                log.exception("stopping %s failed", name)
        self._tasks.clear()
        self._cleanups.clear()
