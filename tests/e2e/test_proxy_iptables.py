"""kube-proxy against the real kernel: Services and EndpointSlices in the in-process API
become iptables rules that carry traffic from the host and from "pods" (network namespaces
this test creates on a bridge of its own) to web servers in those namespaces.

Everything stays on this machine: the ClusterIP is DNATed to the namespaces, and the rules
use a chain prefix of this test's own, removed (and checked gone) at the end."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from minikube_py.api.resources import ENDPOINTSLICES, SERVICES
from minikube_py.proxy.iptables import cleanup
from minikube_py.proxy.proxier import KubeProxy
from minikube_py.proxy.rules import ProxySettings
from tests.integration.harness import ControlPlane, control_plane

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="changes iptables: needs root"),
    pytest.mark.skipif(shutil.which("iptables-restore") is None, reason="no iptables"),
    pytest.mark.skipif(shutil.which("busybox") is None, reason="no busybox"),
]

CLUSTER_IP = "10.111.222.1"
PY_GET = ("import sys, urllib.request as u; "
          "print(u.urlopen(sys.argv[1], timeout=2).read().decode().strip())")  # requested explicitly: far from what running clusters allocate


def sh(*args: str, check: bool = True) -> str:
    out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(args)}: {out.stdout}{out.stderr}")
    return out.stdout


@dataclass
class Net:
    tag: str
    bridge: str
    gateway: str
    pods: dict[str, str]  # netns name -> IP
    settings: ProxySettings


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    """A bridge with two namespaces ("pods") each running busybox httpd on :8080."""
    tag = secrets.token_hex(2)
    # A /24 no interface of the host (another test's cluster, say) has.
    taken = sh("ip", "-4", "-o", "addr", "show")
    octet = next(o for o in (230 + secrets.randbelow(20) for _ in range(100))
                 if f" 10.244.{o}." not in taken)
    bridge = f"mkpypx{tag}"
    n = Net(tag, bridge, f"10.244.{octet}.1", {}, ProxySettings(prefix=f"MKPY-t{tag}"))
    servers: list[subprocess.Popen[bytes]] = []
    try:
        sh("ip", "link", "add", bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{n.gateway}/24", "dev", bridge)
        sh("ip", "link", "set", bridge, "up")
        # As serve routes its service range onto its bridge: a host connect() to the
        # ClusterIP is routed before the OUTPUT DNAT, and that route's device is what
        # OUTPUT rules see; the default route's would take it for traffic leaving the host.
        sh("ip", "route", "add", f"{CLUSTER_IP}/32", "dev", bridge)
        for i in (1, 2):
            ns, ip = f"mkpypx{tag}p{i}", f"10.244.{octet}.{10 + i}"
            sh("ip", "netns", "add", ns)
            n.pods[ns] = ip
            host_if = f"vpx{tag}{i}"
            sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0",
               "netns", ns)
            sh("ip", "link", "set", host_if, "master", bridge, "up")
            # As the CNI bridge plugin does with hairpinMode (our containerd config sets it):
            # a pod reaching itself through a service gets its packet back on its own port.
            sh("ip", "link", "set", host_if, "type", "bridge_slave", "hairpin", "on")
            for cmd in (["ip", "addr", "add", f"{ip}/24", "dev", "eth0"],
                        ["ip", "link", "set", "eth0", "up"], ["ip", "link", "set", "lo", "up"],
                        ["ip", "route", "add", "default", "via", n.gateway]):
                sh("ip", "netns", "exec", ns, *cmd)
            www = tmp_path / ns
            www.mkdir()
            (www / "index.html").write_text(f"{ns}\n")
            servers.append(subprocess.Popen(
                ["ip", "netns", "exec", ns, "busybox", "httpd", "-f", "-p", "8080", "-h",
                 str(www)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield n
    finally:
        for proc in servers:
            proc.kill()
            proc.wait(10)
        for ns in n.pods:
            sh("ip", "netns", "del", ns, check=False)
        sh("ip", "link", "del", bridge, check=False)
        asyncio.run(cleanup(n.settings))
        assert n.settings.prefix not in sh("iptables-save")


def get(url: str, *, netns: str | None = None) -> str:
    """One HTTP GET (from the host, or from inside a namespace); the body or an error."""
    if netns:  # (busybox wget crashes in a bare namespace here; Python's client does not)
        out = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", PY_GET, url],
                             capture_output=True, text=True, timeout=10, check=False)
        return out.stdout.strip() if out.returncode == 0 else f"error: {out.stderr.strip()}"
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return str(r.read().decode().strip())
    except (urllib.error.URLError, OSError) as e:
        return f"error: {e}"


async def answers(url: str, *, tries: int = 30, netns: str | None = None) -> set[str]:
    return {await asyncio.to_thread(get, url, netns=netns) for _ in range(tries)}


async def until(url: str, want: set[str], *, timeout: float = 10.0,
                netns: str | None = None) -> set[str]:
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while time.monotonic() < deadline:
        seen = await answers(url, tries=10, netns=netns)
        if seen == want:
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url}: wanted {want}, got {seen}")


async def set_endpoints(plane: ControlPlane, ips: list[str]) -> None:
    body: dict[str, Any] = {
        "metadata": {"name": "web-abc", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}
    try:
        current = await plane.api.get(ENDPOINTSLICES, "web-abc", namespace="default")
    except Exception:
        await plane.api.create(ENDPOINTSLICES, body, namespace="default")
        return
    body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    await plane.api.update(ENDPOINTSLICES, body, namespace="default")


def start_proxy(plane: ControlPlane, net: Net) -> KubeProxy:
    proxy = KubeProxy(plane.api, plane.informers, node_name="node-1",
                      node_ips=(net.gateway,), pod_bridge=net.bridge, settings=net.settings)
    plane.start(f"kube-proxy-{id(proxy)}", proxy.run)
    return proxy


async def test_services_reach_pods_through_the_kernel_and_follow_endpoints(net: Net) -> None:
    (ns1, ip1), (ns2, ip2) = net.pods.items()
    url = f"http://{CLUSTER_IP}/"
    async with control_plane(nodes=0, scheduler=False) as plane:
        svc = await plane.api.create(SERVICES, {
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": "NodePort", "clusterIP": CLUSTER_IP,
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                                "targetPort": 8080}]}}, namespace="default")
        node_port = svc["spec"]["ports"][0]["nodePort"]
        await set_endpoints(plane, [ip1, ip2])
        proxy = start_proxy(plane, net)
        await asyncio.wait_for(proxy.synced.wait(), 10)

        # From the host: both endpoints answer (random balancing), on the ClusterIP and
        # on the NodePort at the node address.
        await until(url, {ns1, ns2})
        await until(f"http://{net.gateway}:{node_port}/", {ns1, ns2})
        # From a pod, to a pod on the same bridge, and to itself (hairpin).
        await until(url, {ns1, ns2}, netns=ns1)

        # Scale down: traffic follows the endpoints; then hairpin alone.
        await set_endpoints(plane, [ip1])
        await until(url, {ns1})
        await until(url, {ns1}, netns=ns1)

        # No endpoints: refused at once, not left to time out.
        await set_endpoints(plane, [])
        t0 = time.monotonic()
        (refused,) = await until(url, {"error: <urlopen error [Errno 111] Connection refused>"})
        assert time.monotonic() - t0 < 5 and "refused" in refused

        # A port the service does not have: refused too, never routed off the machine.
        assert "refused" in await asyncio.to_thread(get, f"http://{CLUSTER_IP}:81/")

        # Restart: the rules stay while no proxy runs, and a new proxy takes over.
        await set_endpoints(plane, [ip2])
        await until(url, {ns2})
        for task in plane._tasks:
            if task.get_name().startswith("kube-proxy-"):
                task.cancel()
        await set_endpoints(plane, [ip1, ip2])
        assert await answers(url, tries=5) == {ns2}  # old rules still in place
        second = start_proxy(plane, net)
        await asyncio.wait_for(second.synced.wait(), 10)
        await until(url, {ns1, ns2})

    removed = await cleanup(net.settings)
    assert any("jump" in r for r in removed)
    assert int(sh("sh", "-c", f"iptables-save | grep -c -- '{net.settings.prefix}' || true")) == 0
