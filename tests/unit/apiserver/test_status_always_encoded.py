"""A status write keeps the fields kube always serializes: a controller that replaces status
with only what it knows still leaves the counters, `loadBalancer` and `nodeInfo` there."""

from typing import Any

import pytest

from minikube_py.api.resources import (
    DAEMONSETS,
    NODES,
    REPLICASETS,
    REPLICATIONCONTROLLERS,
    SERVICES,
    STATEFULSETS,
    Resource,
)
from minikube_py.apiserver.service import ApiService
from minikube_py.client.interface import JSON_PATCH

Obj = dict[str, Any]
_TEMPLATE = {"metadata": {"labels": {"app": "a"}},
             "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
_SELECTOR = {"matchLabels": {"app": "a"}}
_ZERO_NODE_INFO = {k: "" for k in (
    "architecture", "bootID", "containerRuntimeVersion", "kernelVersion", "kubeProxyVersion",
    "kubeletVersion", "machineID", "operatingSystem", "osImage", "systemUUID")}

# (resource, a minimal object, the status fields kube writes after `status: {}`)
CASES: list[tuple[Resource, Obj, Obj]] = [
    (DAEMONSETS, {"spec": {"selector": _SELECTOR, "template": _TEMPLATE}},
     {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
      "numberReady": 0}),
    (REPLICASETS, {"spec": {"replicas": 0, "selector": _SELECTOR, "template": _TEMPLATE}},
     {"replicas": 0}),
    (STATEFULSETS, {"spec": {"replicas": 0, "serviceName": "s", "selector": _SELECTOR,
                             "template": _TEMPLATE}}, {"replicas": 0}),
    (REPLICATIONCONTROLLERS, {"spec": {"replicas": 0, "template": _TEMPLATE}},
     {"replicas": 0}),
    (SERVICES, {"spec": {"ports": [{"port": 80}]}}, {"loadBalancer": {}}),
    (NODES, {}, {"daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
                 "nodeInfo": _ZERO_NODE_INFO}),
]


@pytest.mark.parametrize(("resource", "body", "expected"), CASES,
                         ids=[c[0].plural for c in CASES])
async def test_a_status_update_that_sends_an_empty_status_keeps_the_always_serialized_fields(
        svc: ApiService, resource: Resource, body: Obj, expected: Obj) -> None:
    ns = "default" if resource.namespaced else None
    created = await svc.create(resource, {"metadata": {"name": "x"}, **body}, namespace=ns)
    created["status"] = {}
    await svc.update(resource, created, namespace=ns, subresource="status")
    assert (await svc.get(resource, "x", namespace=ns))["status"] == expected


@pytest.mark.parametrize(("resource", "body", "expected"), CASES[:-1],
                         ids=[c[0].plural for c in CASES[:-1]])
async def test_a_status_patch_that_replaces_status_keeps_the_always_serialized_fields(
        svc: ApiService, resource: Resource, body: Obj, expected: Obj) -> None:
    await svc.create(resource, {"metadata": {"name": "x"}, **body}, namespace="default")
    await svc.patch(resource, "x", [{"op": "replace", "path": "/status", "value": {}}],
                    patch_type=JSON_PATCH, namespace="default", subresource="status")
    assert (await svc.get(resource, "x", namespace="default"))["status"] == expected
