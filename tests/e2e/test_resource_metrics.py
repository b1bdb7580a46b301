"""`kubectl top` on a real `serve` (slot 73, --housekeeping-interval 1 so the first rates
come within seconds): a pod that burns CPU and one that sleeps; the busy one's CPU shows
non-zero in `kubectl top pods --containers`, the node has a row in `kubectl top nodes`, the
official client reads both as custom objects, and the kubelet's /metrics/cadvisor shows the
busy container with cAdvisor's labels. Then a second cluster of two machines (serve and a
`minikube-py join`ed network namespace, tests/e2e/lan.py, on ranges of slot 73's own):
`kubectl top` shows the joined node and a pod burning CPU on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, running_serve, wait_for
from tests.e2e.lan import JoinProcess, lan_up

pytestmark = [*NEEDS_CONTAINERD, pytest.mark.timeout(600)]

SLOT = 73
# The two-machine cluster's ranges: none another scenario uses (multinode's are 60-63, the
# member nodes' 64-67 of 10.248; the LAN harness's 10.200.61.0/24).
LAN_SUBNET = f"10.200.{SLOT}.0/24"
LAN_CLUSTER_CIDR = "10.248.72.0/22"
LAN_HOST_POD_CIDR = "10.248.72.0/24"
LAN_SERVICE_CIDR = f"10.112.{100 + SLOT}.0/24"
PODS_YAML = """
apiVersion: v1
kind: Pod
metadata:
  name: busy
  labels: {app: busy}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: burn
    image: busybox
    command: ["sh", "-c", "while :; do :; done"]
    resources:
      requests: {cpu: 100m}
---
apiVersion: v1
kind: Pod
metadata:
  name: idle
  labels: {app: idle}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: sleep
    image: busybox
    command: ["sleep", "3600"]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("resource-metrics") / "data", SLOT,
                       "--housekeeping-interval", "1") as serve:
        serve.kubectl("apply", "-f", "-", input=PODS_YAML)
        serve.kubectl("wait", "--for=condition=Ready", "pod/busy", "pod/idle",
                      "--timeout=60s", timeout=90)
        yield serve
        serve.kubectl("delete", "pod", "busy", "idle", "--wait=false", check=False)


def millicores(text: str) -> float:
    """kubectl top's CPU column ("123m", "0m", "1")."""
    return float(text[:-1]) if text.endswith("m") else float(text) * 1000


def top_pods(cluster: ServeProcess) -> dict[tuple[str, str], tuple[str, str]] | None:
    """(pod, container) -> (CPU, memory) from `kubectl top pods --containers`, or None
    while the metrics are not there yet (kubectl says so and exits non-zero)."""
    result = cluster.kubectl("top", "pods", "--containers", "--no-headers", check=False)
    if result.returncode != 0:
        return None
    rows = {}
    for line in result.stdout.splitlines():
        pod, container, cpu, memory = line.split()
        rows[(pod, container)] = (cpu, memory)
    return rows


def test_kubectl_top_pods_shows_the_busy_container_burning_cpu(cluster: ServeProcess) -> None:
    def busy_seen() -> dict[tuple[str, str], tuple[str, str]] | None:
        rows = top_pods(cluster)
        if not rows or ("busy", "burn") not in rows or ("idle", "sleep") not in rows:
            return None
        return rows if millicores(rows[("busy", "burn")][0]) > 0 else None

    rows = wait_for(busy_seen, timeout=60, interval=1, what="kubectl top to show busy/burn")
    busy_cpu, busy_memory = rows[("busy", "burn")]
    idle_cpu, _ = rows[("idle", "sleep")]
    # A loop of the shell's takes most of a core; sleep takes none.
    assert millicores(busy_cpu) >= 200, rows
    assert millicores(idle_cpu) < millicores(busy_cpu) / 10, rows
    assert busy_memory.endswith("Mi") or busy_memory.endswith("Ki"), rows


def test_kubectl_top_nodes_has_a_row_for_the_node(cluster: ServeProcess) -> None:
    node = cluster.node_name()

    def row() -> list[str] | None:
        result = cluster.kubectl("top", "nodes", "--no-headers", check=False)
        if result.returncode != 0:
            return None
        rows = [line.split() for line in result.stdout.splitlines()]
        return next((r for r in rows if r[0] == node), None)

    _, cpu, cpu_percent, memory, memory_percent = wait_for(
        row, timeout=60, interval=1, what="kubectl top nodes to list the node")
    assert millicores(cpu) > 0 and cpu_percent.endswith("%")
    assert memory.endswith("Mi") and memory_percent.endswith("%")


def test_a_namespace_viewer_may_top_its_pods_through_the_aggregated_role(
        cluster: ServeProcess) -> None:
    cluster.kubectl("create", "rolebinding", "metrics-viewer", "--clusterrole=view",
                    "--user=viewer", "--namespace=default")
    as_viewer = ("--as", "viewer")

    def allowed() -> bool:
        return cluster.kubectl("auth", "can-i", "list", "pods.metrics.k8s.io", *as_viewer,
                               check=False).stdout.strip() == "yes"

    wait_for(allowed, timeout=30, interval=0.5, what="view to aggregate the metrics reader")
    top = cluster.kubectl("top", "pods", *as_viewer, "--no-headers")
    assert "busy" in top.stdout
    refused = cluster.kubectl("top", "nodes", *as_viewer, check=False)  # cluster-scoped
    assert refused.returncode != 0 and "forbidden" in refused.stderr.lower(), refused


