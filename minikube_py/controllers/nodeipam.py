"""The node IPAM controller: gives every node without one the next free pod CIDR."""

from __future__ import annotations

import logging

from minikube_py.api.errors import ApiError
from minikube_py.api.nodeutil import node_pod_cidrs
from minikube_py.api.resources import NODES
from minikube_py.client.events import WARNING
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop
from minikube_py.controllers.podcidrs import CidrsExhausted, PodCidrAllocator

log = logging.getLogger("minikube_py.controllers.nodeipam")


class NodeIpamController:
    name = "node-ipam-controller"

    def __init__(self, ctx: ControllerContext, *, cluster_cidr: str = "10.244.0.0/16",
                 node_mask_size: int = 24, workers: int = 1) -> None:
        self.ctx = ctx
        self.allocator = PodCidrAllocator(cluster_cidr, node_mask_size)
        self.recorder = ctx.recorder("cidrAllocator")
        self.nodes = ctx.informers.informer(NODES)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        # Handed out but maybe not in the cache yet: a re-sync reuses it, never takes two.
        self._assigned: dict[str, str] = {}
        # Nodes that found the range exhausted: they wait for a release (a node deleted),
        # instead of retrying in a loop that can only fail again.
        self._waiting: set[str] = set()
        self.nodes.add_handlers(self._node_seen, lambda _o, n: self._node_seen(n),
                                self._node_deleted)

    def _node_seen(self, node: Obj) -> None:
        for cidr in node_pod_cidrs(node):
            self.allocator.occupy(cidr)
        if not node_pod_cidrs(node):
            self.loop.enqueue(node)

    def _node_deleted(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        self._waiting.discard(name)
        released = False
        for cidr in [*node_pod_cidrs(node), self._assigned.pop(name, "")]:
            if cidr:
                self.allocator.release(cidr)
                released = True
        if released:
            for key in sorted(self._waiting):
                self.loop.enqueue_key(key)

    async def run(self) -> None:
        # The loop waits for the node cache: every existing node's CIDR is occupied (its
        # initial add) before any is handed out.
        await self.loop.run()

    async def sync(self, key: str) -> None:
        node = self.nodes.get(key)
        if node is None:
            return
        if node_pod_cidrs(node):
            self._assigned.pop(key, None)
            return
        cidr = self._assigned.get(key)
        if cidr is None:
            try:
                cidr = self.allocator.allocate()
            except CidrsExhausted as e:
                if key not in self._waiting:
                    self._waiting.add(key)
                    self.recorder.record(node, WARNING, "CIDRNotAvailable",
                                         f"Node {key} status is now: CIDRNotAvailable")
                    log.warning("node %s: %s; it gets one when a node's range is released",
                                key, e)
                return
            self._waiting.discard(key)
            self._assigned[key] = cidr
        try:
            await self.ctx.client.patch(NODES, key, {"spec": {"podCIDR": cidr,
                                                              "podCIDRs": [cidr]}})
        except ApiError as e:
            if e.code == 404:
                self.allocator.release(self._assigned.pop(key))
                return
            raise
        log.info("node %s: podCIDR %s", key, cidr)
