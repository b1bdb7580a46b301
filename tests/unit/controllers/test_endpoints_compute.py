"""Endpoints and EndpointSlice content from a service and its pods, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.controllers.servicebackends import (
    desired_endpoints,
    desired_slices,
    resolve_target_port,
    services_selecting,
)


def pod(name: str, ip: str = "10.0.0.1", ready: bool = True, labels: dict[str, str] | None = None,
        phase: str = "Running", deleting: bool = False, ports: list[dict[str, Any]] | None = None,
        ) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "ns", "uid": f"u-{name}",
                            "labels": {"app": "a"} if labels is None else labels}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"nodeName": "n1", "containers": [
        {"name": "c", "ports": ports or [{"name": "http", "containerPort": 8080}]}]},
        "status": {"phase": phase, "podIP": ip, "conditions": [
            {"type": "Ready", "status": "True" if ready else "False"}]}}


def svc(target: Any = 8080, publish: bool = False, ports: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"app": "a"}, "publishNotReadyAddresses": publish}
    if ports:
        spec["ports"] = [{"name": "web", "port": 80, "targetPort": target, "protocol": "TCP"}]
    return {"metadata": {"name": "s", "namespace": "ns", "uid": "su"}, "spec": spec}


@pytest.mark.parametrize(("target", "want"), [
    (8080, 8080), ("9090", 9090), ("http", 8080), ("nope", None), (None, 80)])
def test_resolve_target_port(target: Any, want: int | None) -> None:
    assert resolve_target_port({"port": 80, "targetPort": target}, pod("p")) == want


def addresses(ep: dict[str, Any], field: str) -> list[str]:
    return [a["ip"] for s in ep["subsets"] for a in s.get(field) or []]


@pytest.mark.parametrize(("pods", "publish", "ready", "not_ready"), [
    ([pod("a", "10.0.0.2"), pod("b", "10.0.0.1")], False, ["10.0.0.1", "10.0.0.2"], []),
    ([pod("a", ready=False)], False, [], ["10.0.0.1"]),
    ([pod("a", ready=False)], True, ["10.0.0.1"], []),
    ([pod("a", ip="")], False, [], []),  # no IP yet
    ([pod("a", phase="Succeeded")], False, [], []),
    ([pod("a", deleting=True)], False, [], []),
    ([pod("a", labels={"app": "other"})], False, [], []),
])
def test_endpoints_addresses(pods: list[dict[str, Any]], publish: bool, ready: list[str],
                             not_ready: list[str]) -> None:
    ep = desired_endpoints(svc(publish=publish), pods)
    assert addresses(ep, "addresses") == ready
    assert addresses(ep, "notReadyAddresses") == not_ready


def test_endpoints_group_pods_by_resolved_named_port() -> None:
    pods = [pod("a", "10.0.0.1"),
            pod("b", "10.0.0.2", ports=[{"name": "http", "containerPort": 9000}])]
    ep = desired_endpoints(svc("http"), pods)
    assert [(s["ports"][0]["port"], [a["ip"] for a in s["addresses"]]) for s in ep["subsets"]] \
        == [(8080, ["10.0.0.1"]), (9000, ["10.0.0.2"])]
    assert ep["subsets"][0]["addresses"][0] == {
        "ip": "10.0.0.1", "nodeName": "n1",
        "targetRef": {"kind": "Pod", "namespace": "ns", "name": "a", "uid": "u-a"}}


def test_slices_mark_terminating_and_unready_endpoints() -> None:
    ((ports, eps),) = desired_slices(svc(), [pod("a"), pod("b", "10.0.0.2", ready=False),
                                             pod("c", "10.0.0.3", deleting=True)])
    assert ports == [{"name": "web", "port": 8080, "protocol": "TCP"}]
    assert [(e["addresses"], e["conditions"]) for e in eps] == [
        (["10.0.0.1"], {"ready": True, "serving": True, "terminating": False}),
        (["10.0.0.2"], {"ready": False, "serving": False, "terminating": False}),
        (["10.0.0.3"], {"ready": False, "serving": True, "terminating": True}),
    ]


def test_slices_split_at_one_hundred_endpoints_and_keep_a_placeholder() -> None:
    many = [pod(f"p{i}", f"10.0.{i // 200}.{i % 200}") for i in range(250)]
    assert [len(eps) for _, eps in desired_slices(svc(), many)] == [100, 100, 50]
    assert desired_slices(svc(), []) == [([], [])]


def test_services_selecting_sees_old_and_new_labels() -> None:
    moved = pod("a", labels={"app": "b"})
    assert services_selecting([svc()], moved) == []
    assert services_selecting([svc()], moved, pod("a")) == [svc()]


def test_a_pod_whose_subdomain_is_the_service_is_named_by_its_hostname() -> None:
    named = pod("db-0", "10.0.0.3")
    named["spec"].update(hostname="db-0", subdomain="s")
    elsewhere = pod("db-1", "10.0.0.4")
    elsewhere["spec"].update(hostname="db-1", subdomain="other-service")
    ep = desired_endpoints(svc(), [named, elsewhere])
    by_ip = {a["ip"]: a for s in ep["subsets"] for a in s["addresses"]}
    assert by_ip["10.0.0.3"]["hostname"] == "db-0"
    assert "hostname" not in by_ip["10.0.0.4"]
    [(_ports, endpoints)] = desired_slices(svc(), [named, elsewhere])
    hostnames = {e["addresses"][0]: e.get("hostname") for e in endpoints}
    assert hostnames == {"10.0.0.3": "db-0", "10.0.0.4": None}
