"""The pods of one controller kind (ReplicaSet, ReplicationController, DaemonSet, Job,
StatefulSet): pod events routed to the owning controller's key with its expectations
settled (kube's addPod/updatePod/deletePod), a per-namespace index of the pod cache, and
the one way these controllers create and delete pods (kube's PodControl), which raises
the expectations it will settle and records kube's events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.owners import controller_ref
from minikube_py.api.podutil import is_terminating
from minikube_py.api.resources import PODS
from minikube_py.client.events import NORMAL, WARNING, EventRecorder
from minikube_py.client.informer import Informer, object_key
from minikube_py.controllers.base import ControllerContext, ReconcileLoop
from minikube_py.controllers.expectations import Expectations

Obj = dict[str, Any]
OrphanOwners = Callable[[Obj], Iterable[str]]


@dataclass(frozen=True)
class PodEventMessages:
    """Event messages with {pod}, {owner} and {error}; kube's PodControl by default."""

    created: str = "Created pod: {pod}"
    create_failed: str = "Error creating: {error}"
    deleted: str = "Deleted pod: {pod}"
    delete_failed: str = "Error deleting: {error}"


def slow_start_batches(count: int, initial: int = 1) -> list[int]:
    """Batch sizes 1, 2, 4, ... summing to `count` (kube's slowStartBatch): a template that
    cannot be created fails once, not `count` times."""
    batches: list[int] = []
    remaining = count
    size = min(remaining, initial)
    while size > 0:
        batches.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return batches


