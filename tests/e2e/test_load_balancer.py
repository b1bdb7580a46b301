"""LoadBalancer Services end to end (serve --lb-cidr, a real containerd, the real kubectl):
the Service gets a pool address that `kubectl get svc` shows as its EXTERNAL-IP, an HTTP GET
from the host and from a pod to that address answers from a pod, and `delete` removes the
pool's routes and the Service's chains. Traffic only to the pool and pods of this test."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, free_port, wait_for

pytestmark = NEEDS_CONTAINERD

SLOT = 76
# Inside 10.112.0.0/16 (what guard-uplink.sh keeps off the uplink), apart from every slot's
# service range (10.112.SLOT.0/24).
POOL = f"10.112.{100 + SLOT}.0/28"
FIRST = f"10.112.{100 + SLOT}.1"

APP_YAML = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: busybox
        command: ["sh", "-c", "mkdir -p /www && echo hello from $(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""


@contextmanager
def serving(data_dir: Path, slot: int = SLOT, *, pool: str = POOL) -> Iterator[ServeProcess]:
    """As cluster.running_serve, whose pod range (10.244.(200+N).0/24) stops at slot 55:
    slot N's network is bridge mkpytN, pods 10.244.(100+N).0/24, services 10.112.N.0/24."""
    serve = ServeProcess(data_dir, pod_cidr=f"10.244.{100 + slot}.0/24", bridge=f"mkpyt{slot}",
                         service_cidr=f"10.112.{slot}.0/24",
                         extra_args=("--lb-cidr", pool) if pool else ())
    serve.start()
    try:
        yield serve
    finally:
        serve.stop()
        serve.delete()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with serving(tmp_path_factory.mktemp("lb") / "data") as serve:
        serve.kubectl("apply", "-f", "-", input=APP_YAML)
        serve.kubectl("rollout", "status", "deployment/web", "--timeout=120s", timeout=150)
        yield serve


def get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as r:  # the pool of this test's cluster
            return str(r.read().decode().strip())
    except OSError:
        return None


def external_ip(cluster: ServeProcess) -> str | None:
    row = cluster.kubectl("get", "svc", "web", "--no-headers").stdout.split()
    return row[3] if len(row) > 3 and row[3] not in ("<pending>", "<none>") else None


def test_kubectl_get_svc_shows_the_pool_address_as_external_ip(cluster: ServeProcess) -> None:
    assert wait_for(lambda: external_ip(cluster), timeout=30, what="EXTERNAL-IP") == FIRST
    svc = cluster.kubectl_json("get", "svc", "web")
    assert svc["status"]["loadBalancer"]["ingress"] == [{"ip": FIRST, "ipMode": "VIP"}]
    reasons = cluster.kubectl("get", "events", "--field-selector",
                              "involvedObject.name=web,involvedObject.kind=Service",
                              "-o", "jsonpath={.items[*].reason}").stdout.split()
    assert "EnsuredLoadBalancer" in reasons


def test_the_official_client_reads_the_ingress(cluster: ServeProcess) -> None:
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(str(cluster.kubeconfig)))
    wait_for(lambda: external_ip(cluster), timeout=30, what="EXTERNAL-IP")
    ingress = api.read_namespaced_service("web", "default").status.load_balancer.ingress
    assert [(i.ip, i.ip_mode) for i in ingress] == [(FIRST, "VIP")]


def test_the_host_reaches_a_pod_at_the_external_ip(cluster: ServeProcess) -> None:
    wait_for(lambda: external_ip(cluster), timeout=30, what="EXTERNAL-IP")
    body = wait_for(lambda: get(f"http://{FIRST}/"), timeout=30, what="an answer at the LB IP")
    assert body.startswith("hello from web-")


