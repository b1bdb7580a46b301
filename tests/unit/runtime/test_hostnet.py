"""The host's links and cluster routes as `ip -j` prints them, and the routes a cluster
keeps, each marked as its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from minikube_py.runtime.hostnet import (
    METRIC_FLOOR,
    ROUTE_PROTOCOL,
    Link,
    Route,
    RouteKind,
    cluster_routes,
    describe_route,
    is_peer_route,
    owned_peer_routes,
    owned_routes,
    owner_alias,
    parse_alias,
    parse_links,
    parse_routes,
    peer_route,
)

BASE = METRIC_FLOOR + 40
# Trimmed from `ip -j -d addr show` on this machine.
ADDR_SHOW = [
    {"ifname": "lo", "addr_info": [
        {"family": "inet", "local": "127.0.0.1", "prefixlen": 8},
        {"family": "inet6", "local": "::1", "prefixlen": 128}]},
    {"ifname": "eth0", "addr_info": [
        {"family": "inet", "local": "192.0.2.2", "prefixlen": 24},
        {"family": "inet6", "local": "fd00::2", "prefixlen": 64}]},
    {"ifname": "mkpyt1", "linkinfo": {"info_kind": "bridge", "info_data": {}},
     "ifalias": "minikube-py owner=abcd1234 data-dir=/tmp/a b", "addr_info": [
         {"family": "inet", "local": "10.244.201.1", "prefixlen": 24}]},
]
# From `ip -j route show table main proto 167`.
ROUTE_SHOW = [
    {"dst": "10.112.1.0/24", "dev": "mkpyt1", "scope": "link", "prefsrc": "10.244.201.1",
     "metric": BASE, "flags": []},
    {"type": "unreachable", "dst": "10.112.1.0/24", "metric": BASE + 1, "flags": []},
    {"type": "unreachable", "dst": "10.244.0.0/16", "metric": BASE + 2, "flags": []},
    {"type": "unreachable", "dst": "10.244.201.0/24", "metric": BASE + 3, "flags": []},
    {"type": "unreachable", "dst": "10.9.9.9", "metric": 5, "flags": []},
]
ROUTES = cluster_routes(bridge="mkpyt1", pod_cidr="10.244.201.0/24",
                        cluster_cidr="10.244.0.0/16", service_cidr="10.112.1.0/24",
                        metric_base=BASE)


def test_links_keep_their_kind_alias_and_ipv4_addresses() -> None:
    assert parse_links(ADDR_SHOW) == (
        Link("lo", "", "", ("127.0.0.1/8",)),
        Link("eth0", "", "", ("192.0.2.2/24",)),
        Link("mkpyt1", "bridge", "minikube-py owner=abcd1234 data-dir=/tmp/a b",
             ("10.244.201.1/24",)),
    )


def test_a_links_owner_is_read_from_its_alias() -> None:
    links = parse_links(ADDR_SHOW)
    assert [link.owner for link in links] == [None, None, "abcd1234"]


@pytest.mark.parametrize("alias", ["", "my bridge", "minikube-py owner= data-dir=/x",
                                   "minikube-py owner=XYZ data-dir=/x"])
def test_an_alias_no_cluster_wrote_has_no_owner(alias: str) -> None:
    assert parse_alias(alias) is None


def test_an_owner_alias_reads_back() -> None:
    assert parse_alias(owner_alias("0f0f0f0f", Path("/var/lib/my data"))) == (
        "0f0f0f0f", "/var/lib/my data")


def test_routes_read_from_ip_are_the_ones_a_cluster_writes() -> None:
    assert parse_routes(ROUTE_SHOW)[:4] == tuple(ROUTES)


def test_a_host_route_reads_as_a_slash_32() -> None:
    assert parse_routes(ROUTE_SHOW)[4].dst == "10.9.9.9/32"


def test_routes_of_another_protocol_are_not_read() -> None:
    assert parse_routes([{"dst": "10.1.0.0/16", "protocol": "kernel", "metric": BASE}]) == ()


def test_a_cluster_keeps_the_service_range_on_its_bridge_and_unreachable_behind_it() -> None:
    via, *unreachable = ROUTES
    assert via.args() == ["10.112.1.0/24", "dev", "mkpyt1", "src", "10.244.201.1", "proto",
                          str(ROUTE_PROTOCOL), "metric", str(BASE)]
    assert [r.args() for r in unreachable] == [
        ["unreachable", dst, "proto", str(ROUTE_PROTOCOL), "metric", str(BASE + i)]
        for i, dst in ((1, "10.112.1.0/24"), (2, "10.244.0.0/16"), (3, "10.244.201.0/24"))]
    # The route onto the bridge wins while the bridge exists: a lower metric.
    assert via.metric < unreachable[0].metric


def test_each_route_tells_its_kind_by_its_metric() -> None:
    assert [r.kind for r in ROUTES] == list(RouteKind)
    assert Route("10.0.0.0/8", metric=12).kind is None
    assert Route("10.0.0.0/8", metric=BASE, protocol=4).kind is None


def test_a_cluster_owns_exactly_the_routes_at_its_metric_base() -> None:
    others = cluster_routes(bridge="mkpyt2", pod_cidr="10.244.202.0/24",
                            cluster_cidr="10.244.0.0/16", service_cidr="10.112.2.0/24",
                            metric_base=BASE + 4)
    assert owned_routes([*ROUTES, *others, Route("10.3.0.0/16", metric=BASE, protocol=4)],
                        BASE) == ROUTES


def test_a_route_via_a_next_hop_reads_back_with_it() -> None:
    # From `ip -j route show table main proto 167` with a peer node's route.
    shown = [{"dst": "10.244.1.0/24", "gateway": "10.201.0.12", "dev": "veth0",
              "metric": BASE + 2, "flags": []}]
    assert parse_routes(shown) == (Route("10.244.1.0/24", dev="veth0", metric=BASE + 2,
                                         via="10.201.0.12"),)


def test_a_peer_route_is_one_of_our_cluster_range_routes() -> None:
    peer = peer_route("10.244.1.0/24", "10.201.0.12", BASE)
    assert peer.kind == RouteKind.CLUSTER_UNREACHABLE
    assert owned_routes([*ROUTES, peer], BASE) == [*ROUTES, peer]  # `delete` removes it too
    assert owned_peer_routes([*ROUTES, peer], BASE) == [peer]
    assert not any(is_peer_route(r) for r in ROUTES)


def test_routes_are_described_as_ip_would_name_them() -> None:
    assert [describe_route(r) for r in ROUTES[:2]] == [
        "10.112.1.0/24 dev mkpyt1", "unreachable 10.112.1.0/24"]
    assert describe_route(peer_route("10.244.1.0/24", "10.201.0.12", BASE)) == \
        "10.244.1.0/24 via 10.201.0.12"


def test_a_load_balancer_pool_is_routed_as_the_service_range_onto_the_bridge() -> None:
    routes = cluster_routes(bridge="mkpyt1", pod_cidr="10.244.201.0/24",
                            cluster_cidr="10.244.0.0/16", service_cidr="10.112.1.0/24",
                            metric_base=BASE, lb_cidr="10.113.1.0/28")
    pool = [r for r in routes if r.dst == "10.113.1.0/28"]
    assert pool == [
        Route("10.113.1.0/28", dev="mkpyt1", src="10.244.201.1", metric=BASE),
        Route("10.113.1.0/28", "unreachable", metric=BASE + 1)]
    assert owned_routes(routes, BASE) == routes  # delete removes them with the rest
