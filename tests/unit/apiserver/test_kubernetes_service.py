"""The `kubernetes` Service, Endpoints and EndpointSlice the API server keeps: what each is,
when a stored one is rewritten, and the reconciler putting back what was deleted or edited."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.leasedaddresses import ServedAddress
from minikube_py.api.resources import ENDPOINTS, ENDPOINTSLICES, SERVICES
from minikube_py.apiserver.kubernetesservice import (
    KubernetesServiceReconciler,
    endpoint_slice_repaired,
    endpoints_repaired,
    kubernetes_endpoint_slices,
    kubernetes_endpoints,
    kubernetes_service,
    service_repaired,
    stray_endpoint_slices,
)
from minikube_py.apiserver.serverleases import ServerLeases
from minikube_py.apiserver.service import ApiService
from minikube_py.store.memory import MemoryKV

Obj = dict[str, Any]
ADDRESS = "10.244.0.1"


def at(address: str | None, port: int) -> list[ServedAddress]:
    """One server at `address`:`port` (None: none)."""
    return [] if address is None else [ServedAddress(address, port)]


def test_the_endpoints_are_kubes_lease_reconcilers() -> None:
    assert kubernetes_endpoints(at(ADDRESS, 6443)) == {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": ADDRESS}],
                     "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]}


def test_the_endpoint_slice_is_kubes_endpoints_adapters() -> None:
    assert kubernetes_endpoint_slices(at(ADDRESS, 6443), 6443)[0] == {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ADDRESS], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "protocol": "TCP", "port": 6443}]}


def test_no_address_is_no_endpoint() -> None:
    assert "subsets" not in kubernetes_endpoints(at(None, 6443))
    assert kubernetes_endpoint_slices(at(None, 6443), 6443)[0]["endpoints"] == []


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
    (kubernetes_endpoints(at(ADDRESS, 6443)), kubernetes_endpoints(at(ADDRESS, 6443)), False),
    (kubernetes_endpoints(at("10.244.9.1", 6443)), kubernetes_endpoints(at(ADDRESS, 6443)), True),
    (kubernetes_endpoints(at(ADDRESS, 6443)), kubernetes_endpoints(at(ADDRESS, 7443)), True),
    (kubernetes_endpoints(at(ADDRESS, 6443)), kubernetes_endpoints(at(None, 6443)), True),
    ({**kubernetes_endpoints(at(ADDRESS, 6443)), "metadata": {"name": "kubernetes",
                                                          "namespace": "default"}},
     kubernetes_endpoints(at(ADDRESS, 6443)), True),
])
def test_the_endpoints_are_rewritten_when_address_port_or_label_differ(
        current: Obj, want: Obj, repaired: bool) -> None:
    fixed = endpoints_repaired(stored(current), want)
    assert (fixed is not None) is repaired
    if fixed is not None:
        assert fixed.get("subsets") == want.get("subsets")
        assert fixed["metadata"]["labels"] == want["metadata"]["labels"]


def test_the_endpoint_slice_labels_are_exactly_the_api_servers() -> None:
    want = kubernetes_endpoint_slices(at(ADDRESS, 6443), 6443)[0]
    current = stored(want)
    current["metadata"]["labels"]["team"] = "infra"
    fixed = endpoint_slice_repaired(current, want)
    assert fixed is not None
    assert fixed["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}


def test_slices_claiming_the_service_that_are_not_the_api_servers_are_strays() -> None:
    want = kubernetes_endpoint_slices(at(ADDRESS, 6443), 6443)[0]
    ours = stored(want)
    other = stored({**want, "metadata": {"name": "kubernetes-extra", "namespace": "default"}})
    ipv6 = stored({**want, "addressType": "IPv6"})
    assert stray_endpoint_slices([ours, other], [want]) == ["kubernetes-extra"]
    assert stray_endpoint_slices([ipv6], [want]) == ["kubernetes"]


def test_a_right_endpoint_slice_is_left_alone() -> None:
    want = kubernetes_endpoint_slices(at(ADDRESS, 6443), 6443)[0]
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
    await api.kubernetes_service_reconciler("a", ADDRESS, 7443).reconcile()
    eps = await get(api, ENDPOINTS)
    assert eps["subsets"] == kubernetes_endpoints(at(ADDRESS, 7443))["subsets"]
    slice_ = await get(api, ENDPOINTSLICES)
    assert (slice_["endpoints"], slice_["ports"]) == (
        [{"addresses": [ADDRESS], "conditions": {"ready": True}}],
        [{"name": "https", "protocol": "TCP", "port": 7443}])


async def test_a_second_round_writes_nothing(api: ApiService) -> None:
    reconciler = api.kubernetes_service_reconciler("a", ADDRESS, 7443)
    await reconciler.reconcile()
    versions = [(await get(api, r))["metadata"]["resourceVersion"]
                for r in (SERVICES, ENDPOINTS, ENDPOINTSLICES)]
    await reconciler.reconcile()
    assert [(await get(api, r))["metadata"]["resourceVersion"]
            for r in (SERVICES, ENDPOINTS, ENDPOINTSLICES)] == versions


async def test_a_new_address_or_port_replaces_the_old_one(api: ApiService) -> None:
    await api.kubernetes_service_reconciler("a", "10.244.9.1", 6443).reconcile()
    await api.kubernetes_service_reconciler("a", ADDRESS, 7443).reconcile()
    assert (await get(api, ENDPOINTSLICES))["endpoints"][0]["addresses"] == [ADDRESS]
    assert (await get(api, SERVICES))["spec"]["ports"][0]["targetPort"] == 7443


async def test_deleted_endpoints_and_slice_are_made_again(api: ApiService) -> None:
    reconciler = api.kubernetes_service_reconciler("a", ADDRESS, 7443)
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
    await api.kubernetes_service_reconciler("a", ADDRESS, 7443).reconcile()
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

    reconciler = KubernetesServiceReconciler(
        api, ServerLeases(api.kv, "a", 15.0), cluster_ip="10.96.0.1",
        own=ServedAddress(ADDRESS, 7443), port=7443, interval=3.0, sleep=sleep)
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
    await api.kubernetes_service_reconciler("a", ADDRESS, 7443).reconcile()
    names = [s["metadata"]["name"]
             for s in (await api.list(ENDPOINTSLICES, namespace="default"))["items"]]
    assert names == ["kubernetes"]


async def test_the_service_is_made_again_if_deleted(api: ApiService) -> None:
    await api.delete(SERVICES, "kubernetes", namespace="default")
    with pytest.raises(ApiError):
        await get(api, SERVICES)
    await api.kubernetes_service_reconciler("a", ADDRESS, 7443).reconcile()
    service = await get(api, SERVICES)
    assert service["spec"]["clusterIP"] == "10.96.0.1"
    assert service["spec"]["ports"][0]["targetPort"] == 7443


# --- several API servers, each with its lease record ------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def server(api: ApiService, clock: Clock, holder: str, own: ServedAddress | None,
           port: int = 7443) -> KubernetesServiceReconciler:
    return KubernetesServiceReconciler(api, ServerLeases(api.kv, holder, 15.0),
                                       cluster_ip="10.96.0.1", own=own, port=port,
                                       interval=10.0, clock=clock)


async def endpoint_ips(api: ApiService) -> list[tuple[str, int]]:
    eps = await get(api, ENDPOINTS)
    return [(a["ip"], subset["ports"][0]["port"]) for subset in eps.get("subsets", [])
            for a in subset["addresses"]]


async def slice_ips(api: ApiService) -> dict[str, list[tuple[str, int]]]:
    found = await api.list(ENDPOINTSLICES, namespace="default",
                           label_selector="kubernetes.io/service-name=kubernetes")
    return {s["metadata"]["name"]: [(a, p["port"]) for e in s["endpoints"]
                                    for a in e["addresses"] for p in s["ports"]]
            for s in found["items"]}


A = ServedAddress("10.251.0.1", 7443)
B = ServedAddress("10.251.0.2", 7443)
C = ServedAddress("10.251.0.3", 7444)


async def test_every_live_server_is_an_endpoint(api: ApiService) -> None:
    clock = Clock()
    for holder, own in (("a", A), ("b", B), ("c", C)):
        await server(api, clock, holder, own).reconcile()
    assert await endpoint_ips(api) == [("10.251.0.1", 7443), ("10.251.0.2", 7443),
                                       ("10.251.0.3", 7444)]
    # one slice per port: the Service's own name for the first
    assert await slice_ips(api) == {
        "kubernetes": [("10.251.0.1", 7443), ("10.251.0.2", 7443)],
        "kubernetes-7444": [("10.251.0.3", 7444)]}


async def test_a_server_that_stops_renewing_leaves_when_its_ttl_runs_out(
        api: ApiService) -> None:
    clock = Clock()
    a, b = server(api, clock, "a", A), server(api, clock, "b", B)
    await a.reconcile()
    await b.reconcile()
    clock.now += 10.0
    # a's next round is due when b's record lapses (5 s on), not a full interval away
    assert await a.reconcile() == pytest.approx(5.0)
    assert await endpoint_ips(api) == [("10.251.0.1", 7443), ("10.251.0.2", 7443)]
    clock.now += 5.0
    await a.reconcile()
    assert await endpoint_ips(api) == [("10.251.0.1", 7443)]


async def test_a_server_that_stops_gracefully_leaves_at_once(api: ApiService) -> None:
    clock = Clock()
    a, b = server(api, clock, "a", A), server(api, clock, "b", B)
    await a.reconcile()
    await b.reconcile()
    await b.withdraw()
    assert await endpoint_ips(api) == [("10.251.0.1", 7443)]
    await b.reconcile()  # a round after the withdrawal does not bring it back
    assert await endpoint_ips(api) == [("10.251.0.1", 7443)]


async def test_the_last_server_that_leaves_leaves_no_endpoint(api: ApiService) -> None:
    clock = Clock()
    a = server(api, clock, "a", A)
    await a.reconcile()
    await a.withdraw()
    assert await endpoint_ips(api) == []
    assert await slice_ips(api) == {"kubernetes": []}


async def test_a_server_pods_cannot_reach_publishes_only_the_others(api: ApiService) -> None:
    clock = Clock()
    await server(api, clock, "a", A).reconcile()
    await server(api, clock, "b", None).reconcile()
    assert await endpoint_ips(api) == [("10.251.0.1", 7443)]
    assert [r.holder for r in await ServerLeases(api.kv, "x", 15.0).records()] == ["a"]


async def test_a_slice_of_a_port_no_server_answers_on_any_more_is_deleted(
        api: ApiService) -> None:
    clock = Clock()
    c = server(api, clock, "c", C)
    await c.reconcile()
    await server(api, clock, "a", A).reconcile()
    await c.withdraw()
    assert await slice_ips(api) == {"kubernetes": [("10.251.0.1", 7443)]}


async def test_a_server_whose_own_record_is_not_live_leaves_the_endpoints_alone(
        api: ApiService) -> None:
    clock = Clock()
    await server(api, clock, "a", A).reconcile()
    before = await endpoint_ips(api)
    # a record written with a TTL already past (a clock far behind the reader's)
    skewed = KubernetesServiceReconciler(api, ServerLeases(api.kv, "b", 15.0),
                                         cluster_ip="10.96.0.1", own=B, port=7443,
                                         clock=clock)
    await skewed.leases.renew(B, clock.now - 60)
    assert await skewed._publish(B) == 10.0
    assert await endpoint_ips(api) == before


class CountingKV(MemoryKV):
    """A store that counts the leases granted and not yet revoked."""

    def __init__(self) -> None:
        super().__init__()
        self.held: set[int] = set()

    async def lease_grant(self, ttl_seconds: int) -> int:
        lease = await super().lease_grant(ttl_seconds)
        self.held.add(lease)
        return lease

    async def lease_revoke(self, lease_id: int) -> None:
        await super().lease_revoke(lease_id)
        self.held.discard(lease_id)


async def test_renewing_does_not_pile_up_store_leases_and_removing_deletes_the_record(
        ) -> None:
    kv = CountingKV()
    leases = ServerLeases(kv, "a", 15.0)
    try:
        for i in range(5):
            await leases.renew(A, 1000.0 + 10 * i)
        assert len(kv.held) == 1
        assert [(r.served, r.renewed_at) for r in await leases.records()] == [(A, 1040.0)]
        await leases.remove()
        assert kv.held == set() and await leases.records() == []
    finally:
        await kv.close()


def test_a_ttl_shorter_than_the_renewal_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="must outlast"):
        KubernetesServiceReconciler(object(), ServerLeases(object(), "a", 5.0),  # type: ignore[arg-type]
                                    cluster_ip="10.96.0.1", own=A, port=7443, interval=10.0)
