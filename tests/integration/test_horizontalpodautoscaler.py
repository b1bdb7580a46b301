"""The HPA controller against the real in-process API server, with the Deployment and
ReplicaSet controllers, the scheduler and simulated nodes; pod usage comes from a fake
resource metrics source the test sets. It scales up through /scale, waits out the downscale
stabilization window, stops at maxReplicas, and says what it cannot do in conditions and
events as kube does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.podutil import is_active
from minikube_py.api.resources import (
    CUSTOMRESOURCEDEFINITIONS,
    DEPLOYMENTS,
    EVENTS,
    HORIZONTALPODAUTOSCALERS,
    PODS,
    REPLICASETS,
    REPLICATIONCONTROLLERS,
    STATEFULSETS,
    Resource,
)
from minikube_py.api.timefmt import rfc3339
from minikube_py.controllers.deployment import DeploymentController
from minikube_py.controllers.horizontalpodautoscaler import HorizontalPodAutoscalerController
from minikube_py.controllers.hpa_plan import AutoscalerSettings
from minikube_py.controllers.replicaset import ReplicaSetController
from tests.integration.harness import ControlPlane, control_plane, eventually

NS = "default"
Obj = dict[str, Any]
FAST = AutoscalerSettings(sync_period=0.1, downscale_stabilization=1.0,
                          cpu_initialization_period=0.0)


@dataclass
class FakePodMetrics:
    """The resource metrics API as the test wants it: every pod of the selector uses
    `cpu` (per container), read now over a 10 s window."""

    plane: ControlPlane
    cpu: str = "0"
    calls: list[tuple[str, str]] = field(default_factory=list)

    async def pod_metrics(self, namespace: str, selector: str) -> list[Obj]:
        self.calls.append((namespace, selector))
        pods = await self.plane.api.list(PODS, namespace=namespace, label_selector=selector)
        return [{"metadata": {"name": p["metadata"]["name"], "namespace": namespace},
                 "timestamp": rfc3339(self.plane.ctx.clock()), "window": "10s",
                 "containers": [{"name": c["name"], "usage": {"cpu": self.cpu,
                                                              "memory": "10Mi"}}
                                for c in p["spec"]["containers"]]}
                for p in pods["items"] if is_active(p)]


def deployment(name: str, replicas: int = 1, cpu: str | None = "100m") -> Obj:
    labels = {"app": name}
    resources = {"requests": {"cpu": cpu}} if cpu else {}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "c", "image": "busybox", "resources": resources}]}}}}


def hpa(name: str, *, target: str = "web", lo: int = 1, hi: int = 3,
        metrics: list[Obj] | None = None, kind: str = "Deployment") -> Obj:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind,
                                        "name": target},
                     "minReplicas": lo, "maxReplicas": hi,
                     "metrics": metrics or [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization",
                                                   "averageUtilization": 50}}}]}}


def start(plane: ControlPlane, settings: AutoscalerSettings = FAST) -> FakePodMetrics:
    metrics = FakePodMetrics(plane)
    plane.start("replicaset-controller", ReplicaSetController(plane.ctx).run)
    plane.start("deployment-controller", DeploymentController(plane.ctx).run)
    plane.start("hpa-controller", HorizontalPodAutoscalerController(
        plane.ctx, settings=settings, metrics=metrics).run)
    return metrics


async def replicas(plane: ControlPlane, name: str = "web") -> int:
    scale = await plane.api.get(DEPLOYMENTS, name, namespace=NS, subresource="scale")
    return int(scale["spec"]["replicas"])


async def hpa_status(plane: ControlPlane, name: str = "web") -> Obj:
    got = await plane.api.get(HORIZONTALPODAUTOSCALERS, name, namespace=NS)
    return dict(got.get("status") or {})


def condition(status: Obj, kind: str) -> Obj:
    return next((c for c in status.get("conditions") or [] if c["type"] == kind), {})


async def event_messages(plane: ControlPlane, reason: str, name: str = "web") -> list[str]:
    events = await plane.api.list(EVENTS, namespace=NS)
    return [e["message"] for e in events["items"]
            if e["reason"] == reason and e["involvedObject"]["name"] == name
            and e["involvedObject"]["kind"] == "HorizontalPodAutoscaler"]


async def wait_event(plane: ControlPlane, reason: str, message: str = "",
                     prefix: str = "") -> list[str]:
    """Every message of the HPA's `reason` events, once one is `message` (or starts with
    `prefix`): events are written in the background, after what they tell of."""
    async def seen() -> list[str] | None:
        messages = await event_messages(plane, reason)
        hit = any(m == message if message else m.startswith(prefix) for m in messages)
        return messages if hit else None
    return await eventually(seen, plane=plane, what=f"a {reason} event")


async def wait_replicas(plane: ControlPlane, want: int, name: str = "web",
                        timeout: float = 10.0) -> None:
    async def reached() -> bool:
        return await replicas(plane, name) == want
    await eventually(reached, plane=plane, timeout=timeout, what=f"{name} at {want}")


async def test_busy_pods_scale_up_and_idle_ones_scale_back_down_after_the_window() -> None:
    async with control_plane(nodes=2) as plane:
        metrics = start(plane)
        await plane.api.create(DEPLOYMENTS, deployment("web"), namespace=NS)
        metrics.cpu = "150m"  # 150% of the request against a 50% target
        await plane.api.create(HORIZONTALPODAUTOSCALERS, hpa("web"), namespace=NS)
        await wait_replicas(plane, 3)
        up = await wait_event(plane, "SuccessfulRescale", prefix="New size: ")
        assert up == ["New size: 3; reason: cpu resource utilization (percentage of "
                      "request) above target"]
        assert metrics.calls[-1] == (NS, "app=web")

        async def three_measured() -> Obj | None:
            status = await hpa_status(plane)
            return status if status.get("currentReplicas") == 3 else None
        status = await eventually(three_measured, plane=plane, what="3 replicas measured")
        assert status["desiredReplicas"] == 3 and status["lastScaleTime"]
        assert status["currentMetrics"] == [{"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": 150, "averageValue": "150m"}}}]
        limited = condition(status, "ScalingLimited")
        assert (limited["status"], limited["reason"]) == ("True", "TooManyReplicas")

        metrics.cpu = "1m"

        async def stabilized() -> bool:
            return condition(await hpa_status(plane), "AbleToScale").get("reason") == \
                "ScaleDownStabilized"
        await eventually(stabilized, plane=plane, what="the scale-down held back")
        assert await replicas(plane) == 3  # still, within the window
        await wait_replicas(plane, 1)
        await wait_event(plane, "SuccessfulRescale",
                         "New size: 1; reason: All metrics below target")
        status = await hpa_status(plane)
        assert condition(status, "ScalingActive")["reason"] == "ValidMetricFound"


async def test_a_behavior_limits_the_scale_up_rate() -> None:
    async with control_plane(nodes=2) as plane:
        metrics = start(plane)
        await plane.api.create(DEPLOYMENTS, deployment("web"), namespace=NS)
        metrics.cpu = "1000m"
        body = hpa("web", hi=10)
        body["spec"]["behavior"] = {"scaleUp": {"policies": [
            {"type": "Pods", "value": 1, "periodSeconds": 1800}]}}
        await plane.api.create(HORIZONTALPODAUTOSCALERS, body, namespace=NS)
        await wait_replicas(plane, 2)

        async def rate_limited() -> bool:
            limited = condition(await hpa_status(plane), "ScalingLimited")
            return limited.get("reason") == "ScaleUpLimit" and limited["status"] == "True"
        await eventually(rate_limited, plane=plane, what="ScaleUpLimit")
        assert await replicas(plane) == 2
        assert len(await wait_event(plane, "SuccessfulRescale", prefix="New size: 2")) == 1


async def test_pods_without_a_cpu_request_are_failed_get_resource_metric() -> None:
    async with control_plane(nodes=1) as plane:
        metrics = start(plane)
        metrics.cpu = "150m"
        await plane.api.create(DEPLOYMENTS, deployment("web", cpu=None), namespace=NS)
        await plane.api.create(HORIZONTALPODAUTOSCALERS, hpa("web"), namespace=NS)

        async def refused() -> Obj | None:
            # (before the pod exists, the metrics API has nothing to say: another message)
            active = condition(await hpa_status(plane), "ScalingActive")
            return active if "missing request" in active.get("message", "") else None
        active = await eventually(refused, plane=plane, what="FailedGetResourceMetric")
        assert active["reason"] == "FailedGetResourceMetric"
        assert active["status"] == "False"
        assert active["message"].startswith(
            "the HPA was unable to compute the replica count: failed to get cpu utilization: "
            "missing request for cpu in container c of Pod web-")
        await wait_event(plane, "FailedGetResourceMetric",
                         prefix="failed to get cpu utilization: missing request for cpu in "
                                "container c of Pod web-")
        assert await replicas(plane) == 1


async def test_a_pods_metric_is_refused_visibly_without_a_custom_metrics_api() -> None:
    async with control_plane(nodes=1) as plane:
        start(plane)
        await plane.api.create(DEPLOYMENTS, deployment("web"), namespace=NS)
        await plane.api.create(HORIZONTALPODAUTOSCALERS, hpa("web", metrics=[
            {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {
                "type": "AverageValue", "averageValue": "10"}}}]), namespace=NS)

        async def refused() -> Obj | None:
            active = condition(await hpa_status(plane), "ScalingActive")
            return active if active.get("reason") == "FailedGetPodsMetric" else None
        active = await eventually(refused, plane=plane, what="FailedGetPodsMetric")
        assert active["message"] == (
            "the HPA was unable to compute the replica count: unable to get metric rps: "
            "unable to fetch metrics from custom metrics API: no custom metrics API "
            "(custom.metrics.k8s.io) registered")


async def failed_get_scale(plane: ControlPlane) -> Obj:
    """The HPA's AbleToScale condition once it says FailedGetScale."""
    async def failed() -> Obj | None:
        able = condition(await hpa_status(plane), "AbleToScale")
        return able if able.get("reason") == "FailedGetScale" else None
    able: Obj = await eventually(failed, plane=plane, what="FailedGetScale")
    return able


