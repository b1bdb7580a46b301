"""A control-plane member runs a node of its own (issue 9, as k3s servers run workloads):
the first member on the host, a second in a machine of a test LAN (a network namespace)
with a node, a third in another machine without one. The second's node gets its pod range
from the cluster, runs pods, and its pods resolve names through the cluster DNS, which
every member serves; when the first member is killed, the `kubernetes` and kube-dns
endpoints drop it within the lease TTL and the second's pods still resolve names."""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from minikube_py.apiserver.service import LEASE_TTL_SECONDS
from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, free_port, wait_for
from tests.e2e.lan import Lan, MemberProcess, lan_up

pytestmark = [*NEEDS_CONTAINERD, pytest.mark.timeout(600)]

SLOT = 62
SUBNET = f"10.200.{SLOT}.0/24"
FIRST_NODE = f"mkpylan{SLOT}-n1"
CLUSTER_CIDR = "10.248.64.0/22"  # a /22 boundary of its own (multinode has 60-63)
FIRST_POD_CIDR = "10.248.64.0/24"
SERVICE_CIDR = f"10.112.{SLOT}.0/24"
TIMING = ("--heartbeat-interval", "50", "--election-timeout", "500")
PEER_PORT = 12380 + 10 * SLOT
SLACK_SECONDS = 3.0

RESOLVER = f"""
apiVersion: v1
kind: Pod
metadata: {{name: resolver}}
spec:
  nodeName: mkpylan{SLOT}-n2
  terminationGracePeriodSeconds: 1
  containers: [{{name: c, image: busybox, command: ["sleep", "3600"]}}]
"""


@dataclass
class Cluster:
    lan: Lan
    first: ServeProcess
    second: MemberProcess  # with a node
    third: MemberProcess  # without one

    def kubectl(self, *args: str, via: str = "", check: bool = True,
                input: str | None = None) -> Any:
        """kubectl as the admin, through the first member's API or (`via`) another's."""
        server = ("--server", via) if via else ()
        return self.first.kubectl(*server, *args, check=check, input=input)

    def get(self, *args: str, via: str = "") -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json", via=via).stdout)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("member-nodes")
    with ExitStack() as stack:
        lan = stack.enter_context(lan_up(SLOT, 2, SUBNET))
        first = ServeProcess(base / "first", pod_cidr=FIRST_POD_CIDR, bridge=f"mkpyt{SLOT}",
                             service_cidr=SERVICE_CIDR, extra_args=(
                                 "--cluster-init", "--node-name", FIRST_NODE,
                                 "--node-ip", lan.host_ip, "--api-host", lan.host_ip,
                                 "--cluster-cidr", CLUSTER_CIDR, "--peer-port",
                                 str(PEER_PORT), *TIMING))
        stack.callback(first.delete)
        stack.callback(first.stop)
        first.start()
        url = f"https://{lan.host_ip}:{first.api_port}"
        token = (first.data_dir / "server-token").read_text().strip()
        m2, m3 = lan.machines
        second = MemberProcess(m2, url, base / m2.name, bridge=f"mkpyt{SLOT}2",
                               api_port=free_port(), peer_port=PEER_PORT + 1, extra=TIMING)
        third = MemberProcess(m3, url, base / m3.name, bridge=f"mkpyt{SLOT}3",
                              api_port=free_port(), peer_port=PEER_PORT + 2, node=False,
                              extra=TIMING)
        for member in (second, third):
            stack.callback(member.delete)
            stack.callback(member.stop)
            member.start(token)
        yield Cluster(lan, first, second, third)


def endpoints(cluster: Cluster, via: str = "") -> tuple[set[tuple[str, int]], set[str]]:
    """The `kubernetes` Service's (address, port) pairs and kube-dns's addresses."""
    eps = cluster.get("endpoints", "kubernetes", "-n", "default", via=via)
    api = {(a["ip"], s["ports"][0]["port"]) for s in eps.get("subsets", [])
           for a in s["addresses"]}
    slices = cluster.get("endpointslices", "-n", "kube-system", "-l",
                         "kubernetes.io/service-name=kube-dns", via=via)
    dns = {a for s in slices["items"] for e in s["endpoints"] for a in e["addresses"]}
    return api, dns


