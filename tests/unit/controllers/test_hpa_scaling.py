"""From proposal to size (kube's normalizeDesiredReplicas[WithBehaviors]): stabilization
windows, the policies' rates per period, selectPolicy, and the min/max limits."""

from __future__ import annotations

from typing import Any

from minikube_py.apiserver.kinds.horizontalpodautoscalers import default_hpa
from minikube_py.controllers.hpa_scaling import (
    AutoscalerMemory,
    Normalized,
    normalize,
    normalize_with_behavior,
    record_initial,
    store_scale_event,
)

T0 = 1_000_000.0


def defaulted_behavior(**behavior: Any) -> dict[str, Any]:
    """A behavior as the API server stores it: completed with kube's defaults."""
    hpa: dict[str, Any] = {"spec": {"maxReplicas": 100, "behavior": behavior}}
    default_hpa(hpa)
    return dict(hpa["spec"]["behavior"])


def plain(memory: AutoscalerMemory, current: int, desired: int, now: float, *,
          lo: int = 1, hi: int = 100, window: float = 300.0) -> Normalized:
    return normalize(memory, current=current, desired=desired, min_replicas=lo,
                     max_replicas=hi, downscale_window=window, now=now)


def with_behavior(memory: AutoscalerMemory, behavior: dict[str, Any], current: int,
                  desired: int, now: float, *, lo: int = 1, hi: int = 100,
                  window: float = 300.0) -> Normalized:
    """One sync: normalize, and remember the rescale as the controller does."""
    got = normalize_with_behavior(memory, current=current, desired=desired, min_replicas=lo,
                                  max_replicas=hi, behavior=behavior,
                                  downscale_window=window, now=now)
    if got.replicas != current:
        store_scale_event(memory, behavior, current, got.replicas, now)
    return got


# --- without spec.behavior -----------------------------------------------------------------


def test_a_scale_down_waits_for_the_downscale_window() -> None:
    memory = AutoscalerMemory()
    record_initial(memory, 5, T0)
    held = plain(memory, 5, 2, T0 + 10, window=60)
    assert (held.replicas, held.able_reason) == (5, "ScaleDownStabilized")
    assert held.able_message == ("recent recommendations were higher than current one, "
                                 "applying the highest recent recommendation")
    assert plain(memory, 5, 2, T0 + 30, window=60).replicas == 5
    done = plain(memory, 5, 2, T0 + 61, window=60)
    assert (done.replicas, done.able_reason) == (2, "ReadyForNewScale")


def test_the_highest_recommendation_in_the_window_wins() -> None:
    memory = AutoscalerMemory()
    record_initial(memory, 3, T0)
    assert plain(memory, 3, 6, T0 + 1, window=60).replicas == 6
    assert plain(memory, 6, 3, T0 + 20, window=60).replicas == 6
    assert plain(memory, 6, 4, T0 + 70, window=60).replicas == 4  # the 6 has aged out


def test_a_scale_up_is_at_most_double_and_at_least_four() -> None:
    memory = AutoscalerMemory()
    got = plain(memory, 1, 10, T0)
    assert (got.replicas, got.limited, got.limited_reason) == (4, True, "ScaleUpLimit")
    assert got.limited_message == ("the desired replica count is increasing faster than the "
                                   "maximum scale rate")
    assert plain(AutoscalerMemory(), 5, 30, T0).replicas == 10


def test_max_and_min_replicas_bound_the_size() -> None:
    high = plain(AutoscalerMemory(), 3, 5, T0, hi=4)
    assert (high.replicas, high.limited_reason) == (4, "TooManyReplicas")
    low = plain(AutoscalerMemory(), 3, 1, T0, lo=2, window=0)
    assert (low.replicas, low.limited_reason) == (2, "TooFewReplicas")
    assert low.limited_message == ("the desired replica count is less than the minimum "
                                   "replica count")
    ok = plain(AutoscalerMemory(), 3, 4, T0)
    assert (ok.replicas, ok.limited, ok.limited_reason, ok.limited_message) == (
        4, False, "DesiredWithinRange", "the desired count is within the acceptable range")


# --- with spec.behavior --------------------------------------------------------------------


def test_kubes_default_scale_up_adds_the_more_of_4_pods_and_100_percent_per_15s() -> None:
    behavior = defaulted_behavior()
    memory = AutoscalerMemory()
    assert with_behavior(memory, behavior, 2, 20, T0).replicas == 6  # 2 + 4 > 2 * 2
    again = with_behavior(memory, behavior, 6, 20, T0 + 5)
    assert (again.replicas, again.limited_reason) == (6, "ScaleUpLimit")  # period from 2
    assert with_behavior(memory, behavior, 6, 20, T0 + 16).replicas == 12  # 100% of 6


