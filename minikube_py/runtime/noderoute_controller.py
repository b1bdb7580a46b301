"""The route controller every node runs: keeps the host-gw routes to the other nodes' pods
(decided in runtime/noderoutes.py) in step with the Node objects.

Node events only mark the routes dirty; one task reads this cluster's peer routes back from
the kernel, computes the change and applies it, so a burst of events is one sync and a
restart adopts the routes it left (cancelling leaves them in place; `delete` removes them
by their marks). A route the kernel refuses (a next hop that is not on-link: "Nexthop has
invalid gateway") is reported once per node and reason, as a warning and a Node event, and
retried on the next change and with backoff; it never ends the task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from minikube_py.api.resources import NODES
from minikube_py.client.events import WARNING, EventRecorder
from minikube_py.client.informer import Informer, InformerFactory
from minikube_py.client.interface import ApiClient
from minikube_py.runtime.bridge import delete_routes, read_routes, replace_routes
from minikube_py.runtime.hostnet import Route, describe_route, owned_peer_routes
from minikube_py.runtime.noderoutes import (
    PeerRoute,
    SkippedNode,
    diff_peer_routes,
    plan_peer_routes,
    route_facts,
)
from minikube_py.sysctl import ensure_sysctl

log = logging.getLogger("minikube_py.noderoutes")

IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"


class RouteTable(Protocol):
    """The kernel's main routing table, as far as the controller touches it."""

    async def cluster_routes(self) -> Sequence[Route]: ...
    async def replace(self, route: Route) -> None: ...  # raises with the kernel's reason
    async def delete(self, route: Route) -> None: ...


class SystemRouteTable:
    """This network namespace's table, through `ip`."""

    async def cluster_routes(self) -> Sequence[Route]:
        return await read_routes()

    async def replace(self, route: Route) -> None:
        await replace_routes([route])

    async def delete(self, route: Route) -> None:
        await delete_routes([route])  # one already gone is as good as deleted


@dataclass
class RouteSyncResult:
    applied: list[PeerRoute] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # node -> the kernel's reason
    deleted: list[Route] = field(default_factory=list)


@dataclass
class NodeRouteController:
    """Construct with the node's client and the shared informer factory, this node's name,
    the cluster range and the claim's route metric base; then run `run()` as a task.

    `ready` is set after the first sync that could read the route table and applied what
    the kernel accepted: a refused route does not hold it up (it is reported and retried).
    Cancelling leaves the routes: the next run adopts them.
    """

    client: ApiClient
    informers: InformerFactory
    node_name: str
    cluster_cidr: str
    metric_base: int
    table: RouteTable = field(default_factory=SystemRouteTable)
    ip_forward_path: str | None = IP_FORWARD  # None: leave forwarding alone (tests)
    retry_initial: float = 1.0
    retry_max: float = 60.0
    # Read the table back now and then: a route removed by hand, or by the kernel when its
    # device went down, comes back.
    resync_period: float = 60.0
    recorder: EventRecorder | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _dirty: asyncio.Event = field(default_factory=asyncio.Event)
    _reported: set[tuple[str, str]] = field(default_factory=set)  # (node, reason)
    _table_problem: str = ""
    _forwarding: bool = False  # turned on (or tried) once
    _nodes: Informer = field(init=False)

    def __post_init__(self) -> None:
        if self.recorder is None:
            self.recorder = EventRecorder(self.client, "node-route-controller", self.node_name)
        self._nodes = self.informers.informer(NODES)
        self._nodes.add_handlers(self._changed, self._updated, self._changed)

    def _changed(self, _node: dict[str, Any]) -> None:
        self._dirty.set()

    def _updated(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        # Node status is written every few seconds (heartbeats, conditions): only a change
        # of what the routes are made of is worth reading the route table for.
        if route_facts(old) != route_facts(new):
            self._dirty.set()

    async def run(self) -> None:
        """Until cancelled: a sync on every change of the nodes, after a failure (with
        backoff) and every `resync_period`."""
        await self._nodes.synced.wait()
        backoff = self.retry_initial
        while True:
            self._dirty.clear()  # a change from here on is seen by the next round
            ok = await self._sync_reporting()
            if ok:
                backoff, wait = self.retry_initial, self.resync_period
            else:
                wait, backoff = backoff, min(backoff * 2, self.retry_max)
            try:
                await asyncio.wait_for(self._dirty.wait(), wait)
            except TimeoutError:
                pass

    def _ensure_forwarding(self) -> None:
        """Forwarding is turned on with the first peer route: a cluster of one machine
        forwards nothing (its pods are bridged), and leaves the host's setting alone."""
        if self._forwarding or self.ip_forward_path is None:
            return
        self._forwarding = True
        if ensure_sysctl(self.ip_forward_path):
            return
        log.warning("IPv4 forwarding could not be turned on in this network namespace "
                    "(%s): pods on this node and pods on other nodes cannot reach each other",
                    self.ip_forward_path)

    async def _sync_reporting(self) -> bool:
        """One sync; False if anything in it failed (to retry with backoff)."""
        try:
            result = await self.sync()
        except (RuntimeError, OSError) as e:  # the table cannot be read: no `ip`, no rights
            if str(e) != self._table_problem:
                log.warning("node routes: cannot read the route table (retrying): %s", e)
            self._table_problem = str(e)
            return False
        if self._table_problem:
            log.info("node routes: the route table can be read again")
            self._table_problem = ""
        self.ready.set()
        return not result.failed

    async def sync(self) -> RouteSyncResult:
        """Make this cluster's peer routes in the kernel those the nodes ask for now."""
        plan = plan_peer_routes(self._nodes.list(), node_name=self.node_name,
                                cluster_cidr=self.cluster_cidr, metric_base=self.metric_base)
        current = owned_peer_routes(await self.table.cluster_routes(), self.metric_base)
        changes = diff_peer_routes(current, plan.routes)
        if plan.routes:
            self._ensure_forwarding()
        result = RouteSyncResult()
        for route in changes.delete:
            await self.table.delete(route)
            result.deleted.append(route)
            log.info("removed route %s: no node has that pod range now", describe_route(route))
        for peer in changes.replace:
            try:
                await self.table.replace(peer.route)
            except (RuntimeError, OSError) as e:  # the kernel's refusal, as `ip` says it
                result.failed[peer.node] = str(e)
                continue
            result.applied.append(peer)
            log.info("node %s: its pods are reached by route %s", peer.node,
                     describe_route(peer.route))
        self._report(plan.skipped, result.failed)
        return result

    def _report(self, skipped: Sequence[SkippedNode], failed: dict[str, str]) -> None:
        """Say each problem once while it lasts, and again if it comes back after it was
        gone. A failed route is retried every sync (it is not in the kernel, so the diff
        asks for it again), so a failure that lasts is in `failed` every time."""
        problems: set[tuple[str, str]] = set()
        for skip in skipped:
            problems.add((skip.node, skip.reason))
            if (skip.node, skip.reason) not in self._reported:
                say = log.info if skip.pending else log.warning
                say("node %s gets no route to its pods: %s", skip.node, skip.reason)
        for node, reason in failed.items():
            problems.add((node, reason))
            if (node, reason) not in self._reported:
                self._warn_route_failed(node, reason)
        self._reported = problems

    def _warn_route_failed(self, node: str, reason: str) -> None:
        message = f"cannot add the route to node {node}'s pods (retrying): {reason}"
        log.warning("%s", message)
        obj = self._nodes.get(node)
        if obj is not None and self.recorder is not None:
            # As kube's route controller does: `kubectl describe node` shows it.
            self.recorder.record(obj, WARNING, "FailedToCreateRoute", message)
