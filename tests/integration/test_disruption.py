"""PodDisruptionBudgets end to end: the disruption controller with the Deployment and
ReplicaSet loops, the scheduler and simulated nodes (which report pods ready), and
evictions through the API service, the official client and `kubectl drain`."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.errors import ApiError
from minikube_py.api.podutil import is_ready
from minikube_py.api.resources import DEPLOYMENTS, NODES, PODDISRUPTIONBUDGETS, PODS
from minikube_py.api.timefmt import rfc3339
from minikube_py.apiserver.http import build_app
from minikube_py.controllers.deployment import DeploymentController
from minikube_py.controllers.disruption import DisruptionController
from minikube_py.controllers.replicaset import ReplicaSetController
from tests.integration.harness import ControlPlane, control_plane, eventually
from tests.integration.test_deployment import deployment, wait_rolled_out
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl

kubernetes = pytest.importorskip("kubernetes")

NS = "default"
Obj = dict[str, Any]
BUDGET = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
          "metadata": {"name": "web"},
          "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}}


def eviction(name: str) -> Obj:
    return {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}}


@asynccontextmanager
async def web_with_budget(nodes: int = 2) -> AsyncIterator[ControlPlane]:
    """A Deployment of 3 rolled out and a budget of minAvailable 2 that allows one."""
    async with control_plane(nodes=nodes) as plane:
        plane.start("replicaset-controller", ReplicaSetController(plane.ctx).run)
        plane.start("deployment-controller", DeploymentController(plane.ctx).run)
        plane.start("disruption-controller", DisruptionController(plane.ctx).run)
        await plane.api.create(PODDISRUPTIONBUDGETS, BUDGET, namespace=NS)
        await plane.api.create(DEPLOYMENTS, deployment("web", 3), namespace=NS)
        await wait_rolled_out(plane, "web")
        await allows(plane, 1)
        yield plane


async def allows(plane: ControlPlane, n: int) -> Obj:
    async def check() -> Obj | None:
        pdb = await plane.api.get(PODDISRUPTIONBUDGETS, "web", namespace=NS)
        status = pdb.get("status") or {}
        settled = status.get("observedGeneration") == pdb["metadata"]["generation"]
        return status if settled and status.get("disruptionsAllowed") == n else None

    return await eventually(check, plane=plane, what=f"the budget to allow {n}")


async def counted_healthy(plane: ControlPlane, n: int) -> bool:
    pdb = await plane.api.get(PODDISRUPTIONBUDGETS, "web", namespace=NS)
    return bool((pdb.get("status") or {}).get("currentHealthy") == n)


async def serving_pods(plane: ControlPlane) -> list[str]:
    pods = (await plane.api.list(PODS, namespace=NS, label_selector="app=web"))["items"]
    return sorted(p["metadata"]["name"] for p in pods
                  if not p["metadata"].get("deletionTimestamp") and is_ready(p))


async def cordon_all(plane: ControlPlane, unschedulable: bool) -> None:
    for node in (await plane.api.list(NODES))["items"]:
        await plane.api.patch(NODES, node["metadata"]["name"],
                              {"spec": {"unschedulable": unschedulable}})


async def evict(plane: ControlPlane, name: str) -> Obj:
    return await plane.api.create(PODS, eviction(name), namespace=NS, name=name,
                                  subresource="eviction")


async def test_the_budget_counts_the_deployments_ready_pods() -> None:
    async with web_with_budget() as plane:
        status = await allows(plane, 1)
        assert (status["currentHealthy"], status["desiredHealthy"], status["expectedPods"]) \
            == (3, 2, 3)
        [cond] = status["conditions"]
        assert (cond["type"], cond["status"], cond["reason"]) == (
            "DisruptionAllowed", "True", "SufficientPods")


async def test_one_eviction_goes_the_next_waits_for_the_replacement() -> None:
    async with web_with_budget() as plane:
        # Cordoned, the replacement cannot start until the test lets it.
        await cordon_all(plane, True)
        first, second, _ = await serving_pods(plane)
        assert (await evict(plane, first))["status"] == "Success"
        # Refused at once (the eviction took the one disruption), and still refused once
        # the controller has counted the pods again.
        with pytest.raises(ApiError) as e:
            await evict(plane, second)
        assert (e.value.code, e.value.reason) == (429, "TooManyRequests")
        await eventually(lambda: counted_healthy(plane, 2), plane=plane,
                         what="the controller to count 2 healthy")
        with pytest.raises(ApiError) as e:
            await evict(plane, second)
        assert e.value.causes[0].message == \
            "The disruption budget web needs 2 healthy pods and has 2 currently"
        await cordon_all(plane, False)
        await allows(plane, 1)  # the replacement is ready
        assert (await evict(plane, second))["status"] == "Success"
        await allows(plane, 1)

        async def forgotten() -> bool:
            pdb = await plane.api.get(PODDISRUPTIONBUDGETS, "web", namespace=NS)
            return not (pdb.get("status") or {}).get("disruptedPods")

        # The evicted pods went: the controller no longer waits for them.
        await eventually(forgotten, plane=plane, what="disruptedPods to empty")


async def test_a_spec_change_is_observed_before_evictions_count_on_it() -> None:
    async with web_with_budget() as plane:
        await plane.api.patch(PODDISRUPTIONBUDGETS, "web", {"spec": {"minAvailable": 3}},
                              namespace=NS)
        status = await allows(plane, 0)
        assert status["desiredHealthy"] == 3
        first = (await serving_pods(plane))[0]
        with pytest.raises(ApiError) as e:
            await evict(plane, first)
        assert e.value.code == 429


@asynccontextmanager
async def http_server(plane: ControlPlane) -> AsyncIterator[TestServer]:
    server = TestServer(build_app(plane.api), host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


async def test_the_official_client_reads_the_budget_and_evicts_typed() -> None:
    client = kubernetes.client
    async with web_with_budget() as plane, http_server(plane) as server:
        await cordon_all(plane, True)
        first, second, _ = await serving_pods(plane)

        def work() -> tuple[Any, Any, int]:
            cfg = client.Configuration()
            cfg.host = f"http://127.0.0.1:{server.port}"
            api = client.ApiClient(cfg)
            budget = client.PolicyV1Api(api).read_namespaced_pod_disruption_budget("web", NS)
            core = client.CoreV1Api(api)
            body = client.V1Eviction(metadata=client.V1ObjectMeta(name=first, namespace=NS))
            core.create_namespaced_pod_eviction(first, NS, body)
            after = client.PolicyV1Api(api).read_namespaced_pod_disruption_budget("web", NS)
            try:
                core.create_namespaced_pod_eviction(second, NS, client.V1Eviction(
                    metadata=client.V1ObjectMeta(name=second, namespace=NS)))
            except client.ApiException as e:
                return budget, after, e.status
            return budget, after, 0

        budget, after, refused = await asyncio.to_thread(work)
    assert isinstance(budget, client.V1PodDisruptionBudget)
    assert (budget.status.disruptions_allowed, budget.status.current_healthy,
            budget.status.desired_healthy, budget.status.expected_pods) == (1, 3, 2, 3)
    assert budget.status.conditions[0].reason == "SufficientPods"
    assert after.status.disruptions_allowed == 0
    assert refused == 429


def write_kubeconfig(server: TestServer, path: Path) -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "t", "cluster": {"server": f"http://127.0.0.1:{server.port}"}}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "u",
                                               "namespace": NS}}],
        "users": [{"name": "u", "user": {}}]}))
    return path


@needs_kubectl
async def test_kubectl_drain_reports_the_budget_it_cannot_break(tmp_path: Path) -> None:
    # One node: drained (cordoned), nothing can replace the pod that went, so the budget
    # stays at its minimum and kubectl reports why it cannot go on until its timeout.
    async with web_with_budget(nodes=1) as plane, http_server(plane) as server:
        kubeconfig = write_kubeconfig(server, tmp_path / "kubeconfig")
        node = (await plane.api.list(NODES))["items"][0]["metadata"]["name"]
        rc, out, err = await kubectl(kubeconfig, "get", "pdb")
        assert rc == 0, err
        assert out.splitlines()[1].split()[:4] == ["web", "2", "N/A", "1"]
        rc, out, err = await kubectl(kubeconfig, "drain", node, "--pod-selector", "app=web",
                                     "--timeout", "2s")
        assert rc != 0
        assert f"node/{node} cordoned" in out
        assert "evicted" in out
        assert "Cannot evict pod as it would violate the pod's disruption budget." in err
        assert "global timeout reached: 2s" in err
        assert len(await serving_pods(plane)) == 2


async def test_a_pod_marked_for_eviction_but_not_deleted_is_unmarked() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        plane.start("disruption-controller", DisruptionController(plane.ctx).run)
        pod = await plane.api.create(PODS, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}, namespace=NS)
        pod["status"]["conditions"] = [{
            "type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
            "message": "Eviction API: evicting",
            "lastTransitionTime": rfc3339(time.time() - 300)}]
        await plane.api.update(PODS, pod, namespace=NS, subresource="status")

        async def unmarked() -> bool:
            got = await plane.api.get(PODS, "p", namespace=NS)
            [cond] = got["status"]["conditions"]
            return bool(cond["status"] == "False")

        await eventually(unmarked, plane=plane, what="DisruptionTarget to turn False")


@needs_kubectl
async def test_kubectl_drain_waits_for_the_budget_then_drains(tmp_path: Path) -> None:
    # Two nodes: what leaves the drained node comes back on the other, ready, so each
    # refused eviction goes through on kubectl's next try.
    async with web_with_budget(nodes=2) as plane, http_server(plane) as server:
        kubeconfig = write_kubeconfig(server, tmp_path / "kubeconfig")
        pods = (await plane.api.list(PODS, namespace=NS, label_selector="app=web"))["items"]
        node = max({p["spec"]["nodeName"] for p in pods},
                   key=lambda n: sum(p["spec"]["nodeName"] == n for p in pods))
        rc, out, err = await kubectl(kubeconfig, "drain", node, "--pod-selector", "app=web",
                                     "--timeout", "60s")
        assert rc == 0, err
        assert f"node/{node} drained" in out
        left = (await plane.api.list(PODS, namespace=NS, label_selector="app=web"))["items"]
        assert all(p["spec"].get("nodeName") != node for p in left
                   if not p["metadata"].get("deletionTimestamp"))
        await allows(plane, 1)
