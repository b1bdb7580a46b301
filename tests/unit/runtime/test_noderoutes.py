"""Which host-gw routes a node keeps to the other nodes' pods, and the change from the
routes the kernel has to those."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.runtime.hostnet import (
    METRIC_FLOOR,
    ROUTE_PROTOCOL,
    Route,
    RouteKind,
    owned_peer_routes,
    peer_route,
)
from minikube_py.runtime.noderoutes import (
    PeerRoute,
    RouteChanges,
    SkippedNode,
    diff_peer_routes,
    plan_peer_routes,
    route_facts,
)

BASE = METRIC_FLOOR + 40
CLUSTER = "10.244.0.0/16"


def node(name: str, pod_cidr: str | None = None, *addresses: tuple[str, str],
         pod_cidrs: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if pod_cidr is not None:
        spec["podCIDR"] = pod_cidr
    if pod_cidrs is not None:
        spec["podCIDRs"] = pod_cidrs
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": spec,
            "status": {"addresses": [{"type": t, "address": a} for t, a in addresses]}}


def internal(ip: str) -> tuple[str, str]:
    return ("InternalIP", ip)


ME = node("n1", "10.244.0.0/24", internal("10.201.0.11"))
N2 = node("n2", "10.244.1.0/24", internal("10.201.0.12"), ("Hostname", "n2"))
N3 = node("n3", "10.244.2.0/24", internal("10.201.0.13"))


def plan(*nodes: dict[str, Any], me: str = "n1") -> tuple[list[tuple[str, str, str]],
                                                          list[SkippedNode]]:
    """(node, dst, via) of each planned route, and the nodes skipped."""
    result = plan_peer_routes(nodes, node_name=me, cluster_cidr=CLUSTER, metric_base=BASE)
    return ([(p.node, p.route.dst, p.route.via) for p in result.routes],
            list(result.skipped))


def test_every_other_node_is_routed_via_its_internal_ip() -> None:
    assert plan(ME, N2, N3) == ([("n2", "10.244.1.0/24", "10.201.0.12"),
                                 ("n3", "10.244.2.0/24", "10.201.0.13")], [])


def test_a_peer_route_carries_the_cluster_range_mark_of_our_base() -> None:
    (peer,) = plan_peer_routes([ME, N2], node_name="n1", cluster_cidr=CLUSTER,
                               metric_base=BASE).routes
    assert peer.route == Route("10.244.1.0/24", via="10.201.0.12",
                               metric=BASE + RouteKind.CLUSTER_UNREACHABLE)
    assert peer.route.kind == RouteKind.CLUSTER_UNREACHABLE and peer.route.base() == BASE
    assert peer.route.args() == ["10.244.1.0/24", "via", "10.201.0.12", "proto",
                                 str(ROUTE_PROTOCOL), "metric", str(BASE + 2)]


def test_our_own_node_gets_no_route_and_is_not_reported() -> None:
    assert plan(ME) == ([], [])


def test_routes_are_planned_before_our_own_node_is_registered() -> None:
    assert plan(N2, N3) == ([("n2", "10.244.1.0/24", "10.201.0.12"),
                             ("n3", "10.244.2.0/24", "10.201.0.13")], [])


def test_the_plan_does_not_depend_on_the_order_of_the_nodes() -> None:
    assert plan(N3, ME, N2) == plan(ME, N2, N3)


def test_a_node_without_a_pod_range_yet_is_pending() -> None:
    assert plan(ME, node("n2", None, internal("10.201.0.12"))) == (
        [], [SkippedNode("n2", "it has no IPv4 podCIDR yet", pending=True)])


def test_a_node_without_an_internal_ip_yet_is_pending() -> None:
    assert plan(ME, node("n2", "10.244.1.0/24", ("Hostname", "n2"))) == (
        [], [SkippedNode("n2", "it has no IPv4 InternalIP address yet", pending=True)])


@pytest.mark.parametrize(("pod_cidr", "address", "reason"), [
    ("10.9.0.0/24", "10.201.0.12", "its podCIDR 10.9.0.0/24 is outside the cluster range "
                                   "10.244.0.0/16: only that range is routed to nodes"),
    ("10.0.0.0/8", "10.201.0.12", "its podCIDR 10.0.0.0/8 is outside the cluster range "
                                  "10.244.0.0/16: only that range is routed to nodes"),
    ("10.244.1.0/33", "10.201.0.12", "its podCIDR '10.244.1.0/33' is not an address range"),
    ("10.244.1.0/24", "10.244.7.1", "its InternalIP 10.244.7.1 is inside the cluster range "
                                    "10.244.0.0/16: the route would loop"),
    ("10.244.1.0/24", "10.201.0.11", "its InternalIP 10.201.0.11 is this node's own "
                                     "address: the route would loop"),
    ("10.244.0.0/24", "10.201.0.12", "its podCIDR 10.244.0.0/24 overlaps this node's own"),
    ("10.244.0.128/25", "10.201.0.12", "its podCIDR 10.244.0.128/25 overlaps this node's own"),
])
def test_a_misconfigured_node_is_never_routed_and_says_why(pod_cidr: str, address: str,
                                                           reason: str) -> None:
    assert plan(ME, node("n2", pod_cidr, internal(address))) == (
        [], [SkippedNode("n2", reason, pending=False)])


def test_of_two_nodes_claiming_one_range_the_first_by_name_wins_everywhere() -> None:
    twin = node("n0", "10.244.1.0/24", internal("10.201.0.10"))
    routes, skipped = plan(ME, N2, twin)
    assert routes == [("n0", "10.244.1.0/24", "10.201.0.10")]
    assert skipped == [SkippedNode("n2", "its podCIDR 10.244.1.0/24 overlaps node n0's")]
    assert plan(N2, twin, me="n3") == plan(twin, N2, me="n3")


def test_ipv6_ranges_and_addresses_are_passed_over() -> None:
    dual = node("n2", None, internal("fd00::12"), internal("10.201.0.12"),
                pod_cidrs=["fd00:10:244:1::/64", "10.244.1.0/24"])
    assert plan(ME, dual) == ([("n2", "10.244.1.0/24", "10.201.0.12")], [])


def test_an_ipv6_only_node_is_pending_an_ipv4_range() -> None:
    v6 = node("n2", None, internal("fd00::12"), pod_cidrs=["fd00:10:244:1::/64"])
    assert plan(ME, v6)[1] == [SkippedNode("n2", "it has no IPv4 podCIDR yet", pending=True)]


def test_the_older_single_pod_cidr_field_is_read() -> None:
    assert plan(ME, node("n2", None, internal("10.201.0.12"),
                         pod_cidrs=["10.244.1.0/24"]))[0] == plan(ME, N2)[0]


def test_only_pod_ranges_and_internal_ips_make_a_nodes_route_facts() -> None:
    heartbeat = {**N2, "status": {**N2["status"], "conditions": [{"type": "Ready"}]}}
    assert route_facts(heartbeat) == route_facts(N2)
    moved = node("n2", "10.244.1.0/24", internal("10.201.0.99"))
    assert route_facts(moved) != route_facts(N2)


# --- the change to make ---------------------------------------------------------------------

def peer(name: str, dst: str, via: str) -> PeerRoute:
    return PeerRoute(name, peer_route(dst, via, BASE))


def from_kernel(route: Route, dev: str = "veth0") -> Route:
    """As `ip -j route` reads it back: with the device the kernel chose."""
    return Route(route.dst, route.type, dev, route.src, route.metric, via=route.via)


P2 = peer("n2", "10.244.1.0/24", "10.201.0.12")
P3 = peer("n3", "10.244.2.0/24", "10.201.0.13")


def test_missing_routes_are_added() -> None:
    assert diff_peer_routes([], [P2, P3]) == RouteChanges(replace=(P2, P3))


def test_routes_already_there_are_left_alone_whatever_device_the_kernel_chose() -> None:
    changes = diff_peer_routes([from_kernel(P2.route), from_kernel(P3.route)], [P2, P3])
    assert changes == RouteChanges() and not changes


def test_a_route_whose_node_moved_is_replaced_in_place() -> None:
    moved = peer("n2", "10.244.1.0/24", "10.201.0.99")
    assert diff_peer_routes([from_kernel(P2.route)], [moved]) == RouteChanges(replace=(moved,))


def test_a_route_to_a_range_no_node_has_any_more_is_deleted() -> None:
    gone = from_kernel(P3.route)
    assert diff_peer_routes([from_kernel(P2.route), gone], [P2]) == RouteChanges(delete=(gone,))


def test_a_route_at_another_metric_of_ours_is_replaced() -> None:
    stale = Route(P2.route.dst, via=P2.route.via, metric=BASE + 1)
    assert diff_peer_routes([stale], [P2]).replace == (P2,)


@pytest.mark.parametrize("route", [
    Route("10.244.0.0/16", "unreachable", metric=BASE + RouteKind.CLUSTER_UNREACHABLE),
    Route("10.244.0.0/24", "unreachable", metric=BASE + RouteKind.PODS_UNREACHABLE),
    Route("10.96.0.0/12", dev="mkpy0", src="10.244.0.1", metric=BASE),
    Route("10.244.5.0/24", via="10.201.0.15", metric=BASE + 4 + 2),  # another cluster's
    Route("10.244.6.0/24", via="10.201.0.16", metric=BASE + 2, protocol=4),  # not a cluster's
])
def test_only_our_own_peer_routes_are_read_back_for_the_diff(route: Route) -> None:
    assert owned_peer_routes([route, from_kernel(P2.route)], BASE) == [from_kernel(P2.route)]