def test_the_member_runs_a_ready_node_with_a_pod_range_of_the_cluster(
        cluster: Cluster) -> None:
    name = cluster.second.node_name

    def ready() -> Any:
        node = cluster.get("node", name)
        conditions = {c["type"]: c["status"] for c in node["status"].get("conditions", [])}
        return node if conditions.get("Ready") == "True" else None

    node = wait_for(ready, timeout=60, what=f"node {name} Ready")
    pod_cidr = ipaddress.ip_network(node["spec"]["podCIDR"])
    assert pod_cidr.subnet_of(ipaddress.ip_network(CLUSTER_CIDR))  # type: ignore[arg-type]
    assert str(pod_cidr) != FIRST_POD_CIDR
    assert "node mkpylan62-n2 registered: pod range" in cluster.second.log


def test_every_member_is_an_endpoint_of_the_kubernetes_and_dns_services(
        cluster: Cluster) -> None:
    c = cluster
    want = ({(c.lan.host_ip, c.first.api_port), (c.second.machine.ip, c.second.api_port),
             (c.third.machine.ip, c.third.api_port)},
            {c.lan.host_ip, c.second.machine.ip, c.third.machine.ip})
    wait_for(lambda: endpoints(c) == want, timeout=30, what=f"endpoints {want}")


def lookup(cluster: Cluster, name: str) -> tuple[bool, str]:
    """nslookup in the pod on the member's node (kubectl through that member's API)."""
    out = cluster.kubectl("exec", "resolver", "--", "nslookup", name, check=False,
                          via=cluster.second.api_url)
    return out.returncode == 0 and "Address" in out.stdout, out.stdout + out.stderr


def resolves(cluster: Cluster, name: str) -> bool:
    return lookup(cluster, name)[0]


def test_a_pod_on_the_members_node_runs_and_resolves_names(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=RESOLVER)
    wait_for(lambda: cluster.get("pod", "resolver")["status"].get("phase") == "Running",
             timeout=90, what="the pod on the member's node Running")
    wait_for(lambda: resolves(cluster, "kubernetes.default.svc.cluster.local"), timeout=30,
             what="the pod resolving kubernetes.default")


def test_a_member_with_a_node_stops_gracefully_and_is_itself_again_on_restart(
        cluster: Cluster) -> None:
    c = cluster
    name = c.second.node_name
    pod_cidr = c.get("node", name)["spec"]["podCIDR"]
    pod_uid = c.get("pod", "resolver")["metadata"]["uid"]
    everyone = endpoints(c)
    t0 = time.monotonic()
    assert c.second.stop() == 0
    without = ({e for e in everyone[0] if e[0] != c.second.machine.ip},
               everyone[1] - {c.second.machine.ip})
    wait_for(lambda: endpoints(c) == without, timeout=5,
             what="the stopped member gone from the endpoints")
    print(f"a member with a node stopped with SIGTERM left the endpoints "
          f"{time.monotonic() - t0:.2f} s after the signal")
    c.second.start(None)  # its data dir: no token needed
    assert c.get("node", name)["spec"]["podCIDR"] == pod_cidr
    wait_for(lambda: endpoints(c) == everyone, timeout=30, what="the member back")
    wait_for(lambda: resolves(c, "kubernetes.default.svc.cluster.local"), timeout=30,
             what="its pod resolving names again")
    assert c.get("pod", "resolver")["metadata"]["uid"] == pod_uid


def test_the_first_member_killed_leaves_the_endpoints_and_dns_goes_on(
        cluster: Cluster) -> None:
    c = cluster
    via = c.second.api_url
    assert c.first.proc is not None
    t0 = time.monotonic()
    c.first.proc.kill()
    c.first.proc.wait(30)
    want = ({(c.second.machine.ip, c.second.api_port), (c.third.machine.ip, c.third.api_port)},
            {c.second.machine.ip, c.third.machine.ip})

    def dropped() -> bool:
        try:
            return endpoints(c, via) == want
        except (AssertionError, ValueError):  # the API answers once the store has a leader
            return False

    wait_for(dropped, timeout=LEASE_TTL_SECONDS + SLACK_SECONDS, interval=0.2,
             what="the killed first member gone from the endpoints")
    print(f"the first member killed with SIGKILL left the kubernetes and kube-dns endpoints "
          f"{time.monotonic() - t0:.2f} s after the kill")
    # kube-proxy on the member's node renders the smaller kube-dns endpoints
    wait_for(lambda: resolves(c, "kubernetes.default.svc.cluster.local"), timeout=10,
             what="the pod resolving names after the kill")
    for _ in range(6):  # queries spread over the two members left
        ok, out = lookup(c, "kubernetes.default.svc.cluster.local")
        assert ok, out
