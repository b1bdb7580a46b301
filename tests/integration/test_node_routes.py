"""Host-gw routes between nodes, for real: two network namespaces this test makes, linked by
a veth pair on a test subnet, and node a's route controller run inside the first
(tests/integration/route_agent.py). The kernel must hold exactly the peer routes, lose
them with their nodes, and a next hop that is not on-link must be reported, not fatal.
Needs root; everything it makes is removed with the namespaces."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from minikube_py.runtime.hostnet import METRIC_FLOOR, RouteKind, parse_routes

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="makes network namespaces: needs root"),
    pytest.mark.skipif(shutil.which("nsenter") is None or shutil.which("ip") is None,
                       reason="needs nsenter and ip"),
]

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = "10.244.0.0/16"
BASE = METRIC_FLOOR + 4 * 12345
SUBNET = 10 + os.getpid() % 200  # 10.201.SUBNET.0/24: apart from other runs' links


def ip_of(host: int) -> str:
    return f"10.201.{SUBNET}.{host}"


@dataclass
class Machines:
    a: str  # the namespace node a's controller runs in
    b: str
    veth_a: str


def run(*args: str, netns: str | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    prefix = ["nsenter", f"--net=/var/run/netns/{netns}"] if netns else []
    return subprocess.run([*prefix, *args], check=True, capture_output=True, text=True,
                          timeout=60, **kw)


@pytest.fixture
def machines() -> Iterator[Machines]:
    prefix = f"mkpyrt-{os.getpid()}"
    a, b = f"{prefix}-a", f"{prefix}-b"
    veth_a, veth_b = f"mkrt{os.getpid()}a", f"mkrt{os.getpid()}b"
    try:
        for ns in (a, b):
            run("ip", "netns", "add", ns)
        run("ip", "link", "add", veth_a, "netns", a, "type", "veth", "peer", "name", veth_b,
            "netns", b)
        for ns, dev, host in ((a, veth_a, 1), (b, veth_b, 2)):
            run("ip", "addr", "add", f"{ip_of(host)}/24", "dev", dev, netns=ns)
            run("ip", "link", "set", dev, "up", netns=ns)
            run("ip", "link", "set", "lo", "up", netns=ns)
        yield Machines(a, b, veth_a)
    finally:
        # The veth pair, and every route in them, go with the namespaces.
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=60)


def node(name: str, pod_cidr: str, address: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]},
            "status": {"addresses": [{"type": "InternalIP", "address": address}]}}


def run_controller(netns: str, *nodes: dict[str, Any]) -> list[str]:
    """Node a's controller, until its first full sync, in `netns`; its warnings."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = run(sys.executable, "-m", "tests.integration.route_agent", "a", CLUSTER, str(BASE),
               netns=netns, input=json.dumps(list(nodes)), env=env, cwd=ROOT)
    warnings: list[str] = json.loads(done.stdout.strip().splitlines()[-1])["warnings"]
    return warnings


def routes(netns: str) -> set[tuple[str, str, str, int]]:
    """(dst, via, dev, metric) of every route in the namespace's main table."""
    shown = json.loads(run("ip", "-j", "route", "show", "table", "main", netns=netns).stdout)
    return {(r["dst"], r.get("gateway", ""), r.get("dev", ""), int(r.get("metric") or 0))
            for r in shown}


def peer(dst: str, via: str, dev: str) -> tuple[str, str, str, int]:
    return (dst, via, dev, BASE + RouteKind.CLUSTER_UNREACHABLE)


A = node("a", "10.244.0.0/24", ip_of(1))
B = node("b", "10.244.1.0/24", ip_of(2))
C = node("c", "10.244.2.0/24", ip_of(3))  # on the link; no machine needs to answer


def test_the_kernel_holds_exactly_the_peer_routes_marked_as_the_clusters(
        machines: Machines) -> None:
    link = (f"10.201.{SUBNET}.0/24", "", machines.veth_a, 0)
    assert run_controller(machines.a, A, B, C) == []
    assert routes(machines.a) == {link, peer("10.244.1.0/24", ip_of(2), machines.veth_a),
                                  peer("10.244.2.0/24", ip_of(3), machines.veth_a)}
    shown = run("ip", "-j", "route", "show", "table", "main", "proto", "167",
                netns=machines.a).stdout
    assert {r.dst for r in parse_routes(json.loads(shown))} == {"10.244.1.0/24",
                                                                 "10.244.2.0/24"}


def test_forwarding_is_turned_on_in_the_nodes_namespace(machines: Machines) -> None:
    forward = "/proc/sys/net/ipv4/ip_forward"
    run("sh", "-c", f"echo 0 > {forward}", netns=machines.a)
    run_controller(machines.a, A, B)
    assert run("cat", forward, netns=machines.a).stdout.strip() == "1"


def test_a_nodes_route_goes_with_it_and_the_rest_are_kept(machines: Machines) -> None:
    run_controller(machines.a, A, B, C)
    assert run_controller(machines.a, A, B) == []
    assert {r for r in routes(machines.a) if r[1]} == {
        peer("10.244.1.0/24", ip_of(2), machines.veth_a)}
    run_controller(machines.a, A)
    assert {r for r in routes(machines.a) if r[1]} == set()


def test_a_next_hop_off_the_link_is_reported_and_the_others_still_routed(
        machines: Machines) -> None:
    far = node("d", "10.244.3.0/24", f"10.201.{(SUBNET + 1) % 256}.4")
    warnings = run_controller(machines.a, A, B, far)
    assert len(warnings) == 1
    assert "node d" in warnings[0] and "Nexthop has invalid gateway" in warnings[0]
    assert {r for r in routes(machines.a) if r[1]} == {
        peer("10.244.1.0/24", ip_of(2), machines.veth_a)}


@pytest.mark.skipif(shutil.which("busybox") is None, reason="no busybox for ping")
def test_a_pod_address_on_the_peer_answers_through_its_route(machines: Machines) -> None:
    # Node b's "pods": an address of its pod range on its loopback.
    run("ip", "addr", "add", "10.244.1.7/32", "dev", "lo", netns=machines.b)
    run_controller(machines.a, A, B)
    run("busybox", "ping", "-c", "1", "-W", "2", "10.244.1.7", netns=machines.a)
