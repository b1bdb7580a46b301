"""autoscaling/v1 HorizontalPodAutoscalers: the v2 objects served in v1's shape (kubectl
autoscale, v1 patches and watches), read by kubectl and the official client in both versions."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from minikube_py.api.resources import HORIZONTALPODAUTOSCALERS
from minikube_py.apiserver.kinds.hpa_conversion import METRICS_ANNOTATION
from minikube_py.apiserver.service import ApiService
from tests.unit.apiserver.conftest import official_client
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl
from tests.unit.apiserver.test_kind_autoscaling import hpa

NS = "default"
V1_URL = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers"


async def autoscaled(kubeconfig: Path) -> None:
    rc, _out, err = await kubectl(kubeconfig, "create", "deployment", "web", "--image=nginx")
    assert rc == 0, err
    rc, _out, err = await kubectl(kubeconfig, "autoscale", "deployment", "web", "--max=5",
                                  "--cpu-percent=50")
    assert rc == 0, err


@needs_kubectl
async def test_kubectl_autoscale_creates_a_cpu_autoscaler(svc: ApiService,
                                                          kubeconfig: Path) -> None:
    await autoscaled(kubeconfig)
    rc, out, err = await kubectl(kubeconfig, "get", "hpa")
    assert rc == 0, err
    assert out.splitlines()[1].split()[:6] == ["web", "Deployment/web", "cpu:",
                                               "<unknown>/50%", "1", "5"]
    stored = await svc.get(HORIZONTALPODAUTOSCALERS, "web", namespace=NS)
    assert stored["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]


@needs_kubectl
async def test_kubectl_reads_a_v2_memory_autoscaler_through_v1(svc: ApiService,
                                                               kubeconfig: Path) -> None:
    await svc.create(HORIZONTALPODAUTOSCALERS, hpa(metrics=[{"type": "Resource", "resource": {
        "name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}}]),
        namespace=NS)
    rc, out, err = await kubectl(kubeconfig, "get", "horizontalpodautoscalers.v1.autoscaling", "web", "-o", "json")
    assert rc == 0, err
    served = json.loads(out)
    assert served["apiVersion"] == "autoscaling/v1"
    assert "targetCPUUtilizationPercentage" not in served["spec"]
    assert json.loads(served["metadata"]["annotations"][METRICS_ANNOTATION]) == [
        {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}}]


@needs_kubectl
async def test_a_v1_patch_of_the_cpu_target_changes_the_v2_metric(svc: ApiService,
                                                                  kubeconfig: Path) -> None:
    await autoscaled(kubeconfig)
    rc, _out, err = await kubectl(kubeconfig, "patch", "horizontalpodautoscalers.v1.autoscaling", "web", "--type",
                                  "merge", "-p", '{"spec":{"targetCPUUtilizationPercentage":70}}')
    assert rc == 0, err
    stored = await svc.get(HORIZONTALPODAUTOSCALERS, "web", namespace=NS)
    assert stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert stored["metadata"]["generation"] == 2


V1_YAML = """
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: %d
  targetCPUUtilizationPercentage: 60
"""


@needs_kubectl
async def test_kubectl_applies_a_v1_manifest_client_and_server_side(svc: ApiService,
                                                                   kubeconfig: Path) -> None:
    for args, replicas in (((), 3), ((), 4), (("--server-side",), 6)):
        rc, _out, err = await kubectl(kubeconfig, "apply", *args, "-f", "-",
                                      stdin=V1_YAML % replicas)
        assert rc == 0, err
    stored = await svc.get(HORIZONTALPODAUTOSCALERS, "web", namespace=NS)
    assert stored["spec"]["maxReplicas"] == 6
    assert stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60


async def test_a_v1_watch_sees_v1_objects(svc: ApiService, server: TestServer) -> None:
    await svc.create(HORIZONTALPODAUTOSCALERS, hpa(), namespace=NS)
    url = f"http://127.0.0.1:{server.port}{V1_URL}?watch=true&timeoutSeconds=1"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        line = json.loads(await resp.content.readline())
    assert line["type"] == "ADDED"
    assert line["object"]["apiVersion"] == "autoscaling/v1"
    assert line["object"]["spec"]["targetCPUUtilizationPercentage"] == 80


async def test_a_v1_status_write_is_stored_as_v2(svc: ApiService, server: TestServer) -> None:
    await svc.create(HORIZONTALPODAUTOSCALERS, hpa(), namespace=NS)
    url = f"http://127.0.0.1:{server.port}{V1_URL}/web/status"
    patch = {"status": {"currentReplicas": 2, "desiredReplicas": 2,
                        "currentCPUUtilizationPercentage": 30}}
    async with aiohttp.ClientSession() as http, http.patch(
            url, json=patch, headers={"Content-Type": "application/merge-patch+json"}) as resp:
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["status"]["currentCPUUtilizationPercentage"] == 30
    stored = await svc.get(HORIZONTALPODAUTOSCALERS, "web", namespace=NS)
    assert stored["status"]["currentMetrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": 30}}}]


async def test_the_official_client_reads_one_autoscaler_in_both_versions(
        server: TestServer, svc: ApiService) -> None:
    from kubernetes import client

    api_client = official_client(server)
    v1 = client.AutoscalingV1Api(api_client)
    body = client.V1HorizontalPodAutoscaler(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1HorizontalPodAutoscalerSpec(
            scale_target_ref=client.V1CrossVersionObjectReference(
                api_version="apps/v1", kind="Deployment", name="web"),
            max_replicas=5, target_cpu_utilization_percentage=50))
    await asyncio.to_thread(v1.create_namespaced_horizontal_pod_autoscaler, NS, body)
    read = await asyncio.to_thread(v1.read_namespaced_horizontal_pod_autoscaler, "web", NS)
    assert (read.spec.min_replicas, read.spec.max_replicas) == (1, 5)
    assert read.spec.target_cpu_utilization_percentage == 50
    assert (read.status.current_replicas, read.status.desired_replicas) == (0, 0)
    v2 = client.AutoscalingV2Api(api_client)
    read2 = await asyncio.to_thread(v2.read_namespaced_horizontal_pod_autoscaler, "web", NS)
    assert read2.spec.metrics[0].resource.target.average_utilization == 50
