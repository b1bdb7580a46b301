"""core/v1 ResourceQuota and LimitRange: validation, printing, and the LimitRanger and
ResourceQuota admission plugins as kube's do them (messages, annotation, charging)."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CONFIGMAPS, LIMITRANGES, PODS, RESOURCEQUOTAS, SERVICES
from minikube_py.apiserver.kinds.resourcequotas import resourcequota_row
from minikube_py.apiserver.service import ApiService
from tests.unit.apiserver.conftest import official_client, pod_body
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl

NS = "default"


def quota(name: str, **hard: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name},
            "spec": {"hard": hard}}


def limitrange(*items: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits"},
            "spec": {"limits": list(items)}}


def sized_pod(name: str, cpu: str | None = None, limit: str | None = None,
              **extra: Any) -> dict[str, Any]:
    body = pod_body(name, **extra)
    res: dict[str, Any] = {}
    if cpu:
        res["requests"] = {"cpu": cpu}
    if limit:
        res["limits"] = {"cpu": limit}
    body["spec"]["containers"][0]["resources"] = res
    return body


async def _invalid(svc: ApiService, resource: Any, body: dict[str, Any]
                   ) -> list[tuple[str, str]]:
    with pytest.raises(ApiError) as e:
        await svc.create(resource, body, namespace=NS)
    assert e.value.code == 422, e.value
    return [(c.field, c.message) for c in e.value.causes]


async def _refused(svc: ApiService, resource: Any, body: dict[str, Any]) -> str:
    with pytest.raises(ApiError) as e:
        await svc.create(resource, body, namespace=NS)
    assert e.value.code == 403, e.value
    return e.value.message


async def with_status(svc: ApiService, name: str, used: dict[str, str]) -> None:
    """What the resource quota controller would write: hard from spec, and `used`."""
    stored = await svc.get(RESOURCEQUOTAS, name, namespace=NS)
    stored["status"] = {"hard": stored["spec"]["hard"], "used": used}
    await svc.update(RESOURCEQUOTAS, stored, namespace=NS, subresource="status")


# --- the kinds -------------------------------------------------------------------------


async def test_resourcequota_validation_causes(svc: ApiService) -> None:
    assert await _invalid(svc, RESOURCEQUOTAS, quota("q", pods="-1", foo="1")) == [
        ("spec.hard[foo]", 'Invalid value: "foo": must be a standard resource type or fully '
                           "qualified"),
        ("spec.hard[foo]", 'Invalid value: "foo": must be a standard resource for quota'),
        ("spec.hard[pods]", 'Invalid value: "-1": must be greater than or equal to 0')]
    assert await _invalid(svc, RESOURCEQUOTAS, quota("q", pods="1500m")) == [
        ("spec.hard[pods]", 'Invalid value: "1500m": must be an integer')]
    made = await svc.create(RESOURCEQUOTAS, quota("q", **{"count/deployments.apps": "2",
                                                           "requests.cpu": "500m"}),
                            namespace=NS)
    assert made["status"] == {}


async def test_quota_scope_validation_causes(svc: ApiService) -> None:
    body = quota("q", pods="1", **{"requests.cpu": "1", "configmaps": "1"})
    body["spec"]["scopes"] = ["BestEffort", "NotBestEffort", "Sometimes"]
    sel = "spec.scopeSelector.matchExpressions"
    body["spec"]["scopeSelector"] = {"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "In"},
        {"scopeName": "Terminating", "operator": "In", "values": ["x"]},
        {"scopeName": "CrossNamespacePodAffinity", "operator": "Exists"}]}
    scopes = '["BestEffort","NotBestEffort","Sometimes"]'
    causes = await _invalid(svc, RESOURCEQUOTAS, body)
    assert [(f, m) for f, m in causes if f == "spec.scopes"] == [
        ("spec.scopes", f"Invalid value: {scopes}: unsupported scope applied to resource")] * 3 + [
        ("spec.scopes", f"Invalid value: {scopes}: unsupported scope"),
        ("spec.scopes", f"Invalid value: {scopes}: conflicting scopes")]
    applied = (sel, "Invalid value", "unsupported scope applied to resource")
    assert [(f, m.split(": ")[0], m.rsplit(": ", 1)[1]) for f, m in causes
            if f != "spec.scopes"] == [
        applied,  # configmaps, under PriorityClass
        (f"{sel}.values", "Required value", "must be at least one value when `operator` is "
                                            "'In' or 'NotIn' for scope selector"),
        applied,
        (f"{sel}.operator", "Invalid value", "must be 'Exist' when scope is any of "
         "ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, "
         "ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or "
         "ResourceQuotaScopeCrossNamespacePodAffinity"),
        (f"{sel}.scopeName", "Forbidden", "the CrossNamespacePodAffinity scope is not "
                                          "supported by this cluster"),
        applied]


async def test_scoped_quotas_count_only_the_pods_in_their_scope(svc: ApiService) -> None:
    from minikube_py.api.resources import PRIORITYCLASSES

    best = quota("best-effort", pods="1")
    best["spec"]["scopes"] = ["BestEffort"]
    await svc.create(RESOURCEQUOTAS, best, namespace=NS)
    high = quota("high", pods="1")
    high["spec"]["scopeSelector"] = {"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}
    await svc.create(RESOURCEQUOTAS, high, namespace=NS)
    for name in ("best-effort", "high"):
        await with_status(svc, name, {"pods": "0"})
    await svc.create(PRIORITYCLASSES, {"metadata": {"name": "high"}, "value": 10})
    await svc.create(PODS, pod_body("free"), namespace=NS)
    assert "exceeded quota: best-effort" in await _refused(svc, PODS, pod_body("free2"))
    await svc.create(PODS, sized_pod("sized", cpu="100m"), namespace=NS)  # not BestEffort
    await svc.create(PODS, sized_pod("h1", cpu="100m", priorityClassName="high"),
                     namespace=NS)
    assert "exceeded quota: high" in await _refused(
        svc, PODS, sized_pod("h2", cpu="100m", priorityClassName="high"))


def test_resourcequota_row_splits_requests_and_limits() -> None:
    obj = {"metadata": {"name": "compute"}, "status": {
        "hard": {"pods": "10", "requests.cpu": "1", "limits.memory": "1Gi"},
        "used": {"pods": "1", "requests.cpu": "100m"}}}
    assert resourcequota_row(obj, 0)[2:] == ["pods: 1/10, requests.cpu: 100m/1",
                                             "limits.memory: 0/1Gi"]


async def test_limitrange_defaults_and_validation_causes(svc: ApiService) -> None:
    made = await svc.create(LIMITRANGES, limitrange(
        {"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "4Mi"}}), namespace=NS)
    assert made["spec"]["limits"][0] == {
        "type": "Container", "max": {"cpu": "2"}, "min": {"memory": "4Mi"},
        "default": {"cpu": "2"}, "defaultRequest": {"cpu": "2", "memory": "4Mi"}}
    bad = limitrange({"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"},
                      "maxLimitRequestRatio": {"cpu": "500m"}},
                     {"type": "Pod", "default": {"cpu": "1"}},
                     {"type": "PersistentVolumeClaim"}, {"type": "Node"})
    bad["metadata"]["name"] = "bad"
    assert await _invalid(svc, LIMITRANGES, bad) == [
        ("spec.limits[0].min[cpu]", 'Invalid value: "2": min value 2 is greater than max '
                                    "value 1"),
        ("spec.limits[0].defaultRequest[cpu]", 'Invalid value: "1": min value 2 is greater '
                                               "than default request value 1"),
        ("spec.limits[0].default[cpu]", 'Invalid value: "2": min value 2 is greater than '
                                        "default value 1"),
        ("spec.limits[0].maxLimitRequestRatio[cpu]", 'Invalid value: "500m": ratio 500m is '
                                                     "less than 1"),
        ("spec.limits[1].default", "Forbidden: may not be specified when `type` is 'Pod'"),
        ("spec.limits[2].limits", "Required value: either minimum or maximum storage value "
                                  "is required, but neither was provided"),
        ("spec.limits[3].type", 'Unsupported value: "Node": supported values: "Pod", '
                                '"Container", "PersistentVolumeClaim"')]


# --- LimitRanger -----------------------------------------------------------------------


async def test_limitranger_fills_defaults_and_annotates(svc: ApiService) -> None:
    await svc.create(LIMITRANGES, limitrange(
        {"type": "Container", "default": {"cpu": "500m", "memory": "64Mi"},
         "defaultRequest": {"cpu": "100m"}}), namespace=NS)
    body = sized_pod("web", cpu="200m")
    body["spec"]["containers"][0]["name"] = "web"
    body["spec"]["containers"].append({"name": "side", "image": "busybox"})
    made = await svc.create(PODS, body, namespace=NS)
    web, side = made["spec"]["containers"]
    assert web["resources"] == {"requests": {"cpu": "200m", "memory": "64Mi"},
                                "limits": {"cpu": "500m", "memory": "64Mi"}}
    assert side["resources"] == {"requests": {"cpu": "100m", "memory": "64Mi"},
                                 "limits": {"cpu": "500m", "memory": "64Mi"}}
    assert made["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: memory request for container web; "
        "cpu, memory limit for container web; "
        "cpu, memory request for container side; cpu, memory limit for container side")


async def test_limitranger_refuses_over_max_with_kubes_message(svc: ApiService) -> None:
    await svc.create(LIMITRANGES, limitrange({"type": "Container", "max": {"cpu": "1"}}),
                     namespace=NS)
    assert await _refused(svc, PODS, sized_pod("x", cpu="500m", limit="2")) == (
        'pods "x" is forbidden: maximum cpu usage per Container is 1, but limit is 2')
    made = await svc.create(PODS, sized_pod("y"), namespace=NS)  # max is its default limit
    assert made["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "1"}


async def test_limitranger_pod_totals_and_ratio(svc: ApiService) -> None:
    await svc.create(LIMITRANGES, limitrange(
        {"type": "Pod", "max": {"cpu": "1"}},
        {"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}), namespace=NS)
    body = sized_pod("x", cpu="600m", limit="600m")
    body["spec"]["containers"].append({"name": "d", "image": "busybox", "resources": {
        "requests": {"cpu": "100m"}, "limits": {"cpu": "600m"}}})
    assert await _refused(svc, PODS, body) == (
        'pods "x" is forbidden: [cpu max limit to request ratio per Container is 2, but '
        "provided ratio is 6.000000, maximum cpu usage per Pod is 1, but limit is 1200m]")


# --- ResourceQuota admission -----------------------------------------------------------


async def test_quota_refuses_the_pod_over_the_limit(svc: ApiService) -> None:
    await svc.create(RESOURCEQUOTAS, quota("pods", pods="2"), namespace=NS)
    await with_status(svc, "pods", {"pods": "0"})
    await svc.create(PODS, pod_body("a"), namespace=NS)
    await svc.create(PODS, pod_body("b"), namespace=NS)
    assert await _refused(svc, PODS, pod_body("c")) == (
        'pods "c" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, '
        "limited: pods=2")
    assert (await svc.get(RESOURCEQUOTAS, "pods", namespace=NS))["status"]["used"] == {
        "pods": "2"}


async def test_quota_needs_requests_for_what_it_limits(svc: ApiService) -> None:
    await svc.create(RESOURCEQUOTAS, quota("compute", **{"requests.cpu": "1",
                                                          "limits.cpu": "2"}), namespace=NS)
    await with_status(svc, "compute", {"requests.cpu": "0", "limits.cpu": "0"})
    assert await _refused(svc, PODS, sized_pod("x", cpu="100m")) == (
        'pods "x" is forbidden: failed quota: compute: must specify limits.cpu for: c')
    await svc.create(PODS, sized_pod("y", cpu="400m", limit="1"), namespace=NS)
    assert await _refused(svc, PODS, sized_pod("z", cpu="700m", limit="700m")) == (
        'pods "z" is forbidden: exceeded quota: compute, requested: requests.cpu=700m, '
        "used: requests.cpu=400m, limited: requests.cpu=1")
    used = (await svc.get(RESOURCEQUOTAS, "compute", namespace=NS))["status"]["used"]
    assert used == {"limits.cpu": "1", "requests.cpu": "400m"}


async def test_quota_limits_once_counted_and_needs_its_usage(svc: ApiService) -> None:
    await svc.create(RESOURCEQUOTAS, quota("cm", configmaps="1"), namespace=NS)
    await svc.create(CONFIGMAPS, {"metadata": {"name": "early"}}, namespace=NS)  # as kube
    stored = await svc.get(RESOURCEQUOTAS, "cm", namespace=NS)
    stored["status"] = {"hard": {"configmaps": "1"}}
    await svc.update(RESOURCEQUOTAS, stored, namespace=NS, subresource="status")
    assert await _refused(svc, CONFIGMAPS, {"metadata": {"name": "x"}}) == (
        'configmaps "x" is forbidden: status unknown for quota: cm, resources: configmaps')
    await with_status(svc, "cm", {"configmaps": "0"})
    await svc.create(CONFIGMAPS, {"metadata": {"name": "x"}}, namespace=NS)


async def test_quota_counts_services_nodeports_and_any_kind(svc: ApiService) -> None:
    await svc.create(RESOURCEQUOTAS, quota("svc", **{"services.nodeports": "1",
                                                      "count/configmaps": "0"}), namespace=NS)
    await with_status(svc, "svc", {"services.nodeports": "0", "count/configmaps": "0"})
    ports = [{"port": 80, "name": "a"}, {"port": 81, "name": "b"}]
    body = {"metadata": {"name": "np"}, "spec": {"type": "NodePort", "ports": ports}}
    assert "requested: services.nodeports=2, used: services.nodeports=0, limited: " \
           "services.nodeports=1" in await _refused(svc, SERVICES, body)
    await svc.create(SERVICES, {"metadata": {"name": "ip"}, "spec": {"ports": ports}},
                     namespace=NS)
    assert "exceeded quota: svc, requested: count/configmaps=1" in await _refused(
        svc, CONFIGMAPS, {"metadata": {"name": "c"}})


async def test_concurrent_creates_never_exceed_the_quota(svc: ApiService) -> None:
    await svc.create(RESOURCEQUOTAS, quota("pods", pods="3"), namespace=NS)
    await with_status(svc, "pods", {"pods": "0"})
    results = await asyncio.gather(*(svc.create(PODS, pod_body(f"p{i}"), namespace=NS)
                                     for i in range(12)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, ApiError)]
    assert len(results) - len(refused) == 3
    assert all(r.code == 403 and "exceeded quota: pods" in r.message for r in refused)
    assert (await svc.get(RESOURCEQUOTAS, "pods", namespace=NS))["status"]["used"] == {
        "pods": "3"}


async def test_a_dry_run_is_checked_not_charged(svc: ApiService) -> None:
    from minikube_py.apiserver.options import RequestOptions

    await svc.create(RESOURCEQUOTAS, quota("pods", pods="1"), namespace=NS)
    await with_status(svc, "pods", {"pods": "0"})
    opts = RequestOptions(dry_run=True)
    await svc.create_object(PODS, pod_body("a"), NS, opts)
    assert (await svc.get(RESOURCEQUOTAS, "pods", namespace=NS))["status"]["used"] == {
        "pods": "0"}


def test_claims_are_held_to_the_storage_min_and_max() -> None:
    from minikube_py.apiserver.limitranger import claim_limit_errors

    ranges = [limitrange({"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"},
                          "max": {"storage": "10Gi"}})]

    def claim(size: str) -> dict[str, Any]:
        return {"spec": {"resources": {"requests": {"storage": size}}}}

    assert claim_limit_errors(claim("5Gi"), ranges) == []
    assert claim_limit_errors(claim("20Gi"), ranges) == [
        "maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi"]
    assert claim_limit_errors(claim("500Mi"), ranges) == [
        "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"]


# --- the real kubectl and the official client -------------------------------------------


@needs_kubectl
async def test_kubectl_quota_create_get_describe_and_delete(svc: ApiService,
                                                            kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "create", "quota", "compute",
                                 "--hard=pods=10,requests.cpu=1,limits.memory=1Gi")
    assert rc == 0, err
    assert "resourcequota/compute created" in out
    await with_status(svc, "compute", {"pods": "0", "requests.cpu": "0", "limits.memory": "0"})
    body = sized_pod("p", cpu="100m")
    body["spec"]["containers"][0]["resources"]["limits"] = {"memory": "64Mi"}
    await svc.create(PODS, body, namespace=NS)
    rc, out, err = await kubectl(kubeconfig, "get", "quota")
    assert rc == 0, err
    header, row = out.splitlines()
    assert header.split() == ["NAME", "AGE", "REQUEST", "LIMIT"]
    assert row.split(None, 2)[0] == "compute"
    assert "pods: 1/10, requests.cpu: 100m/1   limits.memory: 64Mi/1Gi" in row
    rc, out, err = await kubectl(kubeconfig, "describe", "quota", "compute")
    assert rc == 0, err
    lines = [line.split() for line in out.splitlines()]
    assert ["Name:", "compute"] in lines and ["Namespace:", "default"] in lines
    assert ["Resource", "Used", "Hard"] in lines
    assert ["pods", "1", "10"] in lines and ["requests.cpu", "100m", "1"] in lines
    assert ["limits.memory", "64Mi", "1Gi"] in lines
    rc, out, err = await kubectl(kubeconfig, "delete", "quota", "compute")
    assert rc == 0, err


@needs_kubectl
async def test_kubectl_limitrange_apply_twice_get_and_describe(kubeconfig: Path) -> None:
    # the defaults written out, so that defaulting changes nothing apply compares
    body = json.dumps(limitrange({"type": "Container", "max": {"cpu": "2"},
                                  "default": {"cpu": "2"}, "defaultRequest": {"cpu": "100m"}}))
    for verb in ("created", "unchanged"):
        rc, out, err = await kubectl(kubeconfig, "apply", "-f", "-", stdin=body)
        assert rc == 0, err
        assert f"limitrange/limits {verb}" in out
    rc, out, err = await kubectl(kubeconfig, "get", "limits")
    assert rc == 0, err
    header, row = out.splitlines()
    assert header.split() == ["NAME", "CREATED", "AT"]
    assert row.split()[0] == "limits" and row.split()[1].endswith("Z")
    rc, out, err = await kubectl(kubeconfig, "describe", "limitrange", "limits")
    assert rc == 0, err
    assert ["Container", "cpu", "-", "2", "100m", "2", "-"] in [
        line.split() for line in out.splitlines()]
    rc, out, err = await kubectl(kubeconfig, "delete", "limits", "limits")
    assert rc == 0, err


async def test_python_client_reads_quota_and_limitrange_typed(svc: ApiService,
                                                             server: TestServer) -> None:
    from kubernetes import client

    await svc.create(RESOURCEQUOTAS, quota("compute", pods="4", **{"requests.memory": "1Gi"}),
                     namespace=NS)
    await with_status(svc, "compute", {"pods": "1", "requests.memory": "64Mi"})

    def work() -> list[Any]:
        api = client.CoreV1Api(official_client(server))
        got = api.read_namespaced_resource_quota("compute", NS)
        status = api.read_namespaced_resource_quota_status("compute", NS).status
        api.create_namespaced_limit_range(NS, client.V1LimitRange(
            metadata=client.V1ObjectMeta(name="lr"), spec=client.V1LimitRangeSpec(limits=[
                client.V1LimitRangeItem(type="Container", max={"memory": "1Gi"})])))
        lr = api.read_namespaced_limit_range("lr", NS)
        item = lr.spec.limits[0]
        return [got.spec.hard, status.used, item.type, item.default, item.default_request,
                [q.metadata.name for q in api.list_namespaced_resource_quota(NS).items]]

    assert await asyncio.to_thread(work) == [
        {"pods": "4", "requests.memory": "1Gi"}, {"pods": "1", "requests.memory": "64Mi"},
        "Container", {"memory": "1Gi"}, {"memory": "1Gi"}, ["compute"]]
