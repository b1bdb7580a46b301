"""HorizontalPodAutoscalers (autoscaling/v2, and v1 converted from and to it): stored and
served with kube's validation, defaults and printer columns; the HPA controller
(controllers/horizontalpodautoscaler.py) acts on them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from minikube_py.api import errors
from minikube_py.api.errors import Cause
from minikube_py.api.quantity import QuantityError, parse_quantity
from minikube_py.api.resources import HORIZONTALPODAUTOSCALERS, HORIZONTALPODAUTOSCALERS_V1
from minikube_py.api.validation import (
    int_field,
    invalid_value,
    not_supported,
    required,
)
from minikube_py.apiserver.kinds import hpa_conversion
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.storage import dumps
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

METRIC_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")
TARGET_TYPES = ("AverageValue", "Utilization", "Value")
POLICY_TYPES = ("Percent", "Pods")
SELECT_POLICIES = ("Disabled", "Max", "Min")
MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_SECONDS = 3600

HPA_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Reference", "reference to the target resource"),
    column("Targets", "the current and the target metric values"),
    column("MinPods", "the minimum number of pods the autoscaler may scale to",
           typ="string"),
    column("MaxPods", "the maximum number of pods the autoscaler may scale to",
           typ="integer"),
    column("Replicas", "the current number of replicas", typ="integer"),
    column("Age", AGE_DESC),
]


def _quantity_text(value: Any) -> str:
    return str(value) if value is not None else "<unknown>"


def _target_text(target: Obj) -> str:
    if target.get("type") == "Utilization":
        return f"{target.get('averageUtilization')}%"
    if target.get("type") == "AverageValue":
        return _quantity_text(target.get("averageValue"))
    return _quantity_text(target.get("value"))


def _current_text(current: Obj | None, target_type: str) -> str:
    if not current:
        return "<unknown>"
    if target_type == "Utilization" and current.get("averageUtilization") is not None:
        return f"{current['averageUtilization']}%"
    if target_type == "AverageValue" and current.get("averageValue") is not None:
        return str(current["averageValue"])
    value = current.get("value")
    return str(value) if value is not None else "<unknown>"


def _metric_label(metric: Obj) -> str:
    kind = metric.get("type") or ""
    source = metric.get(kind[:1].lower() + kind[1:]) or {}
    if kind in ("Resource", "ContainerResource"):
        return str(source.get("name") or "")
    return str((source.get("metric") or {}).get("name") or "")


def targets_text(hpa: Obj) -> str:
    """kubectl 1.32's TARGETS: `cpu: 50%/80%` per metric (<unknown> before any reading), at
    most three, then `+ N more...`."""
    metrics = (hpa.get("spec") or {}).get("metrics") or []
    current = (hpa.get("status") or {}).get("currentMetrics") or []
    if not metrics:
        return "<none>"
    parts = []
    for i, metric in enumerate(metrics[:3]):
        kind = metric.get("type") or ""
        key = kind[:1].lower() + kind[1:]
        source = metric.get(key) or {}
        target = source.get("target") or {}
        reading = ((current[i].get(key) or {}).get("current")
                   if i < len(current) and current[i].get("type") == kind else None)
        parts.append(f"{_metric_label(metric)}: "
                     f"{_current_text(reading, str(target.get('type') or ''))}/"
                     f"{_target_text(target)}")
    text = ", ".join(parts)
    if len(metrics) > 3:
        text += f" + {len(metrics) - 3} more..."
    return text


def hpa_row(hpa: Obj, now: float) -> Row:
    spec = hpa.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    min_replicas = spec.get("minReplicas")
    return [name(hpa), f"{ref.get('kind', '')}/{ref.get('name', '')}", targets_text(hpa),
            str(min_replicas) if min_replicas is not None else "<unset>",
            spec.get("maxReplicas", 0), (hpa.get("status") or {}).get("currentReplicas", 0),
            age(hpa, now)]


# --- defaults ---------------------------------------------------------------------------


def _default_rules(rules: Obj, *, up: bool) -> None:
    """SetDefaults_HPAScalingRules: scale up at once by 4 pods or 100% every 15 s (the
    more); scale down after a 5-minute window by up to 100% every 15 s."""
    rules.setdefault("selectPolicy", "Max")
    rules.setdefault("stabilizationWindowSeconds", 0 if up else 300)
    if "policies" not in rules:
        rules["policies"] = ([{"type": "Pods", "value": 4, "periodSeconds": 15},
                              {"type": "Percent", "value": 100, "periodSeconds": 15}] if up
                             else [{"type": "Percent", "value": 100, "periodSeconds": 15}])


def default_hpa(hpa: Obj) -> None:
    """SetDefaults_HorizontalPodAutoscaler (v2): minReplicas 1, CPU at 80% when no metric is
    given, and a given behavior completed with kube's defaults."""
    spec = hpa.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        _default_rules(behavior.setdefault("scaleUp", {}), up=True)
        _default_rules(behavior.setdefault("scaleDown", {}), up=False)


