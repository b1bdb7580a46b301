"""compute_pod_actions, one row per situation: what the kubelet does to a pod given what the
runtime holds for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from minikube_py.kubelet.backoff import RestartBackoff
from minikube_py.kubelet.pod_actions import (
    BackOff,
    KillContainer,
    KillPod,
    PodActions,
    PodRuntime,
    SandboxRun,
    StartContainer,
    SyncMode,
    active_deadline_remaining,
    compute_pod_actions,
    confirm_sandbox,
)
from minikube_py.kubelet.pod_status import CREATED, EXITED, RUNNING, UNKNOWN, ContainerRun
from minikube_py.kubelet.probe_state import LIVENESS, STARTUP, KillDecision
from minikube_py.kubelet.specs import container_hash

UID = "u1"
NOW = 10_000.0


def container(name: str, image: str = "busybox") -> dict[str, Any]:
    return {"name": name, "image": image}


MAIN = container("main")
SIDE = container("side")
INIT_A = container("init-a")
INIT_B = container("init-b")


def pod(*containers: dict[str, Any], init: tuple[dict[str, Any], ...] = (),
        policy: str = "Always", deleting: bool = False, deletion_grace: int | None = None,
        phase: str = "", host_network: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web", "namespace": "default", "uid": UID}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
        if deletion_grace is not None:
            meta["deletionGracePeriodSeconds"] = deletion_grace
    spec: dict[str, Any] = {"restartPolicy": policy, "terminationGracePeriodSeconds": 5,
                            "containers": list(containers or (MAIN,))}
    if init:
        spec["initContainers"] = list(init)
    if host_network:
        spec["hostNetwork"] = True
    return {"metadata": meta, "spec": spec, "status": {"phase": phase} if phase else {}}


def sandbox(sid: str = "s1", *, ready: bool = True, attempt: int = 0,
            ips: tuple[str, ...] = ("10.244.0.5",)) -> SandboxRun:
    return SandboxRun(sid, ready, attempt, created_at=attempt, ips=ips if ready else ())


def run(spec: dict[str, Any], state: str, *, exit_code: int = 0, restarts: int = 0,
        sandbox_id: str = "s1", finished_at: float = NOW - 100, cid: str = "",
        spec_hash: str | None = None) -> ContainerRun:
    return ContainerRun(
        cid or f"{spec['name']}-{restarts}", state, restart_count=restarts, exit_code=exit_code,
        finished_at=finished_at if state == EXITED else 0.0, sandbox_id=sandbox_id,
        spec_hash=container_hash(spec) if spec_hash is None else spec_hash)


def runtime(*sandboxes: SandboxRun, runs: tuple[tuple[str, ContainerRun], ...] = (),
            unhealthy: dict[str, KillDecision] | None = None) -> PodRuntime:
    by_name: dict[str, tuple[ContainerRun, ...]] = {}
    for name, r in runs:
        by_name[name] = (*by_name.get(name, ()), r)
    return PodRuntime(sandboxes, by_name, unhealthy or {})


def liveness_failed(name: str = "main", grace: int | None = None) -> KillDecision:
    return KillDecision(LIVENESS, f"Container {name} failed liveness probe", grace)


@dataclass(frozen=True)
class Row:
    pod: dict[str, Any]
    runtime: PodRuntime
    expected: PodActions
    # Restarts already recorded in the back-off: (container, when).
    restarts: tuple[tuple[str, float], ...] = field(default=())


RUNNING_SANDBOX = sandbox()
ROWS: dict[str, Row] = {
    "a fresh pod gets a sandbox and its containers": Row(
        pod(MAIN, SIDE), runtime(),
        PodActions(create_sandbox=True, containers_to_start=(
            StartContainer("main"), StartContainer("side")))),
    "a fresh pod with init containers starts the first one only": Row(
        pod(init=(INIT_A, INIT_B)), runtime(),
        PodActions(create_sandbox=True, next_init_container=StartContainer("init-a", init=True))),
    "a running healthy pod is left alone": Row(
        pod(), runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, RUNNING)),)),
        PodActions(sandbox_id="s1")),
    "adoption after a restart: containers made before spec hashes were kept stay": Row(
        pod(), runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, RUNNING, spec_hash="")),)),
        PodActions(sandbox_id="s1")),
    "a dead sandbox is replaced and everything restarts in the new one": Row(
        pod(), runtime(sandbox(ready=False), runs=(("main", run(MAIN, EXITED, exit_code=137)),)),
        PodActions(kill_pod=KillPod(5), create_sandbox=True, attempt=1, containers_to_start=(
            StartContainer("main", restart_count=1, counts_as_restart=True),))),
    "a dead sandbox restarts init containers from the first": Row(
        pod(init=(INIT_A,)), runtime(sandbox(ready=False, attempt=2), runs=(
            ("init-a", run(INIT_A, EXITED)), ("main", run(MAIN, EXITED, exit_code=137)))),
        PodActions(kill_pod=KillPod(5), create_sandbox=True, attempt=3,
                   next_init_container=StartContainer("init-a", init=True, restart_count=1))),
    "an init container that failed before the sandbox died backs off in the new one": Row(
        pod(init=(INIT_A,)), runtime(sandbox(ready=False), runs=(
            ("init-a", run(INIT_A, EXITED, exit_code=1, restarts=1, finished_at=NOW - 1)),)),
        PodActions(kill_pod=KillPod(5), create_sandbox=True, attempt=1,
                   backing_off=(BackOff("init-a", 9.0, 10.0),)),
        restarts=(("init-a", NOW - 3),)),
    "the next init container in a new sandbox runs afresh though it succeeded before": Row(
        pod(init=(INIT_A, INIT_B)), runtime(sandbox("s2", attempt=1), sandbox("s1", ready=False),
                                            runs=(("init-a", run(INIT_A, EXITED, sandbox_id="s2")),
                                                  ("init-b", run(INIT_B, EXITED)))),
        PodActions(sandbox_id="s2", next_init_container=StartContainer(
            "init-b", init=True, restart_count=1))),
    "a dead sandbox of a Never pod that ran is not replaced": Row(
        pod(policy="Never"), runtime(sandbox(ready=False),
                                     runs=(("main", run(MAIN, EXITED, exit_code=137)),)),
        PodActions(kill_pod=KillPod(5))),
    "a dead sandbox of an OnFailure pod that succeeded is not replaced": Row(
        pod(policy="OnFailure"), runtime(sandbox(ready=False), runs=(("main", run(MAIN, EXITED)),)),
        PodActions(kill_pod=KillPod(5))),
    "a dead sandbox of an OnFailure pod restarts only what failed": Row(
        pod(MAIN, SIDE, policy="OnFailure"), runtime(sandbox(ready=False), runs=(
            ("main", run(MAIN, EXITED)), ("side", run(SIDE, EXITED, exit_code=2)))),
        PodActions(kill_pod=KillPod(5), create_sandbox=True, attempt=1, containers_to_start=(
            StartContainer("side", restart_count=1, counts_as_restart=True),))),
    "a sandbox without an IP is replaced": Row(
        pod(), runtime(sandbox(ips=()), runs=(("main", run(MAIN, RUNNING)),)),
        PodActions(kill_pod=KillPod(5), create_sandbox=True, attempt=1, containers_to_start=(
            StartContainer("main", restart_count=1),))),
    "a host-network sandbox needs no IP of its own": Row(
        pod(host_network=True), runtime(sandbox(ips=()), runs=(("main", run(MAIN, RUNNING)),)),
        PodActions(sandbox_id="s1")),
    "two ready sandboxes are replaced by one": Row(
        pod(), runtime(sandbox("s2", attempt=1), sandbox("s1"),
                       runs=(("main", run(MAIN, RUNNING, sandbox_id="s2")),)),
        PodActions(kill_pod=KillPod(5), create_sandbox=True, attempt=2, containers_to_start=(
            StartContainer("main", restart_count=1),))),
    "Always restarts a container that succeeded": Row(
        pod(), runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, EXITED)),)),
        PodActions(sandbox_id="s1", containers_to_start=(
            StartContainer("main", restart_count=1, counts_as_restart=True),))),
    "OnFailure restarts a container that failed": Row(
        pod(policy="OnFailure"),
        runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, EXITED, exit_code=1, restarts=3)),)),
        PodActions(sandbox_id="s1", containers_to_start=(
            StartContainer("main", restart_count=4, counts_as_restart=True),))),
    "OnFailure keeps a container that succeeded, and the pod releases its sandbox": Row(
        pod(policy="OnFailure"), runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, EXITED)),)),
        PodActions(sandbox_id="s1", kill_pod=KillPod(5))),
    "Never keeps a container that failed, and the pod releases its sandbox": Row(
        pod(policy="Never"),
        runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, EXITED, exit_code=1)),)),
        PodActions(sandbox_id="s1", kill_pod=KillPod(5))),
    "Never keeps the sandbox while another container runs": Row(
        pod(MAIN, SIDE, policy="Never"), runtime(RUNNING_SANDBOX, runs=(
            ("main", run(MAIN, EXITED, exit_code=1)), ("side", run(SIDE, RUNNING)))),
        PodActions(sandbox_id="s1")),
    "a crash within the back-off waits out the rest of it": Row(
        pod(), runtime(RUNNING_SANDBOX, runs=(
            ("main", run(MAIN, EXITED, exit_code=1, restarts=1, finished_at=NOW - 2)),)),
        PodActions(sandbox_id="s1", backing_off=(BackOff("main", 8.0, 10.0),)),
        restarts=(("main", NOW - 5),)),
    "a crash after the back-off restarts at once": Row(
        pod(), runtime(RUNNING_SANDBOX, runs=(
            ("main", run(MAIN, EXITED, exit_code=1, restarts=1, finished_at=NOW - 20)),)),
        PodActions(sandbox_id="s1", containers_to_start=(
            StartContainer("main", restart_count=2, counts_as_restart=True),)),
        restarts=(("main", NOW - 25),)),
    "init containers run in order": Row(
        pod(init=(INIT_A, INIT_B)), runtime(RUNNING_SANDBOX, runs=(
            ("init-a", run(INIT_A, EXITED)),)),
        PodActions(sandbox_id="s1", next_init_container=StartContainer("init-b", init=True))),
    "a running init container is waited for": Row(
        pod(init=(INIT_A, INIT_B)), runtime(RUNNING_SANDBOX, runs=(
            ("init-a", run(INIT_A, RUNNING)),)),
        PodActions(sandbox_id="s1")),
    "a failed init container under Never fails the pod": Row(
        pod(init=(INIT_A,), policy="Never"), runtime(RUNNING_SANDBOX, runs=(
            ("init-a", run(INIT_A, EXITED, exit_code=1)),)),
        PodActions(sandbox_id="s1", kill_pod=KillPod(5))),
    "a failed init container under Always runs again": Row(
        pod(init=(INIT_A,)), runtime(RUNNING_SANDBOX, runs=(
            ("init-a", run(INIT_A, EXITED, exit_code=1)),)),
        PodActions(sandbox_id="s1", next_init_container=StartContainer(
            "init-a", init=True, restart_count=1, counts_as_restart=True))),
    "a failed init container within its back-off waits": Row(
        pod(init=(INIT_A,)), runtime(RUNNING_SANDBOX, runs=(
            ("init-a", run(INIT_A, EXITED, exit_code=1, restarts=1, finished_at=NOW - 1)),)),
        PodActions(sandbox_id="s1", backing_off=(BackOff("init-a", 9.0, 10.0),)),
        restarts=(("init-a", NOW - 3),)),
    "an init container created but never started is started": Row(
        pod(init=(INIT_A,)), runtime(RUNNING_SANDBOX, runs=(
            ("init-a", run(INIT_A, CREATED, cid="c9")),)),
        PodActions(sandbox_id="s1", next_init_container=StartContainer(
            "init-a", init=True, existing_id="c9"))),
    "app containers start once every init container succeeded": Row(
        pod(init=(INIT_A, INIT_B)), runtime(RUNNING_SANDBOX, runs=(
            ("init-a", run(INIT_A, EXITED)), ("init-b", run(INIT_B, EXITED)))),
        PodActions(sandbox_id="s1", containers_to_start=(StartContainer("main"),))),
    "a running app container means initialization happened before": Row(
        pod(init=(INIT_A,)), runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, RUNNING)),)),
        PodActions(sandbox_id="s1")),
    "a failed liveness probe kills and restarts the container": Row(
        pod(), runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, RUNNING, cid="c1")),),
                       unhealthy={"c1": liveness_failed(grace=1)}),
        PodActions(sandbox_id="s1", containers_to_kill=(KillContainer(
            "c1", "main", 1, "Container main failed liveness probe, will be restarted"),),
            containers_to_start=(StartContainer("main", restart_count=1,
                                                counts_as_restart=True),))),
    "a failed startup probe under Never kills the container for good": Row(
        pod(policy="Never"), runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, RUNNING, cid="c1")),),
                                     unhealthy={"c1": KillDecision(
                                         STARTUP, "Container main failed startup probe", None)}),
        PodActions(sandbox_id="s1", containers_to_kill=(KillContainer(
            "c1", "main", 5, "Container main failed startup probe"),))),
    "a liveness kill within the back-off waits before the restart": Row(
        pod(), runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, RUNNING, cid="c1", restarts=1)),),
                       unhealthy={"c1": liveness_failed()}),
        PodActions(sandbox_id="s1", containers_to_kill=(KillContainer(
            "c1", "main", 5, "Container main failed liveness probe, will be restarted"),),
            backing_off=(BackOff("main", 10.0, 10.0),)),
        restarts=(("main", NOW - 4),)),
    "a changed image restarts the container, even under Never": Row(
        pod(container("main", "busybox:2"), policy="Never"),
        runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, RUNNING, cid="c1")),)),
        PodActions(sandbox_id="s1", containers_to_kill=(KillContainer(
            "c1", "main", 5, "Container main definition changed, will be restarted"),),
            containers_to_start=(StartContainer("main", restart_count=1),))),
    "a container created but never started is started": Row(
        pod(), runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, CREATED, cid="c7")),)),
        PodActions(sandbox_id="s1", containers_to_start=(
            StartContainer("main", existing_id="c7"),))),
    "a container in an unknown state is killed and replaced": Row(
        pod(), runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, UNKNOWN, cid="c3")),)),
        PodActions(sandbox_id="s1", containers_to_kill=(KillContainer(
            "c3", "main", 5, "Stopping container main"),),
            containers_to_start=(StartContainer("main", restart_count=1),))),
    "a terminating pod is killed with its deletion grace period and removed": Row(
        pod(deleting=True, deletion_grace=2),
        runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, RUNNING)),)),
        PodActions(SyncMode.TERMINATE, kill_pod=KillPod(2, remove=True))),
    "a terminating pod without a deletion grace period gets 30 s": Row(
        pod(deleting=True), runtime(RUNNING_SANDBOX),
        PodActions(SyncMode.TERMINATE, kill_pod=KillPod(30, remove=True))),
    "a pod that finished never runs again, whatever the runtime says": Row(
        pod(phase="Succeeded"), runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, EXITED)),)),
        PodActions(SyncMode.FINISHED, kill_pod=KillPod(5))),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_compute_pod_actions(row: Row) -> None:
    backoff = RestartBackoff()
    for name, at in row.restarts:
        backoff.record_restart((UID, name), at)
    assert compute_pod_actions(row.pod, row.runtime, NOW, backoff) == row.expected


def test_deciding_never_changes_the_back_off() -> None:
    backoff = RestartBackoff()
    backoff.record_restart((UID, "main"), NOW - 5)
    exited = runtime(RUNNING_SANDBOX, runs=(("main", run(MAIN, EXITED, finished_at=NOW - 100)),))
    for _ in range(3):
        compute_pod_actions(pod(), exited, NOW, backoff)
    assert backoff.current_delay((UID, "main")) == 10.0


def test_the_pod_is_synced_again_when_its_first_back_off_ends() -> None:
    actions = PodActions(backing_off=(BackOff("a", 8.0, 10.0), BackOff("b", 3.0, 20.0)))
    assert actions.resync_after == 3.0
    assert PodActions().resync_after is None


@pytest.mark.parametrize(("spec", "status", "now", "remaining"), [
    ({"activeDeadlineSeconds": 30}, {"startTime": "2024-01-01T00:00:00Z"}, 1704067210.0, 20.0),
    ({"activeDeadlineSeconds": 30}, {"startTime": "2024-01-01T00:00:00Z"}, 1704067240.0, -10.0),
    ({"activeDeadlineSeconds": 30}, {}, 1704067240.0, None),   # not started yet
    ({}, {"startTime": "2024-01-01T00:00:00Z"}, 1704067240.0, None),
])
def test_active_deadline_counts_from_the_start_time(spec: dict[str, Any], status: dict[str, Any],
                                                    now: float, remaining: float | None) -> None:
    assert active_deadline_remaining({"spec": spec, "status": status}, now) == remaining


def _never_started_in(sandbox_id: str, start: StartContainer) -> ContainerRun:
    """What the runtime is left with when a start is tried in a sandbox already stopped: a
    container that never ran (CreateContainer can still succeed, StartContainer cannot)."""
    return ContainerRun(f"{start.name}-{start.restart_count}", EXITED,
                        restart_count=start.restart_count, exit_code=128, reason="StartError",
                        finished_at=NOW, sandbox_id=sandbox_id)


def test_a_sandbox_stopped_under_a_sync_costs_its_containers_one_restart() -> None:
    # The runtime stops a sandbox's containers before the sandbox itself: the sync's snapshot
    # shows the sandbox ready and its container exited (killed by the stop)...
    killed = run(MAIN, EXITED, exit_code=137)
    snapshot = runtime(sandbox("s1"), runs=(("main", killed),))
    decided = compute_pod_actions(pod(), snapshot, NOW, RestartBackoff())
    assert decided.containers_to_start == (
        StartContainer("main", restart_count=1, counts_as_restart=True),)
    # ...and by the time the restart would run, the stop has finished.
    performed = confirm_sandbox(decided, ready_now=False)
    left = tuple(("main", _never_started_in("s1", s)) for s in performed.starts)
    after = runtime(sandbox("s1", ready=False), runs=(*left, ("main", killed)))
    replaced = compute_pod_actions(pod(), after, NOW, RestartBackoff())
    assert replaced.create_sandbox and replaced.attempt == 1
    assert replaced.containers_to_start == (
        StartContainer("main", restart_count=1, counts_as_restart=True),)
    assert performed.resync_after == 0.0  # the next sync comes at once, not on a timer


def test_a_restart_tried_in_a_sandbox_stopping_under_it_is_made_once_in_the_new_one() -> None:
    # The sandbox still read ready when the restart began; the stop finished under it, and
    # the runtime was left with a container that never ran. The back-off counted the try.
    killed = run(MAIN, EXITED, exit_code=137)
    snapshot = runtime(sandbox("s1"), runs=(("main", killed),))
    backoff = RestartBackoff()
    decided = confirm_sandbox(compute_pod_actions(pod(), snapshot, NOW, backoff), ready_now=True)
    for start in decided.starts:
        backoff.record_restart((UID, start.name), NOW)
    left = tuple(("main", _never_started_in("s1", s)) for s in decided.starts)
    after = runtime(sandbox("s1", ready=False), runs=(*left, ("main", killed)))
    replaced = compute_pod_actions(pod(), after, NOW + 1, backoff)
    assert replaced.create_sandbox and replaced.attempt == 1
    assert replaced.containers_to_start == (StartContainer("main", restart_count=1),)
    assert replaced.backing_off == ()


def test_an_init_container_tried_in_a_stopping_sandbox_is_carried_into_the_new_one() -> None:
    lost = _never_started_in("s1", StartContainer("init-a", init=True, restart_count=3))
    after = runtime(sandbox("s1", ready=False), runs=(("init-a", lost),))
    replaced = compute_pod_actions(pod(init=(INIT_A,)), after, NOW, RestartBackoff())
    assert replaced.next_init_container == StartContainer("init-a", init=True, restart_count=3)


def test_a_container_that_never_ran_in_a_ready_sandbox_restarts_as_usual() -> None:
    never_ran = _never_started_in("s1", StartContainer("main", restart_count=1))
    backoff = RestartBackoff()
    backoff.record_restart((UID, "main"), NOW)
    actions = compute_pod_actions(pod(), runtime(sandbox("s1"), runs=(("main", never_ran),)),
                                  NOW + 1, backoff)
    assert actions.containers_to_start == () and len(actions.backing_off) == 1


def test_a_lost_sandbox_keeps_the_kills_and_back_offs_and_drops_only_the_starts() -> None:
    kill = KillContainer("side-0", "side", 5, "Container side failed liveness probe")
    wait = BackOff("side", 8.0, 10.0)
    decided = PodActions(sandbox_id="s1", containers_to_kill=(kill,), backing_off=(wait,),
                         next_init_container=StartContainer("init-a", init=True),
                         containers_to_start=(StartContainer("main", restart_count=1),))
    assert confirm_sandbox(decided, ready_now=False) == PodActions(
        sandbox_id="s1", containers_to_kill=(kill,), backing_off=(wait,), sandbox_lost=True)


@pytest.mark.parametrize(("actions", "ready_now"), [
    (PodActions(sandbox_id="s1", containers_to_start=(StartContainer("main"),)), True),
    (PodActions(create_sandbox=True, attempt=1, containers_to_start=(StartContainer("main"),)),
     False),
    (PodActions(sandbox_id="s1", backing_off=(BackOff("main", 8.0, 10.0),)), False),
], ids=["the sandbox is still ready", "a new sandbox is made", "nothing starts"])
def test_confirming_the_sandbox_changes_nothing_unless_a_start_would_run_in_a_stopped_one(
        actions: PodActions, ready_now: bool) -> None:
    assert confirm_sandbox(actions, ready_now) == actions


# --- ephemeral containers ---------------------------------------------------------------


def with_ephemeral(p: dict[str, Any], *containers: dict[str, Any]) -> dict[str, Any]:
    p["spec"]["ephemeralContainers"] = list(containers)
    return p


DEBUG = {"name": "debug", "image": "busybox", "targetContainerName": "main"}
LOOSE = {"name": "loose", "image": "busybox"}


def test_an_ephemeral_container_starts_once_in_the_running_pod_joining_its_target() -> None:
    running = runtime(sandbox(), runs=(("main", run(MAIN, RUNNING, cid="main-id")),))
    actions = compute_pod_actions(with_ephemeral(pod(), DEBUG, LOOSE), running, NOW,
                                  RestartBackoff())
    assert [(s.name, s.target_id) for s in actions.containers_to_start] == [
        ("debug", "main-id"), ("loose", "")]
    # Once it ran it never runs again, whatever became of it.
    ran = runtime(sandbox(), runs=(("main", run(MAIN, RUNNING, cid="main-id")),
                                   ("debug", run(DEBUG, EXITED, exit_code=1)),
                                   ("loose", run(LOOSE, EXITED))))
    assert compute_pod_actions(with_ephemeral(pod(), DEBUG, LOOSE), ran, NOW,
                               RestartBackoff()).containers_to_start == ()


def test_an_ephemeral_container_waits_for_its_target_and_never_comes_to_a_new_sandbox() -> None:
    waiting = runtime(sandbox(), runs=(("main", run(MAIN, EXITED, exit_code=1)),))
    starts = compute_pod_actions(with_ephemeral(pod(), DEBUG), waiting, NOW,
                                 RestartBackoff()).containers_to_start
    assert [s.name for s in starts] == ["main"]  # main restarts; debug waits for it
    fresh = compute_pod_actions(with_ephemeral(pod(), DEBUG, LOOSE), runtime(), NOW,
                                RestartBackoff())
    assert fresh.create_sandbox and [s.name for s in fresh.containers_to_start] == ["main"]
