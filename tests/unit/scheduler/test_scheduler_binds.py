"""The scheduler's binds: a bind that fails by an error it did not expect is undone."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from minikube_py.api.resources import PODS
from minikube_py.apiserver.service import ApiService
from minikube_py.client.events import EventRecorder
from minikube_py.client.informer import InformerFactory
from minikube_py.scheduler.scheduler import Scheduler
from minikube_py.simnode.simnode import SimulatedNodes, SimulatedNodeSpec


class FirstBindBreaks:
    """The API service, except that the first binding fails as a dropped connection does
    (not an ApiError: the scheduler has no answer to map it to)."""

    def __init__(self, api: ApiService) -> None:
        self._api = api
        self.broken = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    async def create(self, resource: Any, body: Any, **kwargs: Any) -> Any:
        if kwargs.get("subresource") == "binding" and not self.broken:
            self.broken += 1
            raise ConnectionResetError("connection reset by peer")
        return await self._api.create(resource, body, **kwargs)


async def node_name_of(api: ApiService, name: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        pod = await api.get(PODS, name, namespace="default")
        if pod["spec"].get("nodeName"):
            return str(pod["spec"]["nodeName"])
        assert time.monotonic() < deadline, f"pod {name} was never bound"
        await asyncio.sleep(0.05)


async def test_a_bind_that_breaks_forgets_its_assumption_and_retries_the_pod(
        api: ApiService, caplog: pytest.LogCaptureFixture) -> None:
    # One node with room for one pod: had the broken bind's assumption been kept, the
    # node would look full and the retry would find no place for the pod.
    informers = InformerFactory(api)
    client = FirstBindBreaks(api)
    scheduler = Scheduler(client, informers, EventRecorder(api, "default-scheduler"))  # type: ignore[arg-type]
    nodes = SimulatedNodes(api, informers, 1, spec=SimulatedNodeSpec(pods=1, taint=False))
    tasks = [asyncio.create_task(c) for c in (informers.run(), nodes.run(), scheduler.run())]
    try:
        await asyncio.wait_for(nodes.ready.wait(), 10)
        await api.create(PODS, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        }, namespace="default")
        assert await node_name_of(api, "p", timeout=10) == "sim-0"
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert client.broken == 1
    assert "scheduler: task bind default/p failed" in caplog.text
    assert "ConnectionResetError" in caplog.text