# --- validation -------------------------------------------------------------------------


def _positive_int(value: Any, field: str, *, low: int = 1, high: int | None = None,
                  message: str = "must be greater than or equal to 1") -> list[Cause]:
    if not int_field(value) or value < low or (high is not None and value > high):
        return [invalid_value(field, value, message)]
    return []


def _target_errors(target: Any, field: str, *, resource: bool) -> list[Cause]:
    if not isinstance(target, dict):
        return [required(field)]
    kind = target.get("type")
    if kind not in TARGET_TYPES:
        return [not_supported(f"{field}.type", kind, TARGET_TYPES)]
    if kind == "Utilization" and not resource:
        return [invalid_value(f"{field}.type", kind, "must be either AverageValue or Value")]
    key = {"Utilization": "averageUtilization", "AverageValue": "averageValue",
           "Value": "value"}[kind]
    if target.get(key) is None:
        return [required(f"{field}.{key}", f"must set {key} when type is {kind}")]
    if key == "averageUtilization":
        return _positive_int(target[key], f"{field}.{key}", message="must be greater than 0")
    try:
        if parse_quantity(target[key]) <= 0:
            return [invalid_value(f"{field}.{key}", target[key], "must be positive")]
    except (QuantityError, TypeError, ValueError):
        return [invalid_value(f"{field}.{key}", target[key], "must be a quantity")]
    return []


def _metric_errors(metric: Any, field: str) -> list[Cause]:
    if not isinstance(metric, dict):
        return [invalid_value(field, metric, "must be an object")]
    kind = metric.get("type")
    if kind not in METRIC_TYPES:
        return [not_supported(f"{field}.type", kind, METRIC_TYPES)]
    key = kind[:1].lower() + kind[1:]
    source = metric.get(key)
    if not isinstance(source, dict):
        return [required(f"{field}.{key}", "must populate information for the given metric "
                                           "source")]
    causes: list[Cause] = []
    others = [k[:1].lower() + k[1:] for k in METRIC_TYPES if k != kind]
    for other in others:
        if metric.get(other) is not None:
            causes.append(invalid_value(f"{field}.{other}", metric[other],
                                        "must populate the given metric source only"))
    at = f"{field}.{key}"
    if kind in ("Resource", "ContainerResource"):
        if not source.get("name"):
            causes.append(required(f"{at}.name"))
        if kind == "ContainerResource" and not source.get("container"):
            causes.append(required(f"{at}.container"))
        causes += _target_errors(source.get("target"), f"{at}.target", resource=True)
        return causes
    if not (source.get("metric") or {}).get("name"):
        causes.append(required(f"{at}.metric.name"))
    if kind == "Object":
        ref = source.get("describedObject") or {}
        if not ref.get("kind"):
            causes.append(required(f"{at}.describedObject.kind"))
        if not ref.get("name"):
            causes.append(required(f"{at}.describedObject.name"))
    causes += _target_errors(source.get("target"), f"{at}.target", resource=False)
    return causes


def _rules_errors(rules: Any, field: str) -> list[Cause]:
    if rules is None:
        return []
    if not isinstance(rules, dict):
        return [invalid_value(field, rules, "must be an object")]
    causes: list[Cause] = []
    window = rules.get("stabilizationWindowSeconds")
    if window is not None:
        causes += _positive_int(window, f"{field}.stabilizationWindowSeconds", low=0,
                                high=MAX_STABILIZATION_SECONDS,
                                message=f"must be less than or equal to "
                                        f"{MAX_STABILIZATION_SECONDS}")
    policy = rules.get("selectPolicy")
    if policy is not None and policy not in SELECT_POLICIES:
        causes.append(not_supported(f"{field}.selectPolicy", policy, SELECT_POLICIES))
    policies = rules.get("policies")
    if isinstance(policies, list) and not policies and policy != "Disabled":
        causes.append(required(f"{field}.policies", "must specify at least one Policy"))
    for i, p in enumerate(policies or []):
        at = f"{field}.policies[{i}]"
        if not isinstance(p, dict):
            causes.append(invalid_value(at, p, "must be an object"))
            continue
        if p.get("type") not in POLICY_TYPES:
            causes.append(not_supported(f"{at}.type", p.get("type"), POLICY_TYPES))
        causes += _positive_int(p.get("value"), f"{at}.value",
                                message="must be greater than zero")
        causes += _positive_int(p.get("periodSeconds"), f"{at}.periodSeconds",
                                high=MAX_PERIOD_SECONDS,
                                message=f"must be greater than zero and less than or equal "
                                        f"to {MAX_PERIOD_SECONDS}")
    return causes


