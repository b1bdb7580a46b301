"""Which host-gw routes a node keeps to the other nodes' pods, and what to change to get
there (pure). Flannel's host-gw backend: every node routes each other node's pod range via
that node's InternalIP, so nodes must share an L2 segment (the next hop must be on-link).

Only ranges inside the cluster range are ever routed, so nothing a Node object says can
send traffic for other destinations off the machine; a node whose address would make the
route loop (its InternalIP is inside the cluster range, or is ours) is left out and named.
How the routes are marked as this cluster's: runtime/hostnet.py.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from minikube_py.api.nodeutil import node_addresses, node_pod_cidrs
from minikube_py.runtime.hostnet import Route, peer_route

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PeerRoute:
    node: str  # the node whose pods the route reaches
    route: Route


@dataclass(frozen=True, slots=True)
class SkippedNode:
    """A node that gets no route, and why. `pending`: it is still being set up (no pod
    range or address yet), which is no fault; anything else is a misconfiguration."""

    node: str
    reason: str
    pending: bool = False


@dataclass(frozen=True, slots=True)
class PeerRoutePlan:
    routes: tuple[PeerRoute, ...] = ()
    skipped: tuple[SkippedNode, ...] = ()


@dataclass(frozen=True, slots=True)
class RouteChanges:
    replace: tuple[PeerRoute, ...] = ()  # to add, or to change in place (same dst + metric)
    delete: tuple[Route, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.replace or self.delete)


@dataclass
class _Peer:
    name: str
    pod_cidrs: list[ipaddress.IPv4Network] = field(default_factory=list)
    address: ipaddress.IPv4Address | None = None
    problem: SkippedNode | None = None


def plan_peer_routes(nodes: Iterable[Obj], *, node_name: str, cluster_cidr: str,
                     metric_base: int) -> PeerRoutePlan:
    """The routes this node (`node_name`) should have to every other node's pods, from the
    Node objects as the API serves them. Nodes are taken in name order, so when two claim
    overlapping ranges the same one wins on every node."""
    cluster = ipaddress.IPv4Network(cluster_cidr)
    peers = sorted((_read_peer(n, cluster) for n in nodes), key=lambda p: p.name)
    ours = next((p for p in peers if p.name == node_name), None)
    routes: list[PeerRoute] = []
    skipped: list[SkippedNode] = []
    taken: list[tuple[ipaddress.IPv4Network, str]] = [
        (net, "this node's own") for net in (ours.pod_cidrs if ours else [])]
    for peer in peers:
        if peer is ours:
            continue
        problem = peer.problem or _address_problem(peer, ours)
        if problem is not None or peer.address is None:
            skipped.append(problem or SkippedNode(peer.name, "no address"))
            continue
        for net in peer.pod_cidrs:
            holder = next((h for other, h in taken if other.overlaps(net)), None)
            if holder is not None:
                skipped.append(SkippedNode(peer.name, f"its podCIDR {net} overlaps {holder}"))
                continue
            taken.append((net, f"node {peer.name}'s"))
            routes.append(PeerRoute(peer.name, peer_route(str(net), str(peer.address),
                                                          metric_base)))
    return PeerRoutePlan(tuple(routes), tuple(skipped))


def _read_peer(node: Obj, cluster: ipaddress.IPv4Network) -> _Peer:
    """A node's IPv4 pod ranges inside the cluster range and its first IPv4 InternalIP; or
    the first reason it cannot be routed to. IPv6 ranges and addresses are not ours to
    route (host-gw here is IPv4 only) and are passed over."""
    name = str((node.get("metadata") or {}).get("name") or "")
    peer = _Peer(name)
    for cidr in node_pod_cidrs(node):
        try:
            net = ipaddress.ip_network(cidr)
        except ValueError:
            peer.problem = SkippedNode(name, f"its podCIDR {cidr!r} is not an address range")
            return peer
        if not isinstance(net, ipaddress.IPv4Network):
            continue
        if not net.subnet_of(cluster):
            peer.problem = SkippedNode(name, f"its podCIDR {net} is outside the cluster range "
                                             f"{cluster}: only that range is routed to nodes")
            return peer
        peer.pod_cidrs.append(net)
    for address in node_addresses(node, "InternalIP"):
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if isinstance(ip, ipaddress.IPv4Address):
            peer.address = ip
            break
    if not peer.pod_cidrs:
        peer.problem = SkippedNode(name, "it has no IPv4 podCIDR yet", pending=True)
    elif peer.address is None:
        peer.problem = SkippedNode(name, "it has no IPv4 InternalIP address yet", pending=True)
    elif peer.address in cluster:
        peer.problem = SkippedNode(name, f"its InternalIP {peer.address} is inside the cluster "
                                         f"range {cluster}: the route would loop")
    return peer


def _address_problem(peer: _Peer, ours: _Peer | None) -> SkippedNode | None:
    if ours is not None and ours.address is not None and peer.address == ours.address:
        return SkippedNode(peer.name, f"its InternalIP {peer.address} is this node's own "
                                      "address: the route would loop")
    return None


def route_facts(node: Obj) -> tuple[list[str], list[str]]:
    """What of a Node its peers' routes are made of: a change elsewhere changes none."""
    return node_pod_cidrs(node), node_addresses(node, "InternalIP")


def diff_peer_routes(current: Iterable[Route], desired: Iterable[PeerRoute]) -> RouteChanges:
    """What turns the peer routes the host has (this cluster's, as read back from the
    kernel) into the desired ones. A route already there is left alone; one whose next hop
    changed is replaced in place; one to a range no node has any more is deleted."""
    have = {r.dst: r for r in current}
    want = list(desired)
    replace = tuple(p for p in want if not _same(have.get(p.route.dst), p.route))
    wanted = {p.route.dst for p in want}
    delete = tuple(r for dst, r in have.items() if dst not in wanted)
    return RouteChanges(replace, delete)


def _same(current: Route | None, desired: Route) -> bool:
    """The kernel fills in the device of a route via a next hop: compare the rest."""
    return current is not None and (current.dst, current.type, current.via, current.metric,
                                    current.protocol) == (desired.dst, desired.type,
                                                          desired.via, desired.metric,
                                                          desired.protocol)
