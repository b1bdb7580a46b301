"""The scheduling queue with an injected clock: priority, backoff, parking."""

from __future__ import annotations

from minikube_py.scheduler.queue import SchedulingQueue
from tests.unit.scheduler.helpers import make_pod


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_higher_priority_pops_first_then_fifo() -> None:
    q = SchedulingQueue(clock=FakeClock())
    low1, high, low2 = make_pod(), make_pod(priority=10), make_pod()
    for p in (low1, high, low2):
        q.add(p)
    assert [q.pop_ready()["metadata"]["uid"] for _ in range(3)] == [
        high["metadata"]["uid"], low1["metadata"]["uid"], low2["metadata"]["uid"]]
    assert q.pop_ready() is None


def test_failed_attempt_waits_out_an_exponential_backoff() -> None:
    clock = FakeClock()
    q = SchedulingQueue(clock=clock, initial_backoff=1.0, max_backoff=10.0)
    pod = make_pod()
    uid = pod["metadata"]["uid"]
    q.add(pod)
    for expected_wait in (1.0, 2.0, 4.0, 8.0, 10.0):
        assert q.pop_ready() is not None
        q.requeue_backoff(uid)
        assert q.pop_ready() is None
        assert q.next_ready_at() == clock.now + expected_wait
        clock.now += expected_wait


def test_parked_pod_returns_after_a_cluster_change() -> None:
    clock = FakeClock()
    q = SchedulingQueue(clock=clock)
    pod = make_pod()
    q.add(pod)
    q.pop_ready()
    q.park_unschedulable(pod["metadata"]["uid"])
    assert q.pop_ready() is None
    q.cluster_changed()
    clock.now += 1.0
    assert q.pop_ready() is not None


def test_parked_pod_is_retried_after_the_flush_interval() -> None:
    clock = FakeClock()
    q = SchedulingQueue(clock=clock, max_unschedulable_seconds=60)
    pod = make_pod()
    q.add(pod)
    q.pop_ready()
    q.park_unschedulable(pod["metadata"]["uid"])
    clock.now += 59
    assert q.pop_ready() is None
    clock.now += 1
    assert q.pop_ready() is not None


def test_deleted_pod_is_never_popped() -> None:
    q = SchedulingQueue(clock=FakeClock())
    pod = make_pod()
    q.add(pod)
    q.delete(pod["metadata"]["uid"])
    assert q.pop_ready() is None and len(q) == 0


def test_refresh_keeps_a_parked_pod_parked() -> None:
    clock = FakeClock()
    q = SchedulingQueue(clock=clock)
    pod = make_pod()
    q.add(pod)
    q.pop_ready()
    q.park_unschedulable(pod["metadata"]["uid"])
    q.refresh({**pod, "status": {"conditions": []}})
    assert q.pop_ready() is None
