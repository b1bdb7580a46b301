"""/metrics of a real `serve`: the API server's, read by kubectl as the admin, shows the
requests, the embedded store, the scheduler and the controllers' queues; the kubelet's,
read with the API server's kubelet-client certificate, shows the pod it runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, wait_for
from tests.metrics_text import Scrape

pytestmark = NEEDS_CONTAINERD

SLOT = 80  # running_serve's pods range, 10.244.(200 + slot).0/24, ends at slot 55
POD_YAML = """
apiVersion: v1
kind: Pod
metadata:
  name: sleeper
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: sleep
    image: busybox
    command: ["sleep", "3600"]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    serve = ServeProcess(tmp_path_factory.mktemp("metrics") / "data",
                         pod_cidr=f"10.244.{100 + SLOT}.0/24", bridge=f"mkpyt{SLOT}",
                         service_cidr=f"10.112.{SLOT}.0/24")
    serve.start()
    try:
        serve.kubectl("apply", "-f", "-", input=POD_YAML)
        serve.kubectl("wait", "--for=condition=Ready", "pod/sleeper", "--timeout=60s",
                      timeout=90)
        yield serve
    finally:
        serve.stop()
        serve.delete()


def test_kubectl_reads_the_api_servers_metrics(cluster: ServeProcess) -> None:
    got = Scrape(cluster.kubectl("get", "--raw", "/metrics").stdout)
    assert got.value("apiserver_request_total", verb="POST", resource="pods",
                     scope="resource", code="201") >= 1
    assert got.value("apiserver_request_duration_seconds_count", resource="pods") >= 1
    assert got.value("apiserver_storage_objects", resource="pods") >= 1
    assert got.value("etcd_server_is_leader") == 1
    assert got.value("etcd_disk_wal_fsync_duration_seconds_count") >= 1
    assert got.value("etcd_server_proposals_applied_total") >= 1
    assert got.value("scheduler_schedule_attempts_total", result="scheduled") >= 1
    assert got.has("scheduler_pending_pods", queue="active")
    assert got.has("workqueue_depth", name="namespace-controller")
    assert got.value("workqueue_adds_total") >= 1
    assert got.value("process_resident_memory_bytes") > 0


def test_the_kubelets_metrics_show_its_running_pod(cluster: ServeProcess) -> None:
    node = cluster.kubectl_json("get", "node", cluster.node_name())
    address = next(a["address"] for a in node["status"]["addresses"]
                   if a["type"] == "InternalIP")
    port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]

    def scraped() -> Scrape | None:
        status, text = cluster.https_get(f"https://{address}:{port}/metrics",
                                         cluster.pki.kubelet_client)
        assert status == 200, text
        got = Scrape(text)
        return got if got.value("kubelet_running_pods") >= 1 else None

    got = wait_for(scraped, timeout=30, what="the kubelet's running pod in its metrics")
    assert got.value("kubelet_running_containers", container_state="running") >= 1
    assert got.value("kubelet_pod_start_duration_seconds_count") >= 1
    assert got.value("kubelet_runtime_operations_total", operation_type="run_podsandbox") >= 1
    assert got.value("kubelet_node_name", node=cluster.node_name()) == 1


def test_a_user_without_system_monitoring_gets_403(cluster: ServeProcess) -> None:
    status, text = cluster.https_get("/metrics", None)  # anonymous
    assert status in (401, 403), text
