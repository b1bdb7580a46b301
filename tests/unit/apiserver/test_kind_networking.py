"""networking.k8s.io/v1 (Ingress, IngressClass, NetworkPolicy) through the real kubectl and
the official client's NetworkingV1Api: served, validated, printed, defaulted."""

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import INGRESSCLASSES, INGRESSES, NETWORKPOLICIES
from minikube_py.apiserver.kinds.ingresses import ingress_row
from minikube_py.apiserver.kinds.networkpolicies import NOT_ENFORCED
from minikube_py.apiserver.service import ApiService
from tests.unit.apiserver.conftest import official_client
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl

MANIFEST = """apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec:
  controller: k8s.io/ingress-nginx
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  tls: [{hosts: [a.example.com], secretName: tls}]
  rules:
  - host: a.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
  - host: b.example.com
    http:
      paths:
      - {path: /api, pathType: Exact, backend: {service: {name: api, port: {name: http}}}}
"""


def ingress(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name},
            "spec": spec or {"defaultBackend": {"service": {"name": "web",
                                                            "port": {"number": 80}}}}}


@needs_kubectl
async def test_kubectl_apply_ingress_and_class_then_get_columns(kubeconfig: Path,
                                                                 tmp_path: Path) -> None:
    manifest = tmp_path / "ing.yaml"
    manifest.write_text(MANIFEST)
    rc, out, err = await kubectl(kubeconfig, "apply", "-f", str(manifest))
    assert rc == 0, err
    assert "ingressclass.networking.k8s.io/nginx created" in out
    assert "ingress.networking.k8s.io/web created" in out
    rc, out, err = await kubectl(kubeconfig, "get", "ing")
    assert rc == 0, err
    header, row = out.splitlines()
    assert header.split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    # the default class filled in spec.ingressClassName at create
    assert row.split()[:5] == ["web", "nginx", "a.example.com,b.example.com", "80,", "443"]
    rc, out, err = await kubectl(kubeconfig, "get", "ingressclass")
    assert rc == 0, err
    assert out.splitlines()[0].split() == ["NAME", "CONTROLLER", "PARAMETERS", "AGE"]
    assert out.splitlines()[1].split()[:3] == ["nginx", "k8s.io/ingress-nginx", "<none>"]
    rc, out, err = await kubectl(kubeconfig, "apply", "-f", str(manifest))
    assert rc == 0, err
    assert "unchanged" in out
    rc, out, err = await kubectl(kubeconfig, "patch", "ingress", "web", "--type=merge", "-p",
                                 '{"metadata":{"labels":{"x":"y"}}}')
    assert rc == 0, err
    rc, out, err = await kubectl(kubeconfig, "get", "ingress", "web", "-o", "json")
    assert rc == 0, err
    got = json.loads(out)
    assert got["metadata"]["labels"] == {"x": "y"}
    assert got["spec"]["rules"][1]["http"]["paths"][0]["pathType"] == "Exact"
    rc, out, err = await kubectl(kubeconfig, "delete", "-f", str(manifest))
    assert rc == 0, err
    rc, out, err = await kubectl(kubeconfig, "get", "ingress,ingressclass")
    assert rc == 0 and "No resources found" in err


@needs_kubectl
async def test_kubectl_networkpolicy_warns_it_is_not_enforced(kubeconfig: Path) -> None:
    policy = json.dumps({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                         "metadata": {"name": "deny"},
                         "spec": {"podSelector": {"matchLabels": {"app": "web"}}}})
    rc, out, err = await kubectl(kubeconfig, "create", "-f", "-", stdin=policy)
    assert rc == 0, err
    assert f"Warning: {NOT_ENFORCED}" in err
    rc, out, err = await kubectl(kubeconfig, "get", "netpol")
    assert rc == 0, err
    assert out.splitlines()[0].split() == ["NAME", "POD-SELECTOR", "AGE"]
    assert out.splitlines()[1].split()[:2] == ["deny", "app=web"]
    rc, out, err = await kubectl(kubeconfig, "get", "netpol", "deny", "-o",
                                 "jsonpath={.spec.policyTypes}")
    assert rc == 0 and out == '["Ingress"]', err
    rc, out, err = await kubectl(kubeconfig, "delete", "netpol", "deny")
    assert rc == 0, err


