"""The shape every controller shares (kube's sample-controller): informer handlers only
enqueue keys; workers run an idempotent `sync(key)` that reads the cache and writes through
the client; one key never syncs on two workers at once; a failed sync is retried with
backoff; and no sync runs before every informer the controller reads has filled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from minikube_py.api.resources import Resource
from minikube_py.client.events import EventRecorder
from minikube_py.client.informer import Informer, InformerFactory, object_key
from minikube_py.client.interface import ApiClient
from minikube_py.client.workqueue import WorkQueue, run_workers
from minikube_py.metrics.workqueue import WorkqueueMetrics
from minikube_py.tasks import TaskSet

Obj = dict[str, Any]


@dataclass
class ControllerInformers:
    """The shared informers one controller reads, handed out by the shared factory and
    remembered, so that the controller's loop can wait for exactly these to fill."""

    factory: InformerFactory
    _taken: list[Informer] = field(default_factory=list)

    def informer(self, resource: Resource, *, namespace: str | None = None,
                 label_selector: str = "", field_selector: str = "",
                 metadata_only: bool = False) -> Informer:
        inf = self.factory.informer(resource, namespace=namespace,
                                    label_selector=label_selector,
                                    field_selector=field_selector, metadata_only=metadata_only)
        if not any(t is inf for t in self._taken):
            self._taken.append(inf)
        return inf

    def taken(self) -> list[Informer]:
        return list(self._taken)

    async def wait_synced(self) -> None:
        """Until every informer taken so far has listed once (kube's WaitForCacheSync)."""
        for inf in self.taken():
            await inf.synced.wait()


@dataclass
class ControllerContext:
    """What the composition root hands every controller. A controller takes its informers
    from `informers`; its ReconcileLoop waits for all of them, so none can be forgotten.
    Contexts made by `for_controller` share the client, factory and clock but keep their
    own record of informers (a shared context only makes controllers wait for more)."""

    client: ApiClient
    factory: InformerFactory
    clock: Callable[[], float] = time.time
    # Where the controllers' work queues are counted (None: nowhere).
    workqueue_metrics: WorkqueueMetrics | None = None
    informers: ControllerInformers = field(init=False)

    def __post_init__(self) -> None:
        self.informers = ControllerInformers(self.factory)

    def for_controller(self) -> ControllerContext:
        return ControllerContext(self.client, self.factory, self.clock, self.workqueue_metrics)

    def recorder(self, component: str) -> EventRecorder:
        """Events as `component` (e.g. "replicaset-controller"), like kube's sources."""
        return EventRecorder(self.client, component, clock=self.clock)


class Reconciler(Protocol):
    name: str

    async def sync(self, key: str) -> None:
        """Make the world match the object at `key` (namespace/name or name); must be
        idempotent and tolerate a stale cache."""
        ...


@dataclass(frozen=True)
class _Resync:
    period: float
    keys: Callable[[], Iterable[str]]


class ReconcileLoop:
    """A work queue feeding a reconciler's `sync` on a few workers, once the informers of
    the reconciler's context have filled. Take every informer before `run` starts."""

    def __init__(self, reconciler: Reconciler, ctx: ControllerContext, *,
                 workers: int = 2) -> None:
        self.reconciler = reconciler
        self.workers = workers
        self.queue = WorkQueue(name=reconciler.name)
        if ctx.workqueue_metrics is not None:
            self.queue.metrics = ctx.workqueue_metrics.for_queue(self.queue)
        self._informers = ctx.informers
        self._resyncs: list[_Resync] = []

    def enqueue(self, obj: Obj) -> None:
        self.queue.add(object_key(obj))

    def enqueue_key(self, key: str) -> None:
        self.queue.add(key)

    def enqueue_after(self, key: str, delay: float) -> None:
        self.queue.add_after(key, delay)

    def watch_own(self, obj: Obj | None = None, new: Obj | None = None) -> None:
        """Handler for add/update/delete of the controller's own kind: enqueue the key."""
        target = new if new is not None else obj
        if target is not None:
            self.enqueue(target)

    def resync_every(self, period: float, keys: Callable[[], Iterable[str]]) -> None:
        """Also enqueue `keys()` every `period` seconds once synced (kube's periodic
        resync), for controllers that must look again even when nothing changed."""
        self._resyncs.append(_Resync(period, keys))

    async def run(self) -> None:
        # Acting on a half-filled cache would, say, create pods that already exist.
        await self._informers.wait_synced()
        tasks = TaskSet(self.reconciler.name)
        try:
            tasks.spawn("workers", run_workers(self.queue, self.reconciler.sync,
                                               workers=self.workers), critical=True)
            for i, resync in enumerate(self._resyncs):
                tasks.spawn(f"resync-{i}", self._resync(resync), critical=True)
            await tasks.wait_failure()
        finally:
            await tasks.close()

    async def _resync(self, resync: _Resync) -> None:
        while True:
            for key in resync.keys():
                self.queue.add(key)
            await asyncio.sleep(resync.period)


def split_key(key: str) -> tuple[str | None, str]:
    namespace, _, name = key.rpartition("/")
    return (namespace or None), name
