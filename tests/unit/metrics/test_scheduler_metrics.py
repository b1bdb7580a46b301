"""The scheduler's metrics: each attempt counted by its result (kube's scheduled,
unschedulable), and the pods pending in each queue read at scrape time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from minikube_py.api.resources import PODS
from minikube_py.apiserver.service import ApiService
from minikube_py.client.events import EventRecorder
from minikube_py.client.informer import InformerFactory
from minikube_py.metrics import new_registry, render
from minikube_py.metrics.scheduler import SchedulerMetrics
from minikube_py.scheduler.scheduler import Scheduler
from minikube_py.simnode.simnode import SimulatedNodes, SimulatedNodeSpec
from tests.conditions import until
from tests.metrics_text import Scrape

PROFILE = {"profile": "default-scheduler"}


def pod(name: str, **spec: object) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


@pytest.fixture
async def scraped(api: ApiService) -> AsyncIterator[CollectorRegistry]:
    registry = new_registry(process=False)
    metrics = SchedulerMetrics(registry)
    informers = InformerFactory(api)
    scheduler = Scheduler(api, informers, EventRecorder(api, "default-scheduler"),
                          metrics=metrics)
    nodes = SimulatedNodes(api, informers, 1, spec=SimulatedNodeSpec(taint=False))
    tasks = [asyncio.create_task(c) for c in (informers.run(), nodes.run(), scheduler.run())]
    await asyncio.wait_for(nodes.ready.wait(), 10)
    yield registry
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def scrape(registry: CollectorRegistry) -> Scrape:
    return Scrape(render(registry).decode())


async def test_a_bound_pod_counts_as_a_scheduled_attempt(api: ApiService,
                                                         scraped: CollectorRegistry) -> None:
    await api.create(PODS, pod("p"), namespace="default")
    await until(lambda: scrape(scraped).value("scheduler_schedule_attempts_total",
                                              result="scheduled", **PROFILE) == 1,
                "the attempt counted")
    got = scrape(scraped)
    assert got.value("scheduler_scheduling_attempt_duration_seconds_count",
                     result="scheduled", **PROFILE) == 1
    assert got.value("scheduler_schedule_attempts_total", result="unschedulable") == 0


async def test_a_pod_no_node_fits_is_unschedulable_and_waits_there(
        api: ApiService, scraped: CollectorRegistry) -> None:
    await api.create(PODS, pod("nowhere", nodeSelector={"no": "such-node"}),
                     namespace="default")
    await until(lambda: scrape(scraped).value("scheduler_pending_pods",
                                              queue="unschedulable") == 1,
                "the pod parked as unschedulable")
    got = scrape(scraped)
    assert got.value("scheduler_schedule_attempts_total", result="unschedulable",
                     **PROFILE) == 1
    assert got.value("scheduler_pending_pods", queue="active") == 0
    assert got.has("scheduler_pending_pods", queue="gated")
