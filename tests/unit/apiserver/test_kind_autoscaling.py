"""autoscaling/v2 HorizontalPodAutoscalers: stored with kube's validation, defaults and
columns, and honest that nothing scales by them yet; kubectl and the official client."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import HORIZONTALPODAUTOSCALERS
from minikube_py.apiserver.kinds.horizontalpodautoscalers import targets_text
from minikube_py.apiserver.service import ApiService
from tests.unit.apiserver.conftest import official_client
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl

NS = "default"
HPA_YAML = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: cpu
      target: {type: Utilization, averageUtilization: 60}
  - type: Pods
    pods:
      metric: {name: requests_per_second}
      target: {type: AverageValue, averageValue: "100"}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 120
"""


def hpa(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "web"}, "maxReplicas": 4, **spec}}


async def test_defaults_are_kubes(svc: ApiService) -> None:
    created = await svc.create(HORIZONTALPODAUTOSCALERS, hpa(behavior={"scaleUp": {}}),
                               namespace=NS)
    spec = created["spec"]
    assert spec["minReplicas"] == 1
    assert spec["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    assert spec["behavior"]["scaleUp"] == {
        "selectPolicy": "Max", "stabilizationWindowSeconds": 0,
        "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                     {"type": "Percent", "value": 100, "periodSeconds": 15}]}
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert created["status"] == {"desiredReplicas": 0}
    assert created["metadata"]["generation"] == 1


@pytest.mark.parametrize(("spec", "field"), [
    ({"maxReplicas": 0}, "spec.maxReplicas"),
    ({"minReplicas": 5, "maxReplicas": 2}, "spec.maxReplicas"),
    ({"minReplicas": 0}, "spec.minReplicas"),
    ({"scaleTargetRef": {"kind": "Deployment"}}, "spec.scaleTargetRef.name"),
    ({"metrics": [{"type": "Memory"}]}, "spec.metrics[0].type"),
    ({"metrics": [{"type": "Resource"}]}, "spec.metrics[0].resource"),
    ({"metrics": [{"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {
        "type": "Utilization", "averageUtilization": 50}}}]}, "spec.metrics[0].pods.target.type"),
    ({"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization"}}}]}, "spec.metrics[0].resource.target.averageUtilization"),
    ({"behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 0, "periodSeconds": 15}]}}},
     "spec.behavior.scaleUp.policies[0].value"),
    ({"behavior": {"scaleDown": {"stabilizationWindowSeconds": 4000}}},
     "spec.behavior.scaleDown.stabilizationWindowSeconds"),
])
async def test_invalid_autoscalers_are_refused(svc: ApiService, spec: dict[str, Any],
                                               field: str) -> None:
    with pytest.raises(ApiError) as refused:
        await svc.create(HORIZONTALPODAUTOSCALERS, hpa(**spec), namespace=NS)
    assert refused.value.code == 422
    assert field in [c.field for c in refused.value.causes]


def test_targets_column_as_kubectl_prints_it() -> None:
    spec = {"metrics": [
        {"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 60}}},
        {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {
            "type": "AverageValue", "averageValue": "100"}}}]}
    assert targets_text({"spec": spec}) == "cpu: <unknown>/60%, rps: <unknown>/100"
    status = {"currentMetrics": [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": 35}}}]}
    assert targets_text({"spec": spec, "status": status}) == "cpu: 35%/60%, rps: <unknown>/100"
    many = {"metrics": spec["metrics"] * 3}
    assert targets_text({"spec": many}).endswith(" + 3 more...")


@needs_kubectl
async def test_kubectl_applies_and_lists_an_autoscaler_without_a_warning(
        svc: ApiService, kubeconfig: Path) -> None:
    rc, _out, err = await kubectl(kubeconfig, "apply", "-f", "-", stdin=HPA_YAML)
    assert rc == 0, err
    assert "Warning" not in err  # it is acted on now: no 'not acted on' warning
    rc, out, err = await kubectl(kubeconfig, "get", "hpa")
    assert rc == 0, err
    header, row = out.splitlines()
    assert header.split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS",
                              "REPLICAS", "AGE"]
    assert row.split()[:8] == ["web", "Deployment/web", "cpu:", "<unknown>/60%,",
                               "requests_per_second:", "<unknown>/100", "2", "10"]


async def test_the_official_client_reads_autoscalers_typed(server: TestServer,
                                                           svc: ApiService) -> None:
    from kubernetes import client

    await svc.create(HORIZONTALPODAUTOSCALERS, hpa(minReplicas=2), namespace=NS)
    api = client.AutoscalingV2Api(official_client(server))
    read = await asyncio.to_thread(api.read_namespaced_horizontal_pod_autoscaler, "web", NS)
    assert (read.spec.min_replicas, read.spec.max_replicas) == (2, 4)
    assert read.spec.metrics[0].resource.target.average_utilization == 80
    assert read.status.desired_replicas == 0
    listed = await asyncio.to_thread(api.list_horizontal_pod_autoscaler_for_all_namespaces)
    assert [h.metadata.name for h in listed.items] == ["web"]
