"""Pod GC over the real API service: pods on vanished nodes (after the quarantine) and
surplus finished pods go; a node that comes back at once keeps its pods."""

from __future__ import annotations

from typing import Any

from minikube_py.api.resources import NODES, PODS
from minikube_py.controllers.podgc import PodGarbageCollector
from tests.integration.harness import ControlPlane, control_plane, eventually


def pod(name: str, node: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


async def names(plane: ControlPlane) -> set[str]:
    return {p["metadata"]["name"]
            for p in (await plane.api.list(PODS, namespace="default"))["items"]}


async def test_pods_bound_to_a_missing_node_are_force_deleted() -> None:
    async with control_plane(nodes=1, scheduler=False) as plane:
        await plane.api.create(PODS, pod("ghosted", node="ghost"), namespace="default")
        await plane.api.create(PODS, pod("alive", node="sim-0"), namespace="default")
        plane.start("podgc", PodGarbageCollector(plane.ctx, period=0.1, quarantine=0.2).run)

        async def ghost_gone() -> bool:
            return await names(plane) == {"alive"}

        await eventually(ghost_gone, plane=plane, what="orphaned pod deleted")


async def test_a_node_that_comes_back_within_the_quarantine_keeps_its_pods() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
        await plane.api.create(NODES, node)
        await plane.api.create(PODS, pod("kept", node="n1"), namespace="default")
        gc = PodGarbageCollector(plane.ctx, period=0.05)  # kube's 40 s quarantine
        plane.start("podgc", gc.run)
        await plane.api.delete(NODES, "n1")

        async def seen_missing() -> bool:
            return "n1" in gc.missing_since

        await eventually(seen_missing, plane=plane, what="the GC to see the node missing")
        await plane.api.create(NODES, node)  # its kubelet registered it again

        async def seen_back() -> bool:
            return not gc.missing_since

        await eventually(seen_back, plane=plane, what="the GC to see the node back")
        assert await names(plane) == {"kept"}


async def test_finished_pods_beyond_the_threshold_are_deleted_oldest_first() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        for i in range(3):
            created = await plane.api.create(PODS, pod(f"done-{i}"), namespace="default")
            created["status"]["phase"] = "Succeeded"
            await plane.api.update(PODS, created, namespace="default", subresource="status")
        await plane.api.create(PODS, pod("pending"), namespace="default")
        plane.start("podgc", PodGarbageCollector(plane.ctx, terminated_threshold=1,
                                                 period=0.1).run)

        async def trimmed() -> set[str] | None:
            left = await names(plane)
            return left if len(left) == 2 else None

        left = await eventually(trimmed, plane=plane, what="two finished pods deleted")
        assert left == {"pending", "done-2"}  # same-second creations tie-break on name
