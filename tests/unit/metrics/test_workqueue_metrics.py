"""A work queue counted in client-go's workqueue metrics: depth read at scrape time, adds,
retries, and how long keys wait and take."""

from __future__ import annotations

import gc

from minikube_py.client.workqueue import WorkQueue
from minikube_py.metrics import new_registry, render
from minikube_py.metrics.workqueue import WorkqueueMetrics
from tests.metrics_text import Scrape


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def counted(metrics: WorkqueueMetrics, name: str, clock: Clock) -> WorkQueue:
    queue = WorkQueue(name=name, clock=clock)
    queue.metrics = metrics.for_queue(queue)
    return queue


async def test_depth_and_adds_follow_the_queued_keys() -> None:
    registry = new_registry(process=False)
    metrics = WorkqueueMetrics(registry)
    clock = Clock()
    queue = counted(metrics, "deployment", clock)
    for key in ("a", "b", "c", "a"):  # "a" twice: queued once
        queue.add(key)
    got = Scrape(render(registry).decode())
    assert got.value("workqueue_depth", name="deployment") == 3
    assert got.value("workqueue_adds_total", name="deployment") == 3
    clock.now += 0.5
    key = await queue.get()
    clock.now += 0.25
    queue.add_rate_limited(key)
    queue.done(key)
    got = Scrape(render(registry).decode())
    assert got.value("workqueue_depth", name="deployment") == 2
    assert got.value("workqueue_queue_duration_seconds_count", name="deployment") == 1
    assert got.value("workqueue_queue_duration_seconds_sum", name="deployment") == 0.5
    assert got.value("workqueue_work_duration_seconds_sum", name="deployment") == 0.25
    assert got.value("workqueue_retries_total", name="deployment") == 1
    queue.shut_down()


def test_a_queue_no_longer_used_drops_out_of_the_depth() -> None:
    registry = new_registry(process=False)
    metrics = WorkqueueMetrics(registry)
    clock = Clock()
    kept = counted(metrics, "kept", clock)
    gone = counted(metrics, "gone", clock)
    gone.add("x")
    kept.add("y")
    del gone
    gc.collect()
    got = Scrape(render(registry).decode())
    assert got.value("workqueue_depth", name="kept") == 1
    assert not got.has("workqueue_depth", name="gone")
    assert got.value("workqueue_adds_total", name="gone") == 1  # counters stay, as kube's
