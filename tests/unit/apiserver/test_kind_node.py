"""node.k8s.io/v1 RuntimeClass through the real kubectl and the official client's NodeV1Api:
served, validated, printed; and the RuntimeClass admission plugin refusing pods that name
an unknown class or a handler the kubelet does not have."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import PODS, RUNTIMECLASSES
from minikube_py.apiserver.service import ApiService
from tests.unit.apiserver.conftest import official_client, pod_body
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl


def rc(name: str, handler: Any = "runc") -> dict[str, Any]:
    return {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
            "metadata": {"name": name}, "handler": handler}


@needs_kubectl
async def test_kubectl_runtimeclass_lifecycle_and_columns(kubeconfig: Path) -> None:
    rc_, out, err = await kubectl(kubeconfig, "create", "-f", "-",
                                  stdin=json.dumps(rc("gvisor", "runsc")))
    assert rc_ == 0, err
    assert "runtimeclass.node.k8s.io/gvisor created" in out
    rc_, out, err = await kubectl(kubeconfig, "get", "runtimeclass")
    assert rc_ == 0, err
    header, row = out.splitlines()
    assert header.split() == ["NAME", "HANDLER", "AGE"]
    assert row.split()[:2] == ["gvisor", "runsc"]
    rc_, out, err = await kubectl(kubeconfig, "patch", "runtimeclass", "gvisor",
                                  "--type=merge", "-p", '{"handler":"kata"}')
    assert rc_ != 0 and "field is immutable" in err
    rc_, out, err = await kubectl(kubeconfig, "api-resources", "--api-group=node.k8s.io")
    assert rc_ == 0, err
    assert out.splitlines()[1].split() == ["runtimeclasses", "node.k8s.io/v1", "false",
                                           "RuntimeClass"]
    rc_, out, err = await kubectl(kubeconfig, "delete", "runtimeclass", "gvisor")
    assert rc_ == 0, err


async def test_python_client_node_v1(server: TestServer) -> None:
    from kubernetes import client, watch

    def work() -> list[Any]:
        api = client.NodeV1Api(official_client(server))
        api.create_runtime_class(client.V1RuntimeClass(
            metadata=client.V1ObjectMeta(name="plain"), handler="runc"))
        out: list[Any] = [r.handler for r in api.list_runtime_class().items]
        api.patch_runtime_class("plain", {"metadata": {"labels": {"x": "y"}}})
        out.append(api.read_runtime_class("plain").metadata.labels)
        w = watch.Watch()
        for ev in w.stream(api.list_runtime_class, timeout_seconds=2):
            out.append(f"{ev['type']}:{ev['object'].metadata.name}")
            w.stop()
        api.delete_runtime_class("plain")
        out.append(len(api.list_runtime_class().items))
        return out

    assert await asyncio.to_thread(work) == ["runc", {"x": "y"}, "ADDED:plain", 0]


async def test_runtimeclass_handler_must_be_a_dns_label(svc: ApiService) -> None:
    for handler in ("", "Not_A_Label"):
        with pytest.raises(ApiError) as e:
            await svc.create(RUNTIMECLASSES, rc("bad", handler))
        assert e.value.code == 422
        assert [c.field for c in e.value.causes] == ["handler"]


async def test_pods_naming_runtime_classes(svc: ApiService) -> None:
    await svc.create(RUNTIMECLASSES, rc("plain"))
    await svc.create(RUNTIMECLASSES, rc("gvisor", "runsc"))
    made = await svc.create(PODS, pod_body("ok", runtimeClassName="plain"), namespace="default")
    assert made["spec"]["runtimeClassName"] == "plain"
    with pytest.raises(ApiError) as e:
        await svc.create(PODS, pod_body("x", runtimeClassName="nope"), namespace="default")
    assert (e.value.code, e.value.message) == (
        403, 'pods "x" is forbidden: pod rejected: RuntimeClass "nope" not found')
    with pytest.raises(ApiError) as e:
        await svc.create(PODS, pod_body("y", runtimeClassName="gvisor"), namespace="default")
    assert e.value.code == 403
    assert 'spec.runtimeClassName "gvisor" has handler "runsc"' in e.value.message


@needs_kubectl
async def test_kubectl_runtimeclass_with_overhead_and_scheduling(kubeconfig: Path) -> None:
    body = {**rc("pinned"), "overhead": {"podFixed": {"cpu": "250m"}},
            "scheduling": {"nodeSelector": {"sandbox": "yes"},
                           "tolerations": [{"key": "sandbox", "operator": "Exists"}]}}
    rc_, out, err = await kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(body))
    assert rc_ == 0, err
    rc_, out, err = await kubectl(kubeconfig, "get", "runtimeclass", "pinned", "-o", "json")
    assert rc_ == 0, err
    got = json.loads(out)
    assert got["overhead"] == {"podFixed": {"cpu": "250m"}}
    assert got["scheduling"]["nodeSelector"] == {"sandbox": "yes"}


async def test_a_pod_gets_its_runtime_class_overhead_and_scheduling(svc: ApiService) -> None:
    await svc.create(RUNTIMECLASSES, {
        **rc("sandboxed"), "overhead": {"podFixed": {"cpu": "250m", "memory": "64Mi"}},
        "scheduling": {"nodeSelector": {"sandbox": "yes"},
                       "tolerations": [{"key": "sandbox", "operator": "Exists",
                                        "effect": "NoSchedule"}]}})
    made = await svc.create(PODS, pod_body("p", runtimeClassName="sandboxed",
                                           nodeSelector={"disk": "ssd"}), namespace="default")
    spec = made["spec"]
    assert spec["overhead"] == {"cpu": "250m", "memory": "64Mi"}
    assert spec["nodeSelector"] == {"disk": "ssd", "sandbox": "yes"}
    assert {"key": "sandbox", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]


@pytest.mark.parametrize(("extra", "message"), [
    ({"nodeSelector": {"sandbox": "no"}},
     "conflict: runtimeClass.scheduling.nodeSelector[sandbox] = yes; "
     "pod.spec.nodeSelector[sandbox] = no"),
    ({"overhead": {"cpu": "1"}},
     "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"),
])
async def test_a_pod_contradicting_its_runtime_class_is_refused(
        svc: ApiService, extra: dict[str, Any], message: str) -> None:
    await svc.create(RUNTIMECLASSES, {
        **rc("sandboxed"), "overhead": {"podFixed": {"cpu": "250m"}},
        "scheduling": {"nodeSelector": {"sandbox": "yes"}}})
    with pytest.raises(ApiError) as e:
        await svc.create(PODS, pod_body("p", runtimeClassName="sandboxed", **extra),
                         namespace="default")
    assert (e.value.code, e.value.message) == (403, f'pods "p" is forbidden: {message}')


async def test_an_overhead_without_a_runtime_class_defining_one_is_refused(
        svc: ApiService) -> None:
    with pytest.raises(ApiError) as e:
        await svc.create(PODS, pod_body("p", overhead={"cpu": "1"}), namespace="default")
    assert e.value.message == ('pods "p" is forbidden: pod rejected: Pod Overhead set without '
                               "corresponding RuntimeClass defined Overhead")
