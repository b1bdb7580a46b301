"""Pod phase and status from container observations."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.api.resources import PODS
from minikube_py.apiserver.service import ApiService
from minikube_py.kubelet.pod_status import (
    CREATED,
    EXITED,
    RUNNING,
    ContainerRun,
    ContainerView,
    compute_pod_status,
    container_status,
    newest_status,
    pod_phase,
    status_differs,
)
from minikube_py.store.memory import MemoryKV


def run(state: str, exit_code: int = 0, restarts: int = 0) -> ContainerRun:
    return ContainerRun("c1", state, restart_count=restarts, exit_code=exit_code,
                        started_at=1.0, finished_at=2.0 if state == EXITED else 0.0,
                        image_id="sha256:x")


def view(r: ContainerRun | None, waiting: str = "") -> ContainerView:
    return ContainerView("c", "busybox", current=r, waiting_reason=waiting,
                         ready=r is not None and r.state == RUNNING)


@pytest.mark.parametrize(("policy", "views", "phase"), [
    ("Always", [view(None)], "Pending"),
    ("Always", [view(run(CREATED))], "Pending"),
    ("Always", [view(run(RUNNING))], "Running"),
    ("Always", [view(run(EXITED, 0))], "Running"),
    ("Always", [view(run(EXITED, 1), "CrashLoopBackOff")], "Running"),
    ("OnFailure", [view(run(EXITED, 0))], "Succeeded"),
    ("OnFailure", [view(run(EXITED, 1))], "Running"),
    ("Never", [view(run(EXITED, 0))], "Succeeded"),
    ("Never", [view(run(EXITED, 1))], "Failed"),
    ("Never", [view(run(EXITED, 0)), view(run(RUNNING))], "Running"),
    ("Never", [view(run(EXITED, 0)), view(run(EXITED, 2))], "Failed"),
    ("Always", [view(None, "ErrImagePull")], "Pending"),
])
def test_pod_phase(policy: str, views: list[ContainerView], phase: str) -> None:
    assert pod_phase(policy, [], views) == phase


@pytest.mark.parametrize(("policy", "init", "phase"), [
    ("Always", run(RUNNING), "Pending"),
    ("Always", run(EXITED, 1), "Pending"),
    ("Never", run(EXITED, 1), "Failed"),
    ("Never", run(EXITED, 0), "Running"),
])
def test_init_containers_gate_the_phase(policy: str, init: ContainerRun, phase: str) -> None:
    assert pod_phase(policy, [view(init)], [view(run(RUNNING))]) == phase


def test_container_status_has_every_field_the_python_client_requires() -> None:
    st = container_status(view(run(RUNNING, restarts=2)))
    assert {"name", "image", "imageID", "ready", "restartCount"} <= st.keys()
    assert st["containerID"] == "containerd://c1" and st["restartCount"] == 2
    assert st["state"] == {"running": {"startedAt": "1970-01-01T00:00:01Z"}}


def test_crash_loop_status_shows_waiting_and_last_termination() -> None:
    st = container_status(ContainerView("c", "busybox", current=run(EXITED, 3, restarts=1),
                                        waiting_reason="CrashLoopBackOff", waiting_message="m"))
    assert st["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "m"}}
    assert st["lastState"]["terminated"]["exitCode"] == 3
    assert st["lastState"]["terminated"]["reason"] == "Error"


def test_condition_transition_time_is_kept_while_status_is_unchanged() -> None:
    pod: dict[str, Any] = {"spec": {}, "status": {}}
    first = compute_pod_status(pod, init_views=[], views=[view(run(RUNNING))],
                               pod_ips=["10.0.0.2"], host_ip="10.0.0.1", now=100)
    pod["status"] = first
    again = compute_pod_status(pod, init_views=[], views=[view(run(RUNNING))],
                               pod_ips=["10.0.0.2"], host_ip="10.0.0.1", now=200)
    assert again == first
    assert first["phase"] == "Running" and first["podIP"] == "10.0.0.2"
    ready = [c for c in first["conditions"] if c["type"] == "Ready"][0]
    assert ready["status"] == "True"


def test_a_running_container_awaiting_its_startup_probe_is_not_started() -> None:
    r = run(RUNNING)
    gated = container_status(ContainerView("c", "busybox", current=r, ready=True, started=False))
    assert gated["started"] is False
    assert container_status(ContainerView("c", "busybox", current=r, started=True))["started"]
    assert container_status(ContainerView("c", "busybox", current=r))["started"]


def test_a_terminating_pod_and_its_containers_are_not_ready() -> None:
    pod: dict[str, Any] = {"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"},
                           "spec": {}, "status": {}}
    running = ContainerView("c", "busybox", current=run(RUNNING), ready=True)
    st = compute_pod_status(pod, init_views=[], views=[running], pod_ips=["10.0.0.2"],
                            host_ip="10.0.0.1", now=100)
    conditions = {c["type"]: c for c in st["conditions"]}
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Ready"]["message"] == "containers with unready status: [c]"
    assert conditions["ContainersReady"]["status"] == "False"
    assert st["phase"] == "Running"
    assert st["containerStatuses"][0]["ready"] is False


@pytest.mark.parametrize(("gate_status", "ready", "message"), [
    (None, "False", 'corresponding condition of pod readiness gate "lb/ready" does not exist.'),
    ("False", "False", 'the status of pod readiness gate "lb/ready" is not "True", but False'),
    ("True", "True", None),
])
def test_readiness_gates_hold_the_pod_back_until_their_condition_is_true(
        gate_status: str | None, ready: str, message: str | None) -> None:
    conditions = [] if gate_status is None else [{"type": "lb/ready", "status": gate_status}]
    pod: dict[str, Any] = {"metadata": {"name": "p"},
                           "spec": {"readinessGates": [{"conditionType": "lb/ready"}]},
                           "status": {"conditions": conditions}}
    status = compute_pod_status(pod, init_views=[], views=[view(run(RUNNING))],
                                pod_ips=["10.0.0.1"], host_ip="10.0.0.2", now=100.0)
    by_type = {c["type"]: c for c in status["conditions"]}
    assert by_type["ContainersReady"]["status"] == "True"
    assert by_type["Ready"]["status"] == ready and by_type["Ready"].get("message") == message
    # The gate's own condition is someone else's: kept as it was.
    assert (by_type.get("lb/ready") or {}).get("status") == gate_status


def test_ephemeral_containers_report_their_own_status_outside_readiness() -> None:
    pod: dict[str, Any] = {"metadata": {"name": "p"}, "spec": {
        "ephemeralContainers": [{"name": "debugger", "image": "busybox"}]}}
    debugger = ContainerView("debugger", "busybox", current=run(EXITED, 1))
    status = compute_pod_status(pod, init_views=[], views=[view(run(RUNNING))],
                                pod_ips=["10.0.0.1"], host_ip="10.0.0.2", now=100.0,
                                ephemeral_views=[debugger])
    [reported] = status["ephemeralContainerStatuses"]
    assert reported["name"] == "debugger" and not reported["ready"]
    assert reported["state"]["terminated"]["exitCode"] == 1
    ready = {c["type"]: c["status"] for c in status["conditions"]}["Ready"]
    assert (status["phase"], ready) == ("Running", "True")


def test_a_null_field_equals_the_absent_field_the_api_stores() -> None:
    sent = {"conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None}]}
    stored = {"conditions": [{"type": "Ready", "status": "True"}]}
    assert not status_differs(stored, sent)
    assert status_differs(stored, {"conditions": [{"type": "Ready", "status": "False",
                                                   "lastProbeTime": None}]})


async def test_a_status_read_back_from_the_api_is_not_written_again() -> None:
    """Every sync compares what it computed with the pod it was given: if that differs from
    what the API stored for the same status, every sync writes, and a sync that works from
    a pod one write behind puts an older lastTransitionTime back (a busy loop in a crash
    loop, seen at one sync every 20 ms)."""
    api = ApiService(MemoryKV())
    await api.start()
    try:
        pod = await api.create(PODS, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crash"},
            "spec": {"nodeName": "n", "containers": [{"name": "c", "image": "busybox"}]}},
            namespace="default")
        status = compute_pod_status(
            pod, init_views=[], views=[view(run(EXITED, 3, restarts=1), "CrashLoopBackOff")],
            pod_ips=["10.0.0.2"], host_ip="10.0.0.1", now=100)
        pod["status"] = {**(pod.get("status") or {}), **status}
        await api.update(PODS, pod, namespace="default", subresource="status")
        stored = await api.get(PODS, "crash", namespace="default")
    finally:
        await api.stop()
    assert not status_differs(stored["status"], status)


def _ready(status: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == "Ready")


def test_a_status_is_computed_from_the_last_one_written_not_from_a_stale_pod() -> None:
    """A crash, a restart that ran for a moment, a crash again: the pod the next sync is
    given may still hold the first status (the watch is a write behind). Ready went False
    at 111; computing from that pod would say 100, and its write would undo the last."""
    def at(pod: dict[str, Any], now: float, r: ContainerRun) -> dict[str, Any]:
        return compute_pod_status(pod, init_views=[], views=[view(r)], pod_ips=["10.0.0.2"],
                                  host_ip="10.0.0.1", now=now)
    first = at({"spec": {}, "status": {}}, 100, run(EXITED, 3))
    running = at({"spec": {}, "status": first}, 110, run(RUNNING, restarts=1))
    crashed = at({"spec": {}, "status": running}, 111, run(EXITED, 3, restarts=1))
    assert _ready(crashed)["lastTransitionTime"] == "1970-01-01T00:01:51Z"
    stale = {"spec": {}, "status": first}
    assert _ready(at(stale, 112, run(EXITED, 3, restarts=1)))["lastTransitionTime"] != (
        _ready(crashed)["lastTransitionTime"])  # what computing from the stale pod gives
    base = {**stale, "status": newest_status(first, crashed)}
    assert at(base, 112, run(EXITED, 3, restarts=1)) == crashed


def test_conditions_others_own_come_from_the_api_the_kubelets_from_its_last_status() -> None:
    gate = {"type": "example.com/gate", "status": "True"}
    api = {"conditions": [{"type": "Ready", "status": "True"}, gate], "nominatedNodeName": "n"}
    reported = {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}
    assert newest_status(api, reported) == {
        "phase": "Running", "nominatedNodeName": "n",
        "conditions": [{"type": "Ready", "status": "False"}, gate]}
    assert newest_status(api, None) is api
