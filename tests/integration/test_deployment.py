"""The Deployment loop with the ReplicaSet loop, the scheduler and simulated nodes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from minikube_py.api.owners import controller_ref
from minikube_py.api.podutil import is_active, is_ready
from minikube_py.api.resources import DEPLOYMENTS, EVENTS, PODS, REPLICASETS
from minikube_py.controllers.deployment import DeploymentController
from minikube_py.controllers.deployment_rollout import REVISION, REVISION_HISTORY
from minikube_py.controllers.replicaset import ReplicaSetController
from minikube_py.store.types import KV
from tests.integration.harness import ControlPlane, control_plane, eventually

# on the in-memory store and on a real etcd (tests/conftest.py)
pytestmark = pytest.mark.both_stores

NS = "default"


def deployment(name: str, replicas: int, image: str = "busybox:1", **spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": image}]}},
                     **spec}}


def start_controllers(plane: ControlPlane) -> None:
    plane.start("replicaset-controller", ReplicaSetController(plane.ctx).run)
    plane.start("deployment-controller", DeploymentController(plane.ctx).run)


async def set_image(plane: ControlPlane, name: str, image: str) -> None:
    await plane.api.patch(DEPLOYMENTS, name, {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": image}]}}}}, namespace=NS)


async def rolled_out(plane: ControlPlane, name: str) -> dict[str, Any] | None:
    """What `kubectl rollout status` checks before it says "successfully rolled out"."""
    d = await plane.api.get(DEPLOYMENTS, name, namespace=NS)
    status = d.get("status") or {}
    want = d["spec"]["replicas"]
    if d["metadata"]["generation"] > status.get("observedGeneration", 0):
        return None
    progressing = next((c for c in status.get("conditions") or []
                        if c["type"] == "Progressing"), {})
    assert progressing.get("reason") != "ProgressDeadlineExceeded"
    done = (status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want)
    return d if done else None


async def wait_rolled_out(plane: ControlPlane, name: str) -> dict[str, Any]:
    return await eventually(lambda: rolled_out(plane, name), plane=plane,
                            what=f"{name} rolled out")


async def replicasets_of(plane: ControlPlane, d: dict[str, Any]) -> list[dict[str, Any]]:
    items = (await plane.api.list(REPLICASETS, namespace=NS))["items"]
    return [rs for rs in items if (controller_ref(rs) or {}).get("uid") == d["metadata"]["uid"]]


def image_of(obj: dict[str, Any]) -> str:
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


@dataclass
class PodCensus:
    """Checks, on every pod event the informer sees, the bounds a rollout must keep."""

    selector: dict[str, str]
    max_active: int
    min_ready: int
    violations: list[str] = field(default_factory=list)
    peak_active: int = 0
    armed: bool = False

    def attach(self, plane: ControlPlane) -> None:
        informer = plane.informers.informer(PODS)

        def check(*_: Any) -> None:
            pods = [p for p in informer.list() if is_active(p) and all(
                (p["metadata"].get("labels") or {}).get(k) == v
                for k, v in self.selector.items())]
            ready = sum(1 for p in pods if is_ready(p))
            self.peak_active = max(self.peak_active, len(pods))
            if not self.armed:
                return
            if len(pods) > self.max_active:
                self.violations.append(f"{len(pods)} active pods > {self.max_active}")
            if ready < self.min_ready:
                self.violations.append(f"{ready} ready pods < {self.min_ready}")

        informer.add_handlers(check, check, check)


async def test_a_deployment_creates_a_revisioned_replicaset_and_becomes_available(store: KV) -> None:
    async with control_plane(nodes=2, store=store) as plane:
        start_controllers(plane)
        made = await plane.api.create(DEPLOYMENTS, deployment("web", 3), namespace=NS)
        d = await wait_rolled_out(plane, "web")
        [rs] = await replicasets_of(plane, made)
        hash_ = rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"]
        assert rs["metadata"]["name"] == f"web-{hash_}"
        assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": hash_}
        assert rs["metadata"]["annotations"][REVISION] == "1"
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "3"
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "4"
        conds = {c["type"]: c for c in d["status"]["conditions"]}
        assert conds["Available"]["reason"] == "MinimumReplicasAvailable"

        async def settled() -> dict[str, Any] | None:
            got = await plane.api.get(DEPLOYMENTS, "web", namespace=NS)
            cond = next(c for c in got["status"]["conditions"] if c["type"] == "Progressing")
            return got if cond["reason"] == "NewReplicaSetAvailable" else None

        got = await eventually(settled, plane=plane, what="NewReplicaSetAvailable")
        assert got["metadata"]["annotations"][REVISION] == "1"
        assert got["status"]["readyReplicas"] == 3 and got["status"]["unavailableReplicas"] == 0

        async def scaled_event() -> list[str] | None:
            events = (await plane.api.list(EVENTS, namespace=NS))["items"]
            msgs = [e["message"] for e in events if e["reason"] == "ScalingReplicaSet"]
            return msgs or None

        msgs = await eventually(scaled_event, plane=plane, what="ScalingReplicaSet event")
        assert msgs == [f"Scaled up replica set {rs['metadata']['name']} from 0 to 3"]


async def test_rolling_update_keeps_within_surge_and_unavailability_bounds(store: KV) -> None:
    async with control_plane(nodes=2, store=store) as plane:
        start_controllers(plane)
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1,
                                                               "maxUnavailable": 1}}
        made = await plane.api.create(DEPLOYMENTS, deployment("web", 4, strategy=strategy),
                                      namespace=NS)
        await wait_rolled_out(plane, "web")
        census = PodCensus({"app": "web"}, max_active=5, min_ready=3)
        census.attach(plane)
        census.armed = True
        await set_image(plane, "web", "busybox:2")
        await wait_rolled_out(plane, "web")

        async def old_gone() -> list[dict[str, Any]] | None:
            rss = await replicasets_of(plane, made)
            old = [rs for rs in rss if image_of(rs) == "busybox:1"]
            ok = len(rss) == 2 and old[0]["spec"]["replicas"] == 0 and \
                old[0]["status"].get("replicas", 0) == 0
            return rss if ok else None

        rss = await eventually(old_gone, plane=plane, what="old set scaled to 0")
        assert census.violations == []
        assert census.peak_active == 5  # the surge was used
        new = next(rs for rs in rss if image_of(rs) == "busybox:2")
        assert new["metadata"]["annotations"][REVISION] == "2"
        d = await plane.api.get(DEPLOYMENTS, "web", namespace=NS)
        assert d["metadata"]["annotations"][REVISION] == "2"


async def test_reapplying_an_old_template_rolls_back_to_its_set_with_a_new_revision(store: KV) -> None:
    async with control_plane(nodes=2, store=store) as plane:
        start_controllers(plane)
        made = await plane.api.create(DEPLOYMENTS, deployment("web", 2), namespace=NS)
        await wait_rolled_out(plane, "web")
        first = (await replicasets_of(plane, made))[0]["metadata"]["name"]
        await set_image(plane, "web", "busybox:2")
        await wait_rolled_out(plane, "web")
        await set_image(plane, "web", "busybox:1")
        await wait_rolled_out(plane, "web")

        async def rolled_back() -> dict[str, Any] | None:
            rss = await replicasets_of(plane, made)
            back = next(rs for rs in rss if rs["metadata"]["name"] == first)
            return back if back["metadata"]["annotations"][REVISION] == "3" else None

        back = await eventually(rolled_back, plane=plane, what="old set at revision 3")
        assert len(await replicasets_of(plane, made)) == 2  # no third set
        assert back["metadata"]["annotations"][REVISION_HISTORY] == "1"
        assert back["spec"]["replicas"] == 2


async def test_recreate_removes_every_old_pod_before_starting_new_ones(store: KV) -> None:
    async with control_plane(nodes=2, store=store) as plane:
        start_controllers(plane)
        made = await plane.api.create(
            DEPLOYMENTS, deployment("web", 3, strategy={"type": "Recreate"}), namespace=NS)
        await wait_rolled_out(plane, "web")
        informer = plane.informers.informer(PODS)
        mixed: list[int] = []

        def check(*_: Any) -> None:
            images = {p["spec"]["containers"][0]["image"] for p in informer.list()
                      if (p["metadata"].get("labels") or {}).get("app") == "web"}
            if len(images) > 1:
                mixed.append(len(images))

        informer.add_handlers(check, check, check)
        await set_image(plane, "web", "busybox:2")
        await wait_rolled_out(plane, "web")
        assert mixed == []
        rss = await replicasets_of(plane, made)
        assert sorted((image_of(rs), rs["spec"]["replicas"]) for rs in rss) == [
            ("busybox:1", 0), ("busybox:2", 3)]


async def test_a_paused_deployment_scales_but_does_not_roll_out(store: KV) -> None:
    async with control_plane(nodes=2, store=store) as plane:
        start_controllers(plane)
        made = await plane.api.create(DEPLOYMENTS, deployment("web", 2), namespace=NS)
        await wait_rolled_out(plane, "web")
        await plane.api.patch(DEPLOYMENTS, "web", {"spec": {"paused": True}}, namespace=NS)
        await set_image(plane, "web", "busybox:2")
        await plane.api.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 4}}, namespace=NS)

        async def scaled_and_paused() -> dict[str, Any] | None:
            d = await plane.api.get(DEPLOYMENTS, "web", namespace=NS)
            status = d.get("status") or {}
            cond = next((c for c in status.get("conditions") or []
                         if c["type"] == "Progressing"), {})
            ok = status.get("observedGeneration") == d["metadata"]["generation"] and \
                status.get("availableReplicas") == 4 and cond.get("reason") == "DeploymentPaused"
            return d if ok else None

        await eventually(scaled_and_paused, plane=plane, what="scaled while paused")
        [rs] = await replicasets_of(plane, made)
        assert image_of(rs) == "busybox:1" and rs["spec"]["replicas"] == 4

        await plane.api.patch(DEPLOYMENTS, "web", {"spec": {"paused": False}}, namespace=NS)
        await wait_rolled_out(plane, "web")
        rss = await replicasets_of(plane, made)
        assert sorted((image_of(rs), rs["spec"]["replicas"]) for rs in rss) == [
            ("busybox:1", 0), ("busybox:2", 4)]


async def test_old_sets_beyond_the_revision_history_limit_are_deleted(store: KV) -> None:
    async with control_plane(nodes=2, store=store) as plane:
        start_controllers(plane)
        made = await plane.api.create(
            DEPLOYMENTS, deployment("web", 1, revisionHistoryLimit=1), namespace=NS)
        await wait_rolled_out(plane, "web")
        for image in ("busybox:2", "busybox:3"):
            await set_image(plane, "web", image)
            await wait_rolled_out(plane, "web")

        async def pruned() -> list[str] | None:
            rss = await replicasets_of(plane, made)
            images = sorted(image_of(rs) for rs in rss)
            return images if len(images) == 2 else None

        assert await eventually(pruned, plane=plane, what="one old set kept") == [
            "busybox:2", "busybox:3"]


async def test_a_stalled_rollout_keeps_minimum_availability_and_reports_its_deadline(store: KV) -> None:
    async with control_plane(nodes=2, store=store) as plane:
        start_controllers(plane)
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1,
                                                               "maxUnavailable": 1}}
        made = await plane.api.create(DEPLOYMENTS, deployment(
            "web", 4, strategy=strategy), namespace=NS)
        await wait_rolled_out(plane, "web")
        # A template no node can run: its pods stay Pending.
        await plane.api.patch(DEPLOYMENTS, "web", {"spec": {"progressDeadlineSeconds": 1,
                                                            "template": {"spec": {
            "nodeSelector": {"nowhere": "true"}}}}}, namespace=NS)

        async def timed_out() -> dict[str, Any] | None:
            d = await plane.api.get(DEPLOYMENTS, "web", namespace=NS)
            conds = {c["type"]: c for c in (d.get("status") or {}).get("conditions") or []}
            ok = conds.get("Progressing", {}).get("reason") == "ProgressDeadlineExceeded"
            return d if ok else None

        d = await eventually(timed_out, plane=plane, timeout=15, what="deadline exceeded")
        conds = {c["type"]: c for c in d["status"]["conditions"]}
        assert conds["Progressing"]["status"] == "False"
        assert conds["Available"]["status"] == "True"
        sizes = sorted((rs["spec"].get("template", {}).get("spec", {}).get("nodeSelector")
                        is not None, rs["spec"]["replicas"])
                       for rs in await replicasets_of(plane, made))
        assert sizes == [(False, 3), (True, 2)]  # 3 = replicas - maxUnavailable; 5 = + surge

        async def available() -> int | None:
            # The status may have been written before the old set's fourth pod was gone.
            d = await plane.api.get(DEPLOYMENTS, "web", namespace=NS)
            count = (d.get("status") or {}).get("availableReplicas")
            return count if count == 3 else None

        assert await eventually(available, plane=plane, what="3 available") == 3
