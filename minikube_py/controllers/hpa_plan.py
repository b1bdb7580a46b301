"""One HPA sync decided as data (kube's reconcileAutoscaler): from the HPA, its target's
Scale, the target's pods and their metrics, to the size to set, the reason given in the
SuccessfulRescale event, the conditions AbleToScale / ScalingActive / ScalingLimited with
kube's reasons and messages, and the status kube writes. The controller performs the
rescale and reports back with `finish`; nothing here does IO or reads a clock."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from minikube_py.api.timefmt import rfc3339
from minikube_py.controllers.hpa_metrics import (
    Condition,
    Event,
    PodMetricsRead,
    compute_replicas_for_metrics,
)
from minikube_py.controllers.hpa_replicas import CalculatorSettings
from minikube_py.controllers.hpa_scaling import (
    AutoscalerMemory,
    normalize,
    normalize_with_behavior,
    record_initial,
    store_scale_event,
)

Obj = dict[str, Any]


@dataclass(frozen=True)
class AutoscalerSettings:
    """kube-controller-manager's --horizontal-pod-autoscaler-* flags (kube's defaults)."""

    sync_period: float = 15.0
    downscale_stabilization: float = 300.0
    tolerance: float = 0.1
    cpu_initialization_period: float = 300.0
    initial_readiness_delay: float = 30.0

    def calculator(self) -> CalculatorSettings:
        return CalculatorSettings(self.tolerance, self.cpu_initialization_period,
                                  self.initial_readiness_delay)


def set_condition(conditions: list[Obj], kind: str, status: str, reason: str, message: str,
                  now: float) -> list[Obj]:
    """setConditionInList: replace the condition of `kind` in place (its transition time
    moves only when its status changes) or append it."""
    out = [dict(c) for c in conditions]
    for c in out:
        if c.get("type") == kind:
            break
    else:
        c = {"type": kind}
        out.append(c)
    if c.get("status") != status:
        c["lastTransitionTime"] = rfc3339(now)
    c["status"], c["reason"], c["message"] = status, reason, message
    # kube's field order (HorizontalPodAutoscalerCondition)
    ordered: Obj = {k: c[k] for k in ("type", "status", "lastTransitionTime", "reason", "message")
               if k in c}
    out[out.index(c)] = ordered
    return out


def build_status(old: Obj, *, current: int, desired: int, metrics: Sequence[Obj] | None,
                 conditions: list[Obj], last_scale_time: str | None) -> Obj:
    """setStatus: kube's field order; currentReplicas and currentMetrics left out when
    empty (omitempty), desiredReplicas always there."""
    status: Obj = {}
    if last_scale_time:
        status["lastScaleTime"] = last_scale_time
    if current:
        status["currentReplicas"] = current
    status["desiredReplicas"] = desired
    if metrics:
        status["currentMetrics"] = list(metrics)
    if conditions:
        status["conditions"] = conditions
    return status


@dataclass
class Plan:
    """What a sync decided. `rescale` set: write `desired` to the Scale, then `finish`."""

    namespace: str
    current: int
    desired: int
    rescale: bool
    reason: str = ""
    conditions: list[Obj] = field(default_factory=list)
    metrics: list[Obj] | None = None
    events: list[Event] = field(default_factory=list)
    error: str = ""  # the sync failed (kube returns an error); the status still gets written
    behavior: Obj | None = None


class Planner:
    """The decision, with the per-HPA memory of recommendations and rescales it needs."""

    def __init__(self, settings: AutoscalerSettings) -> None:
        self.settings = settings
        self.memory: dict[str, AutoscalerMemory] = {}

    def forget(self, key: str) -> None:
        self.memory.pop(key, None)

    def _cond(self, plan: Plan, c: Condition, now: float) -> None:
        plan.conditions = set_condition(plan.conditions, c.type, c.status, c.reason,
                                        c.message, now)

    def scale_failed(self, hpa: Obj, message: str, now: float) -> Obj:
        """The target's Scale could not be read: AbleToScale False, FailedGetScale; the
        status otherwise as it was. Returns the new status."""
        status = copy.deepcopy(hpa.get("status") or {})
        status["conditions"] = set_condition(
            status.get("conditions") or [], "AbleToScale", "False", "FailedGetScale",
            f"the HPA controller was unable to get the target's current scale: {message}", now)
        return status

    def plan(self, key: str, hpa: Obj, scale: Obj, pods: list[Obj], read: PodMetricsRead,
             now: float, *, selector_error: str = "") -> Plan:
        spec = hpa.get("spec") or {}
        old = hpa.get("status") or {}
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        given_min = spec.get("minReplicas")
        min_replicas = int(given_min) if given_min is not None else 1
        max_replicas = int(spec.get("maxReplicas") or 0)
        memory = self.memory.setdefault(key, AutoscalerMemory())
        plan = Plan(namespace=str(hpa["metadata"].get("namespace") or ""), current=current,
                    desired=0, rescale=True, behavior=spec.get("behavior"),
                    conditions=[dict(c) for c in old.get("conditions") or []])
        self._cond(plan, Condition("AbleToScale", "True", "SucceededGetScale",
                                   "the HPA controller was able to get the target's current "
                                   "scale"), now)
        record_initial(memory, current, now)
        if current == 0 and min_replicas != 0:
            plan.rescale = False
            self._cond(plan, Condition("ScalingActive", "False", "ScalingDisabled",
                                       "scaling is disabled since the replica count of the "
                                       "target is zero"), now)
        elif current > max_replicas:
            plan.reason, plan.desired = ("Current number of replicas above "
                                         "Spec.MaxReplicas"), max_replicas
        elif current < min_replicas:
            plan.reason, plan.desired = ("Current number of replicas below "
                                         "Spec.MinReplicas"), min_replicas
        else:
            if not self._from_metrics(plan, memory, spec, scale, pods, read, now,
                                      selector_error, min_replicas, max_replicas):
                return plan
        if not plan.rescale:
            plan.desired = current
        if plan.metrics is None:
            plan.metrics = []
        return plan

    def _from_metrics(self, plan: Plan, memory: AutoscalerMemory, spec: Obj, scale: Obj,
                      pods: list[Obj], read: PodMetricsRead, now: float, selector_error: str,
                      min_replicas: int, max_replicas: int) -> bool:
        """False when no proposal could be made (plan.error set, old metrics kept)."""
        current = plan.current
        selector = str((scale.get("status") or {}).get("selector") or "")
        if not selector or selector_error:
            if not selector:
                plan.events.append(Event("Warning", "SelectorRequired", "selector is required"))
                message, plan.error = ("the HPA target's scale is missing a selector",
                                       "selector is required")
            else:
                message = plan.error = ("couldn't convert selector into a corresponding "
                                        f"internal selector object: {selector_error}")
                plan.events.append(Event("Warning", "InvalidSelector", message))
            self._cond(plan, Condition("ScalingActive", "False", "InvalidSelector", message), now)
            self._keep_old(plan)
            return False
        outcome = compute_replicas_for_metrics(
            spec.get("metrics") or [], namespace=plan.namespace, spec_replicas=current,
            pods=pods, read=read, settings=self.settings.calculator(), now=now)
        plan.events += outcome.events
        if outcome.condition is not None:
            self._cond(plan, outcome.condition, now)
        if outcome.error:
            plan.events.append(Event("Warning", "FailedComputeMetricsReplicas", outcome.error))
            plan.error = outcome.error
            self._keep_old(plan)
            return False
        plan.metrics = outcome.statuses
        desired = outcome.replicas
        if desired > current:
            plan.reason = f"{outcome.metric} above target"
        if desired < current:
            plan.reason = "All metrics below target"
        behavior = spec.get("behavior")
        window = self.settings.downscale_stabilization
        if behavior is None:
            normalized = normalize(memory, current=current, desired=desired,
                                   min_replicas=min_replicas, max_replicas=max_replicas,
                                   downscale_window=window, now=now)
        else:
            normalized = normalize_with_behavior(
                memory, current=current, desired=desired, min_replicas=min_replicas,
                max_replicas=max_replicas, behavior=behavior, downscale_window=window, now=now)
        self._cond(plan, Condition("AbleToScale", "True", normalized.able_reason,
                                   normalized.able_message), now)
        self._cond(plan, Condition("ScalingLimited", "True" if normalized.limited else "False",
                                   normalized.limited_reason, normalized.limited_message), now)
        plan.desired = normalized.replicas
        plan.rescale = plan.desired != current
        return True

    def _keep_old(self, plan: Plan) -> None:
        """setCurrentReplicasInStatus: the old desired count and metrics stay."""
        plan.rescale = False
        plan.metrics = None

    def status_of(self, hpa: Obj, plan: Plan, *, rescaled: bool, now: float) -> Obj:
        old = hpa.get("status") or {}
        if plan.error and plan.metrics is None:
            return build_status(old, current=plan.current,
                                desired=int(old.get("desiredReplicas") or 0),
                                metrics=old.get("currentMetrics"), conditions=plan.conditions,
                                last_scale_time=old.get("lastScaleTime"))
        return build_status(old, current=plan.current, desired=plan.desired,
                            metrics=plan.metrics, conditions=plan.conditions,
                            last_scale_time=rfc3339(now) if rescaled
                            else old.get("lastScaleTime"))

    def finish(self, key: str, plan: Plan, now: float, *, error: str = "") -> None:
        """After the Scale write: success is AbleToScale SucceededRescale, a SuccessfulRescale
        event and a remembered rescale; failure is FailedUpdateScale and FailedRescale, and
        the status keeps the old desired count and metrics."""
        if error:
            plan.events.append(Event("Warning", "FailedRescale",
                                     f"New size: {plan.desired}; reason: {plan.reason}; "
                                     f"error: {error}"))
            self._cond(plan, Condition("AbleToScale", "False", "FailedUpdateScale",
                                       f"the HPA controller was unable to update the target "
                                       f"scale: {error}"), now)
            plan.error = f"failed to rescale: {error}"
            plan.metrics = None
            return
        self._cond(plan, Condition("AbleToScale", "True", "SucceededRescale",
                                   f"the HPA controller was able to update the target scale "
                                   f"to {plan.desired}"), now)
        plan.events.append(Event("Normal", "SuccessfulRescale",
                                 f"New size: {plan.desired}; reason: {plan.reason}"))
        store_scale_event(self.memory.setdefault(key, AutoscalerMemory()), plan.behavior,
                          plan.current, plan.desired, now)
