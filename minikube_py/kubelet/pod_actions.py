"""What the kubelet does to one pod, decided as data (kube's computePodActions): from the pod
and what the runtime holds for it, which sandbox and containers to kill, whether to make a
new sandbox, which init container runs next, which containers start or restart, and which
wait out their crash-loop back-off. No IO and no clock: `now` is passed in and the back-off
is only read (the executor records the restarts it performs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from minikube_py.api.podutil import is_terminal, parse_time
from minikube_py.kubelet.backoff import RestartBackoff, should_restart
from minikube_py.kubelet.pod_status import CREATED, EXITED, RUNNING, UNKNOWN, ContainerRun
from minikube_py.kubelet.probe_state import KillDecision
from minikube_py.kubelet.specs import container_hash

Pod = dict[str, Any]
DEFAULT_GRACE_SECONDS = 30
START_ERROR = "StartError"  # containerd's reason for a container whose start failed


@dataclass(frozen=True, slots=True)
class SandboxRun:
    """One runtime sandbox of the pod."""

    sandbox_id: str
    ready: bool
    attempt: int = 0
    created_at: int = 0
    ips: tuple[str, ...] = ()  # only read for the newest sandbox


@dataclass(frozen=True, slots=True)
class PodRuntime:
    """What the runtime holds for one pod, read at the start of a sync."""

    sandboxes: tuple[SandboxRun, ...] = ()  # newest first
    containers: Mapping[str, tuple[ContainerRun, ...]] = field(default_factory=dict)
    # Liveness and startup verdicts, by the ID of the container they condemn.
    unhealthy: Mapping[str, KillDecision] = field(default_factory=dict)

    def newest(self, name: str) -> ContainerRun | None:
        runs = self.containers.get(name) or ()
        return runs[0] if runs else None


class SyncMode(Enum):
    RUN = "run"  # make the runtime match the spec, then report the status
    TERMINATE = "terminate"  # being deleted: report not ready, kill it all, finish the delete
    FINISHED = "finished"  # Succeeded or Failed already: nothing runs again


@dataclass(frozen=True, slots=True)
class KillPod:
    """Stop every container and sandbox of the pod."""

    grace_seconds: int
    remove: bool = False  # also remove the sandboxes and the pod's directories


@dataclass(frozen=True, slots=True)
class KillContainer:
    container_id: str
    name: str
    grace_seconds: int
    message: str  # the Killing event's


@dataclass(frozen=True, slots=True)
class StartContainer:
    name: str
    init: bool = False
    restart_count: int = 0
    # A restart after an exit: recorded in the crash-loop back-off when it happens.
    counts_as_restart: bool = False
    existing_id: str = ""  # created but never started (e.g. by a kubelet that then stopped)
    # An ephemeral container joining the process namespace of this (running) container.
    target_id: str = ""


@dataclass(frozen=True, slots=True)
class BackOff:
    """A container that will restart once its crash-loop back-off has passed."""

    name: str
    remaining: float
    delay: float  # the back-off step it is waiting out


@dataclass(frozen=True, slots=True)
class PodActions:
    """Performed in this order: kill the pod, kill containers, create the sandbox, start the
    next init container, start containers; back-offs become waiting reasons."""

    mode: SyncMode = SyncMode.RUN
    kill_pod: KillPod | None = None
    create_sandbox: bool = False
    attempt: int = 0  # of the sandbox to create
    sandbox_id: str = ""  # the sandbox containers start in when none is created
    containers_to_kill: tuple[KillContainer, ...] = ()
    next_init_container: StartContainer | None = None
    containers_to_start: tuple[StartContainer, ...] = ()
    backing_off: tuple[BackOff, ...] = ()
    # The sandbox the snapshot showed ready was found stopped before anything started in it.
    sandbox_lost: bool = False

    @property
    def resync_after(self) -> float | None:
        """When the pod is synced again: at once when its sandbox was lost under the sync,
        else when the earliest back-off ends."""
        if self.sandbox_lost:
            return 0.0
        return min((b.remaining for b in self.backing_off), default=None)

    @property
    def starts(self) -> tuple[StartContainer, ...]:
        """The containers started, in order: the next init container, then the others."""
        init = (self.next_init_container,) if self.next_init_container else ()
        return (*init, *self.containers_to_start)


def compute_pod_actions(pod: Pod, runtime: PodRuntime, now: float,
                        backoff: RestartBackoff) -> PodActions:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    if meta.get("deletionTimestamp"):
        grace = meta.get("deletionGracePeriodSeconds")
        return PodActions(SyncMode.TERMINATE, kill_pod=KillPod(
            DEFAULT_GRACE_SECONDS if grace is None else int(grace), remove=True))
    if is_terminal(pod):
        return PodActions(SyncMode.FINISHED, kill_pod=KillPod(pod_grace_seconds(pod)))
    create, attempt = sandbox_changed(spec, runtime.sandboxes)
    if create:
        return _actions_for_new_sandbox(pod, runtime, now, backoff, attempt)
    sandbox_id = runtime.sandboxes[0].sandbox_id
    actions = _init_container_actions(pod, runtime, sandbox_id, now, backoff)
    if actions is None:
        actions = _app_container_actions(pod, runtime, sandbox_id, now, backoff)
    ephemeral = ephemeral_starts(spec, runtime)
    if not ephemeral or actions.kill_pod is not None:
        return actions
    return replace(actions, containers_to_start=(*actions.containers_to_start, *ephemeral))


def ephemeral_starts(spec: Mapping[str, Any], runtime: PodRuntime) -> tuple[StartContainer, ...]:
    """The ephemeral containers never run yet, in a sandbox that is up (kube starts them
    even before initialization is done, once, and never again); one targeting a container
    waits until that container runs, whose process namespace it joins."""
    starts = []
    for c in spec.get("ephemeralContainers") or []:
        name = c.get("name") or ""
        if not name or runtime.newest(name) is not None:
            continue
        target = c.get("targetContainerName") or ""
        if not target:
            starts.append(StartContainer(name))
            continue
        run = runtime.newest(target)
        if run is not None and run.state == RUNNING:
            starts.append(StartContainer(name, target_id=run.container_id))
    return tuple(starts)


def confirm_sandbox(actions: PodActions, ready_now: bool) -> PodActions:
    """The actions as they stand once the existing sandbox the containers are to start in has
    been read again (`ready_now`), just before they start.

    A sync decides from a snapshot, and a sandbox being stopped still looks ready in one: the
    runtime kills its containers before the sandbox itself. Restarting an exited container
    in it would count a restart (and a crash-loop back-off) for a start that cannot run, and
    the new sandbox that has to follow would count another: one dead sandbox, two restarts.
    So a restart is decided from the sandbox it really runs in: nothing starts in a sandbox
    that is no longer ready, and the pod is synced again at once, from a snapshot that shows
    it dead, so its containers start once, in a new sandbox (kube: one restart per start
    after the first). Kills and back-offs stand: they do not depend on the sandbox."""
    if actions.create_sandbox or ready_now or not actions.starts:
        return actions
    return replace(actions, next_init_container=None, containers_to_start=(), sandbox_lost=True)


DEADLINE_EXCEEDED = "DeadlineExceeded"
DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"


def active_deadline_remaining(pod: Pod, now: float) -> float | None:
    """Seconds until spec.activeDeadlineSeconds (counted from the pod's startTime) runs out;
    None when it has none, or has not started."""
    seconds = (pod.get("spec") or {}).get("activeDeadlineSeconds")
    started = parse_time((pod.get("status") or {}).get("startTime"))
    if seconds is None or started is None:
        return None
    return started + int(seconds) - now


def pod_grace_seconds(pod: Pod) -> int:
    grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
    return DEFAULT_GRACE_SECONDS if grace is None else int(grace)


def restart_policy(pod: Pod) -> str:
    return str((pod.get("spec") or {}).get("restartPolicy") or "Always")


def sandbox_changed(spec: dict[str, Any], sandboxes: tuple[SandboxRun, ...]) -> tuple[bool, int]:
    """(a new sandbox is needed, its attempt number), as kube's PodSandboxChanged: there is
    none; the newest is not ready; more than one is ready; or the pod network has no IP."""
    if not sandboxes:
        return True, 0
    newest = sandboxes[0]
    ready = [s for s in sandboxes if s.ready]
    if not newest.ready or len(ready) > 1 or (not spec.get("hostNetwork") and not newest.ips):
        return True, newest.attempt + 1
    return False, newest.attempt


def _key(pod: Pod, name: str) -> tuple[str, str]:
    return pod["metadata"]["uid"], name


def _start_or_back_off(pod: Pod, name: str, previous: ContainerRun | None, now: float,
                       backoff: RestartBackoff, *, init: bool = False,
                       finished_at: float | None = None) -> StartContainer | BackOff:
    """Start `name` again after `previous` (its newest run), unless its back-off since the
    run finished (or since `finished_at`, for a container being killed now) has not passed."""
    if previous is None:
        return StartContainer(name, init=init)
    restart_count = previous.restart_count + 1
    if finished_at is None and previous.state != EXITED:
        return StartContainer(name, init=init, restart_count=restart_count)
    key = _key(pod, name)
    ended = previous.finished_at if finished_at is None else finished_at
    remaining = backoff.remaining(key, ended, now)
    if remaining > 0:
        return BackOff(name, remaining, backoff.current_delay(key))
    return StartContainer(name, init=init, restart_count=restart_count, counts_as_restart=True)


def _rerun_init(pod: Pod, name: str, newest: ContainerRun | None, now: float,
                backoff: RestartBackoff) -> StartContainer | BackOff:
    """An init container's first run in a sandbox: a failure before it backs off; having
    succeeded in an earlier sandbox does not."""
    if newest is None or _succeeded(newest):
        return StartContainer(name, init=True,
                              restart_count=newest.restart_count + 1 if newest else 0)
    return _start_or_back_off(pod, name, newest, now, backoff, init=True)


def _collect(starts: list[StartContainer | BackOff]
             ) -> tuple[tuple[StartContainer, ...], tuple[BackOff, ...]]:
    return (tuple(s for s in starts if isinstance(s, StartContainer)),
            tuple(s for s in starts if isinstance(s, BackOff)))


def _succeeded(run: ContainerRun | None) -> bool:
    return run is not None and run.state == EXITED and run.exit_code == 0


def _actions_for_new_sandbox(pod: Pod, runtime: PodRuntime, now: float,
                             backoff: RestartBackoff, attempt: int) -> PodActions:
    """Everything restarts from the beginning in a new sandbox (init containers included),
    except what the restart policy says must not run again."""
    spec = pod.get("spec") or {}
    policy = restart_policy(pod)
    kill = KillPod(pod_grace_seconds(pod)) if runtime.sandboxes else None
    ran = any(runtime.containers.values())
    if policy == "Never" and attempt != 0 and ran:
        return PodActions(kill_pod=kill)  # it ran once; its phase now says how it ended
    apps = [c for c in spec.get("containers") or []
            if not (policy == "OnFailure" and _succeeded(runtime.newest(c["name"])))]
    if not apps:
        return PodActions(kill_pod=kill)  # every container succeeded: nothing left to run
    base = PodActions(kill_pod=kill, create_sandbox=True, attempt=attempt)
    inits = spec.get("initContainers") or []
    if inits:
        name = inits[0]["name"]
        first = (_carried_start(name, runtime, init=True)
                 or _rerun_init(pod, name, runtime.newest(name), now, backoff))
        if isinstance(first, BackOff):
            return replace(base, backing_off=(first,))
        return replace(base, next_init_container=first)
    starts, waits = _collect([
        _carried_start(c["name"], runtime)
        or _start_or_back_off(pod, c["name"], runtime.newest(c["name"]), now, backoff)
        for c in apps])
    return replace(base, containers_to_start=starts, backing_off=waits)


def _carried_start(name: str, runtime: PodRuntime, *, init: bool = False,
                   ) -> StartContainer | None:
    """The start of a container whose newest run never ran, in a sandbox no longer ready:
    a restart tried in a sandbox being stopped, which failed because of the stop (the
    runtime marks a sandbox stopped only after its containers, and after the kubelet last
    looked). That restart is carried into the new sandbox as it was decided (the same
    restart count, no further back-off: the back-off counted it already), so one stopped
    sandbox costs one restart. A container that could not start in a sandbox that then
    died counts one restart fewer than kube's would; telling the two apart is not
    possible from the runtime's state."""
    run = runtime.newest(name)
    if run is None or run.state != EXITED or run.reason != START_ERROR or run.started_at:
        return None
    if any(s.sandbox_id == run.sandbox_id and s.ready for s in runtime.sandboxes):
        return None
    return StartContainer(name, init=init, restart_count=run.restart_count)


def _init_container_actions(pod: Pod, runtime: PodRuntime, sandbox_id: str, now: float,
                            backoff: RestartBackoff) -> PodActions | None:
    """The next step of initialization in this sandbox; None once every init container has
    succeeded here (or an app container already runs: initialization was done before)."""
    spec = pod.get("spec") or {}
    inits = spec.get("initContainers") or []
    if not inits:
        return None
    for c in spec.get("containers") or []:
        run = runtime.newest(c["name"])
        if run is not None and run.state == RUNNING and run.sandbox_id == sandbox_id:
            return None
    here = PodActions(sandbox_id=sandbox_id)
    for c in inits:
        name = c["name"]
        newest = runtime.newest(name)
        run = newest if newest is not None and newest.sandbox_id == sandbox_id else None
        if _succeeded(run):
            continue
        step: StartContainer | BackOff
        if run is None:  # not run in this sandbox yet: a new sandbox starts initialization over
            step = _rerun_init(pod, name, newest, now, backoff)
        elif run.state == RUNNING:
            return here  # still initializing
        elif run.state == CREATED:
            step = StartContainer(name, init=True, restart_count=run.restart_count,
                                  existing_id=run.container_id)
        elif run.state == EXITED and restart_policy(pod) == "Never":
            return replace(here, kill_pod=KillPod(pod_grace_seconds(pod)))  # the pod failed
        else:
            step = _start_or_back_off(pod, name, run, now, backoff, init=True)
            if run.state == UNKNOWN:
                here = replace(here, containers_to_kill=(KillContainer(
                    run.container_id, name, pod_grace_seconds(pod),
                    f"Stopping container {name}"),))
        if isinstance(step, BackOff):
            return replace(here, backing_off=(step,))
        return replace(here, next_init_container=step)
    return None


@dataclass(frozen=True, slots=True)
class _Condemned:
    kill: KillContainer
    restart: bool
    backed_off: bool  # the restart waits out the crash-loop back-off


def _condemned(pod: Pod, container: dict[str, Any], run: ContainerRun,
               unhealthy: Mapping[str, KillDecision]) -> _Condemned | None:
    """Whether a running container must be killed: its spec changed (it restarts whatever
    the policy, at once), or a liveness or startup probe condemned it (it restarts as the
    policy says, after its back-off)."""
    name = container["name"]
    if run.spec_hash and run.spec_hash != container_hash(container):
        return _Condemned(KillContainer(
            run.container_id, name, pod_grace_seconds(pod),
            f"Container {name} definition changed, will be restarted"), True, False)
    verdict = unhealthy.get(run.container_id)
    if verdict is None:
        return None
    restart = restart_policy(pod) != "Never"
    grace = pod_grace_seconds(pod) if verdict.grace_seconds is None else verdict.grace_seconds
    message = verdict.message + (", will be restarted" if restart else "")
    return _Condemned(KillContainer(run.container_id, name, grace, message), restart, True)


def _app_container_actions(pod: Pod, runtime: PodRuntime, sandbox_id: str, now: float,
                           backoff: RestartBackoff) -> PodActions:
    spec = pod.get("spec") or {}
    policy = restart_policy(pod)
    kills: list[KillContainer] = []
    starts: list[StartContainer | BackOff] = []
    kept = 0
    for c in spec.get("containers") or []:
        name = c["name"]
        run = runtime.newest(name)
        if run is None:
            starts.append(StartContainer(name))
        elif run.state == RUNNING:
            condemned = _condemned(pod, c, run, runtime.unhealthy)
            if condemned is None:
                kept += 1
                continue
            kills.append(condemned.kill)
            if condemned.restart and condemned.backed_off:
                # The back-off counts from this kill, as if the container had just exited.
                starts.append(_start_or_back_off(pod, name, run, now, backoff, finished_at=now))
            elif condemned.restart:
                starts.append(StartContainer(name, restart_count=run.restart_count + 1))
        elif run.state == CREATED and run.sandbox_id == sandbox_id:
            starts.append(StartContainer(name, restart_count=run.restart_count,
                                         existing_id=run.container_id))
        elif run.state == EXITED:
            if should_restart(policy, run.exit_code):
                starts.append(_start_or_back_off(pod, name, run, now, backoff))
        else:  # unknown, or created in a sandbox that is gone: replace it
            if run.state == UNKNOWN:
                kills.append(KillContainer(run.container_id, name, pod_grace_seconds(pod),
                                           f"Stopping container {name}"))
            starts.append(StartContainer(name, restart_count=run.restart_count + 1))
    to_start, waits = _collect(starts)
    kill_pod = None
    if not (kept or kills or to_start or waits):
        # Nothing runs or will run again: release the sandbox (a container being killed
        # now is killed on its own terms first; the next sync finds nothing left).
        kill_pod = KillPod(pod_grace_seconds(pod))
    return PodActions(kill_pod=kill_pod, sandbox_id=sandbox_id, containers_to_kill=tuple(kills),
                      containers_to_start=to_start, backing_off=waits)


