"""The namespace controller: empties a namespace being deleted, waits for its content to
go (pods leave gracefully through their kubelet), then lifts the "kubernetes" finalizer
so the API server removes the namespace."""

from __future__ import annotations

import copy
import logging

from minikube_py.api.crdresources import namespaced_custom_resources
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CUSTOMRESOURCEDEFINITIONS, NAMESPACES, PODS, Resource
from minikube_py.api.timefmt import rfc3339
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop
from minikube_py.controllers.namespacecontent import (
    Remaining,
    deletion_conditions,
    namespaced_resources,
    needs_emptying,
    without_kubernetes_finalizer,
)

log = logging.getLogger("minikube_py.controllers.namespace")


class NamespaceController:
    name = "namespace-controller"

    def __init__(self, ctx: ControllerContext, *, recheck_interval: float = 2.0,
                 workers: int = 2) -> None:
        self.ctx = ctx
        self.recheck_interval = recheck_interval
        self.namespaces = ctx.informers.informer(NAMESPACES)
        self.pods = ctx.informers.informer(PODS)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.namespaces.add_handlers(self.loop.watch_own, lambda _o, n: self.loop.enqueue(n))
        self.pods.add_handlers(on_delete=self._pod_deleted)

    def _pod_deleted(self, pod: Obj) -> None:
        """The last pods are usually what a terminating namespace waits for."""
        ns = self.namespaces.get(pod["metadata"].get("namespace") or "")
        if ns is not None and needs_emptying(ns):
            self.loop.enqueue(ns)

    async def run(self) -> None:
        await self.loop.run()

    async def sync(self, key: str) -> None:
        namespace = self.namespaces.get(key)
        if namespace is None or not needs_emptying(namespace):
            return
        remaining = await self._delete_content(key)
        await self._report(namespace, remaining)
        if not remaining.empty:
            self.loop.enqueue_after(key, self.recheck_interval)
            return
        fresh = await self.ctx.client.get(NAMESPACES, key)
        fresh["spec"] = {**(fresh.get("spec") or {}),
                         "finalizers": without_kubernetes_finalizer(fresh)}
        await self.ctx.client.update(NAMESPACES, fresh, subresource="finalize")
        log.info("namespace %s emptied and finalized", key)

    async def _content_resources(self, remaining: Remaining) -> list[Resource]:
        """The built-in namespaced resources, then the custom ones the CRDs define now (kube's
        controller asks discovery each pass)."""
        try:
            crds = (await self.ctx.client.list(CUSTOMRESOURCEDEFINITIONS))["items"]
        except ApiError as e:
            remaining.failures.append(f"listing {CUSTOMRESOURCEDEFINITIONS}: {e}")
            crds = []
        return namespaced_resources() + namespaced_custom_resources(crds)

    async def _delete_content(self, namespace: str) -> Remaining:
        remaining = Remaining()
        for resource in await self._content_resources(remaining):
            try:
                items = (await self.ctx.client.list(resource, namespace=namespace))["items"]
            except ApiError as e:
                if e.code != 404:  # a custom resource whose CRD just went: nothing left
                    remaining.failures.append(f"listing {resource}: {e}")
                continue
            for obj in items:
                meta = obj["metadata"]
                if not meta.get("deletionTimestamp"):
                    try:
                        result = await self.ctx.client.delete(
                            resource, meta["name"], namespace=namespace,
                            propagation_policy="Background",
                            preconditions={"uid": meta["uid"]})
                    except ApiError as e:
                        if e.code in (404, 409):
                            continue
                        remaining.failures.append(f"deleting {resource} {meta['name']}: {e}")
                        remaining.add(resource, obj)
                        continue
                    if not (result.get("metadata") or {}).get("deletionTimestamp"):
                        continue  # gone at once
                    obj = result
                remaining.add(resource, obj)
        return remaining

    async def _report(self, namespace: Obj, remaining: Remaining) -> None:
        previous = (namespace.get("status") or {}).get("conditions") or []
        conditions = deletion_conditions(remaining, previous, rfc3339(self.ctx.clock()))
        if conditions == previous:
            return
        body = copy.deepcopy(namespace)
        body.setdefault("status", {})["conditions"] = conditions
        try:
            await self.ctx.client.update(NAMESPACES, body, subresource="status")
        except ApiError as e:
            if e.code not in (404, 409):
                raise
