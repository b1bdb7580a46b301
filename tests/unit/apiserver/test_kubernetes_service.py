"""The `kubernetes` Service, Endpoints and EndpointSlice the API server keeps: what each is,
when a stored one is rewritten, and the reconciler putting back what was deleted or edited."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import ENDPOINTS, ENDPOINTSLICES, SERVICES
from minikube_py.apiserver.kubernetesservice import (
    KubernetesServiceReconciler,
    endpoint_slice_repaired,
    endpoints_repaired,
    kubernetes_endpoint_slice,
    kubernetes_endpoints,
    kubernetes_service,
    service_repaired,
    stray_endpoint_slices,
)
from minikube_py.apiserver.service import ApiService
from minikube_py.store.memory import MemoryKV

Obj = dict[str, Any]
ADDRESS = "10.244.0.1"


def test_the_endpoints_are_kubes_lease_reconcilers() -> None:
    assert kubernetes_endpoints(ADDRESS, 6443) == {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": ADDRESS}],
                     "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]}


def test_the_endpoint_slice_is_kubes_endpoints_adapters() -> None:
    assert kubernetes_endpoint_slice(ADDRESS, 6443) == {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ADDRESS], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "protocol": "TCP", "port": 6443}]}


def test_no_address_is_no_endpoint() -> None:
    assert "subsets" not in kubernetes_endpoints(None, 6443)
    assert kubernetes_endpoint_slice(None, 6443)["endpoints"] == []


def stored(obj: Obj) -> Obj:
    """`obj` as the API returns it: with server fields beside what was written."""
    out = copy.deepcopy(obj)
    out["metadata"].update(uid="u", resourceVersion="7", creationTimestamp="t")
    return out


@pytest.mark.parametrize(("edit", "repaired"), [
    (lambda o: None, False),
    (lambda o: o["spec"].update(sessionAffinity="None", clusterIPs=["10.96.0.1"]), False),
    (lambda o: o["spec"]["ports"][0].update(targetPort=6444), True),
    (lambda o: o["spec"]["ports"].append({"name": "x", "port": 1, "protocol": "TCP"}), True),
    (lambda o: o["spec"].update(type="NodePort"), True),
])
def test_the_service_is_rewritten_only_when_its_ports_or_type_are_wrong(
        edit: Any, repaired: bool) -> None:
    want = kubernetes_service("10.96.0.1", 6443)
    current = stored(want)
    edit(current)
    fixed = service_repaired(current, want)
    assert (fixed is not None) is repaired
    if fixed is not None:
        assert fixed["spec"]["ports"] == want["spec"]["ports"]
        assert fixed["spec"]["type"] == "ClusterIP"
        assert fixed["metadata"]["resourceVersion"] == "7"


@pytest.mark.parametrize(("current", "want", "repaired"), [
    (kubernetes_endpoints(ADDRESS, 6443), kubernetes_endpoints(ADDRESS, 6443), False),
    (kubernetes_endpoints("10.244.9.1", 6443), kubernetes_endpoints(ADDRESS, 6443), True),
    (kubernetes_endpoints(ADDRESS, 6443), kubernetes_endpoints(ADDRESS, 7443), True),
    (kubernetes_endpoints(ADDRESS, 6443), kubernetes_endpoints(None, 6443), True),
    ({**kubernetes_endpoints(ADDRESS, 6443), "metadata": {"name": "kubernetes",
                                                          "namespace": "default"}},
     kubernetes_endpoints(ADDRESS, 6443), True),
])
def test_the_endpoints_are_rewritten_when_address_port_or_label_differ(
        current: Obj, want: Obj, repaired: bool) -> None:
    fixed = endpoints_repaired(stored(current), want)
    assert (fixed is not None) is repaired
    if fixed is not None:
        assert fixed.get("subsets") == want.get("subsets")
        assert fixed["metadata"]["labels"] == want["metadata"]["labels"]


def test_the_endpoint_slice_labels_are_exactly_the_api_servers() -> None:
    want = kubernetes_endpoint_slice(ADDRESS, 6443)
    current = stored(want)
    current["metadata"]["labels"]["team"] = "infra"
    fixed = endpoint_slice_repaired(current, want)
    assert fixed is not None
    assert fixed["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}


def test_slices_claiming_the_service_that_are_not_the_api_servers_are_strays() -> None:
    want = kubernetes_endpoint_slice(ADDRESS, 6443)
    ours = stored(want)
    other = stored({**want, "metadata": {"name": "kubernetes-extra", "namespace": "default"}})
    ipv6 = stored({**want, "addressType": "IPv6"})
    assert stray_endpoint_slices([ours, other], want) == ["kubernetes-extra"]
    assert stray_endpoint_slices([ipv6], want) == ["kubernetes"]


def test_a_right_endpoint_slice_is_left_alone() -> None:
    want = kubernetes_endpoint_slice(ADDRESS, 6443)
    assert endpoint_slice_repaired(stored(want), want) is None


# --- the reconciler on the API server -----------------------------------------------------

@pytest.fixture
async def api() -> AsyncIterator[ApiService]:
    kv = MemoryKV()
    svc = ApiService(kv, kubernetes_service_target_port=7443)
    await svc.start()
    yield svc
    await svc.stop()
    await kv.close()


async def get(api: ApiService, resource: Any) -> Obj:
    return await api.get(resource, "kubernetes", namespace="default")


async def test_the_reconciler_points_the_service_at_this_server(api: ApiService) -> None:
    await api.kubernetes_service_reconciler(ADDRESS, 7443).reconcile()
    eps = await get(api, ENDPOINTS)
    assert eps["subsets"] == kubernetes_endpoints(ADDRESS, 7443)["subsets"]
    slice_ = await get(api, ENDPOINTSLICES)
    assert (slice_["endpoints"], slice_["ports"]) == (
        [{"addresses": [ADDRESS], "conditions": {"ready": True}}],
        [{"name": "https", "protocol": "TCP", "port": 7443}])


async def test_a_second_round_writes_nothing(api: ApiService) -> None:
    reconciler = api.kubernetes_service_reconciler(ADDRESS, 7443)
    await reconciler.reconcile()
    versions = [(await get(api, r))["metadata"]["resourceVersion"]
                for r in (SERVICES, ENDPOINTS, ENDPOINTSLICES)]
    await reconciler.reconcile()
    assert [(await get(api, r))["metadata"]["resourceVersion"]
            for r in (SERVICES, ENDPOINTS, ENDPOINTSLICES)] == versions


async def test_a_new_address_or_port_replaces_the_old_one(api: ApiService) -> None:
    await api.kubernetes_service_reconciler("10.244.9.1", 6443).reconcile()
    await api.kubernetes_service_reconciler(ADDRESS, 7443).reconcile()
    assert (await get(api, ENDPOINTSLICES))["endpoints"][0]["addresses"] == [ADDRESS]
    assert (await get(api, SERVICES))["spec"]["ports"][0]["targetPort"] == 7443


async def test_deleted_endpoints_and_slice_are_made_again(api: ApiService) -> None:
    reconciler = api.kubernetes_service_reconciler(ADDRESS, 7443)
    await reconciler.reconcile()
    for resource in (ENDPOINTS, ENDPOINTSLICES):
        await api.delete(resource, "kubernetes", namespace="default")
    await reconciler.reconcile()
    assert (await get(api, ENDPOINTS))["subsets"][0]["addresses"] == [{"ip": ADDRESS}]
    assert (await get(api, ENDPOINTSLICES))["endpoints"][0]["addresses"] == [ADDRESS]


async def test_a_slice_of_another_address_type_is_made_again(api: ApiService) -> None:
    await api.create(ENDPOINTSLICES, {
        "metadata": {"name": "kubernetes", "labels": {"kubernetes.io/service-name": "x"}},
        "addressType": "IPv6", "endpoints": [], "ports": []}, namespace="default")
    await api.kubernetes_service_reconciler(ADDRESS, 7443).reconcile()
    slice_ = await get(api, ENDPOINTSLICES)
    assert slice_["addressType"] == "IPv4"
    assert slice_["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}


async def test_the_reconciler_repairs_every_interval(api: ApiService) -> None:
    rounds: list[float] = []

    class StopAfterTwo(Exception):
        pass

    async def sleep(seconds: float) -> None:
        rounds.append(seconds)
        if len(rounds) == 1:
            await api.delete(ENDPOINTSLICES, "kubernetes", namespace="default")
        else:
            raise StopAfterTwo

    reconciler = KubernetesServiceReconciler(api, cluster_ip="10.96.0.1", address=ADDRESS,
                                             port=7443, interval=3.0, sleep=sleep)
    with pytest.raises(StopAfterTwo):
        await reconciler.run()
    assert rounds == [3.0, 3.0]
    assert (await get(api, ENDPOINTSLICES))["endpoints"][0]["addresses"] == [ADDRESS]


async def test_a_stray_slice_for_the_service_is_deleted(api: ApiService) -> None:
    await api.create(ENDPOINTSLICES, {
        "metadata": {"name": "kubernetes-rogue",
                     "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": "IPv4", "endpoints": [{"addresses": ["10.244.9.9"]}],
        "ports": [{"name": "https", "port": 1}]}, namespace="default")
    await api.kubernetes_service_reconciler(ADDRESS, 7443).reconcile()
    names = [s["metadata"]["name"]
             for s in (await api.list(ENDPOINTSLICES, namespace="default"))["items"]]
    assert names == ["kubernetes"]


async def test_the_service_is_made_again_if_deleted(api: ApiService) -> None:
    await api.delete(SERVICES, "kubernetes", namespace="default")
    with pytest.raises(ApiError):
        await get(api, SERVICES)
    await api.kubernetes_service_reconciler(ADDRESS, 7443).reconcile()
    service = await get(api, SERVICES)
    assert service["spec"]["clusterIP"] == "10.96.0.1"
    assert service["spec"]["ports"][0]["targetPort"] == 7443
