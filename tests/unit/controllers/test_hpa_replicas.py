"""The replica calculator (kube's replica_calculator.go): utilization and average-value
targets, tolerance, pods without readings, unready and just-started pods, ignored pods."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.api.timefmt import rfc3339
from minikube_py.controllers.hpa_replicas import (
    CalculatorSettings,
    MetricError,
    PodReading,
    group_pods,
    plain_replicas,
    pod_requests,
    readings_from_metrics,
    resource_replicas,
)

NOW = 1_700_000_000.0
LONG_AGO = NOW - 3600  # started well before the CPU initialization period
SETTINGS = CalculatorSettings()


def pod(name: str, cpu: str | None = "1000m", *, phase: str = "Running", ready: str = "True",
        started: float = LONG_AGO, ready_since: float | None = None,
        deleting: bool = False, memory: str | None = None) -> dict[str, Any]:
    requests = {**({"cpu": cpu} if cpu else {}), **({"memory": memory} if memory else {})}
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if deleting:
        meta["deletionTimestamp"] = rfc3339(NOW)
    return {"metadata": meta,
            "spec": {"containers": [{"name": "c", "resources": {"requests": requests}}]},
            "status": {"phase": phase, "startTime": rfc3339(started), "conditions": [
                {"type": "Ready", "status": ready,
                 "lastTransitionTime": rfc3339(ready_since if ready_since is not None
                                               else started + 5)}]}}


def pods(n: int, **kw: Any) -> list[dict[str, Any]]:
    return [pod(f"p-{i}", **kw) for i in range(n)]


def readings(*values: int, stamp: float = NOW, window: float = 30.0) -> dict[str, PodReading]:
    return {f"p-{i}": PodReading(v, stamp, window) for i, v in enumerate(values)}


def cpu(current: int, target: int, the_pods: list[dict[str, Any]],
        the_readings: dict[str, PodReading], settings: CalculatorSettings = SETTINGS) -> Any:
    return resource_replicas(current, target, "cpu", the_pods, the_readings, settings, NOW)


def test_utilization_above_target_scales_up_in_proportion() -> None:
    got = cpu(3, 30, pods(3), readings(300, 500, 700))
    assert (got.replicas, got.utilization, got.raw) == (5, 50, 500)


def test_utilization_below_target_scales_down_in_proportion() -> None:
    got = cpu(4, 50, pods(4), readings(100, 100, 100, 100))
    assert (got.replicas, got.utilization) == (1, 10)


def test_a_change_within_tolerance_keeps_the_count() -> None:
    the_pods = [pod("p-0", "900m"), pod("p-1", "1000m"), pod("p-2", "1100m")]
    got = cpu(3, 100, the_pods, readings(1010, 1030, 1020))
    assert (got.replicas, got.utilization) == (3, 102)


def test_the_tolerance_is_the_controllers_setting() -> None:
    the_pods = [pod("p-0", "900m"), pod("p-1", "1000m"), pod("p-2", "1100m")]
    strict = CalculatorSettings(tolerance=0.01)
    assert cpu(3, 100, the_pods, readings(1010, 1030, 1020), strict).replicas == 4


def test_a_change_just_beyond_tolerance_scales() -> None:
    assert cpu(10, 100, pods(10), readings(*[1110] * 10)).replicas == 12


def test_pods_without_readings_count_as_full_use_on_a_scale_down() -> None:
    # 335m of 3000m is 11%; with the missing pod at 100%: 1335m of 4000m, 33% -> 3
    got = cpu(4, 50, pods(4), readings(100, 120, 115))
    assert (got.replicas, got.utilization) == (3, 11)


def test_pods_without_readings_count_as_idle_on_a_scale_up() -> None:
    # 100% on three pods; with the fourth at 0: 75% against 50% -> 6
    assert cpu(4, 50, pods(4), readings(1000, 1000, 1000)).replicas == 6


def test_missing_pods_that_flip_the_direction_keep_the_count() -> None:
    # 60% on one pod against 50% is up; with three idle pods it is 15%: down; keep 4
    assert cpu(4, 50, pods(4), readings(600)).replicas == 4


def test_missing_pods_on_a_scale_down_use_a_target_above_100_percent() -> None:
    # 10% on 2 pods against 150%; 2 missing pods at 150%: 320%/4=80% of 150 -> ceil(0.53*4)=3
    assert cpu(4, 150, pods(4), readings(100, 100)).replicas == 3


def test_unready_pods_count_as_idle_on_a_scale_up() -> None:
    the_pods = [pod("p-0", ready="False"), pod("p-1"), pod("p-2")]
    got = cpu(3, 30, the_pods, readings(300, 500, 700))
    # the ready two: 60%; with the unready one at 0: 40% -> ceil(1.33 * 3) = 4
    assert (got.replicas, got.utilization) == (4, 60)


def test_unready_pods_are_left_out_of_a_scale_down() -> None:
    the_pods = [pod("p-0", ready="False"), pod("p-1"), pod("p-2")]
    assert cpu(3, 50, the_pods, readings(900, 100, 100)).replicas == 1


def test_pending_pods_are_unready_and_failed_or_terminating_pods_are_ignored() -> None:
    the_pods = [pod("p-0", phase="Pending"), pod("p-1", phase="Failed"),
                pod("p-2", deleting=True), pod("p-3")]
    groups = group_pods(the_pods, readings(1, 1, 1, 1), "cpu", SETTINGS, NOW)
    assert (groups.ready, groups.unready, groups.ignored) == (
        1, {"p-0"}, {"p-1", "p-2"})


def test_a_pod_just_started_is_unready_until_a_full_window_after_it_became_ready() -> None:
    fresh = pod("p-0", started=NOW - 20, ready_since=NOW - 10)
    covered = readings(500, stamp=NOW, window=30.0)  # the window began before it was Ready
    assert group_pods([fresh], covered, "cpu", SETTINGS, NOW).unready == {"p-0"}
    later = readings(500, stamp=NOW, window=5.0)
    assert group_pods([fresh], later, "cpu", SETTINGS, NOW).ready == 1


def test_the_cpu_initialization_period_is_the_controllers_setting() -> None:
    fresh = pod("p-0", started=NOW - 20, ready_since=NOW - 10)
    short = CalculatorSettings(cpu_initialization_period=15.0)
    assert group_pods([fresh], readings(500), "cpu", short, NOW).ready == 1


def test_an_old_pod_that_never_became_ready_is_unready() -> None:
    never = pod("p-0", ready="False", started=LONG_AGO, ready_since=LONG_AGO + 10)
    assert group_pods([never], readings(500), "cpu", SETTINGS, NOW).unready == {"p-0"}


def test_an_old_pod_that_was_ready_and_is_not_now_still_counts() -> None:
    lapsed = pod("p-0", ready="False", started=LONG_AGO, ready_since=LONG_AGO + 600)
    assert group_pods([lapsed], readings(500), "cpu", SETTINGS, NOW).ready == 1


def test_the_initial_readiness_delay_is_the_controllers_setting() -> None:
    lapsed = pod("p-0", ready="False", started=LONG_AGO, ready_since=LONG_AGO + 600)
    long_delay = CalculatorSettings(initial_readiness_delay=900.0)
    assert group_pods([lapsed], readings(500), "cpu", long_delay, NOW).unready == {"p-0"}


def test_readiness_does_not_matter_for_memory() -> None:
    never = pod("p-0", ready="False", memory="100Mi")
    assert group_pods([never], readings(500), "memory", SETTINGS, NOW).ready == 1


def test_a_pod_without_a_ready_condition_is_unready_for_cpu() -> None:
    bare = pod("p-0")
    bare["status"]["conditions"] = []
    assert group_pods([bare], readings(500), "cpu", SETTINGS, NOW).unready == {"p-0"}


def test_a_container_without_the_request_is_kubes_missing_request_error() -> None:
    with pytest.raises(MetricError) as e:
        cpu(2, 50, [pod("p-0"), pod("p-1", cpu=None)], readings(500, 500))
    assert str(e.value) == "missing request for cpu in container c of Pod p-1"


def test_requests_add_up_containers_and_sidecars_but_not_plain_init_containers() -> None:
    p = pod("p-0", "100m")
    p["spec"]["containers"].append({"name": "d", "resources": {"requests": {"cpu": "0.2"}}})
    p["spec"]["initContainers"] = [
        {"name": "sidecar", "restartPolicy": "Always",
         "resources": {"requests": {"cpu": "50m"}}},
        {"name": "setup", "resources": {}}]
    assert pod_requests([p], "cpu") == {"p-0": 350}
    assert pod_requests([p], "cpu", container="d") == {"p-0": 200}


def test_no_pods_is_an_error() -> None:
    with pytest.raises(MetricError, match=r"^no pods returned by selector while calculating "
                                          r"replica count$"):
        cpu(1, 50, [], {})


def test_no_usable_readings_is_an_error() -> None:
    with pytest.raises(MetricError, match=r"^did not receive metrics for targeted pods "
                                          r"\(pods might be unready\)$"):
        cpu(1, 50, [pod("p-0", ready="False")], readings(500))


def test_readings_for_other_pods_only_is_an_error() -> None:
    with pytest.raises(MetricError, match="no metrics returned matched known pods"):
        cpu(1, 50, [pod("p-0")], {"other": PodReading(500, NOW)})


def test_average_value_targets_scale_by_the_average_usage() -> None:
    got = plain_replicas(2, 100, "cpu", pods(2), readings(200, 400), SETTINGS, NOW)
    assert (got.replicas, got.utilization, got.raw) == (6, None, 300)


def test_average_value_missing_pods_count_as_the_target_on_a_scale_down() -> None:
    # 50 on 2 pods against 100; 2 missing at 100: 75 -> ceil(0.75*4) = 3
    got = plain_replicas(4, 100, "memory", pods(4, memory="1Gi"), readings(50, 50),
                         SETTINGS, NOW)
    assert got.replicas == 3


def test_metrics_add_up_a_pods_containers_and_skip_pods_missing_one() -> None:
    items = [
        {"metadata": {"name": "a", "namespace": "default"}, "timestamp": rfc3339(NOW),
         "window": "10.5s", "containers": [{"name": "c", "usage": {"cpu": "100m"}},
                                           {"name": "d", "usage": {"cpu": "1"}}]},
        {"metadata": {"name": "b", "namespace": "default"}, "timestamp": rfc3339(NOW),
         "window": "10s", "containers": [{"name": "c", "usage": {"memory": "1Mi"}}]},
        {"metadata": {"name": "e", "namespace": "default"}, "timestamp": rfc3339(NOW),
         "window": "10s", "containers": []}]
    got = readings_from_metrics(items, "cpu")
    assert got == {"a": PodReading(1100, NOW, 10.5)}
    assert readings_from_metrics(items, "memory")["b"].value == 1024 * 1024 * 1000
    assert readings_from_metrics(items, "cpu", container="d") == {"a": PodReading(1000, NOW,
                                                                                  10.5)}
    with pytest.raises(MetricError, match="missing resource metric cpu for container c in "
                                          "pod default/b"):
        readings_from_metrics(items, "cpu", container="c")
