"""The pod garbage collector: force-deletes pods nobody else will finish: terminated pods
beyond the threshold (oldest first), pods bound to nodes that are gone (missing for the
quarantine, then confirmed through the API), terminating pods that were never scheduled,
and (when enabled) pods stuck terminating on dead nodes."""

from __future__ import annotations

import logging

from minikube_py.api.errors import ApiError
from minikube_py.api.podutil import is_terminal
from minikube_py.api.resources import NODES, PODS
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop
from minikube_py.controllers.nodehealth import ready_status
from minikube_py.controllers.podgcpolicy import (
    excess_terminated,
    missing_nodes_in_quarantine,
    orphaned,
    stuck_on_unready_nodes,
    unscheduled_terminating,
)

log = logging.getLogger("minikube_py.controllers.podgc")

GC_KEY = "pods"
# How long a node must be missing before its pods go (kube's quarantineTime).
NODE_QUARANTINE_SECONDS = 40.0


class PodGarbageCollector:
    name = "pod-garbage-collector"

    def __init__(self, ctx: ControllerContext, *, terminated_threshold: int = 12500,
                 period: float = 20.0, terminating_on_unready_after: float | None = None,
                 quarantine: float = NODE_QUARANTINE_SECONDS) -> None:
        self.ctx = ctx
        self.terminated_threshold = terminated_threshold
        self.period = period
        self.quarantine = quarantine
        self.missing_since: dict[str, float] = {}  # nodes pods are bound to, seen missing
        self.terminating_on_unready_after = terminating_on_unready_after
        self.pods = ctx.informers.informer(PODS)
        self.nodes = ctx.informers.informer(NODES)
        self.loop = ReconcileLoop(self, ctx, workers=1)
        self.nodes.add_handlers(on_delete=lambda _n: self.loop.enqueue_key(GC_KEY))
        self.pods.add_handlers(on_update=self._pod_updated)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if is_terminal(new) and not is_terminal(old):
            self.loop.enqueue_key(GC_KEY)

    async def run(self) -> None:
        await self.pods.synced.wait()
        await self.nodes.synced.wait()
        self.loop.enqueue_key(GC_KEY)
        await self.loop.run()

    async def sync(self, key: str) -> None:
        try:
            await self._collect()
        finally:
            self.loop.enqueue_after(GC_KEY, self.period)

    async def _collect(self) -> None:
        pods = self.pods.list()
        nodes = self.nodes.list()
        names = {n["metadata"]["name"] for n in nodes}
        for pod in excess_terminated(pods, self.terminated_threshold):
            await self._force_delete(pod, "terminated pod beyond the threshold")
        await self._collect_orphans(pods, names)
        for pod in unscheduled_terminating(pods):
            await self._force_delete(pod, "terminating and never scheduled")
        if self.terminating_on_unready_after is not None:
            unready = {n["metadata"]["name"] for n in nodes if ready_status(n) != "True"}
            for pod in stuck_on_unready_nodes(pods, unready, self.ctx.clock(),
                                              self.terminating_on_unready_after):
                await self._force_delete(pod, "stuck terminating on a node that is not ready")

    async def _collect_orphans(self, pods: list[Obj], names: set[str]) -> None:
        now = self.ctx.clock()
        self.missing_since, due = missing_nodes_in_quarantine(
            pods, names, self.missing_since, now, self.quarantine)
        gone = {name for name in due if not await self._node_exists(name)}  # cache behind?
        for pod in orphaned(pods, names):
            if pod["spec"]["nodeName"] in gone:
                await self._force_delete(pod, f"bound to node {pod['spec']['nodeName']} which "
                                              "no longer exists")
        waiting = [first + self.quarantine - now for name, first in self.missing_since.items()
                   if name not in due]
        if waiting:
            self.loop.enqueue_after(GC_KEY, min(waiting))

    async def _node_exists(self, name: str) -> bool:
        try:
            await self.ctx.client.get(NODES, name)
        except ApiError as e:
            if e.code != 404:
                raise
            return False
        return True

    async def _force_delete(self, pod: Obj, why: str) -> None:
        meta = pod["metadata"]
        log.info("PodGC force-deleting %s/%s: %s", meta["namespace"], meta["name"], why)
        try:
            await self.ctx.client.delete(PODS, meta["name"], namespace=meta["namespace"],
                                         grace_period_seconds=0,
                                         preconditions={"uid": meta["uid"]})
        except ApiError as e:
            if e.code not in (404, 409):
                raise
