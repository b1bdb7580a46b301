"""Publishes the cluster DNS through the API: Service kube-system/kube-dns at the cluster DNS
IP (no selector) and one EndpointSlice of ours per live DNS server, pointing at the address
it listens on, so kube-proxy sends 10.96.0.10:53 there. Every server (one per control-plane
member) renews a Lease of its own in kube-system; each round, a server writes the slices of
the servers whose Lease is live and deletes the others' (kube-apiserver's lease endpoint
reconciler, api/leasedaddresses.py), so the cluster DNS survives losing any one of them."""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.leasedaddresses import (
    LeasedAddress,
    ServedAddress,
    desired_addresses,
    next_expiry,
)
from minikube_py.api.resources import ENDPOINTSLICES, LEASES, SERVICES
from minikube_py.api.timefmt import micro_time
from minikube_py.client.interface import ApiClient

log = logging.getLogger("minikube_py.dns")

NAMESPACE = "kube-system"
SERVICE_NAME = "kube-dns"
MANAGED_BY = "minikube-py-dns"  # the EndpointSlice controller leaves slices it does not manage
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
# The DNS servers' Leases: labelled, with where each server answers in annotations.
LEASE_LABEL = "minikube-py.dev/cluster-dns"
ADDRESS_ANNOTATION = "minikube-py.dev/dns-address"
PORT_ANNOTATION = "minikube-py.dev/dns-port"
NODE_ANNOTATION = "minikube-py.dev/dns-node"
Obj = dict[str, Any]


def _suffix(holder: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", holder.lower()).strip("-") or "node"


def object_name(holder: str) -> str:
    """The name of a DNS server's Lease and of its EndpointSlice."""
    return f"{SERVICE_NAME}-{_suffix(holder)}"[:63].rstrip("-")


def kube_dns_service(service_ip: str, port: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": SERVICE_NAME, "namespace": NAMESPACE,
                     "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "minikube-py-dns",
                                "kubernetes.io/cluster-service": "true"}},
        "spec": {"clusterIP": service_ip, "type": "ClusterIP", "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": port},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": port},
        ]},
    }


def kube_dns_endpoint_slice(node_name: str, address: str, port: int, *,
                            holder: str = "") -> dict[str, Any]:
    """The slice of the DNS server `holder` (its node's name unless given)."""
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": object_name(holder or node_name), "namespace": NAMESPACE,
                     "labels": {"kubernetes.io/service-name": SERVICE_NAME,
                                "endpointslice.kubernetes.io/managed-by": MANAGED_BY,
                                "k8s-app": "kube-dns"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [address],
                       "conditions": {"ready": True, "serving": True, "terminating": False},
                       **({"nodeName": node_name} if node_name else {})}],
        "ports": [{"name": "dns", "port": port, "protocol": "UDP"},
                  {"name": "dns-tcp", "port": port, "protocol": "TCP"}],
    }


def dns_lease(holder: str, node_name: str, served: ServedAddress, renewed_at: float,
              ttl: float) -> Obj:
    """A DNS server's Lease: who holds it, when it was renewed, for how long, and (in
    annotations) where the server answers."""
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": object_name(holder), "namespace": NAMESPACE,
                         "labels": {LEASE_LABEL: "true"},
                         "annotations": {ADDRESS_ANNOTATION: served.address,
                                         PORT_ANNOTATION: str(served.port),
                                         NODE_ANNOTATION: node_name}},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": max(1, round(ttl)),
                     "renewTime": micro_time(renewed_at)}}


@dataclass(frozen=True, slots=True)
class DnsServer:
    """A DNS server as its Lease says: its record, and the node it runs on ("" if none)."""

    record: LeasedAddress
    node_name: str


def dns_server_of(lease: Obj) -> DnsServer | None:
    """What a DNS server's Lease says, or None for a Lease that is not one (edited, or
    half-written by something else: it leads nowhere)."""
    meta = lease.get("metadata") or {}
    notes = meta.get("annotations") or {}
    spec = lease.get("spec") or {}
    try:
        renewed = datetime.fromisoformat(str(spec["renewTime"]).replace("Z", "+00:00"))
        record = LeasedAddress(str(spec["holderIdentity"]),
                               ServedAddress(str(notes[ADDRESS_ANNOTATION]),
                                             int(notes[PORT_ANNOTATION])),
                               renewed.timestamp(), float(spec["leaseDurationSeconds"]))
    except (KeyError, TypeError, ValueError):
        return None
    if object_name(record.holder) != meta.get("name"):
        return None
    return DnsServer(record, str(notes.get(NODE_ANNOTATION) or ""))


@dataclass(frozen=True, slots=True)
class DnsSlicePlan:
    """The slices to have (one per live server) and ours to delete."""

    wanted: list[Obj]
    stale: list[str]


