"""One HPA sync as data (kube's reconcileAutoscaler): the size decided, the conditions and
events with kube's reasons and messages, and the status written."""

from __future__ import annotations

from typing import Any

from minikube_py.api.timefmt import rfc3339
from minikube_py.controllers.hpa_metrics import PodMetricsRead
from minikube_py.controllers.hpa_plan import AutoscalerSettings, Plan, Planner

NOW = 1_700_000_000.0
KEY = "default/web"


def hpa(*metrics: dict[str, Any], lo: int = 1, hi: int = 5,
        status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "web"},
                     "minReplicas": lo, "maxReplicas": hi,
                     "metrics": list(metrics) or [cpu_at(50)], **spec},
            "status": status or {"desiredReplicas": 0}}


def cpu_at(percent: int) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": percent}}}


def scale(replicas: int, selector: str = "app=web") -> dict[str, Any]:
    return {"spec": {"replicas": replicas}, "status": {"replicas": replicas,
                                                      "selector": selector}}


def pod(name: str, cpu: str | None = "100m") -> dict[str, Any]:
    requests = {"cpu": cpu} if cpu else {}
    return {"metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "resources": {"requests": requests}}]},
            "status": {"phase": "Running", "startTime": rfc3339(NOW - 3600), "conditions": [
                {"type": "Ready", "status": "True",
                 "lastTransitionTime": rfc3339(NOW - 3500)}]}}


def usage(**by_pod: str) -> PodMetricsRead:
    return PodMetricsRead(items=[
        {"metadata": {"name": name, "namespace": "default"}, "timestamp": rfc3339(NOW - 5),
         "window": "10s", "containers": [{"name": "c", "usage": {"cpu": value}}]}
        for name, value in by_pod.items()])


def conditions(plan: Plan) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in plan.conditions}


def events(plan: Plan) -> list[tuple[str, str, str]]:
    return [(e.type, e.reason, e.message) for e in plan.events]


def planner(**kw: Any) -> Planner:
    return Planner(AutoscalerSettings(**kw))


def test_usage_above_target_scales_up_with_kubes_reason() -> None:
    p = planner()
    plan = p.plan(KEY, hpa(), scale(1), [pod("w-0")], usage(**{"w-0": "150m"}), NOW)
    assert (plan.rescale, plan.desired) == (True, 3)
    assert plan.reason == "cpu resource utilization (percentage of request) above target"
    assert conditions(plan) == {
        "AbleToScale": ("True", "ReadyForNewScale", "recommended size matches current size"),
        "ScalingActive": ("True", "ValidMetricFound",
                          "the HPA was able to successfully calculate a replica count from "
                          "cpu resource utilization (percentage of request)"),
        "ScalingLimited": ("False", "DesiredWithinRange",
                           "the desired count is within the acceptable range")}
    assert [c["type"] for c in plan.conditions] == ["AbleToScale", "ScalingActive",
                                                    "ScalingLimited"]
    p.finish(KEY, plan, NOW)
    assert events(plan) == [("Normal", "SuccessfulRescale", "New size: 3; reason: cpu resource "
                             "utilization (percentage of request) above target")]
    assert conditions(plan)["AbleToScale"] == (
        "True", "SucceededRescale", "the HPA controller was able to update the target scale "
                                    "to 3")
    status = p.status_of(hpa(), plan, rescaled=True, now=NOW)
    assert list(status) == ["lastScaleTime", "currentReplicas", "desiredReplicas",
                            "currentMetrics", "conditions"]
    assert status["lastScaleTime"] == rfc3339(NOW)
    assert (status["currentReplicas"], status["desiredReplicas"]) == (1, 3)
    assert status["currentMetrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": 150, "averageValue": "150m"}}}]


