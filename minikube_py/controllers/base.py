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

from minikube_py.api.errors import ApiError
from minikube_py.api.owners import controller_ref
from minikube_py.api.podutil import is_terminating
from minikube_py.api.resources import PODS, Resource
from minikube_py.client.events import NORMAL, WARNING, EventRecorder
from minikube_py.client.informer import Informer, InformerFactory, object_key
from minikube_py.client.interface import ApiClient
from minikube_py.client.workqueue import WorkQueue, run_workers
from minikube_py.controllers.expectations import Expectations
from minikube_py.tasks import TaskSet

Obj = dict[str, Any]


@dataclass
class ControllerInformers:
    """The shared informers one controller reads, handed out by the shared factory and
    remembered, so that the controller's loop can wait for exactly these to fill."""

    factory: InformerFactory
    _taken: list[Informer] = field(default_factory=list)

    def informer(self, resource: Resource, *, namespace: str | None = None,
                 label_selector: str = "", field_selector: str = "") -> Informer:
        inf = self.factory.informer(resource, namespace=namespace,
                                    label_selector=label_selector,
                                    field_selector=field_selector)
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
    informers: ControllerInformers = field(init=False)

    def __post_init__(self) -> None:
        self.informers = ControllerInformers(self.factory)

    def for_controller(self) -> ControllerContext:
        return ControllerContext(self.client, self.factory, self.clock)

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


@dataclass
class OwnedPods:
    """Routes pod events to the key of the controller of `kind` that owns the pod (by its
    controller ownerReference), counting what the controller's expectations wait for. A
    pod marked for deletion counts as deleted, as in kube (a pod held by a finalizer must
    not stall its controller)."""

    kind: str
    loop: ReconcileLoop
    expectations: Expectations
    client: ApiClient
    recorder: EventRecorder

    def owner_key(self, pod: Obj) -> str | None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != self.kind:
            return None
        return f"{pod['metadata'].get('namespace')}/{ref.get('name')}"

    def watch(self, pods: Informer) -> None:
        pods.add_handlers(self.added, self.updated, self.deleted)

    def added(self, pod: Obj) -> None:
        key = self.owner_key(pod)
        if key:
            self.expectations.observed_add(key)
            self.loop.enqueue_key(key)

    def updated(self, old: Obj, new: Obj) -> None:
        key = self.owner_key(new)
        if key:
            if is_terminating(new) and not is_terminating(old):
                self.expectations.observed_delete(key)
            self.loop.enqueue_key(key)

    def deleted(self, pod: Obj) -> None:
        key = self.owner_key(pod)
        if key:
            self.expectations.observed_delete(key)
            self.loop.enqueue_key(key)

    async def create(self, owner: Obj, key: str, bodies: list[Obj]) -> None:
        """Create `owner`'s pods, which the caller has already raised expectations for; a
        failed call lowers them again. Events as kube's controllers record them."""
        namespace = owner["metadata"]["namespace"]
        for body in bodies:
            try:
                created = await self.client.create(PODS, body, namespace=namespace)
            except ApiError as e:
                self.expectations.lower(key, adds=1)
                self.recorder.record(owner, WARNING, "FailedCreate", f"Error creating: {e}")
                raise
            self.recorder.record(owner, NORMAL, "SuccessfulCreate",
                                 f"Created pod: {created['metadata']['name']}")

    async def delete(self, owner: Obj, key: str, names: list[str]) -> None:
        """Delete `owner`'s pods by name, likewise; one already gone is not an error."""
        namespace = owner["metadata"]["namespace"]
        for name in names:
            try:
                await self.client.delete(PODS, name, namespace=namespace)
            except ApiError as e:
                self.expectations.lower(key, deletes=1)
                if e.code != 404:
                    self.recorder.record(owner, WARNING, "FailedDelete", f"Error deleting: {e}")
                    raise
                continue
            self.recorder.record(owner, NORMAL, "SuccessfulDelete", f"Deleted pod: {name}")


def split_key(key: str) -> tuple[str | None, str]:
    namespace, _, name = key.rpartition("/")
    return (namespace or None), name