async def test_a_missing_target_is_failed_get_scale() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        start(plane)
        await plane.api.create(HORIZONTALPODAUTOSCALERS, hpa("web", target="nowhere"),
                               namespace=NS)
        able = await failed_get_scale(plane)
        assert able["message"] == ("the HPA controller was unable to get the target's current "
                                   "scale: deployments.apps \"nowhere\" not found")
        assert await wait_event(plane, "FailedGetScale",
                                'deployments.apps "nowhere" not found') == [
            'deployments.apps "nowhere" not found']


async def test_a_kind_the_server_does_not_know_is_failed_get_scale() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        start(plane)
        await plane.api.create(HORIZONTALPODAUTOSCALERS, hpa("web", kind="Widget"),
                               namespace=NS)
        able = await failed_get_scale(plane)
        assert able["message"].endswith('no matches for kind "Widget" in group "apps"')


async def test_a_target_below_min_replicas_is_raised_to_it() -> None:
    async with control_plane(nodes=2) as plane:
        start(plane)
        await plane.api.create(DEPLOYMENTS, deployment("web", replicas=1), namespace=NS)
        await plane.api.create(HORIZONTALPODAUTOSCALERS, hpa("web", lo=2), namespace=NS)
        await wait_replicas(plane, 2)
        assert await wait_event(plane, "SuccessfulRescale", prefix="New size: ") == [
            "New size: 2; reason: Current number of replicas below Spec.MinReplicas"]


