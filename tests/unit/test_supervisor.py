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
