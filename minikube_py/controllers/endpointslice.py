"""The EndpointSlice controller: keeps each selector Service's EndpointSlices (one per
port set, at most 100 endpoints each) in step with its pods."""

from __future__ import annotations

import copy
import hashlib

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import ENDPOINTSLICES, PODS, SERVICES
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop, split_key
from minikube_py.controllers.servicebackends import (
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    SLICE_CONTROLLER,
    desired_slices,
    has_selector,
    same_slice_content,
    services_selecting,
    slice_body,
)


def slice_name(service: Obj, index: int) -> str:
    """Stable per (service uid, index), so a create retried on a stale cache is a
    harmless AlreadyExists instead of a second slice."""
    meta = service["metadata"]
    digest = hashlib.sha256(f"{meta.get('uid', '')}/{index}".encode()).hexdigest()[:5]
    return f"{meta['name'][:240]}-{digest}"


class EndpointSliceController:
    name = "endpointslice-controller"

    def __init__(self, ctx: ControllerContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.services = ctx.informers.informer(SERVICES)
        self.pods = ctx.informers.informer(PODS)
        self.slices = ctx.informers.informer(ENDPOINTSLICES)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.services.add_handlers(self.loop.watch_own, lambda _o, n: self.loop.enqueue(n),
                                   self.loop.watch_own)
        self.pods.add_handlers(self._pod_added, self._pod_updated, self._pod_added)
        self.slices.add_handlers(self._slice_changed, lambda _o, n: self._slice_changed(n),
                                 self._slice_changed)

    def _pod_added(self, pod: Obj) -> None:
        for service in services_selecting(self.services.list(), pod):
            self.loop.enqueue(service)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if old.get("status") != new.get("status") or \
                old["metadata"].get("labels") != new["metadata"].get("labels") or \
                old["metadata"].get("deletionTimestamp") != new["metadata"].get("deletionTimestamp"):
            for service in services_selecting(self.services.list(), new, old):
                self.loop.enqueue(service)

    def _slice_changed(self, slice_: Obj) -> None:
        """Someone else touched a slice of ours: put it back the way it should be."""
        labels = slice_["metadata"].get("labels") or {}
        if labels.get(MANAGED_BY_LABEL) == SLICE_CONTROLLER and labels.get(SERVICE_NAME_LABEL):
            self.loop.enqueue_key(f"{slice_['metadata']['namespace']}/{labels[SERVICE_NAME_LABEL]}")

    def _owned_slices(self, namespace: str | None, service_name: str) -> list[Obj]:
        out = []
        for s in self.slices.list():
            meta = s["metadata"]
            labels = meta.get("labels") or {}
            if meta.get("namespace") == namespace and \
                    labels.get(SERVICE_NAME_LABEL) == service_name and \
                    labels.get(MANAGED_BY_LABEL) == SLICE_CONTROLLER:
                out.append(s)
        return sorted(out, key=lambda s: s["metadata"]["name"])

    async def run(self) -> None:
        await self.loop.run()

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        service = self.services.get(key)
        have = self._owned_slices(namespace, name)
        if service is None or not has_selector(service):
            for s in have:
                await self._delete(s)
            return
        wanted = [slice_body(service, ports, endpoints)
                  for ports, endpoints in desired_slices(service, self.pods.list())]
        by_name = {s["metadata"]["name"]: s for s in have}
        for index, want in enumerate(wanted):
            want["metadata"]["name"] = slice_name(service, index)
            current = by_name.pop(want["metadata"]["name"], None)
            if current is None:
                await self._create(want)
            elif not same_slice_content(current, want):
                body = copy.deepcopy(current)
                body["metadata"]["labels"] = want["metadata"]["labels"]
                body["metadata"]["ownerReferences"] = want["metadata"]["ownerReferences"]
                for field in ("addressType", "ports", "endpoints"):
                    body[field] = want[field]
                await self.ctx.client.update(ENDPOINTSLICES, body)
        for leftover in by_name.values():
            await self._delete(leftover)

    async def _create(self, body: Obj) -> None:
        try:
            await self.ctx.client.create(ENDPOINTSLICES, body)
        except ApiError as e:
            if e.code != 409:
                raise
            raise RuntimeError(f"endpointslice {body['metadata']['name']} exists but is "
                               "not cached yet") from e

    async def _delete(self, slice_: Obj) -> None:
        meta = slice_["metadata"]
        try:
            await self.ctx.client.delete(ENDPOINTSLICES, meta["name"], namespace=meta["namespace"],
                                         preconditions={"uid": meta["uid"]})
        except ApiError as e:
            if e.code not in (404, 409):
                raise
