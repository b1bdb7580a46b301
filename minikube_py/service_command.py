"""`minikube-py service NAME`: the URLs that reach a Service from this machine, as `minikube
service --url` prints them: a LoadBalancer's ingress, else a NodePort on a node's address,
else the ClusterIP (the service range is routed to the pod bridge here)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import ENDPOINTSLICES, NODES, SERVICES
from minikube_py.client.interface import ApiClient
from minikube_py.status_commands import node_ready

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


class ServiceRefused(Exception):
    """The Service is missing, or has no address this machine can reach."""


def _host(address: str) -> str:
    try:
        return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    except ValueError:
        return address  # a hostname (a LoadBalancer's ingress may be one)


def node_address(nodes: Sequence[Mapping[str, Any]]) -> str | None:
    """The InternalIP of the first Ready node (of any node when none is Ready)."""
    def internal_ip(node: Mapping[str, Any]) -> str | None:
        return next((a["address"] for a in node.get("status", {}).get("addresses", [])
                     if a.get("type") == "InternalIP"), None)

    ordered = sorted(nodes, key=lambda n: not node_ready(n))
    return next((ip for n in ordered if (ip := internal_ip(n))), None)


def service_urls(service: Mapping[str, Any], node_ip: str | None) -> list[str]:
    """One URL per port (per ingress address of a LoadBalancer); ServiceRefused for a
    Service that has no address here (ExternalName, headless)."""
    meta, spec = service.get("metadata", {}), service.get("spec", {})
    what = f"service {meta.get('namespace')}/{meta.get('name')}"
    kind = spec.get("type", "ClusterIP")
    if kind == "ExternalName":
        raise ServiceRefused(f"{what} is of type ExternalName (a DNS name for "
                             f"{spec.get('externalName', '?')}): it has no address in the "
                             "cluster to open")
    cluster_ip = spec.get("clusterIP", "")
    if cluster_ip in ("None", ""):
        raise ServiceRefused(f"{what} is headless (no cluster IP): reach its pods by their "
                             "own addresses (kubectl get endpointslices)")
    ports = spec.get("ports") or []
    if not ports:
        raise ServiceRefused(f"{what} has no ports")
    ingress = [i.get("ip") or i.get("hostname")
               for i in service.get("status", {}).get("loadBalancer", {}).get("ingress") or []
               if i.get("ip") or i.get("hostname")]
    if kind == "LoadBalancer" and ingress:
        return [f"http://{_host(addr)}:{p['port']}" for addr in ingress for p in ports]
    if kind in ("NodePort", "LoadBalancer") and node_ip and all(p.get("nodePort")
                                                                for p in ports):
        return [f"http://{_host(node_ip)}:{p['nodePort']}" for p in ports]
    return [f"http://{_host(cluster_ip)}:{p['port']}" for p in ports]


def has_ready_endpoint(slices: Sequence[Mapping[str, Any]]) -> bool:
    return any(e.get("conditions", {}).get("ready") is not False
               for s in slices for e in s.get("endpoints") or [])


async def service_urls_of(client: ApiClient, name: str, namespace: str
                          ) -> tuple[list[str], str]:
    """The Service's URLs and a warning ("" for none: it has a ready endpoint)."""
    try:
        service = await client.get(SERVICES, name, namespace=namespace)
    except ApiError as e:
        if e.code == 404:
            raise ServiceRefused(f"service {name} not found in namespace {namespace}") from None
        raise
    node_ip = None
    if service.get("spec", {}).get("type") in ("NodePort", "LoadBalancer"):
        node_ip = node_address((await client.list(NODES)).get("items", []))
    urls = service_urls(service, node_ip)
    slices = (await client.list(ENDPOINTSLICES, namespace=namespace,
                                label_selector=f"{SERVICE_NAME_LABEL}={name}")).get("items", [])
    warning = "" if has_ready_endpoint(slices) else \
        f"service {namespace}/{name} has no running pod"
    return urls, warning
