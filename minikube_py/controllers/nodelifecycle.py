"""The node lifecycle controller: marks nodes whose kubelet went silent Unknown, keeps the
not-ready/unreachable taints in step with Ready, and evicts pods from NoExecute-tainted
nodes once their tolerations run out (kube's taint-eviction-controller)."""

from __future__ import annotations

import copy
import logging

from minikube_py.api.errors import ApiError
from minikube_py.api.podutil import is_ready, is_terminal
from minikube_py.api.resources import LEASES, NODES, PODS
from minikube_py.api.timefmt import rfc3339
from minikube_py.client.events import NORMAL
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop
from minikube_py.controllers.nodehealth import (
    Probe,
    desired_taints,
    heartbeat_signature,
    is_stale,
    observe,
    ready_status,
    stale_in,
    unknown_conditions,
)
from minikube_py.controllers.tainteviction import eviction_time, no_execute_taints

log = logging.getLogger("minikube_py.controllers.nodelifecycle")

NODE_LEASE_NAMESPACE = "kube-node-lease"


class NodeLifecycleController:
    name = "node-lifecycle-controller"

    def __init__(self, ctx: ControllerContext, *, grace_period: float = 40.0,
                 monitor_period: float = 5.0, workers: int = 2) -> None:
        self.ctx = ctx
        self.grace_period = grace_period
        self.monitor_period = monitor_period
        self.recorder = ctx.recorder("node-controller")
        self.nodes = ctx.informers.informer(NODES)
        self.leases = ctx.informers.informer(LEASES, namespace=NODE_LEASE_NAMESPACE)
        self.pods = ctx.informers.informer(PODS)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self._probes: dict[str, Probe] = {}
        self._known: dict[str, Obj] = {}  # node name -> its reference, for RemovingNode
        self.nodes.add_handlers(self.loop.watch_own, lambda _o, n: self.loop.enqueue(n),
                                self.loop.watch_own)
        self.leases.add_handlers(self._lease_changed, lambda _o, n: self._lease_changed(n))
        # A periodic look at every node, in case a timer was lost (monitorNodeHealth).
        self.loop.resync_every(monitor_period, self.nodes.keys)

    def _lease_changed(self, lease: Obj) -> None:
        self.loop.enqueue_key(lease["metadata"]["name"])

    async def run(self) -> None:
        await self.loop.run()

    async def sync(self, key: str) -> None:
        node = self.nodes.get(key)
        if node is None:
            self._forget(key)
            return
        self._known[key] = {"apiVersion": "v1", "kind": "Node",
                            "metadata": {"name": key, "uid": node["metadata"].get("uid")}}
        now = self.ctx.clock()
        probe = observe(self._probes.get(key),
                        heartbeat_signature(node, self.leases.get(f"{NODE_LEASE_NAMESPACE}/{key}")),
                        now)
        self._probes[key] = probe
        if is_stale(probe, now, self.grace_period):
            if ready_status(node) != "Unknown":
                node = await self._mark_unknown(node)
                await self._mark_pods_not_ready(key)
        else:
            self.loop.enqueue_after(key, stale_in(probe, now, self.grace_period) + 0.01)
        await self._reconcile_taints(node)

    def _forget(self, name: str) -> None:
        self._probes.pop(name, None)
        ref = self._known.pop(name, None)
        if ref is not None:
            self.recorder.record(ref, NORMAL, "RemovingNode",
                                 f"Node {name} event: Removing Node {name} from Controller")

    async def _mark_unknown(self, node: Obj) -> Obj:
        name = node["metadata"]["name"]
        fresh = copy.deepcopy(node)
        fresh["status"]["conditions"] = unknown_conditions(node, rfc3339(self.ctx.clock()))
        updated = await self.ctx.client.update(NODES, fresh, subresource="status")
        log.info("node %s stopped posting status: Ready=Unknown", name)
        self.recorder.record(updated, NORMAL, "NodeNotReady",
                             f"Node {name} status is now: NodeNotReady")
        return updated

    async def _mark_pods_not_ready(self, node_name: str) -> None:
        """Pods on a silent node stop being Ready, so they leave service endpoints."""
        for pod in self.pods.list():
            if (pod.get("spec") or {}).get("nodeName") != node_name or not is_ready(pod) \
                    or is_terminal(pod):
                continue
            status = copy.deepcopy(pod["status"])
            for cond in status.get("conditions") or []:
                if cond.get("type") == "Ready":
                    cond.update(status="False", lastTransitionTime=rfc3339(self.ctx.clock()))
            meta = pod["metadata"]
            try:
                await self.ctx.client.patch(PODS, meta["name"], {"status": status},
                                            namespace=meta["namespace"], subresource="status")
            except ApiError as e:
                if e.code != 404:
                    raise
            self.recorder.record(pod, "Warning", "NodeNotReady", "Node is not ready")

    async def _reconcile_taints(self, node: Obj) -> None:
        taints = desired_taints(node, rfc3339(self.ctx.clock()))
        if taints == ((node.get("spec") or {}).get("taints") or []):
            return
        fresh = copy.deepcopy(node)
        fresh.setdefault("spec", {})["taints"] = taints
        await self.ctx.client.update(NODES, fresh)  # a conflict retries with a fresh cache


class TaintEvictionController:
    """Deletes pods from nodes with NoExecute taints they do not tolerate, or once their
    tolerationSeconds (counted from the taint's timeAdded) are up."""

    name = "taint-eviction-controller"

    def __init__(self, ctx: ControllerContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.recorder = ctx.recorder("taint-eviction-controller")
        self.nodes = ctx.informers.informer(NODES)
        self.pods = ctx.informers.informer(PODS)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.pods.add_handlers(self._pod_changed, lambda _o, n: self._pod_changed(n))
        self.nodes.add_handlers(self._node_changed, self._node_updated)

    def _pod_changed(self, pod: Obj) -> None:
        if (pod.get("spec") or {}).get("nodeName"):
            self.loop.enqueue(pod)

    def _node_changed(self, node: Obj) -> None:
        if no_execute_taints(node):
            self._enqueue_pods_on(node["metadata"]["name"])

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if no_execute_taints(old) != no_execute_taints(new):
            self._enqueue_pods_on(new["metadata"]["name"])

    def _enqueue_pods_on(self, node_name: str) -> None:
        for pod in self.pods.list():
            if (pod.get("spec") or {}).get("nodeName") == node_name:
                self.loop.enqueue(pod)

    async def run(self) -> None:
        await self.loop.run()

    async def sync(self, key: str) -> None:
        pod = self.pods.get(key)
        if pod is None or pod["metadata"].get("deletionTimestamp") or is_terminal(pod):
            return
        node = self.nodes.get((pod.get("spec") or {}).get("nodeName") or "")
        if node is None:
            return
        now = self.ctx.clock()
        due = eviction_time(pod, no_execute_taints(node), now)
        if due is None:
            return
        if due > now:
            self.loop.enqueue_after(key, due - now)
            return
        meta = pod["metadata"]
        self.recorder.record(pod, NORMAL, "TaintManagerEviction",
                             f"Marking for deletion Pod {key}")
        try:
            await self.ctx.client.delete(PODS, meta["name"], namespace=meta["namespace"],
                                         preconditions={"uid": meta["uid"]})
        except ApiError as e:
            if e.code not in (404, 409):
                raise
