"""TaskSet: critical children end their owner, detached ones are logged and undone."""

from __future__ import annotations

import asyncio
import logging

import pytest

from minikube_py.tasks import ChildTaskFailed, TaskSet


async def test_a_critical_child_that_raises_ends_wait_failure_with_its_cause() -> None:
    tasks = TaskSet("store")

    async def loop() -> None:
        raise OSError(5, "Input/output error")

    tasks.spawn("loop", loop(), critical=True)
    with pytest.raises(ChildTaskFailed) as info:
        await asyncio.wait_for(tasks.wait_failure(), 5)
    assert info.value.name == "loop"
    assert isinstance(info.value.cause, OSError)
    assert "store: task 'loop' stopped (OSError" in str(info.value)


async def test_a_critical_child_that_returns_is_a_failure_too() -> None:
    tasks = TaskSet("store")

    async def ticker() -> None:
        return None

    tasks.spawn("ticker", ticker(), critical=True)
    with pytest.raises(ChildTaskFailed, match="it returned"):
        await asyncio.wait_for(tasks.wait_failure(), 5)


async def test_a_detached_child_failure_is_logged_and_undone_but_not_fatal(
        caplog: pytest.LogCaptureFixture) -> None:
    tasks = TaskSet("scheduler")
    undone: list[BaseException] = []

    async def bind() -> None:
        raise KeyError("node")

    with caplog.at_level(logging.ERROR):
        task = tasks.spawn("bind", bind(), on_error=undone.append)
        with pytest.raises(KeyError):
            await task
        await asyncio.sleep(0)  # done callbacks run on the next loop iteration
    assert [type(e) for e in undone] == [KeyError]
    assert "scheduler: task bind failed" in caplog.text
    assert "Traceback" in caplog.text
    assert tasks.failure is None
    assert len(tasks) == 0


async def test_close_cancels_every_child_without_counting_it_as_a_failure() -> None:
    tasks = TaskSet("kubelet")
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    tasks.spawn("loop", forever(), critical=True)
    tasks.spawn("worker", forever())
    await started.wait()
    await tasks.close()
    await asyncio.sleep(0)
    assert len(tasks) == 0
    assert tasks.failure is None
    with pytest.raises(RuntimeError, match="stopping"):
        tasks.spawn("late", forever())
