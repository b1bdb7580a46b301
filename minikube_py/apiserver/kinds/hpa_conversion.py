"""HorizontalPodAutoscaler conversion between autoscaling/v1 and the stored autoscaling/v2
(kube's pkg/apis/autoscaling/v1/conversion.go): v1's targetCPUUtilizationPercentage is a
Resource cpu Utilization metric; what v1 cannot say (other metrics, behavior, conditions,
current metrics) travels in annotations, the metrics in v1's own (v2beta1-like) shape."""

from __future__ import annotations

import json
from typing import Any

Obj = dict[str, Any]
V1 = "autoscaling/v1"
V2 = "autoscaling/v2"
METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"
CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
ROUND_TRIP_ANNOTATIONS = (METRICS_ANNOTATION, BEHAVIOR_ANNOTATION, CONDITIONS_ANNOTATION,
                          CURRENT_METRICS_ANNOTATION)

# v1's name of a v2 target's (or current reading's) value, per metric source and v2 field;
# Utilization exists for the resource sources only.
_V1_NAMES: dict[str, dict[str, str]] = {
    "resource": {"averageUtilization": "AverageUtilization", "averageValue": "AverageValue"},
    "containerResource": {"averageUtilization": "AverageUtilization",
                          "averageValue": "AverageValue"},
    "pods": {"averageValue": "AverageValue"},
    "object": {"value": "Value", "averageValue": "averageValue"},
    "external": {"value": "Value", "averageValue": "AverageValue"},
}
_TARGET_TYPES = {"averageUtilization": "Utilization", "averageValue": "AverageValue",
                 "value": "Value"}


def _v1_value_key(source: str, v2_key: str, prefix: str) -> str:
    name = _V1_NAMES[source][v2_key]
    return name if name[0].islower() else prefix + name  # object's averageValue has no prefix


def _source_key(metric: Obj) -> str:
    kind = str(metric.get("type") or "")
    return kind[:1].lower() + kind[1:]


def _convertible(metric: Obj) -> tuple[str, Obj] | None:
    """The metric's source key and source, when it has one both versions know."""
    key = _source_key(metric)
    source = metric.get(key)
    return (key, source) if key in _V1_NAMES and isinstance(source, dict) else None


def _resource_names(key: str, source: Obj) -> Obj:
    """What a resource source names alike in both versions (empty for the others)."""
    if key not in ("resource", "containerResource"):
        return {}
    out = {"name": source.get("name")}
    if key == "containerResource":
        out["container"] = source.get("container")
    return out


def _metric_to_v1(metric: Obj, *, status: bool) -> Obj:
    """A v2 MetricSpec (or MetricStatus) in v1's annotation shape."""
    found = _convertible(metric)
    if found is None:
        return dict(metric)
    key, source = found
    out = _resource_names(key, source)
    if not out:
        ident = source.get("metric") or {}
        out["metricName"] = ident.get("name")
        if ident.get("selector") is not None:
            out["metricSelector" if key == "external" else "selector"] = ident["selector"]
        if key == "object":
            out["target"] = source.get("describedObject")
    values = source.get("current" if status else "target") or {}
    prefix = "current" if status else "target"
    for v2_key in _V1_NAMES[key]:
        if values.get(v2_key) is not None:
            out[_v1_value_key(key, v2_key, prefix)] = values[v2_key]
    return {"type": metric.get("type"), key: out}


def _metric_to_v2(metric: Obj, *, status: bool) -> Obj:
    """A v1 annotation's metric back in v2's shape."""
    found = _convertible(metric)
    if found is None:
        return dict(metric)
    key, source = found
    out = _resource_names(key, source)
    if not out:
        ident: Obj = {"name": source.get("metricName")}
        selector = source.get("metricSelector" if key == "external" else "selector")
        if selector is not None:
            ident["selector"] = selector
        out["metric"] = ident
        if key == "object":
            out["describedObject"] = source.get("target")
    prefix = "current" if status else "target"
    values: Obj = {}
    for v2_key in _V1_NAMES[key]:
        v1_key = _v1_value_key(key, v2_key, prefix)
        if source.get(v1_key) is not None:
            values[v2_key] = source[v1_key]
    if not status:
        # the first value v1 states says the type (Utilization before AverageValue)
        given = next((k for k in _TARGET_TYPES if k in values), None)
        values = {"type": _TARGET_TYPES[given], given: values[given]} if given else {}
    out["current" if status else "target"] = values
    return {"type": metric.get("type"), key: out}


def _is_cpu_utilization(metric: Obj, *, status: bool) -> bool:
    resource = metric.get("resource") or {}
    values = resource.get("current" if status else "target") or {}
    return (metric.get("type") == "Resource" and resource.get("name") == "cpu" and
            values.get("averageUtilization") is not None and
            (status or values.get("type") == "Utilization"))


def _cpu_and_others(metrics: list[Obj], *, status: bool) -> tuple[Any, list[Obj]]:
    """The first cpu utilization (v1's own field) and the other metrics in v1's shape."""
    cpu: Any = None
    others = []
    for metric in metrics:
        if cpu is None and _is_cpu_utilization(metric, status=status):
            cpu = metric["resource"]["current" if status else "target"]["averageUtilization"]
        else:
            others.append(_metric_to_v1(metric, status=status))
    return cpu, others