def test_usage_below_target_waits_for_the_downscale_stabilization_window() -> None:
    p = planner(downscale_stabilization=10)
    low = usage(**{"w-0": "1m", "w-1": "1m", "w-2": "1m"})
    three = [pod("w-0"), pod("w-1"), pod("w-2")]
    held = p.plan(KEY, hpa(lo=2), scale(3), three, low, NOW)
    assert (held.rescale, held.desired) == (False, 3)
    assert conditions(held)["AbleToScale"][1] == "ScaleDownStabilized"
    later = p.plan(KEY, hpa(lo=2), scale(3), three, low, NOW + 11)
    assert (later.rescale, later.desired, later.reason) == (True, 2, "All metrics below target")
    assert conditions(later)["ScalingLimited"][1] == "TooFewReplicas"


def test_the_kept_size_is_the_desired_size_in_the_status() -> None:
    p = planner()
    plan = p.plan(KEY, hpa(), scale(2), [pod("w-0"), pod("w-1")],
                  usage(**{"w-0": "50m", "w-1": "52m"}), NOW)
    assert (plan.rescale, plan.desired) == (False, 2)
    status = p.status_of(hpa(), plan, rescaled=False, now=NOW)
    assert "lastScaleTime" not in status and status["desiredReplicas"] == 2


def test_a_target_at_zero_replicas_is_not_scaled() -> None:
    plan = planner().plan(KEY, hpa(), scale(0), [], PodMetricsRead(), NOW)
    assert (plan.rescale, plan.desired) == (False, 0)
    assert conditions(plan)["ScalingActive"] == (
        "False", "ScalingDisabled",
        "scaling is disabled since the replica count of the target is zero")


def test_a_target_above_max_is_brought_to_max_without_reading_metrics() -> None:
    plan = planner().plan(KEY, hpa(hi=3), scale(7), [], PodMetricsRead(error="boom"), NOW)
    assert (plan.rescale, plan.desired, plan.reason) == (
        True, 3, "Current number of replicas above Spec.MaxReplicas")
    below = planner().plan(KEY, hpa(lo=2), scale(1), [], PodMetricsRead(), NOW)
    assert (below.desired, below.reason) == (2, "Current number of replicas below "
                                                "Spec.MinReplicas")


def test_a_pod_without_a_cpu_request_is_failed_get_resource_metric() -> None:
    old = {"desiredReplicas": 2, "currentMetrics": [{"type": "Resource"}]}
    p = planner()
    plan = p.plan(KEY, hpa(status=old), scale(2), [pod("w-0", cpu=None)],
                  usage(**{"w-0": "10m"}), NOW)
    message = "failed to get cpu utilization: missing request for cpu in container c of Pod w-0"
    assert conditions(plan)["ScalingActive"] == (
        "False", "FailedGetResourceMetric",
        f"the HPA was unable to compute the replica count: {message}")
    assert events(plan) == [
        ("Warning", "FailedGetResourceMetric", message),
        ("Warning", "FailedComputeMetricsReplicas",
         f"invalid metrics (1 invalid out of 1), first error is: {message}")]
    assert not plan.rescale
    status = p.status_of(hpa(status=old), plan, rescaled=False, now=NOW)
    assert (status["desiredReplicas"], status["currentMetrics"]) == (2, old["currentMetrics"])


def test_no_metrics_api_answer_is_failed_get_resource_metric() -> None:
    read = PodMetricsRead(error="unable to fetch metrics from resource metrics API: the server "
                                "could not find the requested resource")
    plan = planner().plan(KEY, hpa(), scale(1), [pod("w-0")], read, NOW)
    assert conditions(plan)["ScalingActive"][2] == (
        "the HPA was unable to compute the replica count: failed to get cpu utilization: "
        "unable to get metrics for resource cpu: unable to fetch metrics from resource "
        "metrics API: the server could not find the requested resource")


