"""How many replicas a metric asks for (kube's podautoscaler/replica_calculator.go): pure
arithmetic over the pods and their resource metrics readings, with kube's tolerance, its
handling of pods without readings (missing), not yet ready or just started (unready: CPU
only, by the CPU initialization period and the initial readiness delay), and terminating or
failed pods (ignored). No IO and no clock: `now` is passed in."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from minikube_py.api.goduration import DurationError, parse_go_duration
from minikube_py.api.podutil import condition, parse_time
from minikube_py.api.quantity import QuantityError, parse_quantity

Obj = dict[str, Any]


class MetricError(Exception):
    """A metric that cannot give a replica count; the text is kube's error text."""


@dataclass(frozen=True)
class PodReading:
    """One pod's usage of a resource (milli-units), and when and over what window."""

    value: int
    timestamp: float = 0.0
    window: float = 0.0


@dataclass(frozen=True)
class CalculatorSettings:
    """kube-controller-manager's --horizontal-pod-autoscaler-* knobs the calculator reads."""

    tolerance: float = 0.1
    cpu_initialization_period: float = 300.0
    initial_readiness_delay: float = 30.0


@dataclass(frozen=True)
class Proposal:
    replicas: int
    utilization: int | None  # percent of the requests (Utilization targets)
    raw: int  # average usage per pod, milli-units


def _milli(value: Any) -> int:
    return math.ceil(parse_quantity(value) * 1000)


def readings_from_metrics(items: Iterable[Obj], resource: str,
                          container: str = "") -> dict[str, PodReading]:
    """PodMetrics items -> pod name -> reading (getPodMetrics / getContainerMetrics): a pod
    is the sum of its containers, and has no reading when one container lacks the
    resource or it has no containers; with `container`, only that container counts, and
    a missing resource on it is an error."""
    out: dict[str, PodReading] = {}
    for item in items:
        meta = item.get("metadata") or {}
        name = str(meta.get("name") or "")
        stamp = parse_time(item.get("timestamp")) or 0.0
        try:
            window = parse_go_duration(str(item.get("window") or "0"))
        except DurationError:
            window = 0.0
        containers = item.get("containers") or []
        if container:
            for c in containers:
                if c.get("name") != container:
                    continue
                usage = (c.get("usage") or {}).get(resource)
                if usage is None:
                    raise MetricError(f"missing resource metric {resource} for container "
                                      f"{container} in pod {meta.get('namespace')}/{name}")
                out[name] = PodReading(_milli(usage), stamp, window)
                break
            continue
        total = 0
        missing = not containers
        for c in containers:
            usage = (c.get("usage") or {}).get(resource)
            if usage is None:
                missing = True
                break
            total += _milli(usage)
        if not missing:
            out[name] = PodReading(total, stamp, window)
    return out


@dataclass(frozen=True)
class PodGroups:
    ready: int
    unready: frozenset[str]
    missing: frozenset[str]
    ignored: frozenset[str]


def _pod_name(pod: Obj) -> str:
    return str((pod.get("metadata") or {}).get("name") or "")


def group_pods(pods: Iterable[Obj], readings: Mapping[str, PodReading], resource: str,
               settings: CalculatorSettings, now: float) -> PodGroups:
    """groupPods: terminating and failed pods are ignored; pending pods are unready; pods
    without a reading are missing; for CPU, a pod is unready when it has no Ready condition
    or start time, or, within the CPU initialization period after its start, when it is not
    Ready or its reading covers a time before it became Ready, or, later, when it is not
    Ready and has never been (its Ready condition last changed within the initial readiness
    delay after start)."""
    ready = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    for pod in pods:
        name = _pod_name(pod)
        status = pod.get("status") or {}
        phase = status.get("phase")
        if (pod.get("metadata") or {}).get("deletionTimestamp") or phase == "Failed":
            ignored.add(name)
            continue
        if phase == "Pending":
            unready.add(name)
            continue
        reading = readings.get(name)
        if reading is None:
            missing.add(name)
            continue
        if resource == "cpu" and _cpu_unready(pod, reading, settings, now):
            unready.add(name)
            continue
        ready += 1
    return PodGroups(ready, frozenset(unready), frozenset(missing), frozenset(ignored))


def _cpu_unready(pod: Obj, reading: PodReading, settings: CalculatorSettings,
                 now: float) -> bool:
    status = pod.get("status") or {}
    ready = condition(pod, "Ready")
    start = parse_time(status.get("startTime"))
    if ready is None or start is None:
        return True
    transition = parse_time(ready.get("lastTransitionTime")) or 0.0
    not_ready = ready.get("status") == "False"
    if start + settings.cpu_initialization_period > now:
        return not_ready or reading.timestamp < transition + reading.window
    return not_ready and start + settings.initial_readiness_delay > transition


