"""Supervisor: the first root task to end stops the cluster, and says why."""

from __future__ import annotations

import asyncio

import pytest

from minikube_py.supervisor import FatalError, Supervisor


async def forever() -> None:
    await asyncio.Event().wait()


async def test_a_fatal_error_is_reported_as_one_plain_line_without_a_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    async def store() -> None:
        raise FatalError("fsync of the WAL failed: [Errno 5] Input/output error")

    sup = Supervisor()
    sup.start("apiserver", forever())
    sup.start("store", store())
    why = await asyncio.wait_for(sup.wait(asyncio.Event()), 5)
    await sup.shutdown()
    assert str(why) == "store: fsync of the WAL failed: [Errno 5] Input/output error"
    assert "Traceback" not in caplog.text


async def test_a_crash_is_reported_with_the_component_and_logged_with_its_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    async def scheduler() -> None:
        raise KeyError("node")

    sup = Supervisor()
    sup.start("scheduler", scheduler())
    why = await asyncio.wait_for(sup.wait(asyncio.Event()), 5)
    await sup.shutdown()
    assert str(why) == "component 'scheduler' stopped (KeyError: 'node')"
    assert "component scheduler crashed" in caplog.text and "Traceback" in caplog.text


async def test_a_requested_stop_is_not_a_failure() -> None:
    sup = Supervisor()
    sup.start("store", forever())
    stop = asyncio.Event()
    stop.set()
    assert await asyncio.wait_for(sup.wait(stop), 5) is None
    await sup.shutdown()


async def test_components_brought_down_by_the_first_failure_get_one_line_each(
        caplog: pytest.LogCaptureFixture) -> None:
    broken = asyncio.Event()

    async def store() -> None:
        broken.set()
        raise FatalError("write to the WAL failed: [Errno 28] No space left on device")

    async def kubelet() -> None:
        await broken.wait()
        raise RuntimeError("its writes fail too")

    sup = Supervisor()
    sup.start("store", store())
    kubelet_task = sup.start("kubelet", kubelet())
    why = await asyncio.wait_for(sup.wait(asyncio.Event()), 5)
    await asyncio.wait([kubelet_task], timeout=5)  # it ends on the broken store by itself
    await sup.shutdown()
    assert str(why).startswith("store: write to the WAL failed")
    assert "component kubelet stopped too: RuntimeError: its writes fail too" in caplog.text
    assert "Traceback" not in caplog.text


async def test_before_stop_hooks_run_while_the_tasks_still_run() -> None:
    seen: list[str] = []

    async def withdraw() -> None:
        seen.append("withdraw: store running" if not store.done() else "withdraw: too late")

    async def close() -> None:
        seen.append("close")

    sup = Supervisor()
    store = sup.start("store", forever())
    sup.on_stop("store", close)
    sup.before_stop("endpoints", withdraw)
    await sup.shutdown()
    assert seen == ["withdraw: store running", "close"]


async def test_a_before_stop_hook_that_hangs_does_not_hold_the_stop_up(
        caplog: pytest.LogCaptureFixture) -> None:
    sup = Supervisor(before_stop_seconds=0.05)
    sup.start("store", forever())
    sup.before_stop("endpoints", forever)
    await asyncio.wait_for(sup.shutdown(), 5)
    assert "before stopping, endpoints failed: TimeoutError" in caplog.text
