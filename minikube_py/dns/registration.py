"""Publishes the cluster DNS through the API: Service kube-system/kube-dns at the cluster DNS
IP (no selector) and an EndpointSlice of ours pointing at the node address the server
listens on, so kube-proxy sends 10.96.0.10:53 there."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import ENDPOINTSLICES, SERVICES
from minikube_py.client.interface import ApiClient

log = logging.getLogger("minikube_py.dns")

NAMESPACE = "kube-system"
SERVICE_NAME = "kube-dns"
MANAGED_BY = "minikube-py-dns"  # the EndpointSlice controller leaves slices it does not manage


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


def kube_dns_endpoint_slice(node_name: str, address: str, port: int) -> dict[str, Any]:
    suffix = re.sub(r"[^a-z0-9-]", "-", node_name.lower()).strip("-") or "node"
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": f"{SERVICE_NAME}-{suffix}"[:63], "namespace": NAMESPACE,
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


async def register_kube_dns(client: ApiClient, *, node_name: str, address: str, port: int,
                            service_ip: str = "10.96.0.10") -> None:
    await _create_or_update(client, SERVICES, kube_dns_service(service_ip, port))
    await _create_or_update(client, ENDPOINTSLICES,
                            kube_dns_endpoint_slice(node_name, address, port))


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
    if resource is SERVICES:
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
