"""`minikube-py service --url`: which address reaches a Service from this machine."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.service_command import (
    ServiceRefused,
    has_ready_endpoint,
    node_address,
    service_urls,
)


def svc(kind: str = "ClusterIP", *, ip: str = "10.96.0.20", ports: list[dict[str, Any]] | None = None,
        ingress: list[dict[str, str]] | None = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"namespace": "default", "name": "web"},
            "spec": {"type": kind, "clusterIP": ip,
                     "ports": ports if ports is not None else [{"port": 80, "nodePort": 30080}],
                     **spec},
            "status": {"loadBalancer": {"ingress": ingress} if ingress else {}}}


def test_a_cluster_ip_service_is_reached_at_its_cluster_ip() -> None:
    assert service_urls(svc(ports=[{"port": 80}, {"port": 443}]), None) == [
        "http://10.96.0.20:80", "http://10.96.0.20:443"]


def test_a_node_port_service_is_reached_on_the_node() -> None:
    assert service_urls(svc("NodePort"), "10.244.0.1") == ["http://10.244.0.1:30080"]


def test_a_load_balancer_is_reached_at_its_ingress_and_else_on_the_node() -> None:
    lb = svc("LoadBalancer", ingress=[{"ip": "10.250.0.5"}])
    assert service_urls(lb, "10.244.0.1") == ["http://10.250.0.5:80"]
    assert service_urls(svc("LoadBalancer"), "10.244.0.1") == ["http://10.244.0.1:30080"]


def test_ipv6_addresses_are_bracketed() -> None:
    assert service_urls(svc(ip="fd00::10", ports=[{"port": 80}]), None) == [
        "http://[fd00::10]:80"]


@pytest.mark.parametrize(("service", "why"), [
    (svc("ExternalName", ip="", externalName="example.org"), "ExternalName"),
    (svc(ip="None"), "headless"),
    (svc(ports=[]), "no ports"),
])
def test_a_service_without_an_address_here_is_refused(service: dict[str, Any],
                                                      why: str) -> None:
    with pytest.raises(ServiceRefused, match=why):
        service_urls(service, "10.244.0.1")


def test_the_node_address_is_a_ready_nodes_internal_ip() -> None:
    def node(ip: str, ready: bool) -> dict[str, Any]:
        return {"status": {"addresses": [{"type": "Hostname", "address": "h"},
                                         {"type": "InternalIP", "address": ip}],
                           "conditions": [{"type": "Ready",
                                           "status": "True" if ready else "False"}]}}
    assert node_address([node("10.0.0.1", False), node("10.0.0.2", True)]) == "10.0.0.2"
    assert node_address([]) is None


def test_endpoints_not_ready_are_no_running_pod() -> None:
    assert not has_ready_endpoint([{"endpoints": [{"conditions": {"ready": False}}]}])
    assert not has_ready_endpoint([{"endpoints": None}])
    assert has_ready_endpoint([{"endpoints": [{"conditions": {"ready": True}}]}])
