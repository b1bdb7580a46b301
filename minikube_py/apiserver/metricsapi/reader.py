"""The metrics API's get and list: the Nodes or Pods a request selects (its label selector,
and a field selector on metadata.name or metadata.namespace, applied to them as
metrics-server applies them), each with its kubelet's latest sample, in the API's order
(namespace, then name)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from minikube_py.api import errors
from minikube_py.api.resources import NODEMETRICS, NODES, PODMETRICS, PODS, Resource
from minikube_py.api.selectors import ObjectFilter
from minikube_py.api.timefmt import rfc3339
from minikube_py.apiserver.metricsapi.objects import (
    node_metrics,
    node_metrics_not_found,
    pod_metrics,
    pod_metrics_not_found,
    summary_pods,
)
from minikube_py.apiserver.metricsapi.source import KubeletSummaries

Obj = dict[str, Any]
ListStored = Callable[[Resource, "str | None", ObjectFilter], Awaitable[list[Obj]]]
ReadStored = Callable[[Resource, "str | None", str], Awaitable["Obj | None"]]


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


class ResourceMetrics:
    """NodeMetrics and PodMetrics as list items (no kind; `objects.as_object` for a GET)."""

    def __init__(self, list_stored: ListStored, read_stored: ReadStored,
                 summaries: KubeletSummaries, *, window: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.list_stored = list_stored
        self.read_stored = read_stored
        self.summaries = summaries
        self.window = window
        self.clock = clock

    async def read_list(self, resource: Resource, namespace: str | None,
                   flt: ObjectFilter) -> list[Obj]:
        if resource == NODEMETRICS:
            return await self._nodes(await self.list_stored(NODES, None, flt))
        pods = await self.list_stored(PODS, namespace, flt)
        return await self._pods(sorted(pods, key=_key))

    async def read_one(self, resource: Resource, namespace: str | None, name: str) -> Obj:
        if resource == NODEMETRICS:
            node = await self.read_stored(NODES, None, name)
            if node is None:
                raise errors.not_found("node", name)
            found = await self._nodes([node])
            if not found:
                raise node_metrics_not_found(name)
            return found[0]
        ns = namespace or "default"
        pod = await self.read_stored(PODS, ns, name)
        if pod is None:
            raise errors.not_found("pod", name)
        found = await self._pods([pod])
        if not found:
            raise pod_metrics_not_found(ns, name)
        return found[0]

    async def _nodes(self, nodes: list[Obj]) -> list[Obj]:
        summaries = await self.summaries.summaries(nodes)
        now = rfc3339(self.clock())
        out = []
        for node in sorted(nodes, key=_key):
            item = node_metrics(node, summaries.get(_key(node)[1]), self.window, now)
            if item is not None:
                out.append(item)
        return out

    async def _pods(self, pods: list[Obj]) -> list[Obj]:
        running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"
                   and (p.get("spec") or {}).get("nodeName")]
        node_names = sorted({p["spec"]["nodeName"] for p in running})
        nodes = [n for n in [await self.read_stored(NODES, None, name) for name in node_names]
                 if n is not None]
        by_node = {name: summary_pods(summary)
                   for name, summary in (await self.summaries.summaries(nodes)).items()}
        now = rfc3339(self.clock())
        out = []
        for pod in running:
            stats = by_node.get(pod["spec"]["nodeName"], {}).get(_key(pod))
            item = pod_metrics(pod, stats, self.window, now)
            if item is not None:
                out.append(item)
        return out


__all__ = ["NODEMETRICS", "PODMETRICS", "ResourceMetrics"]
