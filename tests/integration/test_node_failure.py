"""Node lifecycle over the real API service: a node that stops renewing its lease goes
Unknown, gets tainted, loses the pods that stop tolerating it, and recovers."""

from __future__ import annotations

from typing import Any

from minikube_py.api.resources import NODES, PODS
from minikube_py.controllers.nodelifecycle import NodeLifecycleController, TaintEvictionController
from minikube_py.simnode.simnode import HEARTBEAT_ANNOTATION, SimulatedNodeSpec
from tests.integration.harness import ControlPlane, control_plane, eventually

FAST_LEASES = SimulatedNodeSpec(taint=False, lease_renew_interval=0.2, lease_duration_seconds=2)
UNREACHABLE = "node.kubernetes.io/unreachable"


def pod_on(name: str, node: str, toleration_seconds: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"nodeName": node,
                            "containers": [{"name": "c", "image": "busybox"}]}
    if toleration_seconds is not None:
        spec["tolerations"] = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": toleration_seconds}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def start_node_controllers(plane: ControlPlane) -> None:
    plane.start("nodelifecycle", NodeLifecycleController(
        plane.ctx, grace_period=1.0, monitor_period=0.2).run)
    plane.start("tainteviction", TaintEvictionController(plane.ctx).run)


async def set_heartbeat(plane: ControlPlane, node: str, value: str | None) -> None:
    await plane.api.patch(NODES, node, {"metadata": {"annotations": {HEARTBEAT_ANNOTATION: value}}})


async def wait_running(plane: ControlPlane, *names: str) -> None:
    async def running() -> bool:
        pods = [await plane.api.get(PODS, n, namespace="default") for n in names]
        return all(p["status"].get("phase") == "Running" for p in pods)
    await eventually(running, plane=plane, what=f"{names} Running")


def ready(node: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


async def test_a_silent_node_goes_unknown_and_gets_the_unreachable_taint() -> None:
    async with control_plane(nodes=2, node_spec=FAST_LEASES) as plane:
        start_node_controllers(plane)
        await set_heartbeat(plane, "sim-0", "paused")

        async def tainted() -> dict[str, Any] | None:
            node = await plane.api.get(NODES, "sim-0")
            keys = {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}
            return node if (UNREACHABLE, "NoExecute") in keys else None

        node = await eventually(tainted, plane=plane, what="sim-0 tainted unreachable")
        assert ready(node)["status"] == "Unknown"
        assert ready(node)["reason"] == "NodeStatusUnknown"
        assert ready(node)["message"] == "Kubelet stopped posting node status."
        assert all(c["status"] == "Unknown" for c in node["status"]["conditions"])
        taint = next(t for t in node["spec"]["taints"] if t["effect"] == "NoExecute")
        assert taint["timeAdded"]
        healthy = await plane.api.get(NODES, "sim-1")
        assert ready(healthy)["status"] == "True" and not healthy["spec"].get("taints")


async def test_pods_are_evicted_when_their_toleration_runs_out() -> None:
    async with control_plane(nodes=2, node_spec=FAST_LEASES) as plane:
        start_node_controllers(plane)
        await plane.api.create(PODS, pod_on("short", "sim-0", toleration_seconds=1),
                               namespace="default")
        await plane.api.create(PODS, pod_on("default-300s", "sim-0"), namespace="default")
        await plane.api.create(PODS, pod_on("elsewhere", "sim-1", toleration_seconds=0),
                               namespace="default")
        await wait_running(plane, "short", "default-300s", "elsewhere")
        await set_heartbeat(plane, "sim-0", "paused")

        async def short_gone() -> bool:
            names = {p["metadata"]["name"]
                     for p in (await plane.api.list(PODS, namespace="default"))["items"]}
            return "short" not in names

        await eventually(short_gone, plane=plane, what="pod evicted", timeout=15)
        kept = await plane.api.get(PODS, "default-300s", namespace="default")
        assert not kept["metadata"].get("deletionTimestamp")
        assert not any(c["type"] == "Ready" and c["status"] == "True"
                       for c in kept["status"]["conditions"])  # marked not ready
        other = await plane.api.get(PODS, "elsewhere", namespace="default")
        assert not other["metadata"].get("deletionTimestamp")


async def test_the_taint_goes_away_when_the_kubelet_reports_again() -> None:
    async with control_plane(nodes=1, node_spec=FAST_LEASES) as plane:
        start_node_controllers(plane)
        await set_heartbeat(plane, "sim-0", "paused")

        async def taints() -> list[Any]:
            return list((await plane.api.get(NODES, "sim-0"))["spec"].get("taints") or [])

        await eventually(taints, plane=plane, what="sim-0 tainted")
        # The node is heard from again: it renews its lease and reports Ready itself.
        await set_heartbeat(plane, "sim-0", None)

        async def untainted() -> bool:
            return not await taints()

        await eventually(untainted, plane=plane, what="taint removed")
        assert ready(await plane.api.get(NODES, "sim-0"))["status"] == "True"
