"""The `kubernetes` Service in `default` and where it leads: Endpoints and EndpointSlices
pointing at every live API server, at the address pods reach each on (kube's
kubernetesservice controller with the lease endpoint reconciler of
pkg/controlplane/reconcilers).

What each object should be and whether a stored one needs rewriting are pure functions, as
is which servers are live (api/leasedaddresses.py); the reconciler only renews, reads,
compares and writes, so a server that comes or goes, a changed address or port, or a deleted
or edited object is put right."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.leasedaddresses import ServedAddress, desired_addresses, next_expiry
from minikube_py.api.resources import ENDPOINTS, ENDPOINTSLICES, SERVICES, Resource
from minikube_py.apiserver.serverleases import ServerLeases
from minikube_py.client.interface import ApiClient
from minikube_py.store.types import StoreError

log = logging.getLogger("minikube_py.apiserver")

Obj = dict[str, Any]
NAME = "kubernetes"
NAMESPACE = "default"
PORT_NAME = "https"
SERVICE_PORT = 443
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
# The API server writes its EndpointSlice itself: the mirroring controller must leave it.
SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"
SERVICE_LABELS = {"component": "apiserver", "provider": "kubernetes"}
# Fields of a service port the reconciler owns (kube compares the whole ServicePort).
_PORT_FIELDS = ("name", "protocol", "port", "targetPort", "nodePort", "appProtocol")


def kubernetes_service(cluster_ip: str, target_port: int) -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(SERVICE_LABELS)},
            "spec": {"clusterIP": cluster_ip, "type": "ClusterIP",
                     "ports": [_service_port(target_port)]}}


def _service_port(target_port: int) -> Obj:
    return {"name": PORT_NAME, "protocol": "TCP", "port": SERVICE_PORT,
            "targetPort": target_port}


def kubernetes_endpoints(servers: Sequence[ServedAddress]) -> Obj:
    """The Endpoints kube's lease reconciler writes: the live servers' addresses with the
    `https` port, one subset per port (kube's RepackSubsets; members on one machine answer
    on ports of their own); no server is no subset."""
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                         "labels": {SKIP_MIRROR_LABEL: "true"}},
            **({"subsets": [
                {"addresses": [{"ip": address} for address in addresses],
                 "ports": [{"name": PORT_NAME, "port": port, "protocol": "TCP"}]}
                for port, addresses in _by_port(servers)]} if servers else {})}


def kubernetes_endpoint_slices(servers: Sequence[ServedAddress], port: int) -> list[Obj]:
    """The EndpointSlices kube's EndpointsAdapter derives from those Endpoints: one per
    port, the first named as the Service (kube's only one), the others after their port;
    only the service-name label (no managed-by: no controller manages them). No server: the
    one slice, empty, with this server's `port`."""
    groups = _by_port(servers) or [(port, [])]
    return [_endpoint_slice(NAME if i == 0 else f"{NAME}-{port}", addresses, port)
            for i, (port, addresses) in enumerate(groups)]


def _endpoint_slice(name: str, addresses: list[str], port: int) -> Obj:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": NAMESPACE,
                         "labels": {SERVICE_NAME_LABEL: NAME}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [a], "conditions": {"ready": True}}
                          for a in addresses],
            "ports": [{"name": PORT_NAME, "protocol": "TCP", "port": port}]}


def _by_port(servers: Sequence[ServedAddress]) -> list[tuple[int, list[str]]]:
    ports: dict[int, list[str]] = {}
    for s in sorted(set(servers), key=lambda s: (s.port, s.address)):
        ports.setdefault(s.port, []).append(s.address)
    return sorted(ports.items())


def service_repaired(current: Obj, want: Obj) -> Obj | None:
    """The stored Service with its ports and type put right, or None if they are right
    (kube's checkServiceFormat; the clusterIP is immutable and left alone)."""
    spec = current.get("spec") or {}
    have = [{k: p.get(k) for k in _PORT_FIELDS} for p in spec.get("ports") or []]
    wanted = [{k: p.get(k) for k in _PORT_FIELDS} for p in want["spec"]["ports"]]
    if have == wanted and spec.get("type") == want["spec"]["type"]:
        return None
    fixed = copy.deepcopy(current)
    fixed["spec"]["ports"] = copy.deepcopy(want["spec"]["ports"])
    fixed["spec"]["type"] = want["spec"]["type"]
    return fixed


def endpoints_repaired(current: Obj, want: Obj) -> Obj | None:
    """The stored Endpoints with the wanted subsets and labels, or None if they have them."""
    return _repaired(current, want, ("subsets",))


def endpoint_slice_repaired(current: Obj, want: Obj) -> Obj | None:
    """The stored EndpointSlice with the wanted endpoints, ports and labels, or None. An
    addressType cannot change: such a slice must be deleted and made again (kube's too)."""
    return _repaired(current, want, ("endpoints", "ports"))


