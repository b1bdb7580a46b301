"""ReplicaSet and ReplicationController loops over the real API service and simulated nodes."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.api.owners import controller_ref
from minikube_py.api.podutil import is_active, is_ready
from minikube_py.api.resources import EVENTS, PODS, REPLICASETS, REPLICATIONCONTROLLERS
from minikube_py.controllers.replicaset import (
    ReplicaSetController,
    ReplicationControllerController,
)
from minikube_py.store.types import KV
from tests.integration.harness import (
    ControlPlane,
    control_plane,
    controller_manager,
    crowd_the_pod_cache,
    eventually,
    history,
    pods_created_since,
)

# on the in-memory store and on a real etcd (tests/conftest.py)
pytestmark = pytest.mark.both_stores

NS = "default"


def replicaset(name: str, replicas: int, labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}


def orphan_pod(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


async def active_pods(plane: ControlPlane, selector: str) -> list[dict[str, Any]]:
    items = (await plane.api.list(PODS, namespace=NS, label_selector=selector))["items"]
    return [p for p in items if is_active(p)]


async def wait_for_running(plane: ControlPlane, selector: str, count: int,
                           owner_uid: str) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        pods = await active_pods(plane, selector)
        ok = len(pods) == count and all(
            is_ready(p) and (controller_ref(p) or {}).get("uid") == owner_uid for p in pods)
        return pods if ok else None

    return await eventually(check, plane=plane, what=f"{count} ready pods of {selector}")


async def wait_for_status(plane: ControlPlane, name: str, **want: int) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        rs = await plane.api.get(REPLICASETS, name, namespace=NS)
        status = rs.get("status") or {}
        return rs if all(status.get(k, 0) == v for k, v in want.items()) else None

    return await eventually(check, plane=plane, what=f"status {want}")


def start_rs_controller(plane: ControlPlane) -> None:
    plane.start("replicaset-controller", ReplicaSetController(plane.ctx).run)


async def test_replicaset_creates_its_pods_and_reports_them_available(store: KV) -> None:
    async with control_plane(nodes=2, store=store) as plane:
        start_rs_controller(plane)
        rs = await plane.api.create(REPLICASETS, replicaset("web", 3), namespace=NS)
        pods = await wait_for_running(plane, "app=web", 3, rs["metadata"]["uid"])
        assert all(p["metadata"]["name"].startswith("web-") for p in pods)
        got = await wait_for_status(plane, "web", replicas=3, readyReplicas=3,
                                    availableReplicas=3, fullyLabeledReplicas=3,
                                    observedGeneration=1)
        assert got["status"]["observedGeneration"] == got["metadata"]["generation"]

        async def created_events() -> list[str] | None:
            events = (await plane.api.list(EVENTS, namespace=NS))["items"]
            msgs = [e["message"] for e in events if e["reason"] == "SuccessfulCreate"]
            return msgs if len(msgs) == 3 else None

        msgs = await eventually(created_events, plane=plane, what="3 SuccessfulCreate events")
        assert sorted(msgs) == sorted(f"Created pod: {p['metadata']['name']}" for p in pods)


async def test_a_deleted_pod_is_replaced(store: KV) -> None:
    async with control_plane(nodes=2, store=store) as plane:
        start_rs_controller(plane)
        rs = await plane.api.create(REPLICASETS, replicaset("web", 2), namespace=NS)
        uid = rs["metadata"]["uid"]
        pods = await wait_for_running(plane, "app=web", 2, uid)
        victim = pods[0]["metadata"]["name"]
        await plane.api.delete(PODS, victim, namespace=NS)
        after = await eventually(
            lambda: _replaced(plane, victim), plane=plane, what="a replacement pod")
        assert len(after) == 2


async def _replaced(plane: ControlPlane, victim: str) -> list[dict[str, Any]] | None:
    pods = await active_pods(plane, "app=web")
    names = {p["metadata"]["name"] for p in pods}
    return pods if len(pods) == 2 and victim not in names and all(map(is_ready, pods)) else None


async def test_scaling_up_and_down_follows_spec_replicas(store: KV) -> None:
    async with control_plane(nodes=2, store=store) as plane:
        start_rs_controller(plane)
        rs = await plane.api.create(REPLICASETS, replicaset("web", 2), namespace=NS)
        uid = rs["metadata"]["uid"]
        await wait_for_running(plane, "app=web", 2, uid)
        await plane.api.patch(REPLICASETS, "web", {"spec": {"replicas": 5}}, namespace=NS)
        await wait_for_running(plane, "app=web", 5, uid)
        await plane.api.patch(REPLICASETS, "web", {"spec": {"replicas": 1}}, namespace=NS)
        await wait_for_running(plane, "app=web", 1, uid)
        await wait_for_status(plane, "web", replicas=1, readyReplicas=1, observedGeneration=3)


async def test_scale_down_deletes_unscheduled_pods_before_newer_running_ones(store: KV) -> None:
    async with control_plane(nodes=1, store=store) as plane:
        start_rs_controller(plane)
        body = replicaset("web", 2)
        body["spec"]["template"]["spec"]["nodeSelector"] = {"nowhere": "true"}
        rs = await plane.api.create(REPLICASETS, body, namespace=NS)
        uid = rs["metadata"]["uid"]

        async def pods_of(count: int) -> list[dict[str, Any]] | None:
            pods = await active_pods(plane, "app=web")
            return pods if len(pods) == count else None

        pending = await eventually(lambda: pods_of(2), plane=plane, what="2 pending pods")
        # Two newer pods that can run; the older, unscheduled ones must go first.
        await plane.api.patch(REPLICASETS, "web", {"spec": {
            "replicas": 4, "template": {"spec": {"nodeSelector": None}}}}, namespace=NS)
        await eventually(lambda: pods_of(4), plane=plane, what="4 pods")
        await plane.api.patch(REPLICASETS, "web", {"spec": {"replicas": 2}}, namespace=NS)
        kept = await wait_for_running(plane, "app=web", 2, uid)
        assert not {p["metadata"]["name"] for p in kept} & {
            p["metadata"]["name"] for p in pending}


async def test_orphans_are_adopted_and_pods_that_stop_matching_are_released(store: KV) -> None:
    async with control_plane(nodes=2, store=store) as plane:
        await plane.api.create(PODS, orphan_pod("stray", {"app": "web"}), namespace=NS)
        start_rs_controller(plane)
        rs = await plane.api.create(REPLICASETS, replicaset("web", 2), namespace=NS)
        uid = rs["metadata"]["uid"]
        pods = await wait_for_running(plane, "app=web", 2, uid)
        assert "stray" in {p["metadata"]["name"] for p in pods}  # adopted, only one created

        await plane.api.patch(PODS, "stray", {"metadata": {"labels": {"app": "other"}}},
                              namespace=NS)
        await wait_for_running(plane, "app=web", 2, uid)  # a replacement is created

        async def released() -> bool:
            stray = await plane.api.get(PODS, "stray", namespace=NS)
            return controller_ref(stray) is None

        await eventually(released, plane=plane, what="stray released")


async def test_a_restarted_controller_creates_only_the_missing_replicas(store: KV) -> None:
    async with control_plane(nodes=2, store=store) as plane:
        async with controller_manager(plane) as before:
            before.start("replicaset-controller", ReplicaSetController(before.ctx).run)
            rs = await plane.api.create(REPLICASETS, replicaset("web", 3), namespace=NS)
            await wait_for_running(plane, "app=web", 3, rs["metadata"]["uid"])
        await crowd_the_pod_cache(plane)
        await plane.api.patch(REPLICASETS, "web", {"spec": {"replicas": 4}}, namespace=NS)
        async with history(plane, PODS) as pods, controller_manager(plane) as after:
            after.start("replicaset-controller", ReplicaSetController(after.ctx).run)
            await wait_for_running(plane, "app=web", 4, rs["metadata"]["uid"])
            await wait_for_status(plane, "web", replicas=4, readyReplicas=4,
                                  observedGeneration=2)
            created = await pods_created_since(plane, pods)
        assert len(created) == 1


async def test_replication_controller_keeps_its_replicas(store: KV) -> None:
    async with control_plane(nodes=2, store=store) as plane:
        plane.start("replication-controller", ReplicationControllerController(plane.ctx).run)
        rc = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "old"},
              "spec": {"replicas": 3, "selector": {"app": "old"},
                       "template": {"metadata": {"labels": {"app": "old"}},
                                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
        made = await plane.api.create(REPLICATIONCONTROLLERS, rc, namespace=NS)
        pods = await wait_for_running(plane, "app=old", 3, made["metadata"]["uid"])
        assert controller_ref(pods[0])["kind"] == "ReplicationController"  # type: ignore[index]

        async def status() -> bool:
            got = await plane.api.get(REPLICATIONCONTROLLERS, "old", namespace=NS)
            return (got.get("status") or {}).get("readyReplicas") == 3

        await eventually(status, plane=plane, what="RC readyReplicas 3")
