"""HorizontalPodAutoscaler conversion autoscaling/v2 <-> v1 (kube's conversion.go): cpu
utilization as v1's field, the rest in v1's annotations, and back without loss."""

from __future__ import annotations

import json
from typing import Any

import pytest

from minikube_py.apiserver.kinds.hpa_conversion import (
    BEHAVIOR_ANNOTATION,
    CONDITIONS_ANNOTATION,
    CURRENT_METRICS_ANNOTATION,
    METRICS_ANNOTATION,
    to_v1,
    to_v2,
)

REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
CPU = {"type": "Resource", "resource": {"name": "cpu", "target": {
    "type": "Utilization", "averageUtilization": 50}}}
MEMORY = {"type": "Resource", "resource": {"name": "memory", "target": {
    "type": "AverageValue", "averageValue": "100Mi"}}}
PODS = {"type": "Pods", "pods": {"metric": {"name": "rps", "selector": {"matchLabels": {
    "a": "b"}}}, "target": {"type": "AverageValue", "averageValue": "10"}}}
OBJECT = {"type": "Object", "object": {
    "describedObject": {"apiVersion": "v1", "kind": "Service", "name": "web"},
    "metric": {"name": "hits"}, "target": {"type": "Value", "value": "5"}}}
EXTERNAL = {"type": "External", "external": {"metric": {"name": "queue"}, "target": {
    "type": "AverageValue", "averageValue": "30"}}}
CONTAINER = {"type": "ContainerResource", "containerResource": {
    "name": "cpu", "container": "app", "target": {"type": "Utilization",
                                                  "averageUtilization": 70}}}
CONDITION = {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
             "lastTransitionTime": "2026-01-01T00:00:00Z"}


def v2(metrics: list[Any], status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 5,
                 "metrics": metrics, **spec}}
    if status is not None:
        obj["status"] = status
    return obj


def test_cpu_utilization_is_v1s_target_field() -> None:
    served = to_v1(v2([CPU]))
    assert served["apiVersion"] == "autoscaling/v1"
    assert served["spec"] == {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 5,
                              "targetCPUUtilizationPercentage": 50}
    assert "annotations" not in served["metadata"]


def test_other_metrics_and_behavior_go_in_annotations_in_v1s_shape() -> None:
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 60}}
    served = to_v1(v2([MEMORY, CPU, PODS], behavior=behavior))
    annotations = served["metadata"]["annotations"]
    assert json.loads(annotations[METRICS_ANNOTATION]) == [
        {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}},
        {"type": "Pods", "pods": {"metricName": "rps", "selector": {"matchLabels": {"a": "b"}},
                                  "targetAverageValue": "10"}}]
    assert json.loads(annotations[BEHAVIOR_ANNOTATION]) == behavior
    assert served["spec"]["targetCPUUtilizationPercentage"] == 50


def test_status_cpu_reading_conditions_and_other_readings() -> None:
    status = {"currentReplicas": 2, "desiredReplicas": 3, "observedGeneration": 1,
              "conditions": [CONDITION],
              "currentMetrics": [
                  {"type": "Resource", "resource": {"name": "cpu", "current": {
                      "averageUtilization": 40, "averageValue": "200m"}}},
                  {"type": "Pods", "pods": {"metric": {"name": "rps"}, "current": {
                      "averageValue": "7"}}}]}
    served = to_v1(v2([CPU], status))
    assert served["status"] == {"currentReplicas": 2, "desiredReplicas": 3,
                                "observedGeneration": 1, "currentCPUUtilizationPercentage": 40}
    annotations = served["metadata"]["annotations"]
    assert json.loads(annotations[CONDITIONS_ANNOTATION]) == [CONDITION]
    assert json.loads(annotations[CURRENT_METRICS_ANNOTATION]) == [
        {"type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 40,
                                          "currentAverageValue": "200m"}},
        {"type": "Pods", "pods": {"metricName": "rps", "currentAverageValue": "7"}}]
    assert to_v2(served)["status"] == status


@pytest.mark.parametrize("metrics", [
    [CPU], [MEMORY], [MEMORY, CPU], [PODS, OBJECT, EXTERNAL, CONTAINER, CPU], [],
])
def test_v2_round_trips_through_v1(metrics: list[Any]) -> None:
    status = {"currentReplicas": 1, "desiredReplicas": 1, "conditions": [CONDITION],
              "currentMetrics": [{"type": "External", "external": {
                  "metric": {"name": "queue"}, "current": {"value": "3"}}}]}
    original = v2(metrics, status, behavior={"scaleUp": {"selectPolicy": "Max"}})
    if not metrics:
        del original["spec"]["metrics"]
    assert to_v2(to_v1(original)) == original


def test_v1_round_trips_through_v2_with_its_annotations() -> None:
    v1 = to_v1(v2([MEMORY, CPU], {"currentReplicas": 1, "desiredReplicas": 1,
                                  "currentMetrics": [{"type": "Resource", "resource": {
                                      "name": "cpu", "current": {"averageUtilization": 9}}}]}))
    v1["metadata"]["annotations"]["team"] = "a"
    assert to_v1(to_v2(v1)) == v1
    assert to_v2(v1)["metadata"]["annotations"] == {"team": "a"}


def test_a_v1_body_without_cpu_target_has_no_metric_for_v2_to_default() -> None:
    body = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"}, "spec": {"scaleTargetRef": REF, "maxReplicas": 3}}
    assert to_v2(body)["spec"] == {"scaleTargetRef": REF, "maxReplicas": 3}


def test_round_trip_annotations_stored_in_v2_are_not_served() -> None:
    stored = v2([CPU])
    stored["metadata"]["annotations"] = {METRICS_ANNOTATION: "[]", "team": "a"}
    assert to_v1(stored)["metadata"]["annotations"] == {"team": "a"}


def test_a_bad_annotation_is_an_error() -> None:
    body = {"apiVersion": "autoscaling/v1", "metadata": {"annotations": {
        METRICS_ANNOTATION: "{"}}, "spec": {"maxReplicas": 3}}
    with pytest.raises(ValueError, match=METRICS_ANNOTATION):
        to_v2(body)