def plan_dns_slices(leases: list[Obj], slices: list[Obj], now: float,
                    own: ServedAddress | None) -> DnsSlicePlan | None:
    """From the DNS servers' Leases and the kube-dns slices there are: what to write. None
    when this server's own renewed Lease is not live (a store or a clock not to trust:
    leave everything as it is)."""
    servers = [s for s in map(dns_server_of, leases) if s is not None]
    if desired_addresses([s.record for s in servers], now, own) is None:
        return None
    wanted = [kube_dns_endpoint_slice(s.node_name, s.record.served.address,
                                      s.record.served.port, holder=s.record.holder)
              for s in sorted(servers, key=lambda s: s.record.holder) if s.record.live(now)]
    names = {w["metadata"]["name"] for w in wanted}
    stale = sorted(sl["metadata"]["name"] for sl in slices
                   if (sl["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY
                   and sl["metadata"]["name"] not in names)
    return DnsSlicePlan(wanted, stale)


class DnsRegistration:
    """Keeps kube-dns leading to every live DNS server, this one (`holder`, at `served`)
    among them: the Service once, then a round every `interval` seconds, or sooner when a
    server's Lease lapses first."""

    def __init__(self, client: ApiClient, *, holder: str, node_name: str,
                 served: ServedAddress, service_ip: str, ttl: float = 15.0,
                 interval: float = 10.0, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if interval >= ttl:
            raise ValueError(f"the DNS lease TTL ({ttl} s) must outlast the renewal "
                             f"interval ({interval} s)")
        self.client = client
        self.holder = holder
        self.node_name = node_name
        self.served = served
        self.service_ip = service_ip
        self.ttl = ttl
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._withdrawn = False

    async def register(self) -> float:
        """The Service, then one round; returns the seconds until the next round is due."""
        await _create_or_update(self.client, SERVICES,
                                kube_dns_service(self.service_ip, self.served.port))
        return await self.reconcile()

    async def run(self, first_wait: float) -> None:
        wait = first_wait
        while True:
            await self._sleep(wait)
            wait = self.interval
            try:
                wait = await self.reconcile()
            except ApiError as e:
                log.warning("the kube-dns endpoints could not be updated: %s", e)

    async def reconcile(self) -> float:
        if self._withdrawn:
            return self.interval
        await self._renew()
        return await self._publish(self.served)

    async def withdraw(self) -> None:
        """On a graceful stop: this server's Lease and slice go now."""
        self._withdrawn = True
        for resource in (LEASES, ENDPOINTSLICES):
            try:
                await self.client.delete(resource, object_name(self.holder),
                                         namespace=NAMESPACE)
            except ApiError as e:
                if e.code != 404:
                    raise

    async def _renew(self) -> None:
        lease = dns_lease(self.holder, self.node_name, self.served, self._clock(), self.ttl)
        await _create_or_update(self.client, LEASES, lease)

    async def _publish(self, own: ServedAddress) -> float:
        leases = (await self.client.list(LEASES, namespace=NAMESPACE,
                                         label_selector=f"{LEASE_LABEL}=true"))["items"]
        slices = (await self.client.list(ENDPOINTSLICES, namespace=NAMESPACE,
                                         label_selector=f"{SERVICE_NAME_LABEL}="
                                                        f"{SERVICE_NAME}"))["items"]
        now = self._clock()
        plan = plan_dns_slices(leases, slices, now, own)
        if plan is None:
            log.warning("this DNS server's Lease is not live right after its renewal: "
                        "leaving the kube-dns endpoints as they are")
            return self.interval
        for name in plan.stale:
            try:
                await self.client.delete(ENDPOINTSLICES, name, namespace=NAMESPACE)
            except ApiError as e:
                if e.code != 404:
                    raise
        for wanted in plan.wanted:
            await _create_or_update(self.client, ENDPOINTSLICES, wanted)
        records = [s.record for s in map(dns_server_of, leases) if s is not None]
        lapse = next_expiry(records, now)
        return self.interval if lapse is None else max(0.0, min(self.interval, lapse - now))


async def _create_or_update(client: ApiClient, resource: Any, body: dict[str, Any]) -> None:
    meta = body["metadata"]
    # Get first: creating a Service whose clusterIP is taken (by its earlier self) fails
    # with Invalid before the name conflict is noticed.
    try:
        current = await client.get(resource, meta["name"], namespace=meta["namespace"])
    except ApiError as e:
        if e.code != 404:
            raise
        await client.create(resource, body, namespace=meta["namespace"])
        return
    merged = copy.deepcopy(current)
    merged["metadata"].setdefault("labels", {}).update(meta["labels"])
    if resource is LEASES:
        merged["metadata"]["annotations"] = dict(meta["annotations"])
        merged["spec"] = body["spec"]
    elif resource is SERVICES:
        want_ip = body["spec"]["clusterIP"]
        if current["spec"].get("clusterIP") != want_ip:
            log.warning("service %s/%s has clusterIP %s, not %s; pods may not reach the "
                        "cluster DNS", meta["namespace"], meta["name"],
                        current["spec"].get("clusterIP"), want_ip)
        merged["spec"]["ports"] = body["spec"]["ports"]
        merged["spec"].pop("selector", None)
    else:
        for key in ("addressType", "endpoints", "ports"):
            merged[key] = body[key]
    if merged != current:
        await client.update(resource, merged, namespace=meta["namespace"])
