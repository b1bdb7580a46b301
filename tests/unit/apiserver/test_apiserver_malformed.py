"""Malformed bodies over HTTP: wrong JSON types are 400 (kube's decode error), invalid values
422; never a 500, and nothing malformed is stored."""

import copy
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.service import ApiService

POD: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
    "spec": {"selector": {"matchLabels": {"app": "d"}},
             "template": {"metadata": {"labels": {"app": "d"}},
                          "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
SERVICE: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                           "spec": {"selector": {"app": "d"}, "ports": [{"port": 80}]}}
CONFIGMAP: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"},
                             "data": {"k": "v"}}
BASES = {"pods": POD, "deployments": DEPLOYMENT, "services": SERVICE, "configmaps": CONFIGMAP}
PATHS = {"pods": "/api/v1/namespaces/default/pods",
         "deployments": "/apis/apps/v1/namespaces/default/deployments",
         "services": "/api/v1/namespaces/default/services",
         "configmaps": "/api/v1/namespaces/default/configmaps"}

# (resource, dotted path to set, value): every one a wrong type or an invalid value.
MALFORMED: list[tuple[str, str, Any]] = [
    ("pods", "metadata.name", 5),
    ("pods", "metadata.labels", "x"),
    ("pods", "metadata.labels", {"a": 1}),
    ("pods", "metadata.annotations", {"a": True}),
    ("pods", "metadata.ownerReferences", "x"),
    ("pods", "metadata.ownerReferences", [{"apiVersion": "v1", "kind": "Node"}]),
    ("pods", "metadata.ownerReferences", ["x"]),
    ("pods", "metadata.finalizers", "abc"),
    ("pods", "metadata.finalizers", [5]),
    ("pods", "metadata.finalizers", ["not a name!"]),
    ("pods", "metadata.resourceVersion", 7),
    ("pods", "spec", "x"),
    ("pods", "spec.containers", "x"),
    ("pods", "spec.containers", ["x"]),
    ("pods", "spec.containers", [{"name": "c", "image": 5}]),
    ("pods", "spec.containers", [{"name": "c", "image": "i", "ports": "x"}]),
    ("pods", "spec.containers", [{"name": "c", "image": "i", "ports": [{"containerPort": "80"}]}]),
    ("pods", "spec.containers", [{"name": "c", "image": "i", "resources": {"limits": "x"}}]),
    ("pods", "spec.containers", [{"name": "c", "image": "i", "env": [{"name": 1}]}]),
    ("pods", "spec.nodeSelector", "x"),
    ("pods", "spec.nodeSelector", {"a": 1}),
    ("pods", "spec.tolerations", "x"),
    ("pods", "spec.volumes", [{"name": "v", "configMap": "x"}]),
    ("pods", "spec.terminationGracePeriodSeconds", "30"),
    ("pods", "spec.terminationGracePeriodSeconds", 1.5),
    ("pods", "spec.hostNetwork", "yes"),
    ("deployments", "spec", []),
    ("deployments", "spec.replicas", "3"),
    ("deployments", "spec.selector", "app=d"),
    ("deployments", "spec.selector", {"matchLabels": {"app": 1}}),
    ("deployments", "spec.template", "x"),
    ("deployments", "spec.template.metadata.labels", {"app": ["d"]}),
    ("deployments", "spec.template.spec.containers", {"name": "c"}),
    ("deployments", "spec.strategy", "Recreate"),
    ("services", "spec.selector", "x"),
    ("services", "spec.selector", {"a": 1}),
    ("services", "spec.ports", {"port": 80}),
    ("services", "spec.ports", [{"port": "80"}]),
    ("services", "spec.ports", [{"port": 80, "targetPort": True}]),
    ("services", "spec.type", 1),
    ("configmaps", "data", 5),
    ("configmaps", "data", {"k": 5}),
    ("configmaps", "data", {"bad key": "v"}),
    ("configmaps", "binaryData", {"k": "not base64!"}),
    ("configmaps", "immutable", "yes"),
]


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(base)
    *parents, leaf = path.split(".")
    node = body
    for p in parents:
        node = node[p]
    node[leaf] = value
    return body