def _ns(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def _labels(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _uid(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


class OwnedPods:
    """Pods controlled by objects of `kind`, whose shared informer is `owners`.

    A pod counts as created for its owner's expectations when it shows up controlled by
    that very owner (same uid), and as deleted when it is marked for deletion or gone: a
    pod held by a finalizer must not stall its controller. Pods without a controller are
    routed to `orphan_owners(pod)`, the keys of owners that may adopt them."""

    def __init__(self, ctx: ControllerContext, loop: ReconcileLoop, owners: Informer, *,
                 kind: str, recorder: EventRecorder, orphan_owners: OrphanOwners | None = None,
                 messages: PodEventMessages = PodEventMessages(),
                 expectations: Expectations | None = None) -> None:
        self.kind = kind
        self.expectations = expectations if expectations is not None else Expectations()
        self._client = ctx.client
        self._loop = loop
        self._owners = owners
        self._recorder = recorder
        self._orphan_owners = orphan_owners
        self._messages = messages
        self._by_namespace: dict[str, dict[str, Obj]] = {}
        ctx.informers.informer(PODS).add_handlers(self._added, self._updated, self._deleted)
        owners.add_handlers(on_delete=lambda owner: self.expectations.forget(object_key(owner)))

    # --- reading --------------------------------------------------------------------------

    def in_namespace(self, namespace: str | None) -> list[Obj]:
        """Every cached pod of `namespace`, whoever controls it."""
        return list(self._by_namespace.get(namespace or "", {}).values())

    def controlled_by(self, owner: Obj) -> list[Obj]:
        uid = _uid(owner)
        return [p for p in self.in_namespace(_ns(owner))
                if (controller_ref(p) or {}).get("uid") == uid]

    def satisfied(self, key: str) -> bool:
        """The pods last asked for on behalf of `key` have all been seen (or timed out)."""
        return self.expectations.satisfied(key)

    # --- informer handlers: index, settle expectations, enqueue ---------------------------

    def _owner_key(self, pod: Obj, ref: Obj | None) -> str | None:
        if ref is None or ref.get("kind") != self.kind:
            return None
        return f"{_ns(pod)}/{ref.get('name')}"

    def _is_cached_owner(self, key: str, ref: Obj) -> bool:
        owner = self._owners.get(key)
        return owner is not None and _uid(owner) == ref.get("uid")

    def _index(self, pod: Obj) -> None:
        self._by_namespace.setdefault(_ns(pod), {})[object_key(pod)] = pod

    def _unindex(self, pod: Obj) -> None:
        index = self._by_namespace.get(_ns(pod))
        if index is not None:
            index.pop(object_key(pod), None)
            if not index:
                del self._by_namespace[_ns(pod)]

    def _enqueue_orphan_owners(self, pod: Obj) -> None:
        if self._orphan_owners is not None and not is_terminating(pod):
            for key in self._orphan_owners(pod):
                self._loop.enqueue_key(key)

    def _added(self, pod: Obj) -> None:
        self._index(pod)
        ref = controller_ref(pod)
        if ref is None:
            self._enqueue_orphan_owners(pod)
            return
        key = self._owner_key(pod, ref)
        if key is None:
            return
        if self._is_cached_owner(key, ref):
            self.expectations.creation_observed(key)
        if is_terminating(pod):
            self.expectations.deletion_observed(key, _uid(pod))
        self._loop.enqueue_key(key)

    def _updated(self, old: Obj, new: Obj) -> None:
        self._index(new)
        old_ref, new_ref = controller_ref(old), controller_ref(new)
        if old_ref is not None and (new_ref is None or old_ref.get("uid") != new_ref.get("uid")):
            # Released or taken over: the old owner must notice it lost a pod.
            old_key = self._owner_key(old, old_ref)
            if old_key is not None:
                if is_terminating(new):
                    self.expectations.deletion_observed(old_key, _uid(new))
                self._loop.enqueue_key(old_key)
        if new_ref is None:
            if _labels(old) != _labels(new) or old_ref is not None:
                self._enqueue_orphan_owners(new)
            return
        key = self._owner_key(new, new_ref)
        if key is None:
            return
        if is_terminating(new):
            self.expectations.deletion_observed(key, _uid(new))
        self._loop.enqueue_key(key)

    def _deleted(self, pod: Obj) -> None:
        self._unindex(pod)
        key = self._owner_key(pod, controller_ref(pod))
        if key is not None:
            self.expectations.deletion_observed(key, _uid(pod))
            self._loop.enqueue_key(key)

    # --- writing --------------------------------------------------------------------------

    async def create(self, owner: Obj, bodies: Sequence[Obj]) -> None:
        """Create `owner`'s pods in slow-start batches, run concurrently within a batch.
        The first failing batch ends the call with its first error; what was not created
        is no longer awaited. A named pod that already exists (the cache is behind) is not
        an error: it is in the cache soon."""
        key = object_key(owner)
        self.expectations.expect_creations(key, len(bodies))
        pending = list(bodies)
        for size in slow_start_batches(len(pending)):
            batch, pending = pending[:size], pending[size:]
            results = await asyncio.gather(*(self._create_one(owner, key, b) for b in batch),
                                           return_exceptions=True)
            failure = next((r for r in results if r is not None), None)
            if failure is not None:
                for _ in pending:
                    self.expectations.creation_observed(key)
                raise failure

    async def _create_one(self, owner: Obj, key: str, body: Obj) -> None:
        meta = body.get("metadata") or {}
        pod_name = meta.get("name") or meta.get("generateName") or ""
        try:
            created = await self._client.create(PODS, body, namespace=_ns(owner))
        except ApiError as e:
            self.expectations.creation_observed(key)
            if e.code == 409 and meta.get("name"):
                return
            self._record(owner, WARNING, "FailedCreate", self._messages.create_failed,
                         pod_name, e)
            raise
        self._record(owner, NORMAL, "SuccessfulCreate", self._messages.created,
                     created["metadata"]["name"])

    async def delete(self, owner: Obj, pods: Sequence[Obj]) -> None:
        """Delete `owner`'s pods concurrently, each guarded by its uid; one that is gone
        already (or replaced by a namesake) is not an error. Raises the first error."""
        if not pods:
            return
        key = object_key(owner)
        unique = list({_uid(p): p for p in pods}.values())
        self.expectations.expect_deletions(key, [_uid(p) for p in unique])
        results = await asyncio.gather(*(self._delete_one(owner, key, p) for p in unique),
                                       return_exceptions=True)
        failure = next((r for r in results if r is not None), None)
        if failure is not None:
            raise failure

    async def _delete_one(self, owner: Obj, key: str, pod: Obj) -> None:
        meta = pod["metadata"]
        try:
            await self._client.delete(PODS, meta["name"], namespace=meta.get("namespace"),
                                      preconditions={"uid": meta["uid"]})
        except ApiError as e:
            self.expectations.deletion_observed(key, meta["uid"])
            if e.code in (404, 409):
                return
            self._record(owner, WARNING, "FailedDelete", self._messages.delete_failed,
                         meta["name"], e)
            raise
        self._record(owner, NORMAL, "SuccessfulDelete", self._messages.deleted, meta["name"])

    def _record(self, owner: Obj, event_type: str, reason: str, template: str, pod: str,
                error: ApiError | None = None) -> None:
        message = template.format(pod=pod, owner=owner["metadata"]["name"],
                                  error="" if error is None else str(error))
        self._recorder.record(owner, event_type, reason, message)
