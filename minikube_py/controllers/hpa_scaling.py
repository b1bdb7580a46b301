"""From the replicas the metrics ask for to the replicas an HPA sets (kube's
normalizeDesiredReplicas and normalizeDesiredReplicasWithBehaviors in horizontal.go): the
stabilization windows over recent recommendations, the scale-up and scale-down policies
over the changes made in their periods (selectPolicy Max, Min or Disabled), and minReplicas
and maxReplicas. Without spec.behavior kube's older rules apply: a scale-down waits for the
controller's downscale stabilization window and a scale-up is at most double (at least 4).
Pure: the memory of recommendations and changes is data here, and `now` is passed in."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)


@dataclass
class Recommendation:
    replicas: int
    timestamp: float


@dataclass
class ScaleEvent:
    change: int
    timestamp: float
    outdated: bool = False


@dataclass
class AutoscalerMemory:
    """What the controller remembers of one HPA between syncs (lost on restart, as kube's)."""

    recommendations: list[Recommendation] = field(default_factory=list)
    scale_up_events: list[ScaleEvent] = field(default_factory=list)
    scale_down_events: list[ScaleEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Normalized:
    """The replicas to set, and the AbleToScale and ScalingLimited conditions that say why."""

    replicas: int
    able_reason: str
    able_message: str
    limited: bool
    limited_reason: str
    limited_message: str


READY = ("ReadyForNewScale", "recommended size matches current size")
DOWN_STABILIZED = ("ScaleDownStabilized", "recent recommendations were higher than current "
                   "one, applying the highest recent recommendation")
UP_STABILIZED = ("ScaleUpStabilized", "recent recommendations were lower than current one, "
                 "applying the lowest recent recommendation")
WITHIN_RANGE = ("DesiredWithinRange", "the desired count is within the acceptable range")
UP_LIMIT = ("ScaleUpLimit", "the desired replica count is increasing faster than the maximum "
            "scale rate")
DOWN_LIMIT = ("ScaleDownLimit", "the desired replica count is decreasing faster than the "
              "maximum scale rate")
TOO_MANY = ("TooManyReplicas", "the desired replica count is more than the maximum replica "
            "count")
TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica count")


def record_initial(memory: AutoscalerMemory, current: int, now: float) -> None:
    """recordInitialRecommendation: the first sync remembers the current size, so a new HPA
    does not scale down before its window has passed."""
    if not memory.recommendations:
        memory.recommendations.append(Recommendation(current, now))


def _remember(memory: AutoscalerMemory, desired: int, now: float, old_index: int | None) -> None:
    if old_index is not None:
        memory.recommendations[old_index] = Recommendation(desired, now)
    else:
        memory.recommendations.append(Recommendation(desired, now))


def stabilize(memory: AutoscalerMemory, desired: int, window: float, now: float) -> int:
    """stabilizeRecommendation (no behavior): the highest recommendation within the
    downscale window; the newest replaces one that has aged out of it."""
    highest = desired
    old_index = None
    for i, rec in enumerate(memory.recommendations):
        if rec.timestamp < now - window:
            old_index = i
        elif rec.replicas > highest:
            highest = rec.replicas
    _remember(memory, desired, now, old_index)
    return highest


def scale_up_limit(current: int) -> int:
    return int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))


def limit_by_rules(current: int, desired: int, min_replicas: int,
                   max_replicas: int) -> tuple[int, tuple[str, str]]:
    """convertDesiredReplicasWithRules: min and max, and at most double (at least 4)."""
    up_limit = scale_up_limit(current)
    if max_replicas > up_limit:
        highest, reason = up_limit, UP_LIMIT
    else:
        highest, reason = max_replicas, TOO_MANY
    if desired < min_replicas:
        return min_replicas, TOO_FEW
    if desired > highest:
        return highest, reason
    return desired, WITHIN_RANGE


def normalize(memory: AutoscalerMemory, *, current: int, desired: int, min_replicas: int,
              max_replicas: int, downscale_window: float, now: float) -> Normalized:
    """normalizeDesiredReplicas: an HPA without spec.behavior."""
    stabilized = stabilize(memory, desired, downscale_window, now)
    able = READY if stabilized == desired else DOWN_STABILIZED
    replicas, limited = limit_by_rules(current, stabilized, min_replicas, max_replicas)
    return Normalized(replicas, *able, replicas != stabilized, *limited)


# --- with spec.behavior -----------------------------------------------------------------


def _window(rules: Obj) -> int:
    return int(rules.get("stabilizationWindowSeconds") or 0)


def stabilize_with_behavior(memory: AutoscalerMemory, desired: int, current: int,
                            up: Obj, down: Obj, now: float) -> tuple[int, tuple[str, str]]:
    """stabilizeRecommendationWithBehaviors: going up, the lowest recommendation within the
    scale-up window; going down, the highest within the scale-down window. The newest
    replaces one older than both windows."""
    if desired >= current:
        window, pick, reason = _window(up), min, UP_STABILIZED
    else:
        window, pick, reason = _window(down), max, DOWN_STABILIZED
    obsolete = now - max(_window(up), _window(down))
    cutoff = now - window
    recommendation = desired
    old_index = None
    for i, rec in enumerate(memory.recommendations):
        if rec.timestamp > cutoff:
            recommendation = pick(rec.replicas, recommendation)
        if rec.timestamp < obsolete:
            old_index = i
    _remember(memory, desired, now, old_index)
    return recommendation, reason


