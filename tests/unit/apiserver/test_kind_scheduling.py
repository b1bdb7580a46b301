"""scheduling.k8s.io/v1 PriorityClass through the real kubectl and the official client's
SchedulingV1Api: served, validated, printed, the system classes there from the start; and
the Priority admission plugin resolving a pod's priority."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import PODS, PRIORITYCLASSES
from minikube_py.apiserver.kinds.priorityclasses import priorityclass_row
from minikube_py.apiserver.service import ApiService
from tests.unit.apiserver.conftest import official_client, pod_body
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl


def pc(name: str, value: int = 1000, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": name}, "value": value, **fields}


@needs_kubectl
async def test_kubectl_priorityclass_lifecycle_and_columns(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "create", "-f", "-",
                                 stdin=json.dumps(pc("high", 1000, globalDefault=True)))
    assert rc == 0, err
    assert "priorityclass.scheduling.k8s.io/high created" in out
    rc, out, err = await kubectl(kubeconfig, "get", "pc")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["high"][:3] == ["high", "1000", "true"]
    assert rows["high"][4] == "PreemptLowerPriority"
    assert rows["system-cluster-critical"][:3] == ["system-cluster-critical", "2000000000",
                                                   "false"]
    assert rows["system-node-critical"][1] == "2000001000"
    rc, out, err = await kubectl(kubeconfig, "patch", "pc", "high", "--type=merge", "-p",
                                 '{"description":"for web"}')
    assert rc == 0, err
    rc, out, err = await kubectl(kubeconfig, "patch", "pc", "high", "--type=merge", "-p",
                                 '{"value":5}')
    assert rc != 0 and "value: Forbidden: may not be changed in an update." in err
    rc, out, err = await kubectl(kubeconfig, "get", "pc", "high", "-o", "json")
    assert rc == 0, err
    got = json.loads(out)
    assert (got["value"], got["description"]) == (1000, "for web")
    rc, out, err = await kubectl(kubeconfig, "delete", "pc", "high")
    assert rc == 0, err
    rc, out, err = await kubectl(kubeconfig, "delete", "pc", "system-node-critical")
    assert rc != 0 and "this is a system priority class and cannot be deleted" in err


@needs_kubectl
async def test_kubectl_api_resources_lists_scheduling(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "api-resources", "--api-group=scheduling.k8s.io")
    assert rc == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["priorityclasses"] == ["priorityclasses", "pc", "scheduling.k8s.io/v1",
                                       "false", "PriorityClass"]


async def test_python_client_scheduling_v1(server: TestServer) -> None:
    from kubernetes import client, watch

    def work() -> list[Any]:
        api = client.SchedulingV1Api(official_client(server))
        api.create_priority_class(client.V1PriorityClass(
            metadata=client.V1ObjectMeta(name="batch"), value=10, preemption_policy="Never"))
        out: list[Any] = sorted(p.metadata.name for p in api.list_priority_class().items)
        got = api.read_priority_class("batch")
        out += [got.value, got.preemption_policy, got.global_default]
        api.patch_priority_class("batch", {"metadata": {"labels": {"x": "y"}}})
        out.append(api.read_priority_class("batch").metadata.labels)
        w = watch.Watch()
        for ev in w.stream(api.list_priority_class, field_selector="metadata.name=batch",
                           timeout_seconds=2):
            out.append(f"{ev['type']}:{ev['object'].metadata.name}")
            w.stop()
        api.delete_priority_class("batch")
        out.append(len(api.list_priority_class().items))
        return out

    out = await asyncio.to_thread(work)
    assert out == ["batch", "system-cluster-critical", "system-node-critical", 10, "Never",
                   None, {"x": "y"}, "ADDED:batch", 2]


async def _invalid(svc: ApiService, body: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(ApiError) as e:
        await svc.create(PRIORITYCLASSES, body)
    assert e.value.code == 422, e.value
    return [(c.reason, c.field, c.message) for c in e.value.causes]


async def test_priorityclass_validation_causes(svc: ApiService) -> None:
    assert await _invalid(svc, pc("huge", 1000000001)) == [
        ("FieldValueForbidden", "value",
         "Forbidden: maximum allowed value of a user defined priority is 1000000000")]
    assert await _invalid(svc, pc("system-mine", 5)) == [
        ("FieldValueForbidden", "metadata.name",
         "Forbidden: priority class names with 'system-' prefix are reserved for system use "
         "only. error: system-mine is not a known system priority class")]
    causes = await _invalid(svc, pc("p", preemptionPolicy="Sometimes"))
    assert causes == [("FieldValueNotSupported", "preemptionPolicy",
                       'Unsupported value: "Sometimes": supported values: '
                       '"PreemptLowerPriority", "Never"')]
    with pytest.raises(ApiError) as e:  # decoding into Go's int32 fails first, as in kube
        await svc.create(PRIORITYCLASSES, {**pc("s"), "value": "high"})
    assert e.value.code == 400 and "PriorityClass.value of type int32" in e.value.message


async def test_value_and_policy_are_immutable(svc: ApiService) -> None:
    await svc.create(PRIORITYCLASSES, pc("p"))
    stored = await svc.get(PRIORITYCLASSES, "p")
    stored["value"], stored["preemptionPolicy"] = 7, "Never"
    with pytest.raises(ApiError) as e:
        await svc.update(PRIORITYCLASSES, stored)
    assert e.value.code == 422
    assert [(c.field, c.message) for c in e.value.causes] == [
        ("value", "Forbidden: may not be changed in an update."),
        ("preemptionPolicy", 'Invalid value: "Never": field is immutable')]


async def test_only_one_global_default(svc: ApiService) -> None:
    await svc.create(PRIORITYCLASSES, pc("first", globalDefault=True))
    with pytest.raises(ApiError) as e:
        await svc.create(PRIORITYCLASSES, pc("second", globalDefault=True))
    assert (e.value.code, e.value.message) == (
        403, 'priorityclasses.scheduling.k8s.io "second" is forbidden: PriorityClass first '
             'is already marked as default. Only one default can exist')
    again = await svc.get(PRIORITYCLASSES, "first")
    again["description"] = "still the default"
    await svc.update(PRIORITYCLASSES, again)


async def test_the_system_classes_exist(svc: ApiService) -> None:
    node = await svc.get(PRIORITYCLASSES, "system-node-critical")
    cluster = await svc.get(PRIORITYCLASSES, "system-cluster-critical")
    assert (node["value"], cluster["value"]) == (2000001000, 2000000000)
    assert node["preemptionPolicy"] == "PreemptLowerPriority"
    assert not node.get("globalDefault")


async def _pod(svc: ApiService, name: str, **spec: Any) -> dict[str, Any]:
    made = await svc.create(PODS, pod_body(name, **spec), namespace="default")
    return dict(made["spec"])


async def test_pod_priority_from_its_class_the_default_or_zero(svc: ApiService) -> None:
    spec = await _pod(svc, "plain")
    assert (spec["priority"], spec["preemptionPolicy"]) == (0, "PreemptLowerPriority")
    assert "priorityClassName" not in spec
    spec = await _pod(svc, "dns", priorityClassName="system-cluster-critical")
    assert spec["priority"] == 2000000000
    await svc.create(PRIORITYCLASSES, pc("batch", 10, preemptionPolicy="Never"))
    spec = await _pod(svc, "b", priorityClassName="batch", priority=10)
    assert (spec["priority"], spec["preemptionPolicy"]) == (10, "Never")
    await svc.create(PRIORITYCLASSES, pc("normal", 100, globalDefault=True))
    spec = await _pod(svc, "d")
    assert (spec["priorityClassName"], spec["priority"]) == ("normal", 100)
    # an update keeps what create set, though the body leaves it out
    stored = await svc.get(PODS, "d", namespace="default")
    del stored["spec"]["priority"], stored["spec"]["preemptionPolicy"]
    stored["metadata"]["labels"] = {"app": "other"}
    updated = await svc.update(PODS, stored, namespace="default")
    assert (updated["spec"]["priority"], updated["spec"]["preemptionPolicy"]) == (
        100, "PreemptLowerPriority")


async def test_pod_refused_for_unknown_class_or_other_priority(svc: ApiService) -> None:
    with pytest.raises(ApiError) as e:
        await _pod(svc, "x", priorityClassName="nope")
    assert (e.value.code, e.value.message) == (
        403, 'pods "x" is forbidden: no PriorityClass with name nope was found')
    with pytest.raises(ApiError) as e:
        await _pod(svc, "y", priorityClassName="system-node-critical", priority=5)
    assert (e.value.code, e.value.message) == (
        403, 'pods "y" is forbidden: the integer value of priority (5) must not be provided '
             'in pod spec; priority admission controller computed 2000001000 from the given '
             'PriorityClass name')
    with pytest.raises(ApiError) as e:
        await _pod(svc, "z", preemptionPolicy="Never")
    assert e.value.code == 403 and "the string value of PreemptionPolicy (Never)" in \
        e.value.message


def test_priorityclass_row() -> None:
    obj = {"metadata": {"name": "p"}, "value": -3, "preemptionPolicy": "Never"}
    assert priorityclass_row(obj, 0)[1:3] == [-3, False]
    assert priorityclass_row(obj, 0)[4] == "Never"


@needs_kubectl
async def test_kubectl_create_priorityclass_command_sends_protobuf(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "create", "priorityclass", "low", "--value=0",
                                 "--preemption-policy=Never", "--description=batch jobs")
    assert rc == 0, err
    rc, out, err = await kubectl(kubeconfig, "get", "pc", "low", "-o", "json")
    assert rc == 0, err
    got = json.loads(out)
    assert (got["value"], got["preemptionPolicy"], got["description"]) == (
        0, "Never", "batch jobs")
