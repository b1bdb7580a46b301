"""Scheduler + simulated nodes over the real API service: pods get bound and run."""

from __future__ import annotations

from typing import Any

from minikube_py.api.resources import EVENTS, PODS
from tests.integration.harness import control_plane, eventually


def pod(name: str, cpu: str = "100m") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "resources": {"requests": {"cpu": cpu}}}]}}


async def test_pending_pods_are_bound_and_reported_running() -> None:
    async with control_plane(nodes=3) as plane:
        for i in range(6):  # 4 of a node's 32 cpus each: least-allocated scoring spreads them
            await plane.api.create(PODS, pod(f"p{i}", cpu="4"), namespace="default")

        async def all_running() -> list[Any] | None:
            items = (await plane.api.list(PODS, namespace="default"))["items"]
            ok = all(p["status"].get("phase") == "Running" for p in items)
            return items if ok and len(items) == 6 else None

        items = await eventually(all_running, plane=plane, what="6 pods Running")
        assert len({p["spec"]["nodeName"] for p in items}) == 3  # spread over the nodes


async def test_a_pod_that_fits_nowhere_gets_a_failed_scheduling_event() -> None:
    async with control_plane(nodes=2) as plane:
        await plane.api.create(PODS, pod("huge", cpu="1000"), namespace="default")

        async def failed_event() -> str | None:
            events = (await plane.api.list(EVENTS, namespace="default"))["items"]
            msgs = [e["message"] for e in events if e["reason"] == "FailedScheduling"]
            return msgs[0] if msgs else None

        message = await eventually(failed_event, plane=plane, what="FailedScheduling")
        # A pod of priority 0 has no lower pods to preempt: kube says so too.
        assert message == ("0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 "
                           "nodes are available: 2 No preemption victims found for incoming "
                           "pod.")
        got = await plane.api.get(PODS, "huge", namespace="default")
        cond = next(c for c in got["status"]["conditions"] if c["type"] == "PodScheduled")
        assert cond["status"] == "False" and cond["reason"] == "Unschedulable"


async def test_required_anti_affinity_holds_across_scheduling_cycles() -> None:
    async with control_plane(nodes=2) as plane:
        anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "solo"}},
             "topologyKey": "kubernetes.io/hostname"}]}}
        for i in range(3):
            body = pod(f"solo-{i}")
            body["metadata"]["labels"] = {"app": "solo"}
            body["spec"]["affinity"] = anti
            await plane.api.create(PODS, body, namespace="default")

        async def two_bound_one_refused() -> list[str] | None:
            items = (await plane.api.list(PODS, namespace="default"))["items"]
            nodes = [p["spec"]["nodeName"] for p in items if p["spec"].get("nodeName")]
            events = (await plane.api.list(EVENTS, namespace="default"))["items"]
            refused = [e for e in events if e["reason"] == "FailedScheduling"]
            return nodes if len(nodes) == 2 and refused else None

        nodes = await eventually(two_bound_one_refused, plane=plane, what="2 bound, 1 refused")
        assert sorted(nodes) == ["sim-0", "sim-1"]


async def test_a_pod_on_a_simulated_node_reports_running_with_its_conditions() -> None:
    async with control_plane(nodes=1) as plane:
        body = pod("web")
        body["metadata"]["labels"] = {"app": "web"}
        await plane.api.create(PODS, body, namespace="default")

        async def running() -> dict[str, Any] | None:
            got = await plane.api.get(PODS, "web", namespace="default")
            return got if got["status"].get("phase") == "Running" else None

        got = await eventually(running, plane=plane, what="web Running")
        status = got["status"]
        assert {c["type"]: c["status"] for c in status["conditions"]} == {
            "PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True",
            "ContainersReady": "True", "PodScheduled": "True"}
        assert status["hostIP"] == "10.250.0.1" and status["podIP"].startswith("10.250.")
        assert [(c["name"], c["ready"], list(c["state"])) for c in status["containerStatuses"]
                ] == [("c", True, ["running"])]
        # Only the status changed: what the pod was created and bound with stays.
        assert got["spec"]["nodeName"] == "sim-0" and got["metadata"]["labels"] == {"app": "web"}
