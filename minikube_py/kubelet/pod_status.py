"""Pure computation of a pod's status (phase, conditions, containerStatuses) from runtime facts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from minikube_py.api.timefmt import rfc3339

CREATED, RUNNING, EXITED, UNKNOWN = "created", "running", "exited", "unknown"


@dataclass(frozen=True, slots=True)
class ContainerRun:
    """One runtime instance of a container (times in unix seconds, 0 when unknown)."""

    container_id: str
    state: str  # CREATED | RUNNING | EXITED | UNKNOWN
    restart_count: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    created_at: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    image_id: str = ""
    sandbox_id: str = ""
    spec_hash: str = ""  # container_hash of the spec it was made from; "" when not recorded


@dataclass(frozen=True, slots=True)
class ContainerView:
    """What the kubelet knows about one spec container: its newest and previous runs, a
    waiting reason it decided on (ErrImagePull, CrashLoopBackOff...), and readiness."""

    name: str
    image: str
    current: ContainerRun | None = None
    previous: ContainerRun | None = None
    waiting_reason: str = ""
    waiting_message: str = ""
    ready: bool = False
    # False while a startup probe has not succeeded; None: started once running.
    started: bool | None = None

    @property
    def running(self) -> bool:
        return self.current is not None and self.current.state == RUNNING and not self.waiting_reason

    @property
    def succeeded(self) -> bool:
        return (self.current is not None and self.current.state == EXITED
                and self.current.exit_code == 0)


def _terminated(run: ContainerRun) -> dict[str, Any]:
    t: dict[str, Any] = {"exitCode": run.exit_code, "reason": run.reason or (
        "Completed" if run.exit_code == 0 else "Error"), "containerID": f"containerd://{run.container_id}"}
    if run.message:
        t["message"] = run.message
    if run.started_at:
        t["startedAt"] = rfc3339(run.started_at)
    if run.finished_at:
        t["finishedAt"] = rfc3339(run.finished_at)
    return {"terminated": t}


def container_status(view: ContainerView, *, default_waiting: str = "ContainerCreating",
                     ) -> dict[str, Any]:
    cur, prev = view.current, view.previous
    last: dict[str, Any] = {}
    state: dict[str, Any]
    if view.waiting_reason:
        waiting = {"reason": view.waiting_reason}
        if view.waiting_message:
            waiting["message"] = view.waiting_message
        state = {"waiting": waiting}
        if cur is not None and cur.state == EXITED:
            last = _terminated(cur)
        elif prev is not None:
            last = _terminated(prev)
    elif cur is not None and cur.state == RUNNING:
        state = {"running": {"startedAt": rfc3339(cur.started_at)}}
        if prev is not None:
            last = _terminated(prev)
    elif cur is not None and cur.state == EXITED:
        state = _terminated(cur)
        if prev is not None:
            last = _terminated(prev)
    else:
        state = {"waiting": {"reason": default_waiting}}
        if prev is not None:
            last = _terminated(prev)
    status: dict[str, Any] = {
        "name": view.name, "state": state, "lastState": last,
        "ready": bool(view.ready and view.running), "restartCount": cur.restart_count if cur else 0,
        "image": view.image, "imageID": cur.image_id if cur else "",
        "started": view.running and view.started is not False,
    }
    if cur is not None:
        status["containerID"] = f"containerd://{cur.container_id}"
    return status


def _counts_as_stopped(view: ContainerView) -> bool:
    """A container waiting to be restarted after a run counts as stopped, not as waiting."""
    if view.current is None:
        return False
    return view.current.state == EXITED


def pod_phase(restart_policy: str, init_views: list[ContainerView],
              views: list[ContainerView]) -> str:
    """The kubelet's getPhase over init and app containers."""
    for v in init_views:
        if v.succeeded:
            continue
        if v.current is not None and v.current.state == EXITED and restart_policy == "Never":
            return "Failed"
        return "Pending"
    waiting = running = stopped = succeeded = 0
    for v in views:
        if v.running:
            running += 1
        elif _counts_as_stopped(v):
            stopped += 1
            if v.succeeded and not v.waiting_reason:
                succeeded += 1
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        return "Running"  # OnFailure: the failed ones are restarting
    return "Pending"


def _condition(ctype: str, ok: bool, previous: dict[str, dict[str, Any]], now: float,
               reason: str = "", message: str = "") -> dict[str, Any]:
    status = "True" if ok else "False"
    before = previous.get(ctype)
    transition = (before.get("lastTransitionTime") if before and before.get("status") == status
                  else None) or rfc3339(now)
    cond: dict[str, Any] = {"type": ctype, "status": status, "lastProbeTime": None,
                            "lastTransitionTime": transition}
    if not ok and reason:
        cond["reason"] = reason
    if not ok and message:
        cond["message"] = message
    return cond


