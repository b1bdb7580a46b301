"""The ReplicaSet and ReplicationController loops: keep `replicas` active pods matching the
selector, adopting orphans and releasing pods that stopped matching. One implementation;
the two kinds differ only in their resource, selector shape and event source."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.owners import controller_ref, new_controller_ref
from minikube_py.api.podutil import is_active, is_terminating
from minikube_py.api.resources import PODS, REPLICASETS, REPLICATIONCONTROLLERS, Resource
from minikube_py.api.selectors import LabelSelector, selector_from_label_selector_object
from minikube_py.api.timefmt import rfc3339
from minikube_py.client.informer import object_key
from minikube_py.controllers.base import ControllerContext, ReconcileLoop
from minikube_py.controllers.ownedpods import OwnedPods
from minikube_py.controllers.replicaset_decisions import (
    BURST_REPLICAS,
    Claim,
    adoption_patch,
    claim_action,
    pod_from_template,
    pods_to_delete,
    release_patch,
    replica_status,
    status_differs,
)

log = logging.getLogger("minikube_py.controllers.replicaset")

Obj = dict[str, Any]


class ReplicaSyncError(Exception):
    """Creating or deleting pods failed; the key is retried with backoff."""


@dataclass(frozen=True)
class ReplicaKind:
    resource: Resource
    component: str  # the event source and work-queue name, as kube-controller-manager names it
    selector: Callable[[Obj], LabelSelector]


def _set_based_selector(owner: Obj) -> LabelSelector:
    return selector_from_label_selector_object((owner.get("spec") or {}).get("selector"))


def _map_selector(owner: Obj) -> LabelSelector:
    labels = (owner.get("spec") or {}).get("selector") or {}
    return selector_from_label_selector_object({"matchLabels": labels})


REPLICASET_KIND = ReplicaKind(REPLICASETS, "replicaset-controller", _set_based_selector)
REPLICATION_CONTROLLER_KIND = ReplicaKind(REPLICATIONCONTROLLERS, "replication-controller",
                                          _map_selector)


def _ns(obj: Obj) -> str:
    return str(obj["metadata"].get("namespace") or "")


def _labels(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


class ReplicaController:
    """One loop for one kind (ReplicaSet or ReplicationController)."""

    def __init__(self, ctx: ControllerContext, kind: ReplicaKind, *, workers: int = 2) -> None:
        self.name = kind.component
        self._kind = kind
        self._client = ctx.client
        self._clock = ctx.clock
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self._owners = ctx.informers.informer(kind.resource)
        # sibling ReplicaSets (same Deployment) rank deletions by co-location
        self._replicasets = (ctx.informers.informer(REPLICASETS)
                             if kind.resource is REPLICASETS else None)
        self._owners.add_handlers(self.loop.watch_own, self._owner_updated)
        self._pods = OwnedPods(ctx, self.loop, self._owners, kind=kind.resource.kind,
                               recorder=ctx.recorder(kind.component),
                               orphan_owners=self._matching_owners)

    async def run(self) -> None:
        await self.loop.run()

    # --- event handlers: enqueue owners -----------------------------------------------------

    def _owner_updated(self, old: Obj, new: Obj) -> None:
        self.loop.enqueue(new)

    def _matching_owners(self, pod: Obj) -> list[str]:
        """Owners that may adopt the orphan `pod`: their selector matches its labels."""
        labels = _labels(pod)
        ns = _ns(pod)
        keys = []
        for owner in self._owners.list():
            if _ns(owner) != ns:
                continue
            selector = self._kind.selector(owner)
            if not selector.empty and selector.matches(labels):
                keys.append(object_key(owner))
        return keys

    # --- sync --------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        owner = self._owners.get(key)
        if owner is None:
            return
        needs_sync = self._pods.satisfied(key)
        candidates = [p for p in self._pods.in_namespace(_ns(owner)) if is_active(p)]
        pods = await self._claim_pods(owner, candidates)
        error: str | None = None
        scaling_up = True
        if needs_sync and not is_terminating(owner):
            scaling_up, error = await self._manage_replicas(owner, pods)
        await self._update_status(key, owner, pods, error, scaling_up)
        if error is not None:
            raise ReplicaSyncError(error)

    async def _claim_pods(self, owner: Obj, candidates: list[Obj]) -> list[Obj]:
        selector = self._kind.selector(owner)
        claimed: list[Obj] = []
        owner_current: bool | None = None
        for pod in candidates:
            matches = not selector.empty and selector.matches(_labels(pod))
            action = claim_action(pod, owner, matches=matches)
            if action is Claim.KEEP:
                claimed.append(pod)
            elif action is Claim.ADOPT:
                if owner_current is None:
                    owner_current = await self._owner_still_current(owner)
                if not owner_current:
                    continue
                adopted = await self._patch_pod(pod, adoption_patch(pod, new_controller_ref(owner)))
                if adopted is not None:
                    claimed.append(adopted)
            elif action is Claim.RELEASE:
                await self._patch_pod(pod, release_patch(pod, owner["metadata"]["uid"]))
        return claimed

    async def _owner_still_current(self, owner: Obj) -> bool:
        """Adoption re-reads the owner past the cache (kube's RecheckDeletionTimestamp): an
        owner that is being deleted, or was replaced, must not adopt."""
        meta = owner["metadata"]
        try:
            fresh = await self._client.get(self._kind.resource, meta["name"],
                                           namespace=meta.get("namespace"))
        except ApiError as e:
            if e.code == 404:
                return False
            raise
        return fresh["metadata"].get("uid") == meta.get("uid") and not is_terminating(fresh)

    async def _patch_pod(self, pod: Obj, patch: Obj) -> Obj | None:
        meta = pod["metadata"]
        try:
            return await self._client.patch(PODS, meta["name"], patch,
                                            namespace=meta.get("namespace"))
        except ApiError as e:
            # Gone, or changed since we looked: the pod's next event brings us back.
            if e.code in (404, 409):
                return None
            raise

    async def _manage_replicas(self, owner: Obj, pods: list[Obj]) -> tuple[bool, str | None]:
        """Create or delete pods toward spec.replicas: (scaling up, first error)."""
        desired = int((owner.get("spec") or {}).get("replicas", 1) or 0)
        diff = len(pods) - desired
        if diff < 0:
            ref = new_controller_ref(owner)
            template = (owner.get("spec") or {}).get("template") or {}
            bodies = [pod_from_template(owner, template, ref)
                      for _ in range(min(-diff, BURST_REPLICAS))]
            try:
                await self._pods.create(owner, bodies)
            except ApiError as e:
                return True, str(e)
            return True, None
        if diff > 0:
            victims = pods_to_delete(pods, min(diff, BURST_REPLICAS),
                                     self._related_pods(owner, pods))
            try:
                await self._pods.delete(owner, victims)
            except ApiError as e:
                return False, str(e)
            return False, None
        return True, None

    def _related_pods(self, owner: Obj, pods: list[Obj]) -> list[Obj]:
        """Pods of every ReplicaSet with the same controller (a Deployment's old and new
        sets), so scale-down prefers nodes where they are doubled up."""
        parent = controller_ref(owner)
        if self._replicasets is None or parent is None:
            return pods
        siblings = {rs["metadata"].get("uid") for rs in self._replicasets.list()
                    if _ns(rs) == _ns(owner)
                    and (controller_ref(rs) or {}).get("uid") == parent.get("uid")}
        return [p for p in self._pods.in_namespace(_ns(owner))
                if is_active(p) and (controller_ref(p) or {}).get("uid") in siblings]

    async def _update_status(self, key: str, owner: Obj, pods: list[Obj], error: str | None,
                             scaling_up: bool) -> None:
        now = self._clock()
        status, wait = replica_status(owner, pods, now=now, manage_error=error,
                                      scaling_up=scaling_up, timestamp=rfc3339(now))
        if status_differs(owner.get("status"), status):
            meta = owner["metadata"]
            patch = {"status": {**status, "conditions": status.get("conditions")}}
            try:
                await self._client.patch(self._kind.resource, meta["name"], patch,
                                         namespace=meta.get("namespace"), subresource="status")
            except ApiError as e:
                if e.code != 404:
                    raise
                return
        if wait is not None and error is None:
            # a ready pod becomes available once minReadySeconds have passed
            self.loop.enqueue_after(key, wait + 0.05)


class ReplicaSetController(ReplicaController):
    def __init__(self, ctx: ControllerContext, *, workers: int = 2) -> None:
        super().__init__(ctx, REPLICASET_KIND, workers=workers)


class ReplicationControllerController(ReplicaController):
    """core/v1 ReplicationController: a ReplicaSet with a map selector."""

    def __init__(self, ctx: ControllerContext, *, workers: int = 2) -> None:
        super().__init__(ctx, REPLICATION_CONTROLLER_KIND, workers=workers)
