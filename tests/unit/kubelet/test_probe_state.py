"""The probe state machine: defaults, schedule, thresholds, startup gating, kill decisions."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.kubelet.probe_state import (
    LIVENESS,
    READINESS,
    STARTUP,
    ContainerProbeState,
    ProbeOutcome,
    ProbeResult,
    ProbeSpec,
    container_probe_specs,
    probe_spec,
)

OK = ProbeOutcome(ProbeResult.SUCCESS)
FAIL = ProbeOutcome(ProbeResult.FAILURE, "connection refused")
ERR = ProbeOutcome(ProbeResult.ERROR, "container not found")
T0 = 1000.0
EXEC = {"exec": {"command": ["true"]}}


def spec(kind: str, **fields: Any) -> ProbeSpec:
    return probe_spec(kind, {**EXEC, **fields})


def state(*specs: ProbeSpec, started_at: float = T0) -> ContainerProbeState:
    return ContainerProbeState("main", "cid", {s.kind: s for s in specs}, started_at)


def feed(st: ContainerProbeState, kind: str, outcomes: list[ProbeOutcome],
         now: float = T0) -> list[bool]:
    """Records outcomes one after another; returns `ready` after each."""
    ready = []
    for o in outcomes:
        st.record(kind, o, now)
        ready.append(st.ready)
    return ready


def test_defaults_are_kubes() -> None:
    s = probe_spec(READINESS, {"httpGet": {"port": 80}})
    assert (s.initial_delay, s.period, s.timeout, s.success_threshold, s.failure_threshold) == (
        0.0, 10.0, 1.0, 1, 3)
    assert s.handler == {"httpGet": {"port": 80}}


def test_zero_fields_take_defaults_and_liveness_success_threshold_is_one() -> None:
    s = probe_spec(LIVENESS, {**EXEC, "periodSeconds": 0, "successThreshold": 4,
                              "terminationGracePeriodSeconds": 2})
    assert (s.period, s.success_threshold, s.termination_grace) == (10.0, 1, 2)
    assert probe_spec(READINESS, {**EXEC, "terminationGracePeriodSeconds": 2}
                      ).termination_grace is None


def test_only_declared_probes_are_collected() -> None:
    specs = container_probe_specs({"name": "c", "livenessProbe": EXEC, "readinessProbe": None})
    assert list(specs) == [LIVENESS]


def test_without_probes_a_container_is_started_and_ready() -> None:
    st = state()
    assert st.started and st.ready and st.next_wakeup() is None


@pytest.mark.parametrize(("success_threshold", "failure_threshold", "outcomes", "ready"), [
    (1, 3, [OK], [True]),
    (1, 3, [FAIL, FAIL, FAIL], [False, False, False]),
    (1, 3, [OK, FAIL, FAIL, FAIL], [True, True, True, False]),
    (1, 3, [OK, FAIL, FAIL, OK, FAIL, FAIL], [True] * 6),
    (1, 1, [OK, FAIL, OK, FAIL], [True, False, True, False]),
    (2, 1, [OK, OK, FAIL, OK, OK], [False, True, False, False, True]),
    (3, 1, [OK, OK, FAIL, OK, OK, OK], [False, False, False, False, False, True]),
    (2, 2, [OK, OK, FAIL, OK, FAIL, OK, OK], [False, True, True, True, True, True, True]),
    (1, 1, [ERR, ERR, OK, ERR, ERR], [False, False, True, True, True]),
])
def test_readiness_flips_only_when_a_threshold_is_reached(
        success_threshold: int, failure_threshold: int, outcomes: list[ProbeOutcome],
        ready: list[bool]) -> None:
    st = state(spec(READINESS, successThreshold=success_threshold,
                    failureThreshold=failure_threshold))
    assert not st.ready  # readiness starts as failure
    assert feed(st, READINESS, outcomes) == ready


def test_readiness_flip_reports_a_status_change_once() -> None:
    st = state(spec(READINESS, failureThreshold=1))
    changes = [st.record(READINESS, o, T0).status_changed for o in (OK, OK, FAIL, FAIL, OK)]
    assert changes == [True, False, True, False, True]


def test_each_failure_is_an_unhealthy_event_even_below_threshold() -> None:
    st = state(spec(LIVENESS))
    assert st.record(LIVENESS, FAIL, T0).unhealthy_event == (
        "Liveness probe failed: connection refused")
    assert st.record(LIVENESS, OK, T0).unhealthy_event == ""
    assert st.record(LIVENESS, ERR, T0).unhealthy_event == (
        "Liveness probe errored and resulted in unknown state: container not found")


def test_liveness_kills_at_failure_threshold_then_stops_probing() -> None:
    st = state(spec(LIVENESS, failureThreshold=3, terminationGracePeriodSeconds=1))
    for _ in range(2):
        assert not st.record(LIVENESS, FAIL, T0).status_changed
        assert st.kill is None
    assert st.record(LIVENESS, FAIL, T0).status_changed
    assert st.kill is not None
    assert st.kill.message == "Container main failed liveness probe"
    assert st.kill.grace_seconds == 1
    assert st.next_wakeup() is None and st.take_due(T0 + 100) == []
    assert st.ready  # liveness does not touch readiness; the kill will


def test_liveness_success_resets_the_failure_run() -> None:
    st = state(spec(LIVENESS, failureThreshold=2))
    for o in (FAIL, OK, FAIL, OK, FAIL):
        st.record(LIVENESS, o, T0)
    assert st.kill is None


def test_startup_gates_readiness_and_liveness() -> None:
    st = state(spec(STARTUP, periodSeconds=1, failureThreshold=5),
               spec(READINESS, periodSeconds=1), spec(LIVENESS, periodSeconds=1))
    assert not st.started and not st.ready
    assert [s.kind for s in st.take_due(T0)] == [STARTUP]
    assert [s.kind for s in st.take_due(T0 + 1)] == [STARTUP]
    st.record(STARTUP, FAIL, T0 + 1)
    # A readiness success recorded while not started (a stale round) changes nothing.
    assert not st.record(READINESS, OK, T0 + 1).status_changed
    assert st.record(STARTUP, OK, T0 + 2).status_changed
    assert st.started and not st.ready
    # Once started, liveness and readiness run right away and startup never again.
    assert sorted(s.kind for s in st.take_due(T0 + 2)) == [LIVENESS, READINESS]
    st.record(READINESS, OK, T0 + 2)
    assert st.ready


def test_startup_failure_threshold_kills_like_liveness() -> None:
    st = state(spec(STARTUP, failureThreshold=2), spec(READINESS))
    st.record(STARTUP, FAIL, T0)
    assert st.kill is None
    st.record(STARTUP, FAIL, T0)
    assert st.kill is not None and st.kill.kind == STARTUP
    assert st.kill.message == "Container main failed startup probe"
    assert not st.started


def test_initial_delay_counts_from_container_start() -> None:
    st = state(spec(READINESS, initialDelaySeconds=5, periodSeconds=2), started_at=T0)
    assert st.next_wakeup() == T0 + 5
    assert st.take_due(T0 + 4.9) == []
    assert [s.kind for s in st.take_due(T0 + 5)] == [READINESS]
    assert st.next_wakeup() == T0 + 7


def test_initial_delay_still_applies_after_startup_succeeds_early() -> None:
    st = state(spec(STARTUP, periodSeconds=1), spec(READINESS, initialDelaySeconds=10))
    st.record(STARTUP, OK, T0 + 1)
    assert st.next_wakeup() == T0 + 10


def test_schedule_keeps_a_fixed_cadence_and_drops_missed_ticks() -> None:
    st = state(spec(READINESS, periodSeconds=2))
    st.take_due(T0)
    assert st.next_wakeup() == T0 + 2
    st.take_due(T0 + 2.3)  # woken late: the next tick stays on the grid
    assert st.next_wakeup() == T0 + 4
    st.take_due(T0 + 9)  # a long stall: ticks at 4, 6, 8 collapse into one probe
    assert st.next_wakeup() == T0 + 10


def test_each_probe_has_its_own_period() -> None:
    st = state(spec(READINESS, periodSeconds=1), spec(LIVENESS, periodSeconds=3))
    due = [sorted(s.kind for s in st.take_due(T0 + t)) for t in range(4)]
    assert due == [[LIVENESS, READINESS], [READINESS], [READINESS], [LIVENESS, READINESS]]
