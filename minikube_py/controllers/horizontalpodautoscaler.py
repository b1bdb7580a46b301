"""The HorizontalPodAutoscaler controller (kube's pkg/controller/podautoscaler): every sync
period each HPA's target is read through its scale subresource, its pods' CPU or memory
usage through the resource metrics API (metrics.k8s.io), and the size hpa_plan decides is
written back through /scale; the HPA's status, conditions and events say what it saw and
did, as kube's do."""

from __future__ import annotations

import logging
from typing import Protocol

from minikube_py.api.crdresources import established, resources_of
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    BUILTIN,
    CUSTOMRESOURCEDEFINITIONS,
    HORIZONTALPODAUTOSCALERS,
    PODMETRICS,
    PODS,
    Resource,
)
from minikube_py.api.selectors import parse_label_selector
from minikube_py.client.interface import ApiClient
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop, split_key
from minikube_py.controllers.hpa_metrics import PodMetricsRead
from minikube_py.controllers.hpa_plan import AutoscalerSettings, Plan, Planner

log = logging.getLogger(__name__)

COMPONENT = "horizontal-pod-autoscaler"


class PodMetricsSource(Protocol):
    async def pod_metrics(self, namespace: str, selector: str) -> list[Obj]:
        """The PodMetrics of the pods `selector` picks in `namespace`; raises ApiError."""
        ...


class ApiPodMetrics:
    """PodMetrics read from the API server's metrics.k8s.io, as kube's REST metrics client."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    async def pod_metrics(self, namespace: str, selector: str) -> list[Obj]:
        got = await self.client.list(PODMETRICS, namespace=namespace, label_selector=selector)
        return list(got.get("items") or [])


def scale_resource(ref: Obj, crds: list[Obj]) -> Resource:
    """The resource a scaleTargetRef names (the REST mapper's job in kube): a built-in kind
    or an Established CRD's, any version of its group; the kind's /scale says whether it
    scales."""
    api_version = str(ref.get("apiVersion") or "")
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    kind = str(ref.get("kind") or "")
    for resource in BUILTIN:
        if resource.group == group and resource.kind == kind:
            return resource
    for crd in crds:
        if established(crd):
            for resource, _ in resources_of(crd):
                if resource.group == group and resource.kind == kind:
                    return resource
    raise LookupError(f'no matches for kind "{kind}" in group "{group}"')


class HorizontalPodAutoscalerController:
    name = "horizontal-pod-autoscaler"

    def __init__(self, ctx: ControllerContext, *, settings: AutoscalerSettings | None = None,
                 metrics: PodMetricsSource | None = None, workers: int = 2) -> None:
        self.ctx = ctx
        self.settings = settings or AutoscalerSettings()
        self.metrics = metrics or ApiPodMetrics(ctx.client)
        self.planner = Planner(self.settings)
        self.recorder = ctx.recorder(COMPONENT)
        self.hpas = ctx.informers.informer(HORIZONTALPODAUTOSCALERS)
        self.pods = ctx.informers.informer(PODS)
        self.crds = ctx.informers.informer(CUSTOMRESOURCEDEFINITIONS)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        # Status writes are this controller's own: only a new or changed spec is looked at
        # before the next period.
        self.hpas.add_handlers(on_add=self.loop.watch_own, on_update=self._updated,
                               on_delete=self.loop.watch_own)
        self.loop.resync_every(self.settings.sync_period, self.hpas.keys)

    def _updated(self, old: Obj, new: Obj) -> None:
        if (old.get("metadata") or {}).get("generation") != \
                (new.get("metadata") or {}).get("generation"):
            self.loop.enqueue(new)

    async def run(self) -> None:
        await self.loop.run()

    def _pods(self, namespace: str, selector: str) -> tuple[list[Obj], str]:
        try:
            parsed = parse_label_selector(selector)
        except ApiError as e:
            return [], e.message
        return [p for p in self.pods.list()
                if (p.get("metadata") or {}).get("namespace") == namespace
                and parsed.matches((p.get("metadata") or {}).get("labels"))], ""

    async def _read_metrics(self, hpa: Obj, namespace: str, selector: str) -> PodMetricsRead:
        wanted = any(m.get("type") in ("Resource", "ContainerResource")
                     for m in (hpa.get("spec") or {}).get("metrics") or [])
        if not wanted or not selector:
            return PodMetricsRead()
        try:
            items = await self.metrics.pod_metrics(namespace, selector)
        except ApiError as e:
            return PodMetricsRead(error=f"unable to fetch metrics from resource metrics API: "
                                        f"{e.message}")
        if not items:
            return PodMetricsRead(error="no metrics returned from resource metrics API")
        return PodMetricsRead(items=items)

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        try:
            hpa = await self.ctx.client.get(HORIZONTALPODAUTOSCALERS, name, namespace=ns)
        except ApiError as e:
            if e.code != 404:
                raise
            self.planner.forget(key)
            return
        namespace = ns or ""
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        try:
            resource = scale_resource(ref, self.crds.list())
            scale = await self.ctx.client.get(resource, str(ref.get("name") or ""),
                                              namespace=namespace, subresource="scale")
        except (LookupError, ApiError) as e:
            message = e.message if isinstance(e, ApiError) else str(e)
            self.recorder.record(hpa, "Warning", "FailedGetScale", message)
            await self._write_status(hpa, self.planner.scale_failed(hpa, message,
                                                                     self.ctx.clock()))
            log.info("HPA %s: failed to query scale subresource for %s/%s/%s: %s", key,
                     ref.get("kind"), namespace, ref.get("name"), message)
            return
        selector = str((scale.get("status") or {}).get("selector") or "")
        pods, selector_error = self._pods(namespace, selector) if selector else ([], "")
        read = await self._read_metrics(hpa, namespace, selector)
        now = self.ctx.clock()
        plan = self.planner.plan(key, hpa, scale, pods, read, now,
                                 selector_error=selector_error)
        rescaled = False
        if plan.rescale:
            rescaled = await self._rescale(key, resource, scale, plan)
        for event in plan.events:
            self.recorder.record(hpa, event.type, event.reason, event.message)
        await self._write_status(hpa, self.planner.status_of(hpa, plan, rescaled=rescaled,
                                                             now=self.ctx.clock()))
        if plan.error:
            log.info("HPA %s: %s", key, plan.error)

    async def _rescale(self, key: str, resource: Resource, scale: Obj, plan: Plan) -> bool:
        body = {**scale, "spec": {**(scale.get("spec") or {}), "replicas": plan.desired}}
        try:
            await self.ctx.client.update(resource, body, namespace=plan.namespace,
                                         subresource="scale")
        except ApiError as e:
            self.planner.finish(key, plan, self.ctx.clock(), error=e.message)
            return False
        self.planner.finish(key, plan, self.ctx.clock())
        log.info("HPA %s: rescaled from %d to %d: %s", key, plan.current, plan.desired,
                 plan.reason)
        return True

    async def _write_status(self, hpa: Obj, status: Obj) -> None:
        """updateStatusIfNeeded: written only when it changed; a conflict waits for the next
        period, as kube's does."""
        if status == (hpa.get("status") or {}):
            return
        try:
            await self.ctx.client.update(HORIZONTALPODAUTOSCALERS, {**hpa, "status": status},
                                         namespace=hpa["metadata"].get("namespace"),
                                         subresource="status")
        except ApiError as e:
            if e.code == 404:
                return
            self.recorder.record(hpa, "Warning", "FailedUpdateStatus", e.message)
            if e.code != 409:
                raise