def hpa_errors(hpa: Obj) -> list[Cause]:
    """ValidateHorizontalPodAutoscaler (v2)."""
    spec = hpa.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    causes: list[Cause] = []
    ref = spec.get("scaleTargetRef")
    if not isinstance(ref, dict):
        causes.append(required("spec.scaleTargetRef"))
    else:
        if not ref.get("kind"):
            causes.append(required("spec.scaleTargetRef.kind"))
        if not ref.get("name"):
            causes.append(required("spec.scaleTargetRef.name"))
    min_replicas = spec.get("minReplicas")
    if min_replicas is not None:
        causes += _positive_int(min_replicas, "spec.minReplicas",
                                message="must be greater than or equal to 1")
    max_replicas = spec.get("maxReplicas")
    if max_replicas is None:
        causes.append(required("spec.maxReplicas"))
    elif not int_field(max_replicas) or max_replicas < 1:
        causes.append(invalid_value("spec.maxReplicas", max_replicas,
                                    "must be greater than 0"))
    elif int_field(min_replicas) and max_replicas < min_replicas:
        causes.append(invalid_value("spec.maxReplicas", max_replicas,
                                    "must be greater than or equal to `minReplicas`"))
    for i, metric in enumerate(spec.get("metrics") or []):
        causes += _metric_errors(metric, f"spec.metrics[{i}]")
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        causes += _rules_errors(behavior.get("scaleUp"), "spec.behavior.scaleUp")
        causes += _rules_errors(behavior.get("scaleDown"), "spec.behavior.scaleDown")
    return causes


class HorizontalPodAutoscalerStrategy(Strategy):
    printer = Printer(HPA_COLUMNS, hpa_row)
    schema = "autoscalingv2.HorizontalPodAutoscaler"
    generation = True
    fresh_status = {"desiredReplicas": 0}

    def default(self, obj: Obj) -> None:
        default_hpa(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return hpa_errors(obj)


STRATEGY = HorizontalPodAutoscalerStrategy(HORIZONTALPODAUTOSCALERS)


class HorizontalPodAutoscalerV1Strategy(HorizontalPodAutoscalerStrategy):
    """autoscaling/v1: the v2 objects in v1's shape. A v1 body becomes v2 in `default` (so
    v2's defaults, validation and storage apply), a v1 status on status writes; what is read
    is turned back into v1 in `served_json`, and a patch applies to the v1 form."""

    schema = "autoscaling.HorizontalPodAutoscaler"

    def default(self, obj: Obj) -> None:
        if obj.get("apiVersion") != hpa_conversion.V2:  # a v1 body (the stored are v2)
            converted = _converted(hpa_conversion.to_v2, obj)
            obj.clear()
            obj.update(converted)
        super().default(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        _in_stored_order(new, old, "spec")

    def prepare_for_subresource_update(self, subresource: str, body: Obj, old: Obj) -> Obj:
        new = super().prepare_for_subresource_update(subresource, body, old)
        if subresource == "status" and body.get("status") is not None:
            annotations = dict((body.get("metadata") or {}).get("annotations") or {})
            status = body["status"] if isinstance(body["status"], dict) else {}
            new["status"] = _converted(
                lambda s: hpa_conversion.status_to_v2(s, annotations), status)
            _in_stored_order(new, old, "status")
        return new

    def served_object(self, obj: Obj) -> Obj:
        return hpa_conversion.to_v1(obj) if obj.get("apiVersion") == hpa_conversion.V2 else obj

    def served_json(self, raw: bytes) -> bytes:
        value = json.loads(raw)
        if not isinstance(value, dict):
            return raw
        line = "type" in value and "object" in value
        obj = value["object"] if line else value
        if not isinstance(obj, dict) or obj.get("kind") != self.resource.kind or \
                obj.get("apiVersion") != hpa_conversion.V2:
            return raw  # a Status
        if line:
            value["object"] = hpa_conversion.to_v1(obj)
        else:
            value = hpa_conversion.to_v1(obj)
        return dumps(value).encode() + (b"\n" if raw.endswith(b"\n") else b"")


def _in_stored_order(new: Obj, old: Obj, field: str) -> None:
    """new[field]'s keys in the stored order: a v1 write that changes nothing converts back
    to the stored bytes, so it is not written (a v1 round trip may reorder the keys)."""
    value, stored = new.get(field), old.get(field)
    if isinstance(value, dict) and isinstance(stored, dict):
        order = {k: i for i, k in enumerate(stored)}
        new[field] = dict(sorted(value.items(), key=lambda kv: order.get(kv[0], len(order))))


def _converted(convert: Callable[[Obj], Obj], obj: Obj) -> Obj:
    try:
        return convert(obj)
    except ValueError as e:
        raise errors.bad_request(str(e)) from None


STRATEGY_V1 = HorizontalPodAutoscalerV1Strategy(HORIZONTALPODAUTOSCALERS_V1)