def _annotate(annotations: Obj, key: str, value: Any) -> None:
    annotations[key] = json.dumps(value, separators=(",", ":"))


def _take(annotations: Obj, key: str) -> Any:
    raw = annotations.pop(key, None)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        raise ValueError(f"annotation {key} is not valid JSON") from None


def to_v1(hpa: Obj) -> Obj:
    """A stored v2 HorizontalPodAutoscaler as autoscaling/v1 serves it (a new object)."""
    out = {k: v for k, v in hpa.items() if k not in ("spec", "status")}
    out["apiVersion"] = V1
    meta = dict(hpa.get("metadata") or {})
    # only the round-trip annotations this conversion writes (kube drops stored ones first)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k not in ROUND_TRIP_ANNOTATIONS}
    spec = hpa.get("spec") or {}
    v1_spec = {k: v for k, v in spec.items() if k not in ("metrics", "behavior")}
    cpu, others = _cpu_and_others(spec.get("metrics") or [], status=False)
    if cpu is not None:
        v1_spec["targetCPUUtilizationPercentage"] = cpu
    if others:
        _annotate(annotations, METRICS_ANNOTATION, others)
    if spec.get("behavior") is not None:
        _annotate(annotations, BEHAVIOR_ANNOTATION, spec["behavior"])
    out["spec"] = v1_spec
    if "status" in hpa:
        out["status"] = _status_to_v1(hpa.get("status") or {}, annotations)
    out["metadata"] = _with_annotations(meta, annotations)
    return out


def _with_annotations(meta: Obj, annotations: Obj) -> Obj:
    """`meta` with these annotations (none: no annotations field, as kube leaves it)."""
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return meta


def _status_to_v1(status: Obj, annotations: Obj) -> Obj:
    out = {k: v for k, v in status.items() if k not in ("currentMetrics", "conditions")}
    # v1's replica counts have no omitempty: Go writes them, 0 included (v2 omits a 0 current)
    out.setdefault("currentReplicas", 0)
    out.setdefault("desiredReplicas", 0)
    readings = status.get("currentMetrics") or []
    cpu, _others = _cpu_and_others(readings, status=True)
    if cpu is not None:
        out["currentCPUUtilizationPercentage"] = cpu
    if readings:  # all of them, cpu's too: its reading may say more than the percentage
        _annotate(annotations, CURRENT_METRICS_ANNOTATION,
                  [_metric_to_v1(m, status=True) for m in readings])
    if status.get("conditions"):
        _annotate(annotations, CONDITIONS_ANNOTATION, status["conditions"])
    return out


def to_v2(hpa: Obj) -> Obj:
    """An autoscaling/v1 HorizontalPodAutoscaler (a body) as v2 stores it (a new object);
    ValueError when one of its annotations is not the JSON it should be."""
    out = {k: v for k, v in hpa.items() if k not in ("spec", "status")}
    out["apiVersion"] = V2
    meta = dict(hpa.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    spec = hpa.get("spec")
    if isinstance(spec, dict):
        v2_spec = {k: v for k, v in spec.items() if k != "targetCPUUtilizationPercentage"}
        metrics = [_metric_to_v2(m, status=False) for m in
                   _take(annotations, METRICS_ANNOTATION) or [] if isinstance(m, dict)]
        if spec.get("targetCPUUtilizationPercentage") is not None:
            metrics.append({"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization",
                "averageUtilization": spec["targetCPUUtilizationPercentage"]}}})
        if metrics:
            v2_spec["metrics"] = metrics
        behavior = _take(annotations, BEHAVIOR_ANNOTATION)
        if behavior is not None:
            v2_spec["behavior"] = behavior
        out["spec"] = v2_spec
    elif spec is not None:
        out["spec"] = spec  # not an object: v2 validation says so
    status = hpa.get("status")
    if isinstance(status, dict):
        out["status"] = status_to_v2(status, annotations)
    else:
        _take(annotations, CURRENT_METRICS_ANNOTATION)
        _take(annotations, CONDITIONS_ANNOTATION)
    out["metadata"] = _with_annotations(meta, annotations)
    return out


def status_to_v2(status: Obj, annotations: Obj) -> Obj:
    """A v1 status as v2's, its current metrics and conditions taken out of `annotations`."""
    out = {k: v for k, v in status.items() if k != "currentCPUUtilizationPercentage"}
    if out.get("currentReplicas") == 0:
        del out["currentReplicas"]
    # the annotation's readings, when there are some, say more than the cpu percentage
    metrics = [_metric_to_v2(m, status=True) for m in
               _take(annotations, CURRENT_METRICS_ANNOTATION) or [] if isinstance(m, dict)]
    if not metrics and status.get("currentCPUUtilizationPercentage") is not None:
        metrics.append({"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": status["currentCPUUtilizationPercentage"]}}})
    if metrics:
        out["currentMetrics"] = metrics
    conditions = _take(annotations, CONDITIONS_ANNOTATION)
    if conditions:
        out["conditions"] = conditions
    return out
