"""Preemption end to end: PriorityClasses and the Priority admission plugin, the
scheduler's PostFilter and its shell (nomination, DisruptionTarget, graceful deletes,
Preempted events), simulated nodes, and what the official client and kubectl show."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from minikube_py.api.resources import EVENTS, PODDISRUPTIONBUDGETS, PODS, PRIORITYCLASSES
from minikube_py.simnode.simnode import SimulatedNodeSpec
from tests.integration.harness import ControlPlane, control_plane, eventually, history
from tests.integration.test_disruption import http_server, write_kubeconfig
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl

kubernetes = pytest.importorskip("kubernetes")

NS = "default"
Obj = dict[str, Any]
# Two simulated nodes of 4 cpus: four 1-cpu pods fill one.
SMALL = SimulatedNodeSpec(cpu="4", taint=False)


def priority_class(name: str, value: int, policy: str = "PreemptLowerPriority") -> Obj:
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": name}, "value": value, "preemptionPolicy": policy}


def pod(name: str, cpu: str, klass: str, **labels: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"priorityClassName": klass,
                     "containers": [{"name": "c", "image": "busybox",
                                     "resources": {"requests": {"cpu": cpu}}}]}}


async def classes(plane: ControlPlane) -> None:
    for body in (priority_class("low", 10), priority_class("mid", 50),
                 priority_class("high", 100), priority_class("polite", 100, "Never")):
        await plane.api.create(PRIORITYCLASSES, body)


async def running(plane: ControlPlane, *names: str) -> dict[str, Obj]:
    """Wait until every pod of `names` runs; they are returned by name."""
    async def check() -> dict[str, Obj] | None:
        items = (await plane.api.list(PODS, namespace=NS))["items"]
        found = {p["metadata"]["name"]: p for p in items}
        ok = all(found.get(n, {}).get("status", {}).get("phase") == "Running" for n in names)
        return found if ok else None

    return await eventually(check, plane=plane, what=f"{names} Running", timeout=20)


async def fill(plane: ControlPlane, node_pods: dict[str, list[tuple[str, str, str]]]) -> None:
    """Pods pinned by nodeName: (name, cpu, class) per node."""
    for node, pods in node_pods.items():
        for name, cpu, klass in pods:
            body = pod(name, cpu, klass, app=name.rstrip("0123456789-"))
            body["spec"]["nodeName"] = node
            await plane.api.create(PODS, body, namespace=NS)
    await running(plane, *(name for pods in node_pods.values() for name, _, _ in pods))


@asynccontextmanager
async def one_full_node(occupant: str, klass: str) -> AsyncIterator[ControlPlane]:
    """One 4-cpu node that `occupant`, a 4-cpu pod of `klass`, fills."""
    async with control_plane(nodes=1, node_spec=SMALL) as plane:
        await classes(plane)
        await fill(plane, {"sim-0": [(occupant, "4", klass)]})
        yield plane


async def events(plane: ControlPlane, reason: str) -> list[Obj]:
    items = (await plane.api.list(EVENTS, namespace=NS))["items"]
    return [e for e in items if e["reason"] == reason]


async def first_failed_scheduling(plane: ControlPlane) -> str:
    async def refused() -> str | None:
        msgs = [e["message"] for e in await events(plane, "FailedScheduling")]
        return msgs[0] if msgs else None

    return await eventually(refused, plane=plane, what="FailedScheduling")


async def test_a_high_priority_pod_preempts_the_fewest_low_pods_and_lands_on_their_node(
        ) -> None:
    async with control_plane(nodes=2, node_spec=SMALL) as plane:
        await classes(plane)
        # sim-0 holds four 1-cpu low pods; sim-1 two 2-cpu mid pods: taking 2 cpus costs
        # two low pods on sim-0 (mid ones are more important).
        await fill(plane, {"sim-0": [(f"low-{i}", "1", "low") for i in range(4)],
                           "sim-1": [(f"mid-{i}", "2", "mid") for i in range(2)]})
        await plane.api.create(PODS, pod("vip", "2", "high"), namespace=NS)
        found = await running(plane, "vip")
        assert found["vip"]["spec"]["nodeName"] == "sim-0"
        survivors = sorted(n for n in found if n.startswith("low-"))
        assert len(survivors) == 2 and {"mid-0", "mid-1"} <= set(found)
        preempted = await events(plane, "Preempted")
        uid = found["vip"]["metadata"]["uid"]
        assert sorted(e["message"] for e in preempted) == \
            [f"Preempted by pod {uid} on node sim-0"] * 2
        assert {e["involvedObject"]["name"] for e in preempted}.isdisjoint(survivors)


async def test_a_victim_is_marked_disruption_target_before_it_goes() -> None:
    async with one_full_node("low", "low") as plane:
        async with history(plane, PODS) as pods:
            await plane.api.create(PODS, pod("vip", "1", "high"), namespace=NS)
            await running(plane, "vip")

            async def deleting() -> Obj | None:
                return next((p for p in pods.versions("low")
                             if p["metadata"].get("deletionTimestamp")), None)

            marked = await eventually(deleting, plane=plane, what="low's deletion in history")
        [cond] = [c for c in marked["status"]["conditions"]
                  if c["type"] == "DisruptionTarget"]
        assert (cond["status"], cond["reason"], cond["message"]) == (
            "True", "PreemptionByScheduler",
            "default-scheduler: preempting to accommodate a higher priority pod")
        assert "Ready" in {c["type"] for c in marked["status"]["conditions"]}  # merged in


async def test_preemption_policy_never_waits_for_room() -> None:
    async with one_full_node("low", "low") as plane:
        await plane.api.create(PODS, pod("patient", "1", "polite"), namespace=NS)
        message = await first_failed_scheduling(plane)
        assert message == ("0/1 nodes are available: 1 Insufficient cpu. preemption: not "
                           "eligible due to preemptionPolicy=Never.")
        got = await plane.api.get(PODS, "patient", namespace=NS)
        assert not got["spec"].get("nodeName") and "nominatedNodeName" not in got["status"]
        assert (await plane.api.get(PODS, "low", namespace=NS))["metadata"].get(
            "deletionTimestamp") is None
        # Room made by other means is taken.
        await plane.api.delete(PODS, "low", namespace=NS, grace_period_seconds=0)
        await running(plane, "patient")


async def test_a_pod_without_lower_priority_victims_says_why() -> None:
    async with one_full_node("peer", "high") as plane:
        await plane.api.create(PODS, pod("vip", "1", "high"), namespace=NS)
        message = await first_failed_scheduling(plane)
        assert message == ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 "
                           "nodes are available: 1 No preemption victims found for incoming "
                           "pod.")


async def test_a_budget_protected_victim_is_avoided_when_another_node_will_do() -> None:
    async with control_plane(nodes=2, node_spec=SMALL) as plane:
        await classes(plane)
        # sim-0's victim would be the cheaper (lower priority), but a budget that allows
        # no disruption guards it: sim-1's more important pod goes instead.
        await fill(plane, {"sim-0": [("db", "4", "low")], "sim-1": [("batch", "4", "mid")]})
        await plane.api.create(PODDISRUPTIONBUDGETS, {
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "db"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}}},
            namespace=NS)
        scheduler = plane.scheduler
        assert scheduler is not None

        async def budget_cached() -> bool:
            return bool(scheduler.disruption_budgets())

        await eventually(budget_cached, plane=plane, what="the scheduler to see the budget")
        await plane.api.create(PODS, pod("vip", "2", "high"), namespace=NS)
        found = await running(plane, "vip")
        assert found["vip"]["spec"]["nodeName"] == "sim-1"
        assert "db" in found and "batch" not in found


@needs_kubectl
async def test_the_nomination_shows_in_kubectl_and_the_official_client(
        tmp_path: Path) -> None:
    # The victim never goes (a finalizer holds it), so the preemptor stays nominated.
    async with control_plane(nodes=1, node_spec=SMALL) as plane, \
            http_server(plane) as server:
        await classes(plane)
        body = pod("low", "4", "low")
        body["spec"]["nodeName"] = "sim-0"
        body["metadata"]["finalizers"] = ["example.com/hold"]
        await plane.api.create(PODS, body, namespace=NS)
        await running(plane, "low")
        await plane.api.create(PODS, pod("vip", "1", "high"), namespace=NS)

        async def nominated() -> Obj | None:
            got = await plane.api.get(PODS, "vip", namespace=NS)
            return got if got["status"].get("nominatedNodeName") else None

        await eventually(nominated, plane=plane, what="vip nominated")
        kubeconfig = write_kubeconfig(server, tmp_path / "kubeconfig")
        rc, out, err = await kubectl(kubeconfig, "get", "pod", "vip", "-o", "wide")
        assert rc == 0, err
        header, row = out.splitlines()
        assert row.split()[header.split().index("NOMINATED")] == "sim-0"

        def read() -> Any:
            cfg = kubernetes.client.Configuration()
            cfg.host = f"http://127.0.0.1:{server.port}"
            api = kubernetes.client.ApiClient(cfg)
            return kubernetes.client.CoreV1Api(api).read_namespaced_pod("vip", NS)

        typed = await asyncio.to_thread(read)
        assert typed.status.nominated_node_name == "sim-0"
        assert typed.spec.node_name is None
        low = await plane.api.get(PODS, "low", namespace=NS)
        assert low["metadata"].get("deletionTimestamp")
        low["metadata"]["finalizers"] = []
        await plane.api.update(PODS, low, namespace=NS)
        await running(plane, "vip")

