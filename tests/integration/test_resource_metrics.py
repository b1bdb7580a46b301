"""The resource metrics API through the real API server over real HTTP, read from a real
kubelet server (TLS, the API server's kubelet-client certificate) whose sampler holds a
known tick: discovery and the APIService, list and get of NodeMetrics and PodMetrics with
selectors, what is left out, refusals, the cache, and the clients the HPA and users use."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from kubernetes import client as k8s

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import APISERVICES, CLUSTERROLES, NODES, PODMETRICS, PODS
from minikube_py.apiserver.authn import KUBE_CONTROLLER_MANAGER
from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.service import ApiService
from minikube_py.client.http import HttpClient
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
from minikube_py.store.memory import MemoryKV
from tests.certs import NODE, TrialPki, make_test_pki

Obj = dict[str, Any]
T = 1_767_225_600.0  # 2026-01-01T00:00:00Z
GROUP = "/apis/metrics.k8s.io/v1beta1"


@dataclass
class Cluster:
    api: ApiService
    url: str
    sampler: StatsSampler
    uids: dict[str, str]


def _pod(name: str, labels: dict[str, str]) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": labels},
            "spec": {"nodeName": NODE, "containers": [{"name": "main", "image": "busybox"}]}}


async def _register_node(api: ApiService, name: str, port: int) -> None:
    node = await api.create(NODES, {"apiVersion": "v1", "kind": "Node",
                                    "metadata": {"name": name, "labels": {"role": name}}})
    node["status"] = {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                      "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}
    await api.update(NODES, node, subresource="status")


async def _running(api: ApiService, body: Obj) -> str:
    pod = await api.create(PODS, body, namespace="default")
    pod["status"] = {"phase": "Running"}
    await api.update(PODS, pod, namespace="default", subresource="status")
    return str(pod["metadata"]["uid"])


def _container(pod: str, uid: str, nano_cores: int, working_set: int) -> ContainerSample:
    return ContainerSample(id=f"cid-{pod}", name="main", pod=pod, namespace="default",
                           pod_uid=uid, image="busybox", cgroup=f"/kubepods/{pod}",
                           started_at=T - 60, cpu=CpuReading(T, 10**10, nano_cores),
                           memory=MemoryReading(T, working_set))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TrialPki:
    return make_test_pki(tmp_path_factory.mktemp("resource-metrics"))


@pytest.fixture
async def cluster(pki: TrialPki, tmp_path: Path) -> AsyncIterator[Cluster]:
    kv = MemoryKV()
    api = ApiService(kv, kubelet_tls=pki.client(pki.layout.kubelet_client),
                     metrics_resolution=10.0)
    await api.start()
    cri = CriClient(tmp_path / "no-runtime.sock")
    sampler = StatsSampler(cri, interval=10.0)
    kubelet = KubeletServer(cri, node_name=NODE, host="127.0.0.1", port=0,
                            serving=pki.layout.kubelet(NODE), client_ca=pki.layout.ca.cert,
                            stats=sampler)
    port = await kubelet.start()
    server = TestServer(build_app(api), host="127.0.0.1")
    await server.start_server()
    try:
        await _register_node(api, NODE, port)
        uids = {name: await _running(api, _pod(name, {"app": name}))
                for name in ("busy", "idle", "fresh")}
        sampler.latest = Samples(
            NodeSample(T - 3600, CpuReading(T, 10**12, 1_250_000_000),
                       MemoryReading(T, 2 * 1024**3)),
            (_container("busy", uids["busy"], 900_000_000, 1024 * 1024),
             _container("idle", uids["idle"], 12_345, 256 * 1024)), window=10.0)
        yield Cluster(api, f"http://127.0.0.1:{server.port}", sampler, uids)
    finally:
        await server.close()
        await kubelet.stop()
        await cri.close()
        await api.stop()
        await kv.close()


async def get(url: str, method: str = "GET") -> tuple[int, Obj]:
    async with aiohttp.ClientSession() as s, s.request(method, url, json={}) as resp:
        return resp.status, await resp.json()


async def test_discovery_names_the_group_and_its_apiservice_is_available(
        cluster: Cluster) -> None:
    _, groups = await get(cluster.url + "/apis")
    assert any(g["name"] == "metrics.k8s.io" and g["preferredVersion"]["version"] == "v1beta1"
               for g in groups["groups"])
    _, resources = await get(cluster.url + GROUP)
    by_name = {r["name"]: r for r in resources["resources"]}
    assert by_name["pods"]["kind"] == "PodMetrics" and by_name["pods"]["namespaced"]
    assert by_name["nodes"]["kind"] == "NodeMetrics" and not by_name["nodes"]["namespaced"]
    assert sorted(by_name["pods"]["verbs"]) == ["get", "list"]
    apiservice = await cluster.api.get(APISERVICES, "v1beta1.metrics.k8s.io")
    available = next(c for c in apiservice["status"]["conditions"] if c["type"] == "Available")
    assert available["status"] == "True"


async def test_node_metrics_come_from_the_nodes_kubelet(cluster: Cluster) -> None:
    status, body = await get(cluster.url + GROUP + "/nodes")
    assert status == 200
    assert body["kind"] == "NodeMetricsList" and body["metadata"] == {}
    (item,) = body["items"]
    assert item["metadata"]["name"] == NODE and item["metadata"]["labels"] == {"role": NODE}
    assert item["usage"] == {"cpu": "1250m", "memory": "2Gi"}
    assert item["timestamp"] == "2026-01-01T00:00:00Z" and item["window"] == "10s"
    status, one = await get(cluster.url + GROUP + f"/nodes/{NODE}")
    assert status == 200 and one["kind"] == "NodeMetrics"
    assert one["apiVersion"] == "metrics.k8s.io/v1beta1" and one["usage"] == item["usage"]


async def test_pod_metrics_by_namespace_label_and_field_selector(cluster: Cluster) -> None:
    _, everything = await get(cluster.url + GROUP + "/pods")
    assert [i["metadata"]["name"] for i in everything["items"]] == ["busy", "idle"]
    _, busy = await get(cluster.url + GROUP + "/namespaces/default/pods?labelSelector=app%3Dbusy")
    (item,) = busy["items"]
    assert item["containers"] == [{"name": "main", "usage": {"cpu": "900m", "memory": "1Mi"}}]
    assert item["metadata"]["namespace"] == "default"
    _, idle = await get(cluster.url + GROUP +
                        "/namespaces/default/pods?fieldSelector=metadata.name%3Didle")
    assert [i["containers"][0]["usage"]["cpu"] for i in idle["items"]] == ["12345n"]
    _, other = await get(cluster.url + GROUP + "/namespaces/kube-system/pods")
    assert other["items"] == []


async def test_a_pod_without_a_sample_is_left_out_and_not_found(cluster: Cluster) -> None:
    status, body = await get(cluster.url + GROUP + "/namespaces/default/pods/fresh")
    assert status == 404 and body["reason"] == "NotFound"
    assert body["message"] == 'podmetrics.metrics.k8s.io "default/fresh" not found'
    status, body = await get(cluster.url + GROUP + "/namespaces/default/pods/nope")
    assert status == 404 and body["message"] == 'pod "nope" not found'
    status, body = await get(cluster.url + GROUP + "/namespaces/default/pods/busy")
    assert status == 200 and body["kind"] == "PodMetrics"


async def test_watch_and_writes_are_refused(cluster: Cluster) -> None:
    status, body = await get(cluster.url + GROUP + "/namespaces/default/pods?watch=true")
    assert (status, body["reason"]) == (405, "MethodNotAllowed")
    assert body["message"] == 'watch is not supported on resources of kind "pods.metrics.k8s.io"'
    for method, path in (("POST", "/namespaces/default/pods"),
                         ("DELETE", "/namespaces/default/pods/busy"),
                         ("PUT", "/nodes/" + NODE), ("PATCH", "/nodes/" + NODE)):
        status, body = await get(cluster.url + GROUP + path, method)
        assert (status, body["kind"], body["reason"]) == (405, "Status", "MethodNotAllowed")


async def test_a_burst_of_requests_reads_the_kubelet_once(cluster: Cluster) -> None:
    await asyncio.gather(*(get(cluster.url + GROUP + "/pods") for _ in range(10)))
    await get(cluster.url + GROUP + "/nodes")
    assert cluster.api.kubelet_summaries.fetches == 1


async def test_a_node_whose_kubelet_does_not_answer_is_left_out(cluster: Cluster) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    await _register_node(cluster.api, "gone", closed)
    _, body = await get(cluster.url + GROUP + "/nodes")
    assert [i["metadata"]["name"] for i in body["items"]] == [NODE]
    status, body = await get(cluster.url + GROUP + "/nodes/gone")
    assert status == 404
    assert body["message"] == 'nodemetrics.metrics.k8s.io "gone" not found'


async def test_the_hpa_reads_pod_metrics_in_process_and_over_http(cluster: Cluster) -> None:
    in_process = cluster.api.as_user(KUBE_CONTROLLER_MANAGER)
    listed = await in_process.list(PODMETRICS, namespace="default", label_selector="app=busy")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["busy"]
    assert listed["kind"] == "PodMetricsList"
    with pytest.raises(ApiError) as no_watch:
        async for _ in in_process.watch(PODMETRICS, namespace="default"):
            pass
    assert (no_watch.value.code, no_watch.value.reason) == (405, "MethodNotAllowed")
    http = HttpClient(cluster.url)
    try:
        over_http = await http.list(PODMETRICS, namespace="default", label_selector="app=busy")
        assert [i["containers"] for i in over_http["items"]] == \
            [i["containers"] for i in listed["items"]]
        one = await http.get(PODMETRICS, "idle", namespace="default")
        assert one["kind"] == "PodMetrics"
        with pytest.raises(ApiError) as refused:
            await http.create(PODMETRICS, {"metadata": {"name": "x"}}, namespace="default")
        assert refused.value.code == 405
    finally:
        await http.close()


async def test_the_official_client_reads_them_as_custom_objects(cluster: Cluster) -> None:
    cfg = k8s.Configuration()
    cfg.host = cluster.url

    def read() -> tuple[Obj, Obj]:
        api = k8s.CustomObjectsApi(k8s.ApiClient(cfg))
        pods = api.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", "default", "pods")
        node = api.get_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", NODE)
        return pods, node

    pods, node = await asyncio.to_thread(read)
    assert [i["metadata"]["name"] for i in pods["items"]] == ["busy", "idle"]
    assert node["usage"]["cpu"] == "1250m"


async def test_viewers_may_read_metrics_through_the_aggregated_role(cluster: Cluster) -> None:
    role = await cluster.api.get(CLUSTERROLES, "system:aggregated-metrics-reader")
    labels = role["metadata"]["labels"]
    for to in ("view", "edit", "admin"):
        assert labels[f"rbac.authorization.k8s.io/aggregate-to-{to}"] == "true"
    assert role["rules"] == [{"verbs": ["get", "list", "watch"], "apiGroups": ["metrics.k8s.io"],
                              "resources": ["pods", "nodes"]}]
