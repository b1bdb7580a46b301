"""The Endpoints controller: keeps each selector Service's core/v1 Endpoints (ready and
not-ready addresses per port set) in step with its pods."""

from __future__ import annotations

import copy

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import ENDPOINTS, PODS, SERVICES
from minikube_py.client.informer import object_key
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop, split_key
from minikube_py.controllers.servicebackends import (
    desired_endpoints,
    has_selector,
    services_selecting,
)


class EndpointsController:
    name = "endpoints-controller"

    def __init__(self, ctx: ControllerContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.services = ctx.informers.informer(SERVICES)
        self.pods = ctx.informers.informer(PODS)
        self.endpoints = ctx.informers.informer(ENDPOINTS)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.services.add_handlers(self.loop.watch_own, lambda _o, n: self.loop.enqueue(n),
                                   self.loop.watch_own)
        self.pods.add_handlers(self._pod_added, self._pod_updated, self._pod_added)
        self.endpoints.add_handlers(on_delete=self._endpoints_deleted)

    def _pod_added(self, pod: Obj) -> None:
        self._enqueue_services_of(pod, None)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if old.get("status") != new.get("status") or \
                old["metadata"].get("labels") != new["metadata"].get("labels") or \
                old["metadata"].get("deletionTimestamp") != new["metadata"].get("deletionTimestamp"):
            self._enqueue_services_of(new, old)

    def _enqueue_services_of(self, pod: Obj, old: Obj | None) -> None:
        for service in services_selecting(self.services.list(), pod, old):
            self.loop.enqueue(service)

    def _endpoints_deleted(self, endpoints: Obj) -> None:
        key = object_key(endpoints)
        if self.services.get(key) is not None:
            self.loop.enqueue_key(key)  # recreate what someone deleted

    async def run(self) -> None:
        await self.loop.run()

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        service = self.services.get(key)
        if service is None:
            try:
                await self.ctx.client.delete(ENDPOINTS, name, namespace=namespace)
            except ApiError as e:
                if e.code != 404:
                    raise
            return
        if not has_selector(service):
            return  # user-managed
        want = desired_endpoints(service, self.pods.list())
        have = self.endpoints.get(key)
        if have is None:
            try:
                await self.ctx.client.create(ENDPOINTS, want, namespace=namespace)
            except ApiError as e:
                if e.code != 409:
                    raise
                raise RuntimeError(f"endpoints {key} exist but are not cached yet") from e
            return
        if (have.get("subsets") or []) == want["subsets"] and \
                (have["metadata"].get("labels") or {}) == (want["metadata"].get("labels") or {}):
            return
        body = copy.deepcopy(have)
        body["subsets"] = want["subsets"]
        body["metadata"]["labels"] = want["metadata"].get("labels") or {}
        await self.ctx.client.update(ENDPOINTS, body, namespace=namespace)

