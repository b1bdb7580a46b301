"""The garbage collector: follows ownerReferences across every resource. Dependents of
gone owners are deleted (background), owners deleted in the foreground wait for their
blocking dependents, and owners deleted with orphan leave their dependents unowned."""

from __future__ import annotations

import copy
import logging

from minikube_py.api.crdresources import custom_resource_for_kind, watched_custom_resource
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    BUILTIN,
    CUSTOMRESOURCEDEFINITIONS,
    EVENTS,
    EVENTS_V1,
    Resource,
    resource_for_kind,
)
from minikube_py.client.informer import Informer, object_key
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop
from minikube_py.controllers.ownergraph import (
    FOREGROUND_FINALIZER,
    ORPHAN_FINALIZER,
    Action,
    Node,
    OwnerGraph,
    OwnerState,
    decide_dependent,
    has_finalizer,
    owner_refs,
    owner_state,
)

log = logging.getLogger("minikube_py.controllers.garbagecollector")

# Events own nothing and are owned by nothing; they are the bulk of the cluster's objects.
IGNORED = frozenset({EVENTS, EVENTS_V1})


class GarbageCollector:
    name = "garbage-collector-controller"

    def __init__(self, ctx: ControllerContext, *, workers: int = 4,
                 resources: tuple[Resource, ...] = BUILTIN) -> None:
        self.ctx = ctx
        self.graph = OwnerGraph()
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        # Owner references, finalizers, uids and deletion marks are all in metadata.
        self.informers: dict[Resource, Informer] = {}
        for r in resources:
            if r not in IGNORED:
                self._follow(r)
        # Custom resources own and are owned too: each Established CRD's kind is followed
        # from when it appears (kube's collector follows discovery).
        self.crds = ctx.informers.informer(CUSTOMRESOURCEDEFINITIONS)
        self.crds.add_handlers(self._crd_changed, lambda _old, new: self._crd_changed(new))

    def _follow(self, resource: Resource) -> None:
        informer = self.informers[resource] = self.ctx.informers.informer(
            resource, metadata_only=True)
        informer.add_handlers(
            lambda obj, r=resource: self._added(r, obj),  # type: ignore[misc]
            lambda old, new, r=resource: self._updated(r, old, new),  # type: ignore[misc]
            self._deleted)

    def _crd_changed(self, crd: Obj) -> None:
        resource = watched_custom_resource(crd)
        if resource is not None and not any(
                (r.group, r.plural) == (resource.group, resource.plural) for r in self.informers):
            self._follow(resource)

    # --- graph upkeep (informer handlers: index and enqueue only) -------------------------

    def _interesting(self, obj: Obj) -> bool:
        return bool(owner_refs(obj)) or has_finalizer(obj, ORPHAN_FINALIZER) or \
            has_finalizer(obj, FOREGROUND_FINALIZER)

    def _added(self, resource: Resource, obj: Obj) -> None:
        self.graph.upsert(resource, obj)
        if self._interesting(obj):
            self.loop.enqueue_key(obj["metadata"]["uid"])

    def _updated(self, resource: Resource, old: Obj, new: Obj) -> None:
        for owner in self.graph.upsert(resource, new):
            self.loop.enqueue_key(owner)  # an owner waiting on this dependent may be done
        if self._interesting(new):
            self.loop.enqueue_key(new["metadata"]["uid"])

    def _deleted(self, obj: Obj) -> None:
        dependents, owners = self.graph.remove(obj)
        for uid in dependents + owners:
            self.loop.enqueue_key(uid)

    async def run(self) -> None:
        await self.loop.run()

    # --- reconcile --------------------------------------------------------------------

    def _cached(self, uid: str) -> tuple[Node, Obj] | None:
        node = self.graph.nodes.get(uid)
        if node is None:
            return None
        key = f"{node.namespace}/{node.name}" if node.namespace else node.name
        obj = self.informers[node.resource].get(key)
        if obj is None or obj["metadata"].get("uid") != uid:
            return None
        return node, obj

    async def sync(self, key: str) -> None:
        found = self._cached(key)
        if found is None:
            return
        node, obj = found
        if obj["metadata"].get("deletionTimestamp"):
            if has_finalizer(obj, ORPHAN_FINALIZER):
                await self._orphan_dependents(node, obj)
            elif has_finalizer(obj, FOREGROUND_FINALIZER):
                await self._delete_dependents_first(node, obj)
            return
        if owner_refs(obj):
            await self._attempt_to_delete(node, obj)

    async def _owner_state(self, ref: Obj, namespace: str | None) -> OwnerState:
        """From the cache when the owner is there; a missing owner is confirmed with a GET
        (the cache may just be behind), as kube does before deleting anything."""
        cached = self._cached(str(ref.get("uid")))
        if cached is not None:
            return owner_state(cached[1], ref)
        api_version, kind = str(ref.get("apiVersion")), str(ref.get("kind"))
        resource = resource_for_kind(api_version, kind) or \
            custom_resource_for_kind(self.crds.list(), api_version, kind)
        if resource is None:
            return OwnerState.SOLID  # a kind we do not serve: never delete on a guess
        try:
            owner = await self.ctx.client.get(
                resource, str(ref.get("name")),
                namespace=namespace if resource.namespaced else None)
        except ApiError as e:
            if e.code != 404:
                raise
            return OwnerState.DANGLING
        return owner_state(owner, ref)

    async def _states(self, obj: Obj, known: dict[str, OwnerState]) -> dict[str, OwnerState]:
        states = dict(known)
        for ref in owner_refs(obj):
            uid = str(ref.get("uid"))
            if uid not in states:
                states[uid] = await self._owner_state(ref, obj["metadata"].get("namespace"))
        return states

    async def _attempt_to_delete(self, node: Node, cached: Obj) -> None:
        states = await self._states(cached, {})
        if decide_dependent(cached, states).action is Action.KEEP:
            return
        # Act only on what the API says now, never on the cache alone.
        fresh = await self._get(node)
        if fresh is None or fresh["metadata"].get("uid") != cached["metadata"]["uid"]:
            return
        decision = decide_dependent(fresh, await self._states(fresh, states))
        meta = fresh["metadata"]
        if decision.action is Action.DELETE:
            log.info("deleting %s %s (owners gone or waiting), propagation %s",
                     node.resource, object_key(fresh), decision.propagation)
            try:
                await self.ctx.client.delete(node.resource, node.name, namespace=node.namespace,
                                             propagation_policy=decision.propagation,
                                             preconditions={"uid": meta["uid"]})
            except ApiError as e:
                if e.code not in (404, 409):
                    raise
        elif decision.action is Action.PATCH_REFS:
            meta["ownerReferences"] = list(decision.refs)
            await self.ctx.client.update(node.resource, fresh, namespace=node.namespace)

    async def _delete_dependents_first(self, node: Node, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        for dependent in self.graph.dependents_of(uid):
            self.loop.enqueue_key(dependent)  # each sees this owner WAITING and goes
        if self.graph.blocking_dependents(uid):
            return  # their deletion events bring us back
        await self._remove_finalizer(node, uid, FOREGROUND_FINALIZER)

    async def _orphan_dependents(self, node: Node, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        for dependent_uid in self.graph.dependents_of(uid):
            dep = self.graph.nodes.get(dependent_uid)
            if dep is None:
                continue
            fresh = await self._get(dep)
            if fresh is None or fresh["metadata"].get("uid") != dependent_uid:
                continue
            refs = owner_refs(fresh)
            kept = [r for r in refs if r.get("uid") != uid]
            if kept == refs:
                continue
            fresh["metadata"]["ownerReferences"] = kept
            try:
                await self.ctx.client.update(dep.resource, fresh, namespace=dep.namespace)
            except ApiError as e:
                if e.code != 404:
                    raise
        await self._remove_finalizer(node, uid, ORPHAN_FINALIZER)

    async def _remove_finalizer(self, node: Node, uid: str, finalizer: str) -> None:
        fresh = await self._get(node)
        if fresh is None or fresh["metadata"].get("uid") != uid:
            return
        finalizers = fresh["metadata"].get("finalizers") or []
        if finalizer not in finalizers:
            return
        body = copy.deepcopy(fresh)
        body["metadata"]["finalizers"] = [f for f in finalizers if f != finalizer]
        try:
            await self.ctx.client.update(node.resource, body, namespace=node.namespace)
        except ApiError as e:
            if e.code != 404:
                raise

    async def _get(self, node: Node) -> Obj | None:
        try:
            return await self.ctx.client.get(node.resource, node.name, namespace=node.namespace)
        except ApiError as e:
            if e.code != 404:
                raise
            return None