@pytest.fixture
async def base_url(svc: ApiService) -> AsyncIterator[str]:
    srv = TestServer(build_app(svc), host="127.0.0.1")
    await srv.start_server()
    yield f"http://127.0.0.1:{srv.port}"
    await srv.close()


@pytest.mark.parametrize(("plural", "path", "value"), MALFORMED,
                         ids=[f"{p}:{f}={v!r}"[:60] for p, f, v in MALFORMED])
async def test_malformed_body_is_a_client_error_on_create_and_update(
        base_url: str, plural: str, path: str, value: Any) -> None:
    base = BASES[plural]
    bad = _with(base, path, value)
    async with aiohttp.ClientSession() as s:
        async with s.post(base_url + PATHS[plural], json=bad) as r:
            status = await r.json()
            assert r.status in (400, 422), status
            assert status["kind"] == "Status"
        async with s.post(base_url + PATHS[plural], json=base) as r:
            assert r.status == 201, await r.json()
            stored = await r.json()
        name = base["metadata"]["name"]
        put = _with(stored, path, value)
        async with s.put(f"{base_url}{PATHS[plural]}/{name}", json=put) as r:
            assert r.status in (400, 422), await r.json()
        async with s.get(f"{base_url}{PATHS[plural]}/{name}") as r:
            assert (await r.json())["metadata"]["resourceVersion"] == \
                stored["metadata"]["resourceVersion"]


async def test_wrong_type_is_kubes_decode_error(base_url: str) -> None:
    bad = _with(POD, "spec.containers", "x")
    async with aiohttp.ClientSession() as s, \
            s.post(base_url + PATHS["pods"], json=bad) as r:
        status = await r.json()
    assert (r.status, status["reason"]) == (400, "BadRequest")
    assert status["message"] == (
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into '
        "Go struct field PodSpec.spec.containers of type []v1.Container")


async def test_numeric_name_is_400_not_500(base_url: str) -> None:
    async with aiohttp.ClientSession() as s, \
            s.post(base_url + PATHS["configmaps"], json={"metadata": {"name": 5}}) as r:
        status = await r.json()
    assert r.status == 400
    assert status["message"].endswith("cannot unmarshal number into Go struct field "
                                      "ObjectMeta.metadata.name of type string")


async def test_wrong_type_in_a_merge_patch_is_400(base_url: str) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.post(base_url + PATHS["configmaps"], json=CONFIGMAP) as r:
            assert r.status == 201
        async with s.patch(f"{base_url}{PATHS['configmaps']}/m", json={"data": {"k": 1}},
                           headers={"Content-Type": "application/merge-patch+json"}) as r:
            assert r.status == 400, await r.json()


async def test_wrong_type_in_a_status_update_is_400(base_url: str) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.post(base_url + PATHS["pods"], json=POD) as r:
            pod = await r.json()
        pod["status"] = {"phase": 3}
        async with s.put(f"{base_url}{PATHS['pods']}/p/status", json=pod) as r:
            assert r.status == 400, await r.json()


async def test_second_controller_reference_is_invalid_on_update(base_url: str) -> None:
    refs = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": n, "uid": f"u-{n}",
             "controller": True} for n in ("a", "b")]
    async with aiohttp.ClientSession() as s:
        async with s.post(base_url + PATHS["configmaps"], json=CONFIGMAP) as r:
            cm = await r.json()
        cm["metadata"]["ownerReferences"] = refs
        async with s.put(f"{base_url}{PATHS['configmaps']}/m", json=cm) as r:
            status = await r.json()
    assert (r.status, status["reason"]) == (422, "Invalid")
    assert status["details"]["causes"] == [{
        "reason": "FieldValueInvalid", "field": "metadata.ownerReferences",
        "message": 'Invalid value: [{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"a",'
                   '"uid":"u-a","controller":true},{"apiVersion":"apps/v1","kind":"ReplicaSet",'
                   '"name":"b","uid":"u-b","controller":true}]: Only one reference can have '
                   'Controller set to true. Found "true" in references for ReplicaSet/a and '
                   "ReplicaSet/b"}]