def test_a_pod_reaches_the_external_ip(cluster: ServeProcess) -> None:
    wait_for(lambda: external_ip(cluster), timeout=30, what="EXTERNAL-IP")
    pod = cluster.kubectl("get", "pods", "-l", "app=web", "-o",
                          "jsonpath={.items[0].metadata.name}").stdout

    def fetched() -> str | None:
        # Bounded by `timeout`, not wget's -T: Debian's busybox 1.35 wget crashes with -T.
        out = cluster.kubectl("exec", pod, "--", "timeout", "5", "wget", "-q", "-O", "-",
                              f"http://{FIRST}/", check=False)
        return out.stdout.strip() if out.returncode == 0 else None

    assert wait_for(fetched, timeout=30, what="a pod's GET of the LB IP").startswith(
        "hello from web-")


def test_source_ranges_decide_who_may_use_the_external_ip(cluster: ServeProcess) -> None:
    wait_for(lambda: get(f"http://{FIRST}/"), timeout=30, what="an answer at the LB IP")
    host_source = f"10.244.{100 + SLOT}.0/24"  # the host reaches the pool from the bridge

    def ranges(*cidrs: str) -> None:
        patch = json.dumps({"spec": {"loadBalancerSourceRanges": list(cidrs) or None}})
        cluster.kubectl("patch", "svc", "web", "-p", patch)

    ranges("198.51.100.0/24")
    wait_for(lambda: get(f"http://{FIRST}/") is None, timeout=30, what="the host shut out")
    with pytest.raises(TimeoutError):  # dropped, as kube-proxy's firewall does
        socket.create_connection((FIRST, 80), timeout=2).close()
    ranges("198.51.100.0/24", host_source)
    wait_for(lambda: get(f"http://{FIRST}/"), timeout=30, what="the host let in again")
    ranges()
    assert wait_for(lambda: get(f"http://{FIRST}/"), timeout=30, what="no ranges").startswith(
        "hello from web-")


def test_an_unallocated_pool_address_is_refused_at_once(cluster: ServeProcess) -> None:
    unused = f"10.112.{100 + SLOT}.9"
    with pytest.raises(ConnectionRefusedError):  # rejected here, not a timeout
        socket.create_connection((unused, 80), timeout=5).close()


def test_another_cluster_is_refused_the_pool(cluster: ServeProcess, tmp_path: Path) -> None:
    other = SLOT + 1  # slot 77's own bridge and ranges, this slot's pool
    result = subprocess.run(
        [sys.executable, "-m", "minikube_py", "serve", "--data-dir", str(tmp_path / "other"),
         "--api-port", str(free_port()), "--kubelet-port", "0",
         "--pod-cidr", f"10.244.{100 + other}.0/24", "--bridge", f"mkpyt{other}",
         "--service-cidr", f"10.112.{other}.0/24", "--lb-cidr", POOL],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1, result
    assert (f"error: --lb-cidr {POOL} overlaps the service range {POOL} of another "
            "minikube-py cluster") in result.stderr
    assert subprocess.run(["ip", "link", "show", f"mkpyt{other}"], capture_output=True,
                          check=False).returncode != 0  # nothing was made


def test_delete_removes_the_pool_routes_and_the_chains(cluster: ServeProcess) -> None:
    wait_for(lambda: get(f"http://{FIRST}/"), timeout=30, what="an answer at the LB IP")
    prefix = json.loads((cluster.data_dir / "cluster.json").read_text())["host"][
        "iptablesPrefix"]
    assert POOL in subprocess.run(["ip", "route", "show", "proto", "167"], capture_output=True,
                                  text=True, check=True).stdout
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True,
                           check=True).stdout
    assert f"-d {FIRST}/32" in rules and f":{prefix}-EXT-" in rules
    assert cluster.stop() == 0
    cluster.delete()
    routes = subprocess.run(["ip", "route", "show", "proto", "167"], capture_output=True,
                            text=True, check=True).stdout
    assert POOL not in routes, routes
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True,
                           check=True).stdout
    assert f"{prefix}-" not in rules and FIRST not in rules
