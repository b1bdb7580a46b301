"""An in-process control plane for integration tests: the real API service over the real
in-memory store, informers, the real scheduler, and simulated nodes (no containers) that
report bound pods Running. Controllers under test are added by the test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from minikube_py.api.resources import NODES
from minikube_py.apiserver.service import ApiService
from minikube_py.client.events import EventRecorder
from minikube_py.client.informer import InformerFactory
from minikube_py.controllers.base import ControllerContext
from minikube_py.scheduler.scheduler import Scheduler
from minikube_py.simnode.simnode import SimulatedNodes, SimulatedNodeSpec
from minikube_py.store.memory import MemoryKV

T = TypeVar("T")


@dataclass
class FakeClock:
    """A clock that stands still until the test moves it."""

    now: float

    def __call__(self) -> float:
        return self.now


@dataclass
class ControlPlane:
    api: ApiService
    informers: InformerFactory
    ctx: ControllerContext
    nodes: SimulatedNodes | None
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def start(self, name: str, run: Callable[[], Awaitable[Any]]) -> None:
        """Run a component (e.g. a controller's `run`) until the harness closes."""
        self._tasks.append(asyncio.create_task(run(), name=name))  # type: ignore[arg-type]

    def check_tasks(self) -> None:
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception():
                raise AssertionError(f"{task.get_name()} crashed") from task.exception()


async def eventually(check: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0,
                     what: str = "condition", plane: ControlPlane | None = None) -> T:
    """Await `check()` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if plane is not None:
            plane.check_tasks()
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@asynccontextmanager
async def control_plane(*, nodes: int = 2, scheduler: bool = True,
                        node_spec: SimulatedNodeSpec | None = None) -> AsyncIterator[ControlPlane]:
    kv = MemoryKV()
    api = ApiService(kv)
    await api.start()
    informers = InformerFactory(api)
    plane = ControlPlane(api, informers, ControllerContext(api, informers), None)
    if nodes:
        plane.nodes = SimulatedNodes(api, informers, nodes,
                                     spec=node_spec or SimulatedNodeSpec(taint=False))
        plane.start("simulated-nodes", plane.nodes.run)
    if scheduler:
        sched = Scheduler(api, informers, EventRecorder(api, "default-scheduler"))
        plane.start("scheduler", sched.run)
    plane.start("informers", informers.run)
    try:
        if plane.nodes is not None:
            await asyncio.wait_for(plane.nodes.ready.wait(), 10)
            # Registered is not yet seen: let the shared node cache catch up, so a test's
            # first pods are scheduled against every node.
            node_cache = informers.informer(NODES)

            async def all_nodes_cached() -> bool:
                return len(node_cache.list()) >= nodes

            await eventually(all_nodes_cached, what="the node cache to hold every node")
        yield plane
    finally:
        for task in reversed(plane._tasks):
            task.cancel()
        await asyncio.gather(*plane._tasks, return_exceptions=True)
        await api.stop()
        await kv.close()
