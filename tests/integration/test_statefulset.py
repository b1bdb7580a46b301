"""StatefulSet controller over the real API service (with or without simulated nodes)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from minikube_py.api.resources import PODS, STATEFULSETS
from minikube_py.api.timefmt import rfc3339
from minikube_py.controllers.statefulset import StatefulSetController
from tests.integration.harness import (
    ControlPlane,
    control_plane,
    controller_manager,
    crowd_the_pod_cache,
    eventually,
    history,
    pods_created_since,
)


def statefulset(replicas: int, *, name: str = "web", image: str = "busybox",
                **spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "serviceName": name, **spec,
                     "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


async def pod_names(plane: ControlPlane) -> list[str]:
    items = (await plane.api.list(PODS, namespace="default", label_selector="app=web"))["items"]
    return sorted(p["metadata"]["name"] for p in items if not p["metadata"].get("deletionTimestamp"))


async def sts_status(plane: ControlPlane) -> dict[str, Any]:
    return (await plane.api.get(STATEFULSETS, "web", namespace="default")).get("status") or {}


async def mark_ready(plane: ControlPlane, name: str) -> None:
    stamp = rfc3339(plane.ctx.clock())
    await plane.api.patch(PODS, name, {"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": stamp}]}},
        namespace="default", subresource="status")


async def test_ordered_ready_creates_the_next_ordinal_only_once_the_previous_is_ready() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:  # nothing runs pods
        plane.start("sts", StatefulSetController(plane.ctx).run)
        await plane.api.create(STATEFULSETS, statefulset(2), namespace="default")

        async def observed_one() -> bool:
            return (await sts_status(plane)).get("replicas") == 1

        await eventually(observed_one, plane=plane, what="status replicas 1")
        assert await pod_names(plane) == ["web-0"]  # web-1 waits for web-0
        pod = await plane.api.get(PODS, "web-0", namespace="default")
        assert pod["spec"]["hostname"] == "web-0" and pod["spec"]["subdomain"] == "web"
        assert pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-0"
        assert pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "0"
        await mark_ready(plane, "web-0")

        async def both() -> bool:
            return await pod_names(plane) == ["web-0", "web-1"]

        await eventually(both, plane=plane, what="web-1 after web-0 is ready")


async def test_parallel_creates_every_ordinal_at_once() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        plane.start("sts", StatefulSetController(plane.ctx).run)
        await plane.api.create(STATEFULSETS, statefulset(3, podManagementPolicy="Parallel"),
                               namespace="default")

        async def three() -> bool:
            return await pod_names(plane) == ["web-0", "web-1", "web-2"]

        await eventually(three, plane=plane, what="three pods without any ready")


async def test_scale_down_removes_the_highest_ordinal_first() -> None:
    async with control_plane(nodes=1) as plane:
        plane.start("sts", StatefulSetController(plane.ctx).run)
        await plane.api.create(STATEFULSETS, statefulset(3), namespace="default")

        async def all_ready() -> bool:
            return (await sts_status(plane)).get("readyReplicas") == 3

        await eventually(all_ready, plane=plane, what="3 ready replicas")
        deleted: list[str] = []
        rv = (await plane.api.list(PODS, namespace="default"))["metadata"]["resourceVersion"]

        async def record_deletions() -> None:
            async for ev in plane.api.watch(PODS, namespace="default", resource_version=rv):
                if ev.type == "DELETED":
                    deleted.append(ev.object["metadata"]["name"])

        watcher = asyncio.create_task(record_deletions())
        try:
            await plane.api.patch(STATEFULSETS, "web", {"spec": {"replicas": 1}},
                                  namespace="default")

            async def two_gone() -> list[str]:
                return deleted if len(deleted) == 2 else []

            assert await eventually(two_gone, plane=plane, what="two deletions") == [
                "web-2", "web-1"]
            assert await pod_names(plane) == ["web-0"]
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


async def test_a_template_change_rolls_pods_to_the_update_revision() -> None:
    async with control_plane(nodes=1) as plane:
        plane.start("sts", StatefulSetController(plane.ctx).run)
        await plane.api.create(STATEFULSETS, statefulset(3), namespace="default")

        async def settled() -> dict[str, Any] | None:
            st = await sts_status(plane)
            return st if st.get("readyReplicas") == 3 else None

        before = await eventually(settled, plane=plane, what="3 ready replicas")
        await plane.api.patch(STATEFULSETS, "web", {"spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "busybox:2"}]}}}}, namespace="default")

        async def rolled() -> dict[str, Any] | None:
            st = await sts_status(plane)
            items = (await plane.api.list(PODS, namespace="default"))["items"]
            images = [p["spec"]["containers"][0]["image"] for p in items]
            done = st.get("observedGeneration") == 2 and st.get("updatedReplicas") == 3 \
                and st.get("readyReplicas") == 3 and images == ["busybox:2"] * 3 \
                and st.get("currentRevision") == st.get("updateRevision")
            return st if done else None

        after = await eventually(rolled, plane=plane, what="rolled to the new template")
        assert after["updateRevision"] != before["updateRevision"]
        assert after["currentReplicas"] == 3


async def test_a_restarted_controller_creates_only_the_missing_ordinal() -> None:
    async with control_plane(nodes=1) as plane:
        async with controller_manager(plane) as before:
            before.start("sts", StatefulSetController(before.ctx).run)
            await plane.api.create(STATEFULSETS, statefulset(2), namespace="default")

            async def two_ready() -> bool:
                return (await sts_status(plane)).get("readyReplicas") == 2

            await eventually(two_ready, plane=plane, what="2 ready replicas")
        await crowd_the_pod_cache(plane)
        await plane.api.patch(STATEFULSETS, "web", {"spec": {"replicas": 3}}, namespace="default")
        async with history(plane, PODS) as pods, history(plane, STATEFULSETS) as sets, \
                controller_manager(plane) as after:
            after.start("sts", StatefulSetController(after.ctx).run)

            async def three_ready() -> bool:  # as the history has it: every write before is in
                versions = sets.versions("web")
                return bool(versions) and (versions[-1].get("status") or {}).get(
                    "readyReplicas") == 3

            await eventually(three_ready, plane=plane, what="3 ready replicas")
            created = await pods_created_since(plane, pods)
        assert created == ["web-2"]
        # Never a status computed from a half-filled cache, which misses web-0 and web-1.
        assert min(v["status"]["replicas"] for v in sets.versions("web")) >= 2