def test_a_pods_metric_is_refused_as_kube_without_a_custom_metrics_api() -> None:
    pods_metric = {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {
        "type": "AverageValue", "averageValue": "10"}}}
    plan = planner().plan(KEY, hpa(pods_metric), scale(1), [pod("w-0")], PodMetricsRead(),
                          NOW)
    assert conditions(plan)["ScalingActive"] == (
        "False", "FailedGetPodsMetric",
        "the HPA was unable to compute the replica count: unable to get metric rps: unable to "
        "fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) "
        "registered")
    assert not plan.rescale


def test_object_and_external_metrics_are_refused_with_their_reasons() -> None:
    obj = {"type": "Object", "object": {"metric": {"name": "hits"}, "describedObject": {
        "kind": "Service", "name": "web", "apiVersion": "v1"}, "target": {
        "type": "Value", "value": "10"}}}
    ext = {"type": "External", "external": {"metric": {"name": "queue"}, "target": {
        "type": "AverageValue", "averageValue": "10"}}}
    o = planner().plan(KEY, hpa(obj), scale(1), [pod("w-0")], PodMetricsRead(), NOW)
    assert conditions(o)["ScalingActive"][:2] == ("False", "FailedGetObjectMetric")
    assert "unable to get metric hits: Service on default web/unable to fetch metrics from " \
           "custom metrics API" in conditions(o)["ScalingActive"][2]
    e = planner().plan(KEY, hpa(ext), scale(1), [pod("w-0")], PodMetricsRead(), NOW)
    assert conditions(e)["ScalingActive"][:2] == ("False", "FailedGetExternalMetric")
    assert "unable to get external metric default/queue/: unable to fetch metrics from " \
           "external metrics API" in conditions(e)["ScalingActive"][2]


def test_one_failing_metric_does_not_stop_a_scale_up_by_another() -> None:
    pods_metric = {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {
        "type": "AverageValue", "averageValue": "10"}}}
    plan = planner().plan(KEY, hpa(pods_metric, cpu_at(50)), scale(1), [pod("w-0")],
                          usage(**{"w-0": "100m"}), NOW)
    assert (plan.rescale, plan.desired) == (True, 2)
    assert conditions(plan)["ScalingActive"][1] == "ValidMetricFound"
    assert plan.metrics is not None and plan.metrics[0] == {"type": ""}
    assert [e[1] for e in events(plan)] == ["FailedGetPodsMetric"]


def test_one_failing_metric_stops_a_scale_down_by_another() -> None:
    pods_metric = {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {
        "type": "AverageValue", "averageValue": "10"}}}
    plan = planner(downscale_stabilization=0).plan(
        KEY, hpa(pods_metric, cpu_at(50)), scale(3), [pod("w-0"), pod("w-1"), pod("w-2")],
        usage(**{"w-0": "1m", "w-1": "1m", "w-2": "1m"}), NOW)
    assert not plan.rescale
    assert conditions(plan)["ScalingActive"][1] == "FailedGetPodsMetric"
    assert plan.error.startswith("invalid metrics (1 invalid out of 2)")


def test_a_scale_without_a_selector_is_invalid_selector() -> None:
    plan = planner().plan(KEY, hpa(), scale(1, selector=""), [], PodMetricsRead(), NOW)
    assert conditions(plan)["ScalingActive"] == (
        "False", "InvalidSelector", "the HPA target's scale is missing a selector")
    assert events(plan) == [("Warning", "SelectorRequired", "selector is required")]


def test_a_failed_scale_write_is_failed_rescale_and_keeps_the_old_status() -> None:
    p = planner()
    plan = p.plan(KEY, hpa(), scale(1), [pod("w-0")], usage(**{"w-0": "150m"}), NOW)
    p.finish(KEY, plan, NOW, error="the object has been modified")
    assert events(plan) == [("Warning", "FailedRescale", "New size: 3; reason: cpu resource "
                             "utilization (percentage of request) above target; error: the "
                             "object has been modified")]
    assert conditions(plan)["AbleToScale"] == (
        "False", "FailedUpdateScale", "the HPA controller was unable to update the target "
                                      "scale: the object has been modified")
    status = p.status_of(hpa(), plan, rescaled=False, now=NOW)
    assert status["desiredReplicas"] == 0 and "currentMetrics" not in status