def stray_endpoint_slices(slices: list[Obj], wanted: list[Obj]) -> list[str]:
    """Slices claiming to be the `kubernetes` Service's that are not the API servers' own
    (another name, or another address type): kube's EndpointsAdapter deletes them, since
    kube-proxy would send the Service's traffic to them too."""
    own = {(w["metadata"]["name"], w["addressType"]) for w in wanted}
    return [s["metadata"]["name"] for s in slices
            if (s["metadata"]["name"], s.get("addressType")) not in own]


def _repaired(current: Obj, want: Obj, fields: tuple[str, ...]) -> Obj | None:
    # The labels too are exactly the API server's (kube's EndpointsAdapter sets them all).
    labels = (current.get("metadata") or {}).get("labels") or {}
    wanted_labels = want["metadata"]["labels"]
    if all(current.get(f) == want.get(f) for f in fields) and labels == wanted_labels:
        return None
    fixed = copy.deepcopy(current)
    fixed["metadata"]["labels"] = dict(wanted_labels)
    for f in fields:
        if f in want:
            fixed[f] = copy.deepcopy(want[f])
        else:
            fixed.pop(f, None)
    return fixed


class KubernetesServiceReconciler:
    """Keeps the `kubernetes` Service, its Endpoints and its EndpointSlices leading to every
    live API server, acting as the API server itself (kube's lease endpoint reconciler):
    each round renews this server's lease record (when pods reach it at `own`), reads
    everyone's and writes what the live ones make. A round comes every `interval` seconds,
    or sooner when a record lapses first, so a server that died leaves the endpoints within
    the TTL of its last renewal."""

    def __init__(self, client: ApiClient, leases: ServerLeases, *, cluster_ip: str,
                 own: ServedAddress | None, port: int, interval: float = 10.0,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if own is not None and interval >= leases.ttl:
            raise ValueError(f"the lease TTL ({leases.ttl} s) must outlast the renewal "
                             f"interval ({interval} s)")
        self.client = client
        self.leases = leases
        self.own = own
        self.port = port
        self.service = kubernetes_service(cluster_ip, port)
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._withdrawn = False

    async def run(self) -> None:
        while True:
            wait = self.interval
            try:
                wait = await self.reconcile()
            except (ApiError, StoreError) as e:
                # A conflict with another writer, a store hiccup: the next round repairs.
                log.warning("the kubernetes service's endpoints could not be updated: %s", e)
            await self._sleep(wait)

    async def reconcile(self) -> float:
        """One round; returns the seconds until the next one is due."""
        if self._withdrawn:
            return self.interval
        if self.own is not None:
            await self.leases.renew(self.own, self._clock())
        return await self._publish(self.own)

    async def withdraw(self) -> None:
        """On a graceful stop: this server's record goes, and the endpoints without it are
        written now rather than when its lease would lapse (kube's RemoveEndpoints)."""
        self._withdrawn = True
        await self.leases.remove()
        await self._publish(None)

    async def _publish(self, own: ServedAddress | None) -> float:
        records = await self.leases.records()
        now = self._clock()
        servers = desired_addresses(records, now, own)
        if servers is None:
            log.warning("this API server's lease record (%s) is not live right after its "
                        "renewal: leaving the kubernetes endpoints as they are", own)
            return self.interval
        endpoints = kubernetes_endpoints(servers)
        slices = kubernetes_endpoint_slices(servers, self.port)
        await self._ensure(SERVICES, self.service, service_repaired)
        await self._ensure(ENDPOINTS, endpoints, endpoints_repaired)
        await self._delete_stray_slices(slices)
        for slice_ in slices:
            await self._ensure(ENDPOINTSLICES, slice_, endpoint_slice_repaired)
        lapse = next_expiry(records, now)
        return self.interval if lapse is None else max(0.0, min(self.interval, lapse - now))

    async def _delete_stray_slices(self, wanted: list[Obj]) -> None:
        found = await self.client.list(ENDPOINTSLICES, namespace=NAMESPACE,
                                       label_selector=f"{SERVICE_NAME_LABEL}={NAME}")
        for name in stray_endpoint_slices(found["items"], wanted):
            try:
                await self.client.delete(ENDPOINTSLICES, name, namespace=NAMESPACE)
            except ApiError as e:
                if e.code != 404:
                    raise

    async def _ensure(self, resource: Resource, want: Obj,
                      repaired: Callable[[Obj, Obj], Obj | None]) -> None:
        name = want["metadata"]["name"]
        try:
            current = await self.client.get(resource, name, namespace=NAMESPACE)
        except ApiError as e:
            if e.code != 404:
                raise
            await self.client.create(resource, copy.deepcopy(want), namespace=NAMESPACE)
            return
        if current.get("addressType", want.get("addressType")) != want.get("addressType"):
            await self.client.delete(resource, name, namespace=NAMESPACE)
            await self.client.create(resource, copy.deepcopy(want), namespace=NAMESPACE)
            return
        fixed = repaired(current, want)
        if fixed is not None:
            await self.client.update(resource, fixed, namespace=NAMESPACE)
