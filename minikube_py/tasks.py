"""Guarded child tasks: each named, its failure logged with its traceback, none left behind.

A component that starts tasks of its own (the store's node loop, the scheduler's binds, a
kubelet's pod workers) keeps them in a `TaskSet`. Two kinds of child:

- critical: the component cannot go on without it (the store's loop after a failed fsync).
  Its end, by an exception or by returning, is recorded, and `wait_failure()` raises it, so
  the component's own supervised `run()` ends and the supervisor stops the process.
- detached: one piece of work among many (a bind, an event write). It is expected to handle
  the errors it knows; anything else is logged once with its traceback and the optional
  `on_error` callback undoes what the work left half done (a pod assumed on a node).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

log = logging.getLogger("minikube_py.tasks")


class ChildTaskFailed(Exception):
    """A critical child task ended; its owner cannot go on."""

    def __init__(self, owner: str, name: str, cause: BaseException | None) -> None:
        why = f"{type(cause).__name__}: {cause}" if cause else "it returned"
        super().__init__(f"{owner}: task {name!r} stopped ({why})")
        self.owner = owner
        self.name = name
        self.cause = cause


class TaskSet:
    """The child tasks of one component."""

    def __init__(self, owner: str, *, logger: logging.Logger | None = None) -> None:
        self.owner = owner
        self._log = logger or log
        self._tasks: set[asyncio.Task[Any]] = set()
        self._failure: ChildTaskFailed | None = None
        self._failed = asyncio.Event()
        self._closing = False

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any], *, critical: bool = False,
              on_error: Callable[[BaseException], None] | None = None) -> asyncio.Task[Any]:
        if self._closing:
            coro.close()
            raise RuntimeError(f"{self.owner} is stopping: cannot start {name!r}")
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.owner}:{name}")
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._ended(t, name, critical, on_error))
        return task

    def _ended(self, task: asyncio.Task[Any], name: str, critical: bool,
               on_error: Callable[[BaseException], None] | None) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            if critical and not self._closing:
                self._fail(name, None)
            return
        exc = task.exception()
        if exc is not None:
            self._log.error("%s: task %s failed", self.owner, name, exc_info=exc)
            if on_error is not None:
                try:
                    on_error(exc)
                except Exception:
                    self._log.exception("%s: undoing the failed task %s failed", self.owner,
                                        name)
        if critical and not self._closing:
            self._fail(name, exc)

    def _fail(self, name: str, exc: BaseException | None) -> None:
        if self._failure is None:
            self._failure = ChildTaskFailed(self.owner, name, exc)
            self._failed.set()

    @property
    def failure(self) -> ChildTaskFailed | None:
        return self._failure

    async def wait_failure(self) -> NoReturn:
        """Wait until a critical child ends, then raise why."""
        await self._failed.wait()
        assert self._failure is not None
        raise self._failure

    def __len__(self) -> int:
        return len(self._tasks)

    async def close(self) -> None:
        """Cancel every child and wait for them all to end; the set takes no new ones."""
        self._closing = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
