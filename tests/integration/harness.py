"""An in-process control plane for integration tests: the real API service over the real
in-memory store, informers, the real scheduler, and simulated nodes (no containers) that
report bound pods Running. Controllers under test are added by the test."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp.test_utils import TestServer

from minikube_py.api.resources import NAMESPACES, NODES, PODS, Resource
from minikube_py.apiserver.authn import KUBE_CONTROLLER_MANAGER, KUBE_SCHEDULER
from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.service import ApiService
from minikube_py.client.events import EventRecorder
from minikube_py.client.http import HttpClient
from minikube_py.client.informer import InformerFactory
from minikube_py.controllers.base import ControllerContext
from minikube_py.scheduler.scheduler import Scheduler
from minikube_py.simnode.simnode import SimulatedNodes, SimulatedNodeSpec
from minikube_py.store.memory import MemoryKV
from minikube_py.store.types import KV

T = TypeVar("T")
Obj = dict[str, Any]


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
    scheduler: Scheduler | None = None
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def start(self, name: str, run: Callable[[], Awaitable[Any]]) -> asyncio.Task[Any]:
        """Run a component (e.g. a controller's `run`) until the harness closes."""
        task: asyncio.Task[Any] = asyncio.create_task(run(), name=name)  # type: ignore[arg-type]
        self._tasks.append(task)
        return task

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
                        node_spec: SimulatedNodeSpec | None = None,
                        service_account_admission: bool = False,
                        store: KV | None = None,
                        ) -> AsyncIterator[ControlPlane]:
    """`service_account_admission`: as serve's API server (pods then wait for their
    namespace's default ServiceAccount: run its controller). `store`: the API server's
    (the caller's to close; by default an in-memory one of its own)."""
    kv = store or MemoryKV()
    api = ApiService(kv, service_account_admission=service_account_admission)
    await api.start()
    informers = InformerFactory(api)
    # Controllers and the scheduler act as their own identities, as in `serve`: what they
    # do here is what their bootstrap roles allow.
    manager_client = api.as_user(KUBE_CONTROLLER_MANAGER)
    manager_informers = InformerFactory(manager_client)
    plane = ControlPlane(api, informers,
                         ControllerContext(manager_client, manager_informers), None)
    if nodes:
        plane.nodes = SimulatedNodes(api, informers, nodes,
                                     spec=node_spec or SimulatedNodeSpec(taint=False))
        plane.start("simulated-nodes", plane.nodes.run)
    if scheduler:
        scheduler_client = api.as_user(KUBE_SCHEDULER)
        scheduler_informers = InformerFactory(scheduler_client)
        sched = Scheduler(scheduler_client, scheduler_informers,
                          EventRecorder(scheduler_client, "default-scheduler"))
        plane.scheduler = sched
        plane.start("scheduler", sched.run)
        plane.start("scheduler-informers", scheduler_informers.run)
    plane.start("informers", informers.run)
    plane.start("controller-manager-informers", manager_informers.run)
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
        if store is None:
            await kv.close()


@dataclass
class ControllerManager:
    """Controllers on a context of their own; `start` runs one until the manager stops."""

    plane: ControlPlane
    ctx: ControllerContext
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def start(self, name: str, run: Callable[[], Awaitable[Any]]) -> None:
        self._tasks.append(self.plane.start(name, run))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@asynccontextmanager
async def controller_manager(plane: ControlPlane) -> AsyncIterator[ControllerManager]:
    """A controller manager that starts now, as kube-controller-manager after a restart:
    its informers start empty and fill over HTTP from the API server, so a big LIST takes
    a while, during which the small caches are already full."""
    server = TestServer(build_app(plane.api), host="127.0.0.1")
    await server.start_server()
    client = HttpClient(f"http://127.0.0.1:{server.port}")
    informers = InformerFactory(client)
    manager = ControllerManager(plane, ControllerContext(client, informers,
                                                         clock=plane.ctx.clock))
    manager.start("controller-manager-informers", informers.run)
    try:
        yield manager
    finally:
        await manager.stop()
        await client.close()
        await server.close()


CROWD_NAMESPACE = "crowd"


async def crowd_the_pod_cache(plane: ControlPlane, count: int = 2000) -> None:
    """`count` pods in a namespace of their own, bound to a node that does not exist (so
    nothing schedules or runs them): a pod LIST then takes several pages."""
    await plane.api.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                        "metadata": {"name": CROWD_NAMESPACE}})
    for i in range(count):
        await plane.api.create(PODS, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"crowd-{i}"},
            "spec": {"nodeName": "elsewhere",
                     "containers": [{"name": "c", "image": "busybox"}]}},
            namespace=CROWD_NAMESPACE)


@dataclass
class History:
    """Every event of one resource in a namespace from a resourceVersion on, in the
    store's order: what was created and deleted again is in it all the same."""

    events: list[tuple[str, Obj]] = field(default_factory=list)

    def created(self) -> list[str]:
        return [obj["metadata"]["name"] for kind, obj in self.events if kind == "ADDED"]

    def versions(self, name: str) -> list[Obj]:
        """Every state of the object `name` that was written since."""
        return [obj for kind, obj in self.events
                if kind in ("ADDED", "MODIFIED") and obj["metadata"]["name"] == name]


@asynccontextmanager
async def history(plane: ControlPlane, resource: Resource,
                  namespace: str = "default") -> AsyncIterator[History]:
    """Records the events of `resource` in `namespace` from now on."""
    rv = (await plane.api.list(resource, namespace=namespace))["metadata"]["resourceVersion"]
    seen = History()

    async def follow() -> None:
        async for event in plane.api.watch(resource, namespace=namespace, resource_version=rv):
            seen.events.append((event.type, event.object))

    task = asyncio.create_task(follow(), name=f"history:{resource}")
    try:
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def pods_created_since(plane: ControlPlane, pods: History,
                             namespace: str = "default") -> list[str]:
    """The pods created since `pods` began, once every pod event up to now is in it: a
    marker pod (bound to no real node, owned by nobody, so no one acts on it) is created
    and awaited, and it comes after every earlier event."""
    marker = f"history-marker-{len(pods.events)}"
    await plane.api.create(PODS, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": marker},
        "spec": {"nodeName": "elsewhere", "containers": [{"name": "c", "image": "busybox"}]}},
        namespace=namespace)

    async def marker_seen() -> bool:
        return marker in pods.created()

    await eventually(marker_seen, plane=plane, what="the pod history to catch up")
    return [name for name in pods.created() if not name.startswith("history-marker-")]
