"""An HPA's metrics to one replica proposal (kube's computeReplicasForMetrics): each metric
of spec.metrics gives a count and a status entry, the highest count wins, and a metric that
cannot be read is a Warning event and, when all fail (or some fail and the rest would scale
down), the ScalingActive=False condition with kube's reason and message. Resource and
ContainerResource metrics are read from the resource metrics API; Pods, Object and External
metrics need a custom or external metrics API, which this cluster does not serve, so they
fail visibly as they do on a kube cluster without one. Pure: readings come in as data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from minikube_py.api.quantity import QuantityError, format_quantity, parse_quantity
from minikube_py.controllers.hpa_replicas import (
    CalculatorSettings,
    MetricError,
    plain_replicas,
    readings_from_metrics,
    resource_replicas,
)

Obj = dict[str, Any]

NO_CUSTOM_METRICS_API = ("unable to fetch metrics from custom metrics API: no custom metrics "
                         "API (custom.metrics.k8s.io) registered")


@dataclass(frozen=True)
class PodMetricsRead:
    """The resource metrics API's answer for the target's selector: its PodMetrics items, or
    kube's text for why there are none."""

    items: Sequence[Obj] = ()
    error: str = ""


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str


@dataclass(frozen=True)
class Event:
    type: str
    reason: str
    message: str


@dataclass
class MetricsOutcome:
    replicas: int = 0
    metric: str = ""
    statuses: list[Obj] = field(default_factory=list)
    condition: Condition | None = None
    events: list[Event] = field(default_factory=list)
    error: str = ""  # set: no proposal (kube returns an error from the sync)


def _milli_quantity(milli: int) -> str:
    return format_quantity(Fraction(milli, 1000))


def _target_milli(target: Obj, key: str) -> int:
    try:
        return int(parse_quantity(target[key]) * 1000)
    except (KeyError, QuantityError, TypeError, ValueError):
        return 0


class _Failure(Exception):
    def __init__(self, reason: str, condition_error: str, error: str) -> None:
        super().__init__(error)
        self.reason = reason
        self.condition_error = condition_error
        self.error = error


def _resource_metric(kind: str, source: Obj, spec_replicas: int, pods: list[Obj],
                     read: PodMetricsRead, settings: CalculatorSettings,
                     now: float) -> tuple[int, str, Obj]:
    name = str(source.get("name") or "")
    container = str(source.get("container") or "") if kind == "ContainerResource" else ""
    target = source.get("target") or {}
    reason = "FailedGetContainerResourceMetric" if container else "FailedGetResourceMetric"
    average = target.get("averageValue") is not None
    try:
        if read.error:
            raise MetricError(f"unable to get metrics for resource {name}: {read.error}")
        try:
            readings = readings_from_metrics(read.items, name, container)
        except MetricError as e:
            raise MetricError(f"unable to get metrics for resource {name}: failed to get "
                              f"container metrics: {e}") from None
        if average:
            plain = plain_replicas(spec_replicas, _target_milli(target, "averageValue"),
                                   name, pods, readings, settings, now)
            status: Obj = {"averageValue": _milli_quantity(plain.raw)}
            label = f"{name} resource"
            replicas = plain.replicas
        else:
            utilization = target.get("averageUtilization")
            if utilization is None:
                raise MetricError("invalid resource metric source: neither an average "
                                  "utilization target nor an average value (usage) target "
                                  "was set")
            proposal = resource_replicas(spec_replicas, int(utilization), name, pods,
                                         readings, settings, now, container)
            status = {"averageUtilization": proposal.utilization,
                      "averageValue": _milli_quantity(proposal.raw)}
            label = (f"{name} container resource utilization (percentage of request)"
                     if container else f"{name} resource utilization (percentage of request)")
            replicas = proposal.replicas
    except MetricError as e:
        what = "usage" if average else "utilization"
        text = (f"failed to get {name} {what}: {e}" if not container else
                f"failed to get {name} container metric value: {e}")
        raise _Failure(reason, text, text) from None
    key = "containerResource" if container else "resource"
    entry: Obj = {"name": name}
    if container:
        entry["container"] = container
    entry["current"] = status
    return replicas, label, {"type": kind, key: entry}


