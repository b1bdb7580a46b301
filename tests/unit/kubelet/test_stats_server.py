"""The kubelet's stats endpoints over its HTTPS server: /stats/summary is nodes/stats,
/metrics/resource and /metrics/cadvisor are nodes/metrics, each answering from the
sampler's latest tick."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from minikube_py.kubelet.auth import KubeletRequest
from minikube_py.kubelet.cri import CriClient
from minikube_py.kubelet.server import KubeletServer
from minikube_py.kubelet.stats import (
    ContainerSample,
    CpuReading,
    MemoryReading,
    NodeSample,
    Samples,
)
from minikube_py.kubelet.stats_sampler import StatsSampler
from minikube_py.pki.cluster import KUBELET_CLIENT_USER, KeyPair
from tests.certs import NODE, TrialPki, make_test_pki
from tests.metrics_text import Scrape


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TrialPki:
    return make_test_pki(tmp_path_factory.mktemp("kubelet-stats"))


class StatsOnly:
    """jane may read nodes/stats and nothing else; the kubelet client everything."""

    async def authorize(self, request: KubeletRequest) -> bool:
        return request.user.user == KUBELET_CLIENT_USER or (
            request.user.user == "jane" and request.subresource == "stats")


@pytest.fixture
async def served(pki: TrialPki, tmp_path: Path) -> AsyncIterator[tuple[str, StatsSampler]]:
    cri = CriClient(tmp_path / "no-runtime.sock")
    sampler = StatsSampler(cri, interval=10.0)
    server = KubeletServer(cri, node_name=NODE, host="127.0.0.1", port=0,
                           serving=pki.layout.kubelet(NODE), client_ca=pki.layout.ca.cert,
                           authorizer=StatsOnly(), stats=sampler)
    port = await server.start()
    yield f"https://127.0.0.1:{port}", sampler
    await server.stop()
    await cri.close()


async def get(pki: TrialPki, url: str, cert: KeyPair) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.get(url, ssl=pki.client(cert)) as resp:
        return resp.status, await resp.text()


TICK = Samples(NodeSample(1.0, CpuReading(1000.0, 4 * 10**9, 10**8), MemoryReading(1000.0, 4096)),
               (ContainerSample(id="c1", name="main", pod="web", namespace="default",
                                pod_uid="u1", image="busybox", cgroup="/kubepods/c1",
                                started_at=900.0, cpu=CpuReading(1000.0, 2 * 10**9, 5 * 10**7),
                                memory=MemoryReading(1000.0, 1024)),),
               window=10.0)


async def test_the_summary_shows_the_latest_tick(pki: TrialPki,
                                                 served: tuple[str, StatsSampler]) -> None:
    url, sampler = served
    sampler.latest = TICK
    status, text = await get(pki, url + "/stats/summary", pki.layout.kubelet_client)
    assert status == 200
    doc = json.loads(text)
    assert doc["node"]["cpu"]["usageNanoCores"] == 10**8
    assert doc["pods"][0]["containers"][0]["cpu"]["usageNanoCores"] == 5 * 10**7


async def test_resource_and_cadvisor_metrics_are_served(pki: TrialPki,
                                                        served: tuple[str, StatsSampler]) -> None:
    url, sampler = served
    sampler.latest = TICK
    status, text = await get(pki, url + "/metrics/resource", pki.layout.kubelet_client)
    assert status == 200
    got = Scrape(text)
    assert got.value("container_cpu_usage_seconds_total", container="main",
                     namespace="default", pod="web") == 2.0
    assert got.value("node_memory_working_set_bytes") == 4096
    assert "process_resident_memory_bytes" not in text
    status, text = await get(pki, url + "/metrics/cadvisor", pki.layout.kubelet_client)
    assert status == 200
    assert Scrape(text).value("container_memory_working_set_bytes", container="main",
                              id="/kubepods/c1", image="busybox", name="c1",
                              namespace="default", pod="web") == 1024


async def test_stats_are_nodes_stats_and_metrics_are_nodes_metrics(
        pki: TrialPki, served: tuple[str, StatsSampler]) -> None:
    url, _ = served
    assert (await get(pki, url + "/stats/summary", pki.jane))[0] == 200
    assert await get(pki, url + "/metrics/resource", pki.jane) == (
        403, "Forbidden (user=jane, verb=get, resource=nodes, subresource=metrics)\n")
    assert (await get(pki, url + "/metrics/cadvisor", pki.jane))[0] == 403
