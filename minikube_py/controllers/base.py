"""The shape every controller shares: informer handlers enqueue keys, workers run an
idempotent `sync(key)` that reads the cache and writes through the client."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from minikube_py.api.errors import ApiError
from minikube_py.api.owners import controller_ref
from minikube_py.api.podutil import is_terminating
from minikube_py.api.resources import PODS
from minikube_py.client.events import NORMAL, WARNING, EventRecorder
from minikube_py.client.informer import Informer, InformerFactory, object_key
from minikube_py.client.interface import ApiClient
from minikube_py.client.workqueue import WorkQueue, run_workers
from minikube_py.controllers.expectations import Expectations

Obj = dict[str, Any]


@dataclass
class ControllerContext:
    """What the composition root hands every controller."""

    client: ApiClient
    informers: InformerFactory
    clock: Callable[[], float] = time.time

    def recorder(self, component: str) -> EventRecorder:
        """Events as `component` (e.g. "replicaset-controller"), like kube's sources."""
        return EventRecorder(self.client, component, clock=self.clock)


class Reconciler(Protocol):
    name: str

    async def sync(self, key: str) -> None:
        """Make the world match the object at `key` (namespace/name or name); must be
        idempotent and tolerate a stale cache."""
        ...


@dataclass
class ReconcileLoop:
    """A work queue feeding a reconciler's `sync` on a few workers."""

    reconciler: Reconciler
    workers: int = 2
    queue: WorkQueue = field(init=False)

    def __post_init__(self) -> None:
        self.queue = WorkQueue(name=self.reconciler.name)

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

    async def run(self) -> None:
        await run_workers(self.queue, self.reconciler.sync, workers=self.workers)


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