def pod_requests(pods: Iterable[Obj], resource: str, container: str = "") -> dict[str, int]:
    """calculatePodRequests: each pod's request (milli-units) of `resource` summed over its
    containers and restartable (sidecar) init containers, or of `container` alone; a
    container without the request is kube's "missing request" error."""
    out: dict[str, int] = {}
    for pod in pods:
        spec = pod.get("spec") or {}
        containers = list(spec.get("containers") or [])
        containers += [c for c in spec.get("initContainers") or []
                       if c.get("restartPolicy") == "Always"]
        total = 0
        for c in containers:
            if container and c.get("name") != container:
                continue
            request = ((c.get("resources") or {}).get("requests") or {}).get(resource)
            if request is None:
                raise MetricError(f"missing request for {resource} in container "
                                  f"{c.get('name')} of Pod {_pod_name(pod)}")
            try:
                total += _milli(request)
            except (QuantityError, TypeError, ValueError):
                raise MetricError(f"missing request for {resource} in container "
                                  f"{c.get('name')} of Pod {_pod_name(pod)}") from None
        out[_pod_name(pod)] = total
    return out


def utilization_ratio(readings: Mapping[str, PodReading], requests: Mapping[str, int],
                      target: int) -> tuple[float, int, int]:
    """GetResourceUtilizationRatio: (usage / target ratio, utilization percent, average
    usage) over the pods that have both a reading and a request; integer percent as kube
    truncates it."""
    used = requested = entries = 0
    for name, reading in readings.items():
        if name not in requests:
            continue
        used += reading.value
        requested += requests[name]
        entries += 1
    if requested == 0:
        raise MetricError("no metrics returned matched known pods")
    utilization = used * 100 // requested  # readings are never negative: Go's truncation
    return utilization / target, utilization, used // entries


def usage_ratio(readings: Mapping[str, PodReading], target: int) -> tuple[float, int]:
    """GetMetricUsageRatio: (average usage / target, average usage)."""
    average = sum(r.value for r in readings.values()) // len(readings)
    return average / target, average


def _counted(pods: list[Obj], readings: Mapping[str, PodReading], resource: str,
             settings: CalculatorSettings, now: float
             ) -> tuple[dict[str, PodReading], PodGroups]:
    """The first pass both calculators share: the pods' groups, and the readings that count
    (those of ignored and unready pods left out)."""
    if not pods:
        raise MetricError("no pods returned by selector while calculating replica count")
    groups = group_pods(pods, readings, resource, settings, now)
    counted = {name: r for name, r in readings.items()
               if name not in groups.ignored and name not in groups.unready}
    if not counted:
        raise MetricError("did not receive metrics for targeted pods (pods might be unready)")
    return counted, groups


def _decide(current: int, ratio: float, new_ratio: float, counted: int,
            tolerance: float) -> int:
    """The second pass, after missing and unready pods got their assumed readings: keep
    the count when within tolerance, or when the assumptions flip the direction."""
    if abs(1.0 - new_ratio) <= tolerance or (ratio < 1.0 < new_ratio) or \
            (ratio > 1.0 > new_ratio):
        return current
    replicas = math.ceil(new_ratio * counted)
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas


def resource_replicas(current: int, target_utilization: int, resource: str,
                      pods: list[Obj], readings: dict[str, PodReading],
                      settings: CalculatorSettings, now: float,
                      container: str = "") -> Proposal:
    """GetResourceReplicas: replicas for a Utilization target (percent of the requests).
    Missing pods count as using 100% (or the target, if higher) on a scale-down and 0% on
    a scale-up; unready pods count as 0% on a scale-up and are left out otherwise."""
    readings, groups = _counted(pods, readings, resource, settings, now)
    requests = pod_requests(pods, resource, container)
    ratio, utilization, raw = utilization_ratio(readings, requests, target_utilization)
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if abs(1.0 - ratio) <= settings.tolerance:
            return Proposal(current, utilization, raw)
        return Proposal(math.ceil(ratio * groups.ready), utilization, raw)
    if groups.missing:
        if ratio < 1.0:
            fallback = max(100, target_utilization)
            for name in groups.missing:
                readings[name] = PodReading(requests.get(name, 0) * fallback // 100)
        elif ratio > 1.0:
            for name in groups.missing:
                readings[name] = PodReading(0)
    if scale_up_with_unready:
        for name in groups.unready:
            readings[name] = PodReading(0)
    new_ratio, _, _ = utilization_ratio(readings, requests, target_utilization)
    return Proposal(_decide(current, ratio, new_ratio, len(readings), settings.tolerance),
                    utilization, raw)


def plain_replicas(current: int, target_usage: int, resource: str, pods: list[Obj],
                   readings: dict[str, PodReading], settings: CalculatorSettings,
                   now: float) -> Proposal:
    """calcPlainMetricReplicas (an AverageValue target): as for utilization, but missing
    pods count as using exactly the target on a scale-down."""
    readings, groups = _counted(pods, readings, resource, settings, now)
    ratio, usage = usage_ratio(readings, target_usage)
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if abs(1.0 - ratio) <= settings.tolerance:
            return Proposal(current, None, usage)
        return Proposal(math.ceil(ratio * groups.ready), None, usage)
    if groups.missing:
        for name in groups.missing:
            readings[name] = PodReading(target_usage if ratio < 1.0 else 0)
    if scale_up_with_unready:
        for name in groups.unready:
            readings[name] = PodReading(0)
    new_ratio, _ = usage_ratio(readings, target_usage)
    return Proposal(_decide(current, ratio, new_ratio, len(readings), settings.tolerance),
                    None, usage)
