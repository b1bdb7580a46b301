"""The `kubernetes` Service and the cluster DNS lead to every live control-plane member
(issue 9; kube's lease endpoint reconciler): three members, none with a node, each with an
address of a test bridge as its --node-ip (where pods would reach it). Each is an endpoint
of both, and each answers DNS; one stopped gracefully leaves at once, one killed with
SIGKILL (the first) leaves within its lease's TTL, and DNS goes on at the others."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dnslib import DNSRecord

from minikube_py.apiserver.service import LEASE_TTL_SECONDS
from tests.e2e.cluster import ServeProcess, wait_for

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(os.geteuid() != 0, reason="serve needs root")]

SLOT = 37  # pod ranges 10.244.237-239.0/24 (slots 37-39, never used: no node), services 10.112.37.0/24
BRIDGE = "mkpym37"  # holds the members' addresses; nothing attached
ADDRESSES = ("10.251.37.1", "10.251.37.2", "10.251.37.3")
NAMES = ("a", "b", "c")
TIMING = ("--heartbeat-interval", "50", "--election-timeout", "500")
# A record lapses TTL after its last renewal, which came at most one interval before the
# kill; the others' rounds are due at the lapse. The slack is for their writes.
SLACK_SECONDS = 3.0


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], capture_output=True, timeout=10, check=check)


@pytest.fixture(scope="module")
def addresses() -> Iterator[tuple[str, ...]]:
    _ip("link", "del", BRIDGE, check=False)
    _ip("link", "add", BRIDGE, "type", "bridge")
    try:
        for address in ADDRESSES:
            _ip("addr", "add", f"{address}/32", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        yield ADDRESSES
    finally:
        _ip("link", "del", BRIDGE, check=False)


class Member(ServeProcess):
    def __init__(self, root: Path, index: int, first: Member | None) -> None:
        super().__init__(root / NAMES[index], pod_cidr=f"10.244.{200 + SLOT + index}.0/24",
                         bridge=f"mkpyt{SLOT + index}", service_cidr=f"10.112.{SLOT}.0/24")
        self.name = NAMES[index]
        self.address = ADDRESSES[index]
        self.first = first
        self.peer_port = 12380 + 10 * SLOT + index

    @property
    def flags(self) -> list[str]:
        own = [*super().flags, "--no-node", "--node-name", self.name, "--node-ip",
               self.address, "--peer-port", str(self.peer_port), *TIMING]
        if self.first is None:
            return [*own, "--cluster-init"]
        token = (self.first.data_dir / "server-token").read_text().strip()
        return [*own, "--server", self.first.api_url, "--token", token]

    @property
    def endpoint(self) -> tuple[str, int]:
        return self.address, self.api_port

    def get(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(self.api_url + path, timeout=10,  # loopback
                                        context=self.tls(self.pki.admin)) as resp:
                return json.loads(resp.read())
        except (urllib.error.HTTPError, OSError):
            return None  # not answering (yet): the caller waits

    def kubernetes_endpoints(self) -> set[tuple[str, int]] | None:
        eps = self.get("/api/v1/namespaces/default/endpoints/kubernetes")
        if eps is None:
            return None
        return {(a["ip"], s["ports"][0]["port"]) for s in eps.get("subsets", [])
                for a in s["addresses"]}

    def kubernetes_slices(self) -> set[tuple[str, int]] | None:
        found = self.get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
                         "?labelSelector=kubernetes.io%2Fservice-name%3Dkubernetes")
        if found is None:
            return None
        return {(a, p["port"]) for s in found["items"] for e in s["endpoints"]
                for a in e["addresses"] for p in s["ports"]}

    def dns_endpoints(self) -> set[str] | None:
        found = self.get("/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices"
                         "?labelSelector=kubernetes.io%2Fservice-name%3Dkube-dns")
        if found is None:
            return None
        return {a for s in found["items"] for e in s["endpoints"] for a in e["addresses"]}

    def resolve(self, name: str) -> list[str]:
        """An A query to this member's cluster DNS (on its address, port 53)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(3)
            sock.sendto(DNSRecord.question(name).pack(), (self.address, 53))  # the test's bridge
            reply = DNSRecord.parse(sock.recv(4096))
        return [str(r.rdata) for r in reply.rr]


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory,
            addresses: tuple[str, ...]) -> Iterator[list[Member]]:
    root = tmp_path_factory.mktemp("member-endpoints")
    first = Member(root, 0, None)
    cluster = [first, Member(root, 1, first), Member(root, 2, first)]
    try:
        for m in cluster:
            m.start()
        yield cluster
    finally:
        for m in cluster:
            if m.proc is not None and m.proc.poll() is None:
                m.proc.kill()
                m.proc.wait(30)
        for m in cluster:
            m.delete()


def listed(reader: Member, want: set[tuple[str, int]]) -> bool:
    return reader.kubernetes_endpoints() == want and reader.kubernetes_slices() == want \
        and reader.dns_endpoints() == {address for address, _ in want}


def test_every_member_is_an_endpoint_of_the_kubernetes_service(members: list[Member]) -> None:
    want = {m.endpoint for m in members}
    for reader in members:
        wait_for(lambda r=reader: listed(r, want), timeout=30,
                 what=f"the kubernetes and kube-dns endpoints as {reader.name} lists them: "
                      f"{want}")


def test_every_member_answers_cluster_dns(members: list[Member]) -> None:
    service_ip = members[0].get("/api/v1/namespaces/default/services/kubernetes")[
        "spec"]["clusterIP"]
    for m in members:
        assert m.resolve("kubernetes.default.svc.cluster.local") == [service_ip]


def test_a_member_stopped_gracefully_leaves_at_once(members: list[Member]) -> None:
    a, b, c = members
    everyone = {m.endpoint for m in members}
    wait_for(lambda: listed(a, everyone), timeout=30, what="every member listed")
    t0 = time.monotonic()
    assert c.stop() == 0
    wait_for(lambda: listed(a, {a.endpoint, b.endpoint}), timeout=5,
             what="the stopped member gone from the endpoints")
    print(f"a member stopped with SIGTERM left the kubernetes endpoints "
          f"{time.monotonic() - t0:.2f} s after the signal")
    c.start()
    wait_for(lambda: listed(a, everyone), timeout=30, what="the member back as an endpoint")


def test_a_killed_first_member_leaves_within_its_lease_ttl(members: list[Member]) -> None:
    a, b, c = members
    everyone = {m.endpoint for m in members}
    wait_for(lambda: listed(b, everyone), timeout=30, what="every member listed")
    assert a.proc is not None
    t0 = time.monotonic()
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait(30)
    wait_for(lambda: listed(b, {b.endpoint, c.endpoint}),
             timeout=LEASE_TTL_SECONDS + SLACK_SECONDS,
             what="the killed member gone from the endpoints", interval=0.2)
    took = time.monotonic() - t0
    print(f"a member killed with SIGKILL left the kubernetes and kube-dns endpoints "
          f"{took:.2f} s after the kill (lease TTL {LEASE_TTL_SECONDS:.0f} s)")
    assert listed(c, {b.endpoint, c.endpoint})
    assert b.resolve("kube-dns.kube-system.svc.cluster.local") == [
        b.get("/api/v1/namespaces/kube-system/services/kube-dns")["spec"]["clusterIP"]]
