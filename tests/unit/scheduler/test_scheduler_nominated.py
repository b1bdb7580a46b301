"""The scheduler's shell keeps the room a preemption made: a pod nominated to a node counts
there for pods of no higher priority than its own, until it is bound."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from minikube_py.apiserver.service import ApiService
from minikube_py.client.events import EventRecorder
from minikube_py.client.informer import InformerFactory
from minikube_py.scheduler.scheduler import Scheduler
from tests.unit.scheduler.helpers import make_node, make_pod


@pytest.fixture
async def scheduler(api: ApiService) -> AsyncIterator[Scheduler]:
    """A scheduler fed by hand (no informers run): one 4-cpu node, and a pending pod of
    priority 100 asking 3 cpus nominated there."""
    sched = Scheduler(api, InformerFactory(api), EventRecorder(api, "default-scheduler"))
    sched._node_added(make_node("n", cpu="4"))
    nominee = make_pod("nominee", cpu="3", priority=100)
    nominee["status"] = {"nominatedNodeName": "n"}
    sched._pod_added(nominee)
    yield sched
    await sched._tasks.close()


def placed(sched: Scheduler, pod: dict[str, Any]) -> bool:
    sched.schedule_one(pod)
    return pod["metadata"]["uid"] in sched._assumed


@pytest.mark.parametrize("priority", [10, 100])
async def test_a_pod_of_no_higher_priority_does_not_take_a_nominated_pods_room(
        scheduler: Scheduler, priority: int) -> None:
    assert not placed(scheduler, make_pod("other", cpu="2", priority=priority))


async def test_a_pod_of_higher_priority_may(scheduler: Scheduler) -> None:
    assert placed(scheduler, make_pod("urgent", cpu="2", priority=200))


async def test_what_the_nominee_leaves_free_is_still_free(scheduler: Scheduler) -> None:
    assert placed(scheduler, make_pod("small", cpu="1", priority=10))


async def test_a_bound_nominee_no_longer_holds_room_twice(scheduler: Scheduler) -> None:
    [(_, nominee)] = scheduler._nominated.values()
    assert placed(scheduler, nominee)  # its own nomination does not stand in its way
    assert placed(scheduler, make_pod("small", cpu="1", priority=10))
