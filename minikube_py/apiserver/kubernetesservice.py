"""The `kubernetes` Service in `default` and where it leads: the API server's own Endpoints and
EndpointSlice pointing at the address pods reach it on (kube's kubernetesservice controller
with the endpoint reconcilers of pkg/controlplane/reconcilers, for one API server).

What each object should be and whether a stored one needs rewriting are pure functions; the
reconciler only reads, compares and writes, at start and then every `interval` seconds, so
a changed node address, API port or a deleted or edited object is put right."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import ENDPOINTS, ENDPOINTSLICES, SERVICES, Resource
from minikube_py.client.interface import ApiClient

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


def kubernetes_endpoints(address: str | None, port: int) -> Obj:
    """The Endpoints kube's lease reconciler writes: one subset, this server's address and
    the `https` port; no address (pods cannot reach this server) is no subset."""
    subsets = [{"addresses": [{"ip": address}],
                "ports": [{"name": PORT_NAME, "port": port, "protocol": "TCP"}]}]
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                         "labels": {SKIP_MIRROR_LABEL: "true"}},
            **({"subsets": subsets} if address else {})}


def kubernetes_endpoint_slice(address: str | None, port: int) -> Obj:
    """The EndpointSlice kube's EndpointsAdapter derives from those Endpoints: same name,
    only the service-name label (no managed-by: no controller manages it)."""
    endpoints = [{"addresses": [address], "conditions": {"ready": True}}] if address else []
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                         "labels": {SERVICE_NAME_LABEL: NAME}},
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": [{"name": PORT_NAME, "protocol": "TCP", "port": port}]}


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


def stray_endpoint_slices(slices: list[Obj], want: Obj) -> list[str]:
    """Slices claiming to be the `kubernetes` Service's that are not the API server's own
    (another name, or another address type): kube's EndpointsAdapter deletes them, since
    kube-proxy would send the Service's traffic to them too."""
    return [s["metadata"]["name"] for s in slices
            if s["metadata"]["name"] != NAME or s.get("addressType") != want["addressType"]]


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
    """Keeps the `kubernetes` Service, its Endpoints and its EndpointSlice pointing at
    `address`:`port` (None: nowhere pods can reach), acting as the API server itself."""

    def __init__(self, client: ApiClient, *, cluster_ip: str, address: str | None, port: int,
                 interval: float = 10.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.client = client
        self.service = kubernetes_service(cluster_ip, port)
        self.endpoints = kubernetes_endpoints(address, port)
        self.endpoint_slice = kubernetes_endpoint_slice(address, port)
        self.interval = interval
        self._sleep = sleep

    async def run(self) -> None:
        while True:
            try:
                await self.reconcile()
            except ApiError as e:
                # A conflict with another writer, a store hiccup: the next round repairs.
                log.warning("the kubernetes service's endpoints could not be updated: %s", e)
            await self._sleep(self.interval)

    async def reconcile(self) -> None:
        await self._ensure(SERVICES, self.service, service_repaired)
        await self._ensure(ENDPOINTS, self.endpoints, endpoints_repaired)
        await self._delete_stray_slices()
        await self._ensure(ENDPOINTSLICES, self.endpoint_slice, endpoint_slice_repaired)

    async def _delete_stray_slices(self) -> None:
        found = await self.client.list(ENDPOINTSLICES, namespace=NAMESPACE,
                                       label_selector=f"{SERVICE_NAME_LABEL}={NAME}")
        for name in stray_endpoint_slices(found["items"], self.endpoint_slice):
            try:
                await self.client.delete(ENDPOINTSLICES, name, namespace=NAMESPACE)
            except ApiError as e:
                if e.code != 404:
                    raise

    async def _ensure(self, resource: Resource, want: Obj,
                      repaired: Callable[[Obj, Obj], Obj | None]) -> None:
        try:
            current = await self.client.get(resource, NAME, namespace=NAMESPACE)
        except ApiError as e:
            if e.code != 404:
                raise
            await self.client.create(resource, copy.deepcopy(want), namespace=NAMESPACE)
            return
        if current.get("addressType", want.get("addressType")) != want.get("addressType"):
            await self.client.delete(resource, NAME, namespace=NAMESPACE)
            await self.client.create(resource, copy.deepcopy(want), namespace=NAMESPACE)
            return
        fixed = repaired(current, want)
        if fixed is not None:
            await self.client.update(resource, fixed, namespace=NAMESPACE)