def test_kubes_default_scale_down_waits_300s_then_drops_to_the_proposal() -> None:
    behavior = defaulted_behavior()
    memory = AutoscalerMemory()
    record_initial(memory, 8, T0)
    held = with_behavior(memory, behavior, 8, 1, T0 + 100)
    assert (held.replicas, held.able_reason) == (8, "ScaleDownStabilized")
    assert with_behavior(memory, behavior, 8, 1, T0 + 301).replicas == 1


def test_select_policy_min_takes_the_smaller_change() -> None:
    behavior = defaulted_behavior(scaleUp={"selectPolicy": "Min"})
    assert with_behavior(AutoscalerMemory(), behavior, 2, 20, T0).replicas == 4  # 100% of 2
    down = defaulted_behavior(scaleDown={
        "selectPolicy": "Min", "stabilizationWindowSeconds": 0,
        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 15},
                     {"type": "Percent", "value": 50, "periodSeconds": 15}]})
    assert with_behavior(AutoscalerMemory(), down, 10, 1, T0).replicas == 9  # 1 pod < 50%
    down["scaleDown"]["selectPolicy"] = "Max"
    assert with_behavior(AutoscalerMemory(), down, 10, 1, T0).replicas == 5


def test_select_policy_disabled_does_not_scale_that_way() -> None:
    behavior = defaulted_behavior(scaleDown={"selectPolicy": "Disabled",
                                             "stabilizationWindowSeconds": 0})
    got = with_behavior(AutoscalerMemory(), behavior, 5, 1, T0)
    assert (got.replicas, got.limited_reason) == (5, "ScaleDownLimit")
    assert got.limited_message == ("the desired replica count is decreasing faster than the "
                                   "maximum scale rate")
    assert with_behavior(AutoscalerMemory(), behavior, 5, 9, T0).replicas == 9


def test_a_pods_policy_counts_the_changes_made_in_its_period() -> None:
    behavior = defaulted_behavior(scaleDown={
        "stabilizationWindowSeconds": 0,
        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]})
    memory = AutoscalerMemory()
    assert with_behavior(memory, behavior, 5, 1, T0).replicas == 4
    assert with_behavior(memory, behavior, 4, 1, T0 + 30).replicas == 4  # 1 already removed
    assert with_behavior(memory, behavior, 4, 1, T0 + 61).replicas == 3


def test_a_percent_policy_rounds_a_scale_down_towards_fewer_removed() -> None:
    behavior = defaulted_behavior(scaleDown={
        "stabilizationWindowSeconds": 0,
        "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]})
    assert with_behavior(AutoscalerMemory(), behavior, 5, 1, T0).replicas == 2  # int(2.5)


def test_a_scale_up_window_takes_the_lowest_recent_recommendation() -> None:
    behavior = defaulted_behavior(scaleUp={"stabilizationWindowSeconds": 60})
    memory = AutoscalerMemory()
    record_initial(memory, 2, T0)
    held = with_behavior(memory, behavior, 2, 8, T0 + 10)
    assert (held.replicas, held.able_reason) == (2, "ScaleUpStabilized")
    assert held.able_message == ("recent recommendations were lower than current one, "
                                 "applying the lowest recent recommendation")
    assert with_behavior(memory, behavior, 2, 8, T0 + 61).replicas == 6  # 2 + 4 per 15 s


def test_a_scale_down_without_a_window_takes_the_controllers() -> None:
    behavior = {"scaleUp": defaulted_behavior()["scaleUp"],
                "scaleDown": {"selectPolicy": "Max", "policies": [
                    {"type": "Percent", "value": 100, "periodSeconds": 15}]}}
    memory = AutoscalerMemory()
    record_initial(memory, 4, T0)
    assert with_behavior(memory, behavior, 4, 1, T0 + 5, window=10).replicas == 4
    assert with_behavior(memory, behavior, 4, 1, T0 + 11, window=10).replicas == 1


def test_max_replicas_bounds_a_scale_up_with_behavior() -> None:
    got = with_behavior(AutoscalerMemory(), defaulted_behavior(), 2, 20, T0, hi=3)
    assert (got.replicas, got.limited, got.limited_reason) == (3, True, "TooManyReplicas")


def test_min_replicas_bounds_a_scale_down_with_behavior() -> None:
    behavior = defaulted_behavior(scaleDown={"stabilizationWindowSeconds": 0})
    got = with_behavior(AutoscalerMemory(), behavior, 4, 0, T0, lo=2)
    assert (got.replicas, got.limited_reason) == (2, "TooFewReplicas")


def test_an_outdated_scale_event_slot_is_reused() -> None:
    behavior = defaulted_behavior()
    memory = AutoscalerMemory()
    store_scale_event(memory, behavior, 1, 3, T0)
    store_scale_event(memory, behavior, 3, 5, T0 + 100)
    assert [e.change for e in memory.scale_up_events] == [2]
    assert memory.scale_up_events[0].timestamp == T0 + 100


def test_no_scale_events_are_kept_without_a_behavior() -> None:
    memory = AutoscalerMemory()
    store_scale_event(memory, None, 1, 3, T0)
    assert memory.scale_up_events == [] and memory.scale_down_events == []