def test_a_condition_keeps_its_transition_time_while_its_status_holds() -> None:
    p = planner()
    first = p.plan(KEY, hpa(), scale(2), [pod("w-0"), pod("w-1")],
                   usage(**{"w-0": "50m", "w-1": "50m"}), NOW)
    old = p.status_of(hpa(), first, rescaled=False, now=NOW)
    second = p.plan(KEY, hpa(status=old), scale(2), [pod("w-0"), pod("w-1")],
                    usage(**{"w-0": "50m", "w-1": "50m"}), NOW + 30)
    assert [c["lastTransitionTime"] for c in second.conditions] == [rfc3339(NOW)] * 3
    assert p.status_of(hpa(status=old), second, rescaled=False, now=NOW + 30) == old


def test_a_scale_read_failure_is_failed_get_scale() -> None:
    status = planner().scale_failed(hpa(), 'deployments.apps "web" not found', NOW)
    assert status["conditions"] == [{
        "type": "AbleToScale", "status": "False", "lastTransitionTime": rfc3339(NOW),
        "reason": "FailedGetScale",
        "message": "the HPA controller was unable to get the target's current scale: "
                   "deployments.apps \"web\" not found"}]


def test_memory_utilization_and_an_average_value_target_are_read_too() -> None:
    memory = {"type": "Resource", "resource": {"name": "memory", "target": {
        "type": "Utilization", "averageUtilization": 50}}}
    busy = pod("w-0")
    busy["spec"]["containers"][0]["resources"]["requests"]["memory"] = "100Mi"
    read = PodMetricsRead(items=[{
        "metadata": {"name": "w-0", "namespace": "default"}, "timestamp": rfc3339(NOW - 5),
        "window": "10s", "containers": [{"name": "c", "usage": {"cpu": "10m",
                                                                "memory": "80Mi"}}]}])
    plan = planner().plan(KEY, hpa(memory), scale(1), [busy], read, NOW)
    assert (plan.desired, plan.reason) == (
        2, "memory resource utilization (percentage of request) above target")
    assert plan.metrics == [{"type": "Resource", "resource": {"name": "memory", "current": {
        "averageUtilization": 80, "averageValue": "83886080"}}}]
    average = {"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "AverageValue", "averageValue": "5m"}}}
    plan = planner().plan(KEY, hpa(average), scale(1), [busy], read, NOW)
    assert (plan.desired, plan.reason) == (2, "cpu resource above target")
    assert plan.metrics == [{"type": "Resource", "resource": {"name": "cpu", "current": {
        "averageValue": "10m"}}}]


def test_a_container_resource_metric_reads_that_container_alone() -> None:
    metric = {"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "app", "target": {"type": "Utilization",
                                                      "averageUtilization": 50}}}
    two = pod("w-0")
    two["spec"]["containers"] = [
        {"name": "app", "resources": {"requests": {"cpu": "100m"}}},
        {"name": "sidecar", "resources": {}}]  # no request: not counted, not an error
    read = PodMetricsRead(items=[{
        "metadata": {"name": "w-0", "namespace": "default"}, "timestamp": rfc3339(NOW - 5),
        "window": "10s", "containers": [{"name": "app", "usage": {"cpu": "100m"}},
                                        {"name": "sidecar", "usage": {"cpu": "900m"}}]}])
    plan = planner().plan(KEY, hpa(metric), scale(1), [two], read, NOW)
    assert (plan.desired, plan.reason) == (
        2, "cpu container resource utilization (percentage of request) above target")
    assert plan.metrics == [{"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "app", "current": {"averageUtilization": 100,
                                                       "averageValue": "100m"}}}]