@needs_kubectl
async def test_kubectl_api_resources_lists_networking(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "api-resources", "--api-group=networking.k8s.io")
    assert rc == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["ingresses"] == ["ingresses", "ing", "networking.k8s.io/v1", "true", "Ingress"]
    assert rows["ingressclasses"] == ["ingressclasses", "networking.k8s.io/v1", "false",
                                      "IngressClass"]
    assert rows["networkpolicies"] == ["networkpolicies", "netpol", "networking.k8s.io/v1",
                                       "true", "NetworkPolicy"]


async def test_legacy_discovery_lists_the_group(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{server.port}"
        async with http.get(f"{base}/apis/networking.k8s.io/v1") as r:
            names = {x["name"]: x for x in (await r.json())["resources"]}
        async with http.get(f"{base}/apis") as r:
            groups = [g["name"] for g in (await r.json())["groups"]]
    assert "networking.k8s.io" in groups
    assert {"ingresses", "ingresses/status", "ingressclasses", "networkpolicies"} <= set(names)
    assert names["ingresses"]["shortNames"] == ["ing"]
    assert names["ingressclasses"]["namespaced"] is False


async def test_python_client_networking_v1(server: TestServer) -> None:
    from kubernetes import client, watch

    def work() -> list[str]:
        api = client.NetworkingV1Api(official_client(server))
        api.create_ingress_class(client.V1IngressClass(
            metadata=client.V1ObjectMeta(name="c"), spec=client.V1IngressClassSpec(
                controller="example.com/c")))
        backend = client.V1IngressBackend(service=client.V1IngressServiceBackend(
            name="web", port=client.V1ServiceBackendPort(number=8080)))
        api.create_namespaced_ingress("default", client.V1Ingress(
            metadata=client.V1ObjectMeta(name="i"),
            spec=client.V1IngressSpec(ingress_class_name="c", rules=[client.V1IngressRule(
                host="x.example.com", http=client.V1HTTPIngressRuleValue(paths=[
                    client.V1HTTPIngressPath(path="/", path_type="Prefix",
                                             backend=backend)]))])))
        api.create_namespaced_network_policy("default", client.V1NetworkPolicy(
            metadata=client.V1ObjectMeta(name="np"), spec=client.V1NetworkPolicySpec(
                pod_selector=client.V1LabelSelector(), egress=[client.V1NetworkPolicyEgressRule(
                    ports=[client.V1NetworkPolicyPort(port=53)])])))
        out = [i.metadata.name for i in api.list_namespaced_ingress("default").items]
        out += [c.spec.controller for c in api.list_ingress_class().items]
        np = api.read_namespaced_network_policy("np", "default")
        out += [*np.spec.policy_types, np.spec.egress[0].ports[0].protocol]
        api.patch_namespaced_ingress_status("i", "default", {"status": {"loadBalancer": {
            "ingress": [{"ip": "10.0.0.9"}]}}})
        got = api.read_namespaced_ingress("i", "default")
        out.append(got.status.load_balancer.ingress[0].ip)
        out.append(got.spec.rules[0].http.paths[0].backend.service.port.number)
        w = watch.Watch()
        for ev in w.stream(api.list_namespaced_ingress, "default", timeout_seconds=2):
            out.append(f"{ev['type']}:{ev['object'].metadata.name}")
            w.stop()
        api.delete_namespaced_ingress("i", "default")
        api.delete_ingress_class("c")
        api.delete_namespaced_network_policy("np", "default")
        out.append(str(len(api.list_namespaced_ingress("default").items)))
        return out

    out = await asyncio.to_thread(work)
    assert out == ["i", "example.com/c", "Ingress", "Egress", "TCP", "10.0.0.9", 8080,
                   "ADDED:i", "0"]


async def _invalid(svc: ApiService, resource: Any, body: dict[str, Any],
                   namespace: str | None = "default") -> list[tuple[str, str, str]]:
    with pytest.raises(ApiError) as e:
        await svc.create(resource, body, namespace=namespace)
    assert e.value.code == 422, e.value
    return [(c.reason, c.field, c.message) for c in e.value.causes]


async def test_ingress_validation_causes(svc: ApiService) -> None:
    bad = ingress("bad", rules=[{"host": "a.example.com", "http": {"paths": [
        {"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
        {"path": "x", "pathType": "Prefix", "backend": {"service": {"name": "web"}}},
        {"path": "/", "pathType": "Glob",
         "backend": {"service": {"name": "Web_", "port": {"number": 70000}}}},
        {"path": "/", "pathType": "Exact", "backend": {}},
    ]}}])
    causes = await _invalid(svc, INGRESSES, bad)
    p = "spec.rules[0].http.paths"
    assert ("FieldValueRequired", f"{p}[0].pathType",
            "Required value: pathType must be specified") in causes
    assert ("FieldValueInvalid", f"{p}[1].path",
            'Invalid value: "x": must be an absolute path') in causes
    assert ("FieldValueRequired", f"{p}[1].backend",
            "Required value: port name or number is required") in causes
    assert any(c[:2] == ("FieldValueNotSupported", f"{p}[2].pathType") and
               '"Exact", "ImplementationSpecific", "Prefix"' in c[2] for c in causes)
    assert any(c[:2] == ("FieldValueInvalid", f"{p}[2].backend.service.name") for c in causes)
    assert any(c[:2] == ("FieldValueInvalid", f"{p}[2].backend.service.port.number")
               for c in causes)
    assert any(c[:2] == ("FieldValueInvalid", f"{p}[3].backend") and
               "resource or service backend is required" in c[2] for c in causes)
    empty = await _invalid(svc, INGRESSES, {"metadata": {"name": "e"}, "spec": {}})
    assert [c[:2] for c in empty] == [("FieldValueInvalid", "spec")]


async def test_ingressclass_validation_and_immutable_controller(svc: ApiService) -> None:
    causes = await _invalid(svc, INGRESSCLASSES, {"metadata": {"name": "c"}, "spec": {}}, None)
    assert causes == [("FieldValueRequired", "spec.controller", "Required value")]
    await svc.create(INGRESSCLASSES, {"metadata": {"name": "c"},
                                      "spec": {"controller": "example.com/a"}})
    stored = await svc.get(INGRESSCLASSES, "c")
    stored["spec"]["controller"] = "example.com/b"
    with pytest.raises(ApiError) as e:
        await svc.update(INGRESSCLASSES, stored)
    assert e.value.code == 422
    assert [(c.field, c.message.endswith("field is immutable")) for c in e.value.causes] == [
        ("spec.controller", True)]


async def test_networkpolicy_validation_causes(svc: ApiService) -> None:
    body = {"metadata": {"name": "np"}, "spec": {
        "podSelector": {}, "policyTypes": ["Sideways"],
        "ingress": [{"ports": [{"protocol": "ICMP", "port": 80}], "from": [{}]}]}}
    causes = await _invalid(svc, NETWORKPOLICIES, body)
    assert [c[:2] for c in causes] == [
        ("FieldValueNotSupported", "spec.ingress[0].ports[0].protocol"),
        ("FieldValueRequired", "spec.ingress[0].from[0]"),
        ("FieldValueNotSupported", "spec.policyTypes[0]")]


async def test_default_ingress_class_is_the_newest_default(svc: ApiService, clock: Any) -> None:
    for n in ("old", "new", "plain"):
        annotations = {} if n == "plain" else {
            "ingressclass.kubernetes.io/is-default-class": "true"}
        await svc.create(INGRESSCLASSES, {"metadata": {"name": n, "annotations": annotations},
                                          "spec": {"controller": "example.com/x"}})
        clock.now += 10
    made = await svc.create(INGRESSES, ingress("a"), namespace="default")
    assert made["spec"]["ingressClassName"] == "new"
    named = ingress("b")
    named["spec"]["ingressClassName"] = "plain"
    assert (await svc.create(INGRESSES, named, namespace="default"))["spec"][
        "ingressClassName"] == "plain"
    legacy = ingress("c")
    legacy["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "plain"}
    assert "ingressClassName" not in (await svc.create(INGRESSES, legacy,
                                                       namespace="default"))["spec"]


@pytest.mark.parametrize(("spec", "status", "cells"), [
    ({}, None, ["<none>", "*", "", "80"]),
    ({"ingressClassName": "c", "tls": [{}],
      "rules": [{"host": f"h{i}"} for i in range(5)]},
     {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}, {"hostname": "lb.example.com"}]}},
     ["c", "h0,h1,h2 + 2 more...", "10.0.0.1,lb.e...", "80, 443"]),
])
def test_ingress_row(spec: dict[str, Any], status: dict[str, Any] | None,
                     cells: list[str]) -> None:
    obj: dict[str, Any] = {"metadata": {"name": "i"}, "spec": spec}
    if status:
        obj["status"] = status
    assert ingress_row(obj, 0)[1:5] == cells
