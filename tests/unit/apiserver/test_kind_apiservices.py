"""apiregistration.k8s.io/v1 APIServices: a Local one per served group-version from the start,
user ones stored and honest that nothing proxies them; kubectl and the official client."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import APISERVICES
from minikube_py.apiserver.service import ApiService
from tests.unit.apiserver.conftest import official_client
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl

METRICS = {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
           "metadata": {"name": "v1beta1.custom.metrics.k8s.io"},
           "spec": {"group": "custom.metrics.k8s.io", "version": "v1beta1",
                    "service": {"namespace": "kube-system", "name": "prometheus-adapter"},
                    "groupPriorityMinimum": 100, "versionPriority": 100,
                    "insecureSkipTLSVerify": True}}


def available(api: dict[str, Any]) -> dict[str, Any]:
    [cond] = [c for c in api["status"]["conditions"] if c["type"] == "Available"]
    return cond


async def test_every_served_group_version_has_a_local_apiservice(svc: ApiService) -> None:
    items = (await svc.list(APISERVICES))["items"]
    names = {a["metadata"]["name"] for a in items}
    served = {f"{r.version}.{r.group}" for r in svc.kinds.resources()}
    assert names == served
    core = next(a for a in items if a["metadata"]["name"] == "v1.")
    assert core["spec"] == {"group": "", "version": "v1", "groupPriorityMinimum": 18000,
                            "versionPriority": 1}
    cond = available(core)
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "True", "Local", "Local APIServices are always available")


async def test_an_aggregated_apiservice_is_stored_and_says_it_is_not_proxied(
        svc: ApiService) -> None:
    created = await svc.create(APISERVICES, METRICS)
    assert created["spec"]["service"]["port"] == 443
    cond = available(created)
    assert (cond["status"], cond["reason"]) == ("False", "ServiceNotProxied")
    assert "does not proxy aggregated API servers" in cond["message"]


@pytest.mark.parametrize(("change", "field"), [
    ({"metadata": {"name": "wrong"}}, "metadata.name"),
    ({"spec": {"versionPriority": 0}}, "spec.versionPriority"),
    ({"spec": {"groupPriorityMinimum": 30000}}, "spec.groupPriorityMinimum"),
    ({"spec": {"caBundle": "Y2E="}}, "spec.insecureSkipTLSVerify"),
    ({"spec": {"service": {"namespace": "kube-system", "name": "m", "port": 0}}},
     "spec.service.port"),
])
async def test_invalid_apiservices_are_refused(svc: ApiService, change: dict[str, Any],
                                               field: str) -> None:
    body = {**METRICS, "metadata": {**METRICS["metadata"], **change.get("metadata", {})},
            "spec": {**METRICS["spec"], **change.get("spec", {})}}
    with pytest.raises(ApiError) as refused:
        await svc.create(APISERVICES, body)
    assert refused.value.code == 422
    assert field in [c.field for c in refused.value.causes]


@needs_kubectl
async def test_kubectl_get_apiservices_shows_local_and_unavailable_ones(
        svc: ApiService, kubeconfig: Path) -> None:
    await svc.create(APISERVICES, METRICS)
    rc, out, err = await kubectl(kubeconfig, "get", "apiservices")
    assert rc == 0, err
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert rows["v1.apps"][:2] == ["Local", "True"]
    assert rows["v1beta1.custom.metrics.k8s.io"][:3] == [
        "kube-system/prometheus-adapter", "False", "(ServiceNotProxied)"]


async def test_the_official_client_reads_apiservices_typed(server: TestServer,
                                                           svc: ApiService) -> None:
    from kubernetes import client

    await svc.create(APISERVICES, METRICS)
    api = client.ApiregistrationV1Api(official_client(server))
    listed = await asyncio.to_thread(api.list_api_service)
    metrics = await asyncio.to_thread(api.read_api_service, "v1beta1.custom.metrics.k8s.io")
    assert any(a.metadata.name == "v1.apps" for a in listed.items)
    assert metrics.spec.service.port == 443
    assert metrics.status.conditions[0].reason == "ServiceNotProxied"
    created = await asyncio.to_thread(api.create_api_service, client.V1APIService(
        metadata=client.V1ObjectMeta(name="v1.custom.example.com"),
        spec=client.V1APIServiceSpec(group="custom.example.com", version="v1",
                                     group_priority_minimum=10, version_priority=10)))
    assert created.status.conditions[0].status == "True"  # no service: Local