def test_the_official_client_reads_pod_and_node_metrics(cluster: ServeProcess) -> None:
    api = client.CustomObjectsApi(config.new_client_from_config(str(cluster.kubeconfig)))
    node = cluster.node_name()

    def listed() -> dict[str, Any] | None:
        pods = api.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", "default",
                                                 "pods", label_selector="app=busy")
        return pods if pods["items"] else None

    pods = wait_for(listed, timeout=60, interval=1, what="PodMetrics of the busy pod")
    (busy,) = pods["items"]
    assert busy["metadata"]["name"] == "busy" and busy["metadata"]["labels"] == {"app": "busy"}
    assert [c["name"] for c in busy["containers"]] == ["burn"]
    assert busy["window"] == "1s"
    metrics = api.get_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", node)
    assert metrics["kind"] == "NodeMetrics" and metrics["metadata"]["name"] == node
    assert set(metrics["usage"]) == {"cpu", "memory"}


def test_the_kubelets_cadvisor_metrics_show_the_busy_container(cluster: ServeProcess) -> None:
    node = cluster.kubectl_json("get", "node", cluster.node_name())
    address = next(a["address"] for a in node["status"]["addresses"]
                   if a["type"] == "InternalIP")
    port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]

    def burning() -> Any:
        status, text = cluster.https_get(f"https://{address}:{port}/metrics/cadvisor",
                                         cluster.pki.kubelet_client)
        assert status == 200, text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        cpu = families.get("container_cpu_usage_seconds")
        return next((s for s in cpu.samples if s.labels.get("container") == "burn"
                     and s.value > 0), None) if cpu else None

    sample = wait_for(burning, timeout=30, interval=1, what="busy's CPU in /metrics/cadvisor")
    assert sample.labels["pod"] == "busy" and sample.labels["namespace"] == "default"
    assert sample.labels["cpu"] == "total" and sample.labels["name"]  # the container id
    assert sample.labels["image"] and sample.labels["id"]  # the image, the cgroup
    assert sample.timestamp is not None


BURNER_ON = """
apiVersion: v1
kind: Pod
metadata:
  name: far-busy
spec:
  nodeName: NODE
  terminationGracePeriodSeconds: 1
  containers:
  - name: burn
    image: busybox
    command: ["sh", "-c", "while :; do :; done"]
"""


@pytest.fixture(scope="module")
def two_machines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess,
                                                                                JoinProcess]]:
    base: Path = tmp_path_factory.mktemp("resource-metrics-lan")
    with ExitStack() as stack:  # every step undone, in reverse, whichever one fails
        lan = stack.enter_context(lan_up(SLOT, 1, LAN_SUBNET))
        serve = ServeProcess(base / "server", pod_cidr=LAN_HOST_POD_CIDR, bridge=f"mkpyt{SLOT}h",
                             service_cidr=LAN_SERVICE_CIDR, extra_args=(
                                 "--node-name", f"mkpylan{SLOT}-n1", "--node-ip", lan.host_ip,
                                 "--api-host", lan.host_ip, "--cluster-cidr", LAN_CLUSTER_CIDR,
                                 "--housekeeping-interval", "1"))
        stack.callback(serve.delete)
        stack.callback(serve.stop)
        serve.start()
        token = (serve.data_dir / "token").read_text().strip()
        agent = JoinProcess(lan.machines[0], f"https://{lan.host_ip}:{serve.api_port}",
                            base / lan.machines[0].name, bridge=f"mkpyt{SLOT}j")
        stack.callback(agent.delete)
        stack.callback(agent.stop)
        agent.start(token)
        yield serve, agent
        serve.kubectl("delete", "pod", "far-busy", "--wait=false", check=False)


def test_kubectl_top_shows_a_joined_node_and_its_busy_pod(
        two_machines: tuple[ServeProcess, JoinProcess]) -> None:
    serve, agent = two_machines
    serve.kubectl("apply", "-f", "-", input=BURNER_ON.replace("NODE", agent.node_name))

    def both_nodes() -> dict[str, list[str]] | None:
        result = serve.kubectl("top", "nodes", "--no-headers", check=False)
        if result.returncode != 0:
            return None
        rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
        # kubectl lists a node without metrics yet as <unknown>.
        known = [n for n in (agent.node_name, f"mkpylan{SLOT}-n1")
                 if rows.get(n, ["<unknown>"])[0] != "<unknown>"]
        return rows if len(known) == 2 else None

    rows = wait_for(both_nodes, timeout=90, interval=1, what="both nodes in kubectl top nodes")
    assert millicores(rows[agent.node_name][0]) > 0, rows

    def far_busy() -> str | None:
        result = serve.kubectl("top", "pod", "far-busy", "--no-headers", check=False)
        if result.returncode != 0:
            return None
        cpu = result.stdout.split()[1]
        return cpu if millicores(cpu) >= 200 else None

    wait_for(far_busy, timeout=90, interval=1, what="the joined node's busy pod in kubectl top")
