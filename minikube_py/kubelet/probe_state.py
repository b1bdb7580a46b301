"""Pure bookkeeping of one container's probes: when each is due, thresholds, startup gating,
readiness, and the decision to kill an unhealthy container. No clock, no IO."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

READINESS, LIVENESS, STARTUP = "Readiness", "Liveness", "Startup"
PROBE_FIELDS = {READINESS: "readinessProbe", LIVENESS: "livenessProbe", STARTUP: "startupProbe"}


class ProbeResult(Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    # The probe could not be run (runtime error): reported, but counts neither way, as kube.
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    result: ProbeResult
    output: str = ""


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """One probe of a container with kube's defaults applied (times in seconds)."""

    kind: str  # READINESS | LIVENESS | STARTUP
    handler: dict[str, Any]
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3
    termination_grace: int | None = None  # liveness/startup only


def _positive(value: Any, default: float) -> float:
    return float(value) if isinstance(value, int | float) and value > 0 else default


def probe_spec(kind: str, probe: dict[str, Any]) -> ProbeSpec:
    """Zero or missing fields take kube's defaults, as the API server's defaulting would."""
    handler = {k: v for k, v in probe.items() if k in ("exec", "httpGet", "tcpSocket", "grpc")}
    delay = probe.get("initialDelaySeconds")
    grace = probe.get("terminationGracePeriodSeconds")
    # Liveness and startup must have successThreshold 1 (API validation); enforce it here too.
    success = 1 if kind != READINESS else int(_positive(probe.get("successThreshold"), 1))
    return ProbeSpec(
        kind=kind, handler=handler,
        initial_delay=float(delay) if isinstance(delay, int | float) and delay > 0 else 0.0,
        period=_positive(probe.get("periodSeconds"), 10.0),
        timeout=_positive(probe.get("timeoutSeconds"), 1.0),
        success_threshold=success,
        failure_threshold=int(_positive(probe.get("failureThreshold"), 3)),
        termination_grace=int(grace) if isinstance(grace, int) and kind != READINESS else None)


def container_probe_specs(container: dict[str, Any]) -> dict[str, ProbeSpec]:
    return {kind: probe_spec(kind, container[field]) for kind, field in PROBE_FIELDS.items()
            if isinstance(container.get(field), dict)}


@dataclass(frozen=True, slots=True)
class KillDecision:
    kind: str  # LIVENESS | STARTUP
    message: str  # "Container x failed liveness probe"
    grace_seconds: int | None  # the probe's terminationGracePeriodSeconds, if set


@dataclass(frozen=True, slots=True)
class ProbeEffects:
    """What recording one outcome asks of the shell."""

    status_changed: bool = False  # started/ready flipped, or a kill was decided: sync the pod
    unhealthy_event: str = ""  # "Liveness probe failed: ..." when non-empty


def unhealthy_event(kind: str, outcome: ProbeOutcome) -> str:
    """The Unhealthy event's message for one outcome, in kube's words ("" for a success)."""
    if outcome.result is ProbeResult.FAILURE:
        return f"{kind} probe failed: {outcome.output}"
    if outcome.result is ProbeResult.ERROR:
        return f"{kind} probe errored and resulted in unknown state: {outcome.output}"
    return ""


@dataclass(slots=True)
class _Track:
    spec: ProbeSpec
    next_due: float
    last: ProbeResult | None = None
    run: int = 0  # consecutive outcomes equal to `last`


class ContainerProbeState:
    """The probes of one container instance (one container ID). A new instance of the
    container gets a new state: results never carry over a restart, as in kube."""

    def __init__(self, container_name: str, container_id: str, specs: dict[str, ProbeSpec],
                 started_at: float) -> None:
        self.container_name = container_name
        self.container_id = container_id
        self._tracks = {kind: _Track(spec, started_at + spec.initial_delay)
                        for kind, spec in specs.items()}
        self.started = STARTUP not in specs
        # Readiness starts as failure (kube's initial value); liveness as success.
        self._readiness_ok = READINESS not in specs
        self.kill: KillDecision | None = None

    @property
    def ready(self) -> bool:
        return self.started and self._readiness_ok

    def _eligible(self, kind: str) -> bool:
        if self.kill is not None:
            return False  # on hold until the container is replaced
        if kind == STARTUP:
            return not self.started
        return self.started  # the startup probe gates liveness and readiness

    def next_wakeup(self) -> float | None:
        """When the next probe is due; None when nothing will be (done, or kill pending)."""
        dues = [t.next_due for k, t in self._tracks.items() if self._eligible(k)]
        return min(dues) if dues else None

    def take_due(self, now: float) -> list[ProbeSpec]:
        """The probes to run now; each is rescheduled on its fixed cadence (ticks missed while
        a probe ran long are dropped, like a ticker)."""
        due = []
        for kind, t in self._tracks.items():
            if self._eligible(kind) and now >= t.next_due:
                due.append(t.spec)
                t.next_due += (math.floor((now - t.next_due) / t.spec.period) + 1) * t.spec.period
        return due

    def record(self, kind: str, outcome: ProbeOutcome, now: float) -> ProbeEffects:
        t = self._tracks[kind]
        event = unhealthy_event(kind, outcome)
        if outcome.result is ProbeResult.ERROR or not self._eligible(kind):
            return ProbeEffects(unhealthy_event=event)
        if outcome.result is t.last:
            t.run += 1
        else:
            t.last, t.run = outcome.result, 1
        success = outcome.result is ProbeResult.SUCCESS
        threshold = t.spec.success_threshold if success else t.spec.failure_threshold
        if t.run < threshold:
            return ProbeEffects(unhealthy_event=event)
        return ProbeEffects(status_changed=self._apply(kind, success, now),
                            unhealthy_event=event)

    def _apply(self, kind: str, success: bool, now: float) -> bool:
        """A result crossed its threshold; True when that changes what the pod sync sees."""
        if kind == READINESS:
            changed = self._readiness_ok != success
            self._readiness_ok = success
            return changed
        if success:
            if kind == STARTUP:
                self.started = True
                for k, other in self._tracks.items():
                    if k != STARTUP:  # probe right away if the initial delay has passed
                        other.next_due = max(other.next_due, now)
                return True
            return False
        self.kill = KillDecision(
            kind, f"Container {self.container_name} failed {kind.lower()} probe",
            self._tracks[kind].spec.termination_grace)
        return True
