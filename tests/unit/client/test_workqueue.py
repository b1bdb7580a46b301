"""The controllers' work queue: dedupe, no concurrent sync of one key, backoff."""

from __future__ import annotations

import asyncio

from minikube_py.client.workqueue import WorkQueue, run_workers


async def test_a_key_added_twice_is_queued_once() -> None:
    q = WorkQueue()
    q.add("a")
    q.add("a")
    q.add("b")
    assert [await q.get(), await q.get()] == ["a", "b"]
    assert len(q) == 0


async def test_a_key_added_while_processing_comes_back_after_done() -> None:
    q = WorkQueue()
    q.add("a")
    key = await q.get()
    q.add("a")
    assert len(q) == 0  # not handed to a second worker while the first holds it
    q.done(key)
    assert await q.get() == "a"


async def test_rate_limited_requeue_backs_off_exponentially() -> None:
    q = WorkQueue(base_delay=0.01)
    loop = asyncio.get_running_loop()
    delays = []
    for _ in range(3):
        start = loop.time()
        q.add_rate_limited("a")
        await q.get()
        q.done("a")
        delays.append(loop.time() - start)
    assert delays[0] >= 0.01 and delays[1] >= 0.02 and delays[2] >= 0.04
    q.forget("a")
    assert q.failures("a") == 0


async def test_workers_never_sync_one_key_concurrently() -> None:
    q = WorkQueue()
    running: set[str] = set()
    overlaps = 0
    synced: list[str] = []
    finished = asyncio.Event()

    async def sync(key: str) -> None:
        nonlocal overlaps
        if key in running:
            overlaps += 1
        running.add(key)
        await asyncio.sleep(0)
        if len(synced) < 5:
            q.add(key)  # re-added while a worker holds it
        running.discard(key)
        synced.append(key)
        if len(synced) >= 6:
            finished.set()

    task = asyncio.create_task(run_workers(q, sync, workers=4))
    q.add("k")
    await asyncio.wait_for(finished.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert overlaps == 0 and synced == ["k"] * len(synced) and len(synced) >= 6


async def test_a_failing_sync_is_retried() -> None:
    q = WorkQueue(base_delay=0.001)
    attempts = 0
    done = asyncio.Event()

    async def sync(key: str) -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise RuntimeError("not yet")
        done.set()

    task = asyncio.create_task(run_workers(q, sync))
    q.add("k")
    await asyncio.wait_for(done.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert attempts == 3 and q.failures("k") == 0


async def test_workers_stop_and_run_workers_returns_once_the_queue_shuts_down() -> None:
    q = WorkQueue("q")
    synced: list[str] = []
    done = asyncio.Event()

    async def sync(key: str) -> None:
        synced.append(key)
        done.set()

    task = asyncio.create_task(run_workers(q, sync, workers=3))
    q.add("k")
    await asyncio.wait_for(done.wait(), 5)
    q.shut_down()
    await asyncio.wait_for(task, 5)
    assert synced == ["k"] and task.exception() is None


async def test_cancelling_run_workers_shuts_the_queue_down() -> None:
    q = WorkQueue("q")
    syncing = asyncio.Event()

    async def sync(key: str) -> None:
        syncing.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(run_workers(q, sync, workers=2))
    q.add("k")
    await asyncio.wait_for(syncing.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert q.is_shut_down
    q.add("later")
    assert len(q) == 0