def _selector_text(metric: Obj) -> str:
    selector = metric.get("selector") or {}
    labels = selector.get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _custom_metric_failure(kind: str, source: Obj, namespace: str) -> _Failure:
    """What kube's HPA controller says of a Pods, Object or External metric when the API
    server serves no custom (or external) metrics API."""
    metric = source.get("metric") or {}
    name = str(metric.get("name") or "")
    target = source.get("target") or {}
    if kind == "Pods":
        inner = f"unable to get metric {name}: {NO_CUSTOM_METRICS_API}"
        return _Failure("FailedGetPodsMetric", inner,
                        f"failed to get pods metric value: {inner}")
    if kind == "Object":
        ref = source.get("describedObject") or {}
        inner = (f"unable to get metric {name}: {ref.get('kind')} on {namespace} "
                 f"{ref.get('name')}/{NO_CUSTOM_METRICS_API}")
        outer = (f"failed to get {name} object metric: {inner}"
                 if target.get("type") == "AverageValue" else inner)
        return _Failure("FailedGetObjectMetric", inner,
                        f"failed to get object metric value: {outer}")
    inner = (f"unable to get external metric {namespace}/{name}/{_selector_text(metric)}: "
             f"unable to fetch metrics from external metrics API: the server could not find "
             f"the requested resource (get {name}.external.metrics.k8s.io)")
    outer = (f"failed to get {name} external metric: {inner}"
             if target.get("type") == "AverageValue" else
             f"failed to get external metric {name}: {inner}")
    return _Failure("FailedGetExternalMetric", inner, outer)


def _one_metric(metric: Obj, namespace: str, spec_replicas: int, pods: list[Obj],
                read: PodMetricsRead, settings: CalculatorSettings,
                now: float) -> tuple[int, str, Obj]:
    kind = str(metric.get("type") or "")
    key = kind[:1].lower() + kind[1:]
    source = metric.get(key) or {}
    if kind in ("Resource", "ContainerResource"):
        return _resource_metric(kind, source, spec_replicas, pods, read, settings, now)
    if kind in ("Pods", "Object", "External"):
        raise _custom_metric_failure(kind, source, namespace)
    text = f'unknown metric source type "{kind}"'
    raise _Failure("InvalidMetricSourceType", text, text)


def compute_replicas_for_metrics(metrics: Sequence[Obj], *, namespace: str,
                                 spec_replicas: int, pods: list[Obj], read: PodMetricsRead,
                                 settings: CalculatorSettings, now: float) -> MetricsOutcome:
    """The highest proposal over `metrics`; failed metrics leave an empty status entry."""
    out = MetricsOutcome(statuses=[{"type": ""} for _ in metrics])
    invalid = 0
    first: _Failure | None = None
    for i, metric in enumerate(metrics):
        try:
            replicas, label, status = _one_metric(metric, namespace, spec_replicas, pods,
                                                  read, settings, now)
        except _Failure as failure:
            out.events.append(Event("Warning", failure.reason, failure.condition_error))
            if first is None:
                first = failure
            invalid += 1
            continue
        out.statuses[i] = status
        if out.replicas == 0 or replicas > out.replicas:
            out.replicas, out.metric = replicas, label
    if first is not None and (invalid >= len(metrics) or out.replicas < spec_replicas):
        out.condition = Condition(
            "ScalingActive", "False", first.reason,
            f"the HPA was unable to compute the replica count: {first.condition_error}")
        out.error = (f"invalid metrics ({invalid} invalid out of {len(metrics)}), first error "
                     f"is: {first.error}")
        return out
    out.condition = Condition("ScalingActive", "True", "ValidMetricFound",
                              f"the HPA was able to successfully calculate a replica count "
                              f"from {out.metric}")
    return out
