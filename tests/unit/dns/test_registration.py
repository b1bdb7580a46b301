"""kube-dns leads to every live DNS server: each renews a Lease of its own; the slices are
those of the live Leases (the plan is pure; the registration writes it)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from minikube_py.api.leasedaddresses import ServedAddress
from minikube_py.api.resources import ENDPOINTSLICES, LEASES
from minikube_py.apiserver.authn import KUBE_DNS
from minikube_py.apiserver.service import ApiService
from minikube_py.dns.registration import (
    DnsRegistration,
    dns_lease,
    dns_server_of,
    kube_dns_endpoint_slice,
    plan_dns_slices,
)
from minikube_py.store.memory import MemoryKV

Obj = dict[str, Any]
A = ServedAddress("10.251.0.1", 53)
B = ServedAddress("10.251.0.2", 53)
NOW = 1_700_000_000.0


def names(objs: list[Obj]) -> list[str]:
    return [o["metadata"]["name"] for o in objs]


def test_a_lease_says_who_serves_where_until_when() -> None:
    server = dns_server_of(dns_lease("member-b", "", B, NOW, 15.0))
    assert server is not None
    assert (server.record.holder, server.record.served, server.node_name) == ("member-b", B, "")
    assert server.record.renewed_at == pytest.approx(NOW)
    assert server.record.expires_at == pytest.approx(NOW + 15.0)


@pytest.mark.parametrize("edit", [
    lambda lease: lease["metadata"]["annotations"].pop("minikube-py.dev/dns-address"),
    lambda lease: lease["metadata"]["annotations"].update({"minikube-py.dev/dns-port": "x"}),
    lambda lease: lease["spec"].update(renewTime="yesterday"),
    lambda lease: lease["spec"].pop("holderIdentity"),
    lambda lease: lease["spec"].update(holderIdentity="someone-else"),
])
def test_a_lease_that_is_not_a_dns_servers_leads_nowhere(edit: Any) -> None:
    lease = dns_lease("a", "node-a", A, NOW, 15.0)
    edit(lease)
    assert dns_server_of(lease) is None


def test_the_slices_are_the_live_servers_and_ours_of_the_others_go() -> None:
    leases = [dns_lease("a", "node-a", A, NOW, 15.0), dns_lease("b", "", B, NOW - 20, 15.0)]
    theirs = {**kube_dns_endpoint_slice("", "10.0.0.9", 53, holder="coredns"),
              "metadata": {"name": "coredns-x", "labels": {
                  "kubernetes.io/service-name": "kube-dns",
                  "endpointslice.kubernetes.io/managed-by": "someone-else"}}}
    slices = [kube_dns_endpoint_slice("", B.address, 53, holder="b"), theirs]
    plan = plan_dns_slices(leases, slices, NOW + 1, own=A)
    assert plan is not None
    assert names(plan.wanted) == ["kube-dns-a"]
    assert plan.wanted[0]["endpoints"][0]["nodeName"] == "node-a"
    assert plan.stale == ["kube-dns-b"]  # another manager's slice is left alone


def test_a_server_that_does_not_find_its_own_lease_live_plans_nothing() -> None:
    leases = [dns_lease("a", "", A, NOW - 60, 15.0), dns_lease("b", "", B, NOW, 15.0)]
    assert plan_dns_slices(leases, [], NOW, own=A) is None


# --- the registration against the in-process API server -------------------------------

@pytest.fixture
async def api() -> AsyncIterator[ApiService]:
    kv = MemoryKV()
    svc = ApiService(kv)
    await svc.start()
    yield svc
    await svc.stop()
    await kv.close()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def server(api: ApiService, clock: Clock, holder: str, served: ServedAddress) -> DnsRegistration:
    # as the DNS servers act: the kube-dns identity, through its RBAC
    return DnsRegistration(api.as_user(KUBE_DNS), holder=holder, node_name="", served=served,
                           service_ip="10.96.0.10", ttl=15.0, interval=10.0, clock=clock)


async def slice_addresses(api: ApiService) -> dict[str, list[str]]:
    found = await api.list(ENDPOINTSLICES, namespace="kube-system",
                           label_selector="kubernetes.io/service-name=kube-dns")
    return {s["metadata"]["name"]: [a for e in s["endpoints"] for a in e["addresses"]]
            for s in found["items"]}


async def test_every_live_dns_server_is_an_endpoint(api: ApiService) -> None:
    clock = Clock()
    await server(api, clock, "a", A).register()
    await server(api, clock, "b", B).register()
    assert await slice_addresses(api) == {"kube-dns-a": [A.address], "kube-dns-b": [B.address]}


async def test_a_dns_server_that_stops_renewing_leaves_when_its_lease_lapses(
        api: ApiService) -> None:
    clock = Clock()
    a, b = server(api, clock, "a", A), server(api, clock, "b", B)
    await a.register()
    await b.register()
    clock.now += 10.0
    assert await a.reconcile() == pytest.approx(5.0)  # due when b's Lease lapses
    clock.now += 5.0
    await a.reconcile()
    assert await slice_addresses(api) == {"kube-dns-a": [A.address]}


async def test_a_dns_server_stopped_gracefully_leaves_at_once(api: ApiService) -> None:
    clock = Clock()
    a, b = server(api, clock, "a", A), server(api, clock, "b", B)
    await a.register()
    await b.register()
    await b.withdraw()
    assert await slice_addresses(api) == {"kube-dns-a": [A.address]}
    assert names((await api.list(LEASES, namespace="kube-system"))["items"]) == ["kube-dns-a"]
    await b.reconcile()  # a round after the withdrawal does not bring it back
    assert await slice_addresses(api) == {"kube-dns-a": [A.address]}


async def test_a_renewal_moves_the_lease_on_and_rewrites_no_slice(api: ApiService) -> None:
    clock = Clock()
    a = server(api, clock, "a", A)
    await a.register()
    before = copy.deepcopy(await api.get(ENDPOINTSLICES, "kube-dns-a", namespace="kube-system"))
    clock.now += 10.0
    await a.reconcile()
    lease = await api.get(LEASES, "kube-dns-a", namespace="kube-system")
    assert dns_server_of(lease).record.renewed_at == pytest.approx(clock.now)  # type: ignore[union-attr]
    after = await api.get(ENDPOINTSLICES, "kube-dns-a", namespace="kube-system")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