def _changed_in_period(period: int, events: list[ScaleEvent], now: float) -> int:
    return sum(e.change for e in events if e.timestamp > now - period)


def scale_up_limit_with_rules(current: int, events: list[ScaleEvent], rules: Obj,
                              now: float) -> int:
    """calculateScaleUpLimitWithScalingRules: the highest size the policies allow now,
    each counted from the size at the start of its period."""
    policy = rules.get("selectPolicy") or "Max"
    if policy == "Disabled":
        return current
    pick = min if policy == "Min" else max
    result = INT32_MAX if policy == "Min" else INT32_MIN
    for p in rules.get("policies") or []:
        start = current - _changed_in_period(int(p.get("periodSeconds") or 0), events, now)
        value = int(p.get("value") or 0)
        proposed = start + value if p.get("type") == "Pods" else \
            math.ceil(start * (1 + value / 100))
        result = pick(result, proposed)
    return result


def scale_down_limit_with_rules(current: int, events: list[ScaleEvent], rules: Obj,
                                now: float) -> int:
    """calculateScaleDownLimitWithBehaviors: the lowest size the policies allow now."""
    policy = rules.get("selectPolicy") or "Max"
    if policy == "Disabled":
        return current
    pick = max if policy == "Min" else min
    result = INT32_MIN if policy == "Min" else INT32_MAX
    for p in rules.get("policies") or []:
        start = current + _changed_in_period(int(p.get("periodSeconds") or 0), events, now)
        value = int(p.get("value") or 0)
        proposed = start - value if p.get("type") == "Pods" else \
            int(start * (1 - value / 100))
        result = pick(result, proposed)
    return result


def limit_by_behavior(memory: AutoscalerMemory, *, current: int, desired: int,
                      min_replicas: int, max_replicas: int, up: Obj, down: Obj,
                      now: float) -> tuple[int, tuple[str, str]]:
    """convertDesiredReplicasWithBehaviorRate."""
    if desired > current:
        limit = max(scale_up_limit_with_rules(current, memory.scale_up_events, up, now),
                    current)
        if max_replicas > limit:
            highest, reason = limit, UP_LIMIT
        else:
            highest, reason = max_replicas, TOO_MANY
        if desired > highest:
            return highest, reason
    elif desired < current:
        limit = min(scale_down_limit_with_rules(current, memory.scale_down_events, down, now),
                    current)
        if min_replicas < limit:
            lowest, reason = limit, DOWN_LIMIT
        else:
            lowest, reason = min_replicas, TOO_FEW
        if desired < lowest:
            return lowest, reason
    return desired, WITHIN_RANGE


def behavior_rules(behavior: Obj, downscale_window: float) -> tuple[Obj, Obj]:
    """The scale-up and scale-down rules of a (defaulted) behavior; a scale-down without a
    window takes the controller's (maybeInitScaleDownStabilizationWindow)."""
    up = dict(behavior.get("scaleUp") or {})
    down = dict(behavior.get("scaleDown") or {})
    if down.get("stabilizationWindowSeconds") is None:
        down["stabilizationWindowSeconds"] = int(downscale_window)
    up.setdefault("stabilizationWindowSeconds", 0)
    return up, down


def normalize_with_behavior(memory: AutoscalerMemory, *, current: int, desired: int,
                            min_replicas: int, max_replicas: int, behavior: Obj,
                            downscale_window: float, now: float) -> Normalized:
    """normalizeDesiredReplicasWithBehaviors: stabilize, then limit by the policies' rate."""
    up, down = behavior_rules(behavior, downscale_window)
    stabilized, reason = stabilize_with_behavior(memory, desired, current, up, down, now)
    able = reason if stabilized != desired else READY
    replicas, limited = limit_by_behavior(memory, current=current, desired=stabilized,
                                          min_replicas=min_replicas,
                                          max_replicas=max_replicas, up=up, down=down, now=now)
    return Normalized(replicas, *able, replicas != stabilized, *limited)


def _longest_period(rules: Obj) -> int:
    return max((int(p.get("periodSeconds") or 0) for p in rules.get("policies") or []),
               default=0)


def store_scale_event(memory: AutoscalerMemory, behavior: Obj | None, previous: int,
                      new: int, now: float) -> None:
    """storeScaleEvent: a rescale is remembered (only with a behavior, whose policies count
    it), reusing the slot of one older than the longest policy period."""
    if behavior is None:
        return
    up = new > previous
    rules = (behavior.get("scaleUp") if up else behavior.get("scaleDown")) or {}
    events = memory.scale_up_events if up else memory.scale_down_events
    longest = _longest_period(rules)
    for e in events:
        if e.timestamp < now - longest:
            e.outdated = True
    event = ScaleEvent(abs(new - previous), now)
    for i in range(len(events) - 1, -1, -1):
        if events[i].outdated:
            events[i] = event
            return
    events.append(event)
