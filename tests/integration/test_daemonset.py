"""DaemonSet controller over the real API service, scheduler and simulated nodes."""

from __future__ import annotations

from typing import Any

from minikube_py.api.resources import DAEMONSETS, NODES, PODS
from minikube_py.controllers.daemonset import DaemonSetController, target_node
from tests.integration.harness import (
    ControlPlane,
    control_plane,
    controller_manager,
    crowd_the_pod_cache,
    eventually,
    history,
    pods_created_since,
)


def daemonset(name: str = "agent", image: str = "busybox") -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


async def daemon_pods(plane: ControlPlane) -> list[dict[str, Any]]:
    items = (await plane.api.list(PODS, namespace="default", label_selector="app=agent"))["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


async def test_a_pod_lands_on_every_node_whose_taints_it_tolerates() -> None:
    async with control_plane(nodes=3) as plane:
        await plane.api.patch(NODES, "sim-2", {"spec": {"taints": [
            {"key": "dedicated", "value": "db", "effect": "NoSchedule"}]}})
        plane.start("ds", DaemonSetController(plane.ctx).run)
        await plane.api.create(DAEMONSETS, daemonset(), namespace="default")

        async def two_running() -> list[Any] | None:
            pods = await daemon_pods(plane)
            ok = len(pods) == 2 and all(p["status"].get("phase") == "Running" for p in pods)
            return pods if ok else None

        pods = await eventually(two_running, plane=plane, what="2 daemon pods Running")
        assert sorted(p["spec"]["nodeName"] for p in pods) == ["sim-0", "sim-1"]

        async def status_counted() -> dict[str, Any] | None:
            ds = await plane.api.get(DAEMONSETS, "agent", namespace="default")
            st = ds.get("status") or {}
            return st if st.get("numberAvailable") == 2 else None

        st = await eventually(status_counted, plane=plane, what="status numberAvailable 2")
        assert st["desiredNumberScheduled"] == 2 and st["updatedNumberScheduled"] == 2
        assert st["numberMisscheduled"] == 0 and st["observedGeneration"] == 1


async def test_a_node_added_later_gets_a_daemon_pod() -> None:
    async with control_plane(nodes=1) as plane:
        plane.start("ds", DaemonSetController(plane.ctx).run)
        await plane.api.create(DAEMONSETS, daemonset(), namespace="default")
        await eventually(lambda: _count(plane, 1), plane=plane, what="one daemon pod")
        await plane.api.create(NODES, {"apiVersion": "v1", "kind": "Node",
                                       "metadata": {"name": "late"}})

        async def pod_for_late() -> bool:
            return any(target_node(p) == "late" for p in await daemon_pods(plane))

        await eventually(pod_for_late, plane=plane, what="a daemon pod pinned to node late")


async def test_a_node_that_gains_an_untolerated_no_execute_taint_loses_its_pod() -> None:
    async with control_plane(nodes=2) as plane:
        plane.start("ds", DaemonSetController(plane.ctx).run)
        await plane.api.create(DAEMONSETS, daemonset(), namespace="default")
        await eventually(lambda: _count(plane, 2), plane=plane, what="two daemon pods")
        await plane.api.patch(NODES, "sim-1", {"spec": {"taints": [
            {"key": "evict", "value": "yes", "effect": "NoExecute"}]}})

        async def only_sim0() -> bool:
            pods = await daemon_pods(plane)
            return [target_node(p) for p in pods] == ["sim-0"]

        await eventually(only_sim0, plane=plane, what="daemon pod removed from sim-1")


async def test_a_template_change_rolls_every_pod_to_the_new_revision() -> None:
    async with control_plane(nodes=3) as plane:
        plane.start("ds", DaemonSetController(plane.ctx).run)
        await plane.api.create(DAEMONSETS, daemonset(), namespace="default")
        await eventually(lambda: _count(plane, 3), plane=plane, what="three daemon pods")
        await plane.api.patch(DAEMONSETS, "agent", {"spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "busybox:2"}]}}}}, namespace="default")

        async def rolled() -> bool:
            pods = await daemon_pods(plane)
            ds = await plane.api.get(DAEMONSETS, "agent", namespace="default")
            st = ds.get("status") or {}
            return len(pods) == 3 and all(
                p["spec"]["containers"][0]["image"] == "busybox:2" for p in pods) and \
                st.get("updatedNumberScheduled") == 3 and st.get("numberAvailable") == 3 and \
                st.get("observedGeneration") == 2

        await eventually(rolled, plane=plane, what="all pods on the new template")


async def test_a_restarted_controller_creates_no_pod_for_a_node_that_has_one() -> None:
    async with control_plane(nodes=2) as plane:
        async with controller_manager(plane) as before:
            before.start("ds", DaemonSetController(before.ctx).run)
            await plane.api.create(DAEMONSETS, daemonset(), namespace="default")
            await eventually(lambda: _count(plane, 2), plane=plane, what="two daemon pods")
        await crowd_the_pod_cache(plane)
        await plane.api.create(NODES, {"apiVersion": "v1", "kind": "Node",
                                       "metadata": {"name": "late"}})
        async with history(plane, PODS) as pods, controller_manager(plane) as after:
            after.start("ds", DaemonSetController(after.ctx).run)

            async def three_scheduled() -> bool:
                ds = await plane.api.get(DAEMONSETS, "agent", namespace="default")
                return (ds.get("status") or {}).get("currentNumberScheduled") == 3

            await eventually(three_scheduled, plane=plane, what="a daemon pod on each node")
            created = await pods_created_since(plane, pods)
        assert len(created) == 1
        new_pod = await plane.api.get(PODS, created[0], namespace="default")
        assert target_node(new_pod) == "late"


async def _count(plane: ControlPlane, n: int) -> bool:
    return len(await daemon_pods(plane)) == n
