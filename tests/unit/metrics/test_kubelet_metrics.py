"""A kubelet's own /metrics: authorized as nodes/metrics (the API server's kubelet client
may read it, another user of the cluster CA may not), its requests counted, its pods and
containers and CRI operations shown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from minikube_py.kubelet.cri import CriClient, CriError, operation_type
from minikube_py.kubelet.server import KubeletServer
from minikube_py.metrics import new_registry, render
from minikube_py.metrics.kubelet import KubeletMetrics
from minikube_py.pki.cluster import KeyPair
from tests.certs import NODE, TrialPki, make_test_pki
from tests.metrics_text import Scrape


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TrialPki:
    return make_test_pki(tmp_path_factory.mktemp("kubelet-metrics"))


@pytest.fixture
def metrics() -> KubeletMetrics:
    return KubeletMetrics(new_registry(), NODE)


@pytest.fixture
async def kubelet_url(pki: TrialPki, tmp_path: Path,
                      metrics: KubeletMetrics) -> AsyncIterator[str]:
    cri = CriClient(tmp_path / "no-runtime.sock")
    server = KubeletServer(cri, node_name=NODE, host="127.0.0.1", port=0,
                           serving=pki.layout.kubelet(NODE), client_ca=pki.layout.ca.cert,
                           metrics=metrics)
    port = await server.start()
    yield f"https://127.0.0.1:{port}"
    await server.stop()
    await cri.close()


async def get(pki: TrialPki, url: str, cert: KeyPair) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.get(url, ssl=pki.client(cert)) as resp:
        return resp.status, await resp.text()


async def test_the_api_servers_kubelet_client_reads_the_kubelets_metrics(
        pki: TrialPki, kubelet_url: str) -> None:
    assert (await get(pki, kubelet_url + "/healthz", pki.layout.kubelet_client))[0] == 200
    status, text = await get(pki, kubelet_url + "/metrics", pki.layout.kubelet_client)
    assert status == 200
    got = Scrape(text)
    assert got.value("kubelet_node_name", node=NODE) == 1
    assert got.value("kubelet_http_requests_total", method="GET", path="healthz",
                     server_type="readwrite", long_running="false") == 1
    assert got.value("process_resident_memory_bytes") > 0


async def test_another_user_may_not_read_the_kubelets_metrics(pki: TrialPki,
                                                              kubelet_url: str) -> None:
    assert await get(pki, kubelet_url + "/metrics", pki.jane) == (
        403, "Forbidden (user=jane, verb=get, resource=nodes, subresource=metrics)\n")


def test_pods_and_containers_are_counted_by_state(metrics: KubeletMetrics) -> None:
    metrics.follow_containers(lambda: {"uid-1": ["running", "exited"], "uid-2": ["exited"],
                                       "uid-3": ["running", "running"]})
    got = Scrape(render(metrics.registry).decode())
    assert got.value("kubelet_running_pods") == 2
    assert got.value("kubelet_running_containers", container_state="running") == 3
    assert got.value("kubelet_running_containers", container_state="exited") == 2
    assert got.value("kubelet_running_containers", container_state="created") == 0


async def test_a_cri_call_is_a_runtime_operation(tmp_path: Path,
                                                 metrics: KubeletMetrics) -> None:
    async with CriClient(tmp_path / "no-runtime.sock", timeout=2,
                         observe=metrics.runtime_operation) as cri:
        with pytest.raises(CriError):
            await cri.version()
    got = Scrape(render(metrics.registry).decode())
    assert got.value("kubelet_runtime_operations_total", operation_type="version") == 1
    assert got.value("kubelet_runtime_operations_errors_total", operation_type="version") == 1
    assert got.value("kubelet_runtime_operations_duration_seconds_count",
                     operation_type="version") == 1


@pytest.mark.parametrize(("method", "operation"), [
    ("RunPodSandbox", "run_podsandbox"), ("ListPodSandbox", "list_podsandbox"),
    ("PodSandboxStatus", "podsandbox_status"), ("CreateContainer", "create_container"),
    ("ExecSync", "exec_sync"), ("Version", "version"), ("PullImage", "pull_image")])
def test_cri_methods_are_named_as_the_kubelets_operation_types(method: str,
                                                                operation: str) -> None:
    assert operation_type(method) == operation


async def test_paths_and_methods_the_kubelet_does_not_serve_count_as_other(
        pki: TrialPki, kubelet_url: str) -> None:
    for path in ("/no/such", "/random-1", "/random-2"):
        assert (await get(pki, kubelet_url + path, pki.layout.kubelet_client))[0] == 404
    _, text = await get(pki, kubelet_url + "/metrics", pki.layout.kubelet_client)
    assert Scrape(text).value("kubelet_http_requests_total", path="other") == 3