KUBELET_CONDITIONS = frozenset({"PodReadyToStartContainers", "Initialized", "Ready",
                                "ContainersReady", "PodScheduled"})


def readiness_gate_failures(spec: dict[str, Any],
                            conditions: dict[str, dict[str, Any]]) -> list[str]:
    """Why the pod's readiness gates hold it back (kube's generatePodReadyCondition)."""
    failures = []
    for gate in spec.get("readinessGates") or []:
        kind = str(gate.get("conditionType") or "")
        cond = conditions.get(kind)
        if cond is None:
            failures.append(f'corresponding condition of pod readiness gate "{kind}" does '
                            "not exist.")
        elif cond.get("status") != "True":
            failures.append(f'the status of pod readiness gate "{kind}" is not "True", but '
                            f"{cond.get('status')}")
    return failures


def compute_pod_status(pod: dict[str, Any], *, init_views: list[ContainerView],
                       views: list[ContainerView], pod_ips: list[str], host_ip: str,
                       now: float, ephemeral_views: list[ContainerView] | None = None,
                       ) -> dict[str, Any]:
    spec = pod.get("spec") or {}
    old = pod.get("status") or {}
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        # A pod on its way out is not ready, whatever its probes said last (as kube).
        views = [replace(v, ready=False) for v in views]
    phase = pod_phase(spec.get("restartPolicy") or "Always", init_views, views)
    previous = {c.get("type", ""): c for c in old.get("conditions") or []}
    pending_init = [v.name for v in init_views if not v.succeeded]
    unready = [v.name for v in views if not (v.ready and v.running)]
    terminal = phase in ("Succeeded", "Failed")
    init_ok = not pending_init or (terminal and phase == "Succeeded")
    gates = readiness_gate_failures(spec, previous)
    if unready or terminal or not gates:
        ready = _condition("Ready", not unready, previous, now,
                           "PodCompleted" if terminal else "ContainersNotReady",
                           "" if terminal
                           else f"containers with unready status: [{' '.join(unready)}]")
    else:
        ready = _condition("Ready", False, previous, now, "ReadinessGatesNotReady",
                           ", ".join(gates))
    conditions = [
        _condition("PodReadyToStartContainers", bool(pod_ips) and not terminal, previous, now),
        _condition("Initialized", init_ok, previous, now, "ContainersNotInitialized",
                   f"containers with incomplete status: [{' '.join(pending_init)}]"),
        ready,
        _condition("ContainersReady", not unready, previous, now,
                   "PodCompleted" if terminal else "ContainersNotReady",
                   "" if terminal else f"containers with unready status: [{' '.join(unready)}]"),
        _condition("PodScheduled", True, previous, now),
    ]
    # Conditions others own (readiness gates, DisruptionTarget...) are kept as they are.
    conditions += [c for t, c in previous.items() if t not in KUBELET_CONDITIONS]
    app_waiting = "PodInitializing" if pending_init else "ContainerCreating"
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}] if host_ip else [],
        "startTime": old.get("startTime") or rfc3339(now),
        "containerStatuses": [container_status(v, default_waiting=app_waiting) for v in views],
        "qosClass": old.get("qosClass") or "BestEffort",
    }
    if ephemeral_views:
        # Not part of readiness or the phase: debugging aids that run once.
        status["ephemeralContainerStatuses"] = [container_status(v) for v in ephemeral_views]
    if init_views:
        status["initContainerStatuses"] = [container_status(v, default_waiting="PodInitializing")
                                           for v in init_views]
    if pod_ips:
        status["podIP"] = pod_ips[0]
        status["podIPs"] = [{"ip": ip} for ip in pod_ips]
    return status


def newest_status(api_status: dict[str, Any], reported: dict[str, Any] | None) -> dict[str, Any]:
    """The status a new one is computed from (kube's generateAPIPodStatus takes the status
    manager's, not the pod's): the kubelet's own last status for what it owns, the API's for
    the rest (conditions others own, such as readiness gates). The pod a sync is given can
    be a write behind (the watch has not brought the kubelet's last write yet); computed
    from that, the status would put older transition times back."""
    if not reported:
        return api_status
    theirs = [c for c in api_status.get("conditions") or []
              if c.get("type") not in KUBELET_CONDITIONS]
    return {**api_status, **reported,
            "conditions": [*(reported.get("conditions") or []), *theirs]}


def without_nulls(value: Any) -> Any:
    """`value` as the API stores it: a null field is the field's zero value, which is not
    written (Go decodes both into the same struct), so `"lastProbeTime": None` reads back as
    no lastProbeTime at all."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def status_differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Only fields this kubelet owns are compared, so a status written by others (e.g.
    nominatedNodeName) does not cause a write storm. They are compared as the API stores
    them: a null the API drops must not make every sync write the status again."""
    return any(without_nulls(old.get(k)) != without_nulls(v) for k, v in new.items())
