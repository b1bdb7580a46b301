"""The host's links and routes as a cluster sees them, and the routes a cluster keeps (pure).

Everything a cluster creates on the host carries its owner id, so that `delete` can prove
what is its own: the bridge's ifalias reads "minikube-py owner=<id> data-dir=<dir>", and its
routes have protocol ROUTE_PROTOCOL at four metrics from its own base (a multiple of 4),
one per kind of route:

    base+0  <service range> dev <bridge>   host connect() to a ClusterIP needs a route
                                           before the OUTPUT DNAT; this one stays local
    base+1  unreachable <service range>    what remains when the bridge (and the route
    base+2  unreachable <cluster range>    above, and the bridge's own /24) vanish, so
    base+3  unreachable <node pod range>   that traffic fails here and never follows the
                                           default route off the machine

A cluster with a load-balancer pool (--lb-cidr) routes it as its service range, at the
same two metrics (base+0 onto the bridge, base+1 unreachable): both claim addresses that
Services hold.

The more specific kernel route of the bridge's subnet, and the lower metric of base+0, win
while the bridge exists. The kind in each metric also tells other clusters which range a
route claims.

On a cluster of several machines, each node also routes every other node's pod range to
that node (flannel's host-gw; runtime/noderoutes.py decides which):

    base+2  <peer node's pod range> via <its InternalIP>

These are kind "cluster range" too, because that is what they claim: a part of it, more
specific than its unreachable route, so they win over it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

ROUTE_PROTOCOL = 167  # unassigned in iproute2's rt_protos
ALIAS_PREFIX = "minikube-py owner="
_ALIAS_RE = re.compile(r"^minikube-py owner=([0-9a-f]+) data-dir=(.*)$")
# Route metrics of clusters start here, far above what DHCP or a distribution sets.
METRIC_FLOOR = 0x6D700000
METRIC_SLOTS = 1 << 20


class RouteKind(IntEnum):
    SERVICES_VIA_BRIDGE = 0
    SERVICES_UNREACHABLE = 1
    CLUSTER_UNREACHABLE = 2
    PODS_UNREACHABLE = 3


@dataclass(frozen=True, slots=True)
class Link:
    name: str
    kind: str  # "bridge", "veth", ... ("" for a plain device)
    alias: str
    addresses: tuple[str, ...]  # IPv4 interfaces, "10.244.0.1/24"

    @property
    def owner(self) -> str | None:
        found = parse_alias(self.alias)
        return found[0] if found else None


@dataclass(frozen=True, slots=True)
class Route:
    dst: str
    type: str = "unicast"  # or "unreachable"
    dev: str = ""
    src: str = ""
    metric: int = 0
    protocol: int = ROUTE_PROTOCOL
    via: str = ""  # the next hop (a peer node's address); the kernel then picks the dev

    @property
    def kind(self) -> RouteKind | None:
        """Which kind of cluster route this is, by its metric (None: not a cluster's)."""
        if self.protocol != ROUTE_PROTOCOL or self.metric < METRIC_FLOOR:
            return None
        return RouteKind(self.metric % 4)

    def base(self) -> int:
        return self.metric - self.metric % 4

    def args(self) -> list[str]:
        """`ip route replace|del` arguments that name exactly this route."""
        out = [] if self.type == "unicast" else [self.type]
        out.append(self.dst)
        if self.via:
            out += ["via", self.via]
        if self.dev:
            out += ["dev", self.dev]
        if self.src:
            out += ["src", self.src]
        return [*out, "proto", str(self.protocol), "metric", str(self.metric)]


@dataclass(frozen=True, slots=True)
class HostState:
    links: tuple[Link, ...] = ()
    routes: tuple[Route, ...] = ()  # the cluster routes only (ROUTE_PROTOCOL)

    def link(self, name: str) -> Link | None:
        return next((link for link in self.links if link.name == name), None)


def owner_alias(owner: str, data_dir: Path) -> str:
    return f"{ALIAS_PREFIX}{owner} data-dir={data_dir}"


def parse_alias(alias: str) -> tuple[str, str] | None:
    """(owner, data dir) from a bridge's ifalias, or None if no cluster wrote it."""
    m = _ALIAS_RE.match(alias)
    return (m.group(1), m.group(2)) if m else None


def gateway(pod_cidr: str) -> str:
    """The node's address on its bridge: the first of the pod range."""
    return str(next(ipaddress.IPv4Network(pod_cidr).hosts()))


def cluster_routes(*, bridge: str, pod_cidr: str, cluster_cidr: str, service_cidr: str,
                   metric_base: int, lb_cidr: str = "") -> list[Route]:
    """The routes a cluster with its own bridge keeps on the host (see the module doc)."""
    k = RouteKind
    return [
        *(r for cidr in (service_cidr, *((lb_cidr,) if lb_cidr else ())) for r in (
            Route(cidr, dev=bridge, src=gateway(pod_cidr),
                  metric=metric_base + k.SERVICES_VIA_BRIDGE),
            Route(cidr, "unreachable", metric=metric_base + k.SERVICES_UNREACHABLE))),
        Route(cluster_cidr, "unreachable", metric=metric_base + k.CLUSTER_UNREACHABLE),
        Route(pod_cidr, "unreachable", metric=metric_base + k.PODS_UNREACHABLE),
    ]


def owned_routes(routes: Iterable[Route], metric_base: int) -> list[Route]:
    """The routes that carry this base's marks: ROUTE_PROTOCOL and one of its metrics."""
    return [r for r in routes if r.kind is not None and r.base() == metric_base]


def peer_route(pod_cidr: str, node_ip: str, metric_base: int) -> Route:
    """The route of another node's pod range through that node (see the module doc)."""
    return Route(pod_cidr, via=node_ip, metric=metric_base + RouteKind.CLUSTER_UNREACHABLE)


def is_peer_route(route: Route) -> bool:
    return (route.kind == RouteKind.CLUSTER_UNREACHABLE and route.type == "unicast"
            and bool(route.via))


def owned_peer_routes(routes: Iterable[Route], metric_base: int) -> list[Route]:
    """Of this base's routes, those to other nodes (not the cluster range's unreachable)."""
    return [r for r in owned_routes(routes, metric_base) if is_peer_route(r)]


def describe_route(route: Route) -> str:
    """One route as a person reads it: "unreachable 10.244.0.0/16", "10.244.1.0/24 via
    10.200.0.12"."""
    kind = f"{route.type} " if route.type != "unicast" else ""
    via = f" via {route.via}" if route.via else ""
    dev = f" dev {route.dev}" if route.dev else ""
    return f"{kind}{route.dst}{via}{dev}"


# --- `ip -j` output ------------------------------------------------------------------------

def parse_links(doc: Any) -> tuple[Link, ...]:
    """From `ip -j -d addr show`."""
    links: list[Link] = []
    for item in doc if isinstance(doc, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("ifname"), str):
            continue
        info = item.get("linkinfo")
        kind = str(info.get("info_kind") or "") if isinstance(info, dict) else ""
        addresses = tuple(f"{a['local']}/{a['prefixlen']}" for a in item.get("addr_info") or []
                          if isinstance(a, dict) and a.get("family") == "inet"
                          and "local" in a and "prefixlen" in a)
        links.append(Link(item["ifname"], kind, str(item.get("ifalias") or ""), addresses))
    return tuple(links)


def parse_routes(doc: Any) -> tuple[Route, ...]:
    """From `ip -j route show table main proto ROUTE_PROTOCOL` (the protocol is implied;
    iproute2 leaves it out of the output when it filters on it)."""
    routes: list[Route] = []
    for item in doc if isinstance(doc, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("dst"), str):
            continue
        dst = item["dst"]
        if dst == "default" or str(item.get("protocol", ROUTE_PROTOCOL)) != str(ROUTE_PROTOCOL):
            continue
        if "/" not in dst:
            dst += "/32"
        routes.append(Route(dst, str(item.get("type") or "unicast"), str(item.get("dev") or ""),
                            str(item.get("prefsrc") or ""), int(item.get("metric") or 0),
                            via=str(item.get("gateway") or "")))
    return tuple(routes)