async def test_a_custom_resource_with_a_scale_subresource_is_scaled() -> None:
    widgets = Resource("example.com", "v1", "widgets", "Widget", True,
                       subresources=("scale",))
    async with control_plane(nodes=1) as plane:
        metrics = start(plane)
        metrics.cpu = "150m"
        await plane.api.create(CUSTOMRESOURCEDEFINITIONS, {
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "kind": "Widget"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "subresources": {"scale": {
                                       "specReplicasPath": ".spec.replicas",
                                       "statusReplicasPath": ".status.replicas",
                                       "labelSelectorPath": ".status.selector"}},
                                   "schema": {"openAPIV3Schema": {
                                       "type": "object",
                                       "x-kubernetes-preserve-unknown-fields": True}}}]}})

        async def served() -> bool:
            try:
                await plane.api.list(widgets, namespace=NS)
            except ApiError:
                return False
            return True
        await eventually(served, plane=plane, what="widgets served")
        await plane.api.create(widgets, {
            "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"replicas": 1}, "status": {"replicas": 1, "selector": "app=w"}},
            namespace=NS)
        pod = deployment("w")["spec"]["template"]
        await plane.api.create(PODS, {"apiVersion": "v1", "kind": "Pod",
                                      "metadata": {"name": "w-0", "labels": {"app": "w"}},
                                      "spec": pod["spec"]}, namespace=NS)
        body = hpa("w", target="w", kind="Widget")
        body["spec"]["scaleTargetRef"]["apiVersion"] = "example.com/v1"
        await plane.api.create(HORIZONTALPODAUTOSCALERS, body, namespace=NS)

        async def scaled() -> bool:
            got = await plane.api.get(widgets, "w", namespace=NS)
            return bool(got["spec"]["replicas"] == 3)
        await eventually(scaled, plane=plane, what="the Widget scaled to 3")


def _template(name: str) -> Obj:
    return {"metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


@pytest.mark.parametrize(("resource", "api_version", "body"), [
    (REPLICASETS, "apps/v1", {"replicas": 1, "selector": {"matchLabels": {"app": "t"}},
                              "template": _template("t")}),
    (STATEFULSETS, "apps/v1", {"replicas": 1, "serviceName": "t",
                               "selector": {"matchLabels": {"app": "t"}},
                               "template": _template("t")}),
    (REPLICATIONCONTROLLERS, "v1", {"replicas": 1, "selector": {"app": "t"},
                                    "template": _template("t")}),
], ids=["ReplicaSet", "StatefulSet", "ReplicationController"])
async def test_every_built_in_scalable_kind_is_scaled_through_its_scale(
        resource: Resource, api_version: str, body: Obj) -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        plane.start("hpa-controller", HorizontalPodAutoscalerController(
            plane.ctx, settings=FAST, metrics=FakePodMetrics(plane)).run)
        await plane.api.create(resource, {"apiVersion": api_version, "kind": resource.kind,
                                          "metadata": {"name": "t"}, "spec": body},
                               namespace=NS)
        autoscaler = hpa("t", target="t", lo=2, kind=resource.kind)
        autoscaler["spec"]["scaleTargetRef"]["apiVersion"] = api_version
        await plane.api.create(HORIZONTALPODAUTOSCALERS, autoscaler, namespace=NS)

        async def raised() -> bool:
            got = await plane.api.get(resource, "t", namespace=NS, subresource="scale")
            return bool(got["spec"]["replicas"] == 2)
        await eventually(raised, plane=plane, what=f"the {resource.kind} at minReplicas")
        assert (await plane.api.get(resource, "t", namespace=NS))["spec"]["replicas"] == 2
