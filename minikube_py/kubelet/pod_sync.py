"""Sync one pod: read what the runtime holds for it, decide with `compute_pod_actions`, perform
those actions through CRI, and write the pod's status when it changed."""

from __future__ import annotations

import asyncio
import copy
import logging
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from cri_api.v1 import api_pb2 as cri

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import PODS
from minikube_py.client.events import NORMAL, WARNING, EventRecorder
from minikube_py.client.interface import ApiClient
from minikube_py.kubelet.backoff import RestartBackoff, crash_loop_message
from minikube_py.kubelet.config import KubeletConfig
from minikube_py.kubelet.cri import CriClient, CriError
from minikube_py.kubelet.dns import DnsSettings, parse_resolv_conf, pod_dns_settings
from minikube_py.kubelet.downward import FieldContext
from minikube_py.kubelet.lifecycle import POST_START_TIMEOUT, hook_handler, run_hook
from minikube_py.kubelet.pod_actions import (
    DEADLINE_EXCEEDED,
    DEADLINE_MESSAGE,
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
    pod_grace_seconds,
)
from minikube_py.kubelet.pod_config import (
    TERMINATION_PATH_ANNOTATION,
    TERMINATION_POLICY_ANNOTATION,
    PodConfigurer,
    PodPrep,
)
from minikube_py.kubelet.pod_objects import ConfigError, ObjectReader, pull_secret_refs
from minikube_py.kubelet.pod_status import (
    CREATED,
    EXITED,
    RUNNING,
    UNKNOWN,
    ContainerRun,
    ContainerView,
    compute_pod_status,
    newest_status,
    status_differs,
)
from minikube_py.kubelet.probe_state import KillDecision
from minikube_py.kubelet.prober import ProbeManager
from minikube_py.kubelet.pull_secrets import pull_auths
from minikube_py.kubelet.specs import (
    CONTAINER_HASH_ANNOTATION,
    CONTAINER_NAME_LABEL,
    POD_UID_LABEL,
    RESTART_COUNT_ANNOTATION,
    all_containers,
    pod_log_dir,
    sandbox_config,
)
from minikube_py.kubelet.termination import termination_message

log = logging.getLogger("minikube_py.kubelet.sync")

Pod = dict[str, Any]
_STATES = {cri.CONTAINER_CREATED: CREATED, cri.CONTAINER_RUNNING: RUNNING,
           cri.CONTAINER_EXITED: EXITED}
# A container that could not be created (bad config, image never to be pulled) is tried again
# after this long.
RETRY_CREATE_SECONDS = 10.0
# One waiting for what it is to be given (a ConfigMap not there yet...) is tried again soon,
# then less often: it starts by itself once the object appears.
CONFIG_RETRY_INITIAL, CONFIG_RETRY_MAX = 1.0, 10.0
MIN_STOP_GRACE = 2  # what a container keeps to stop after its preStop hook (kube's minimum)


def _seconds(ns: int) -> float:
    return ns / 1e9 if ns > 0 else 0.0


def container_run(status: cri.ContainerStatus, sandbox_id: str,
                  termination: str = "") -> ContainerRun:
    """`termination`: the message the container left (its termination-log file)."""
    message = ": ".join(m for m in (status.message, termination) if m)
    return ContainerRun(
        container_id=status.id, state=_STATES.get(status.state, UNKNOWN),
        restart_count=int(status.annotations.get(RESTART_COUNT_ANNOTATION, "0") or 0),
        exit_code=status.exit_code, reason=status.reason, message=message,
        created_at=_seconds(status.created_at), started_at=_seconds(status.started_at),
        finished_at=_seconds(status.finished_at), image_id=status.image_ref,
        sandbox_id=sandbox_id, spec_hash=status.annotations.get(CONTAINER_HASH_ANNOTATION, ""))


def default_pull_policy(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.rsplit(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


# What a runtime's pull error says when no registry could be reached (DNS, connect, TLS).
_UNREACHABLE = ("dial tcp", "no such host", "connection refused", "i/o timeout",
                "network is unreachable", "TLS handshake timeout", "server misbehaving",
                "no route to host", "lookup ")


def pull_failure_message(image: str, error: str) -> str:
    """The runtime's pull error, and when no registry was reachable (a laptop offline, a
    registry this machine may not reach), how to bring the image instead."""
    if not any(marker in error for marker in _UNREACHABLE):
        return error
    return (f"{error}: no registry was reachable for image {image}; bring the image onto "
            "this node with `minikube-py image load FILE` (an OCI or docker-archive "
            "tarball, e.g. from `docker save`); `minikube-py image ls` lists the images "
            "it has, and the pod starts at its next retry")


@dataclass(frozen=True, slots=True)
class Waiting:
    reason: str  # ErrImagePull, CreateContainerError, CrashLoopBackOff...
    message: str = ""


@dataclass(frozen=True, slots=True)
class StartOutcome:
    """How starting one container went: it started (no waiting), or why it waits and when
    to try again."""

    name: str
    waiting: Waiting | None = None
    retry_after: float | None = None
    # Its sandbox was stopped under the attempt: the attempt was the sandbox's failure, not
    # the container's, and counts no restart (see `_lost_start`).
    sandbox_lost: bool = False


class WaitingReasons:
    """Why each container of a pod is not running, as the kubelet found when it tried (kube's
    reason cache). Written in one place: `settle`, from the outcomes of a sync."""

    def __init__(self) -> None:
        self._reasons: dict[tuple[str, str], Waiting] = {}

    def get(self, uid: str, name: str) -> Waiting | None:
        return self._reasons.get((uid, name))

    def settle(self, uid: str, outcomes: Iterable[StartOutcome], running: Iterable[str]) -> None:
        """A container seen running has no reason to wait; then each outcome sets or clears."""
        for name in running:
            self._reasons.pop((uid, name), None)
        for outcome in outcomes:
            if outcome.waiting is None:
                self._reasons.pop((uid, outcome.name), None)
            else:
                self._reasons[(uid, outcome.name)] = outcome.waiting

    def forget_pod(self, uid: str) -> None:
        for key in [k for k in self._reasons if k[0] == uid]:
            del self._reasons[key]


class PodSyncer:
    """Remembers only waiting reasons and back-offs: everything else is read back from the
    runtime on each sync, which is what makes adoption after a kubelet restart work."""

    def __init__(self, *, client: ApiClient, cri_client: CriClient, config: KubeletConfig,
                 recorder: EventRecorder, clock: Callable[[], float],
                 configurer: PodConfigurer, backoff: RestartBackoff | None = None,
                 prober: ProbeManager | None = None) -> None:
        self.client = client
        self.cri = cri_client
        self.config = config
        self.recorder = recorder
        self.clock = clock
        self.configurer = configurer
        self.volumes = configurer.volumes
        self.backoff = backoff or RestartBackoff()
        self.pull_backoff = RestartBackoff()
        self._pull_errors: dict[tuple[str, str], str] = {}  # the last failed pull's message
        self.config_backoff = RestartBackoff(initial=CONFIG_RETRY_INITIAL,
                                             maximum=CONFIG_RETRY_MAX)
        self.prober = prober
        self.reasons = WaitingReasons()
        # The status last written for each pod (kube's status manager cache), by UID.
        self._reported: dict[str, dict[str, Any]] = {}
        self._host_dns: DnsSettings | None = None
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True, limit=0), trust_env=False)
        return self._http

    # --- public --------------------------------------------------------------------------

    async def sync(self, pod: Pod) -> float | None:
        """One pass over the pod; returns when to sync it again (a back-off ending), if ever."""
        runtime = await self.observe(pod)
        actions = compute_pod_actions(pod, runtime, self.clock(), self.backoff)
        if actions.mode is SyncMode.TERMINATE:
            assert actions.kill_pod is not None
            # Not ready from the moment it is deleted, before its containers get their grace
            # period: nothing should pick a pod on its way out (kubectl logs deploy/x).
            await self._write_status(pod, self._status(pod, runtime.containers,
                                                       self._pod_ips(pod, runtime)))
            await self.kill_pod(pod, actions.kill_pod)
            await self._delete_from_api(pod)
            return None
        if actions.mode is SyncMode.FINISHED:
            assert actions.kill_pod is not None
            if self.prober is not None:
                self.prober.forget_pod(pod["metadata"]["uid"])
            await self.kill_pod(pod, actions.kill_pod)
            await self.volumes.release_memory(pod["metadata"]["uid"])
            return None
        deadline = active_deadline_remaining(pod, self.clock())
        if deadline is not None and deadline <= 0:
            await self._deadline_exceeded(pod, runtime)
            return None
        again = await self._run(pod, runtime, actions)
        if deadline is None:
            return again
        return min(deadline, again) if again is not None else deadline

    async def _deadline_exceeded(self, pod: Pod, runtime: PodRuntime) -> None:
        """activeDeadlineSeconds ran out: the pod fails with DeadlineExceeded, then its
        containers are stopped (as kube's active deadline handler)."""
        self.recorder.record(pod, NORMAL, DEADLINE_EXCEEDED, DEADLINE_MESSAGE)
        failed = {"phase": "Failed", "reason": DEADLINE_EXCEEDED, "message": DEADLINE_MESSAGE}
        pod_ips = self._pod_ips(pod, runtime)
        await self._write_status(pod, {**self._status(pod, runtime.containers, pod_ips),
                                       **failed})
        await self.kill_pod(pod, KillPod(pod_grace_seconds(pod)))
        runs = await self._runs_by_name(pod["metadata"]["uid"])
        await self._write_status(pod, {**self._status(pod, runs, pod_ips), **failed})

    async def observe(self, pod: Pod) -> PodRuntime:
        """The pod's sandboxes (the newest one's IPs), its containers' newest runs and the
        probes' kill verdicts on the running ones."""
        uid = pod["metadata"]["uid"]
        found = await self.cri.list_pod_sandboxes(labels={POD_UID_LABEL: uid})
        found.sort(key=lambda s: s.created_at, reverse=True)
        sandboxes = [SandboxRun(s.id, s.state == cri.SANDBOX_READY, s.metadata.attempt,
                                s.created_at) for s in found]
        if sandboxes and sandboxes[0].ready and not (pod.get("spec") or {}).get("hostNetwork"):
            sandboxes[0] = replace(sandboxes[0],
                                   ips=await self._sandbox_ips(sandboxes[0].sandbox_id))
        runs = await self._runs_by_name(uid)
        unhealthy: dict[str, KillDecision] = {}
        for name, rs in runs.items():
            if self.prober is not None and rs and rs[0].state == RUNNING:
                verdict = self.prober.kill_decision(uid, name, rs[0].container_id)
                if verdict is not None:
                    unhealthy[rs[0].container_id] = verdict
        return PodRuntime(tuple(sandboxes), {name: tuple(rs) for name, rs in runs.items()},
                          unhealthy)

    async def terminate(self, pod: Pod, grace_seconds: int) -> None:
        """Tear down everything the pod has on this node (it is gone from the API)."""
        await self.kill_pod(pod, KillPod(grace_seconds, remove=True))

    async def kill_pod(self, pod: Pod, kill: KillPod) -> None:
        """Stop every container of the pod (SIGTERM, SIGKILL after the grace period: the
        runtime's job), then its sandboxes; with `remove`, remove those and the pod's
        directories too. The containers are listed now, not taken from the sync's snapshot,
        so nothing started since is left running. Raises on a runtime failure so the worker
        retries; a sandbox is only gone once RemovePodSandbox succeeded."""
        uid = pod["metadata"]["uid"]
        containers = await self.cri.list_containers(labels={POD_UID_LABEL: uid})
        live = [c for c in containers if c.state in (cri.CONTAINER_RUNNING, cri.CONTAINER_CREATED)]
        for c in live:
            self.recorder.record(pod, NORMAL, "Killing", f"Stopping container {c.metadata.name}")
        results = await asyncio.gather(
            *(self._stop_container(pod, c.id, c.labels.get(CONTAINER_NAME_LABEL, c.metadata.name),
                                   kill.grace_seconds, running=c.state == cri.CONTAINER_RUNNING)
              for c in live),
            return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException) and not (isinstance(r, CriError) and r.not_found):
                raise r
        for sb in await self.cri.list_pod_sandboxes(labels={POD_UID_LABEL: uid}):
            if kill.remove or sb.state == cri.SANDBOX_READY:
                await self.cri.stop_pod_sandbox(sb.id)
            if kill.remove:
                await self.cri.remove_pod_sandbox(sb.id)
        if kill.remove:
            self.forget(uid)
            await asyncio.to_thread(shutil.rmtree, pod_log_dir(self.config.pods_dir, pod), True)
            await self.volumes.tear_down(uid)

    async def _stop_container(self, pod: Pod, container_id: str, name: str, grace: int, *,
                              running: bool) -> None:
        """Stop one container: its preStop hook first (within the grace period), then the
        runtime's SIGTERM and, when what is left of the grace runs out, SIGKILL."""
        spec = next((c for c in all_containers(pod.get("spec") or {}) if c.get("name") == name),
                    None)
        hook = hook_handler(spec, "preStop") if spec is not None and running else None
        if hook is not None and grace > 0:
            started = self.clock()
            failure = await run_hook(
                hook, cri_client=self.cri, session=self._session(), pod=pod, container=spec or {},
                container_id=container_id, pod_ip=(pod.get("status") or {}).get("podIP", ""),
                timeout=grace)
            if failure is not None:
                log.warning("preStop hook of %s/%s: %s", pod["metadata"].get("name"), name, failure)
                # The event does not carry the hook's output: it could hold a secret (as kube).
                self.recorder.record(pod, WARNING, "FailedPreStopHook", "PreStopHook failed")
            grace = max(MIN_STOP_GRACE, grace - int(self.clock() - started))
        await self.cri.stop_container(container_id, grace)

    def forget(self, uid: str) -> None:
        self.backoff.forget_pod(uid)
        self.pull_backoff.forget_pod(uid)
        for key in [k for k in self._pull_errors if k[0] == uid]:
            del self._pull_errors[key]
        self.config_backoff.forget_pod(uid)
        self.reasons.forget_pod(uid)
        self._reported.pop(uid, None)
        if self.prober is not None:
            self.prober.forget_pod(uid)

    # --- performing the actions ----------------------------------------------------------

    async def _run(self, pod: Pod, runtime: PodRuntime, actions: PodActions) -> float | None:
        uid = pod["metadata"]["uid"]
        if actions.kill_pod is not None:
            await self.kill_pod(pod, actions.kill_pod)
        for kill in actions.containers_to_kill:
            await self._kill_container(pod, kill)
        # Everything the pod is given is read now, once for the whole sync.
        reader = ObjectReader(self.client, pod["metadata"].get("namespace", "default"))
        prep = await self.configurer.prepare_pod(pod, reader)
        if prep.blocked is not None:
            outcomes = [self._config_wait(pod, s.name, prep.blocked, record=False)
                        for s in actions.starts]
            pod_ips = [] if actions.create_sandbox else self._pod_ips(pod, runtime)
        else:
            self.config_backoff.forget((uid, ""))
            if actions.create_sandbox:
                sandbox_id, sandbox_cfg, pod_ips = await self._create_sandbox(pod,
                                                                              actions.attempt)
            else:
                sandbox_id = actions.sandbox_id
                sandbox_cfg = self._sandbox_config(pod, runtime.sandboxes[0].attempt)
                pod_ips = self._pod_ips(pod, runtime)
                if actions.starts:  # the snapshot may be older than the sandbox's stop
                    actions = confirm_sandbox(actions, await self._sandbox_ready(sandbox_id))
            ctx = FieldContext(pod_ips=tuple(pod_ips), host_ips=(self.config.node_ip,),
                               allocatable=self.configurer.node.allocatable)
            outcomes = [await self._start(pod, s, sandbox_id, sandbox_cfg, ctx, prep, reader)
                        for s in actions.starts]
        outcomes += [self._backing_off(pod, b) for b in actions.backing_off]
        killed = {k.name for k in actions.containers_to_kill}
        self.reasons.settle(uid, outcomes, running=[
            name for name, runs in runtime.containers.items()
            if runs and runs[0].state == RUNNING and name not in killed])
        runs = await self._runs_by_name(uid)
        if self.prober is not None:
            self.prober.track_pod(pod, runs, pod_ips[0] if pod_ips else "")
        await self._write_status(pod, self._status(pod, runs, pod_ips))
        again = [o.retry_after for o in outcomes if o.retry_after is not None]
        if actions.sandbox_lost:
            again.append(0.0)
        return min(again, default=None)

    def _config_wait(self, pod: Pod, name: str, message: str, *, record: bool = True,
                     key: str = "") -> StartOutcome:
        """A container that waits for what it is to be given (CreateContainerConfigError),
        tried again after a back-off of its own (a pod-wide one when `key` is "")."""
        if record:
            self.recorder.record(pod, WARNING, "Failed", f"Error: {message}")
        backoff_key = (pod["metadata"]["uid"], key)
        now = self.clock()
        if self.config_backoff.remaining_since_last(backoff_key, now) <= 0:
            self.config_backoff.record_restart(backoff_key, now)
        return StartOutcome(name, Waiting("CreateContainerConfigError", message),
                            max(self.config_backoff.remaining_since_last(backoff_key, now),
                                CONFIG_RETRY_INITIAL))

    async def _kill_container(self, pod: Pod, kill: KillContainer) -> None:
        self.recorder.record(pod, NORMAL, "Killing", kill.message)
        try:
            await self._stop_container(pod, kill.container_id, kill.name, kill.grace_seconds,
                                       running=True)
        except CriError as e:
            if not e.not_found:
                raise

    async def _start(self, pod: Pod, start: StartContainer, sandbox_id: str,
                     sandbox_cfg: cri.PodSandboxConfig, ctx: FieldContext, prep: PodPrep,
                     reader: ObjectReader) -> StartOutcome:
        c = next(c for c in all_containers(pod.get("spec") or {}) if c["name"] == start.name)
        if start.existing_id:
            return await self._start_created(pod, c, start.existing_id, sandbox_id, ctx)
        now = self.clock()
        outcome = await self._create_and_start(pod, c, start, sandbox_id, sandbox_cfg, ctx,
                                               prep, reader)
        if start.counts_as_restart and not outcome.sandbox_lost:
            # As of when the restart began (kube's back-off counts before the pull), but only
            # once it is known to have been the container's own attempt.
            self.backoff.record_restart((pod["metadata"]["uid"], start.name), now)
        return outcome

    async def _create_and_start(self, pod: Pod, c: dict[str, Any], start: StartContainer,
                                sandbox_id: str, sandbox_cfg: cri.PodSandboxConfig,
                                ctx: FieldContext, prep: PodPrep,
                                reader: ObjectReader) -> StartOutcome:
        image, missing = await self._ensure_image(pod, c, reader)
        if missing is not None:
            return missing
        try:
            config = await self.configurer.container_config(
                pod, c, restart_count=start.restart_count, init=start.init, prep=prep,
                reader=reader, ctx=ctx, image=image, target_id=start.target_id)
        except ConfigError as e:
            return self._config_wait(pod, start.name, str(e), key=start.name)
        self.config_backoff.forget((pod["metadata"]["uid"], start.name))
        try:
            cid = await self.cri.create_container(sandbox_id, config, sandbox_cfg)
        except CriError as e:
            self.recorder.record(pod, WARNING, "Failed", f"Error: {e.details}")
            if not await self._sandbox_ready(sandbox_id):
                return await self._lost_start(start.name)
            return StartOutcome(start.name, Waiting("CreateContainerError", e.details),
                                RETRY_CREATE_SECONDS)
        self.recorder.record(pod, NORMAL, "Created", f"Created container {start.name}")
        return await self._start_created(pod, c, cid, sandbox_id, ctx)

    async def _start_created(self, pod: Pod, c: dict[str, Any], container_id: str,
                             sandbox_id: str, ctx: FieldContext) -> StartOutcome:
        try:
            await self.cri.start_container(container_id)
        except CriError as e:
            self.recorder.record(pod, WARNING, "Failed", f"Error: {e.details}")
            if not await self._sandbox_ready(sandbox_id):
                return await self._lost_start(c["name"], container_id)
            # The container is now exited with a StartError; the next sync restarts it.
            return StartOutcome(c["name"])
        self.recorder.record(pod, NORMAL, "Started", f"Started container {c['name']}")
        hook = hook_handler(c, "postStart")
        if hook is None:
            return StartOutcome(c["name"])
        failure = await run_hook(hook, cri_client=self.cri, session=self._session(), pod=pod,
                                 container=c, container_id=container_id,
                                 pod_ip=ctx.pod_ips[0] if ctx.pod_ips else "",
                                 timeout=POST_START_TIMEOUT)
        if failure is None:
            return StartOutcome(c["name"])
        # As kube: the event does not carry the hook's output (it could hold a secret); the
        # container is killed and restarts as its policy says.
        self.recorder.record(pod, WARNING, "FailedPostStartHook", "PostStartHook failed")
        self.recorder.record(pod, NORMAL, "Killing",
                             f"FailedPostStartHook: stopping container {c['name']}")
        try:
            await self._stop_container(pod, container_id, c["name"],
                                       int((pod.get("spec") or {}).get(
                                           "terminationGracePeriodSeconds", 30)), running=True)
        except CriError as e:
            if not e.not_found:
                raise
        if (pod.get("spec") or {}).get("restartPolicy") == "Never":
            return StartOutcome(c["name"])  # it stays as the kill left it: terminated
        return StartOutcome(c["name"], Waiting("PostStartHookError", failure),
                            RETRY_CREATE_SECONDS)

    async def _lost_start(self, name: str, container_id: str = "") -> StartOutcome:
        """A create or start that failed because its sandbox was stopped under it: the runtime
        kills a sandbox's containers before the sandbox, so a sync can see the sandbox ready
        until after `confirm_sandbox` looked. The container never ran there; kept as a run,
        it would count a restart that never happened (and the new sandbox that must follow
        one more), so it is removed, no back-off is recorded, and the pod is synced again at
        once: its containers start once, in a new sandbox."""
        if container_id:
            try:
                await self.cri.remove_container(container_id)
            except CriError as e:
                if not e.not_found:
                    raise
        return StartOutcome(name, retry_after=0.0, sandbox_lost=True)

    def _backing_off(self, pod: Pod, wait: BackOff) -> StartOutcome:
        meta = pod["metadata"]
        previous = self.reasons.get(meta["uid"], wait.name)
        if previous is None or previous.reason != "CrashLoopBackOff":
            self.recorder.record(pod, WARNING, "BackOff", "Back-off restarting failed container "
                                 f"{wait.name} in pod {meta['name']}")
        message = crash_loop_message(wait.delay, wait.name, meta["name"],
                                     meta.get("namespace", "default"), meta["uid"])
        return StartOutcome(wait.name, Waiting("CrashLoopBackOff", message), wait.remaining)

    async def _ensure_image(self, pod: Pod, c: dict[str, Any], reader: ObjectReader,
                            ) -> tuple[cri.Image | None, StartOutcome | None]:
        """The image (what runAsNonRoot is checked against) and no outcome when it is
        present. An image already in the runtime is used even with pullPolicy Always: no
        registry is reachable from a laptop cluster's tests, and `image load` is how images
        arrive. A pull tries the pod's imagePullSecrets for the image's registry."""
        image = c.get("image", "")
        key = (pod["metadata"]["uid"], c["name"])
        present = await self.cri.image_status(image)
        if present is not None:
            self.recorder.record(pod, NORMAL, "Pulled",
                                 f'Container image "{image}" already present on machine')
            return present, None
        policy = c.get("imagePullPolicy") or default_pull_policy(image)
        if policy == "Never":
            message = f'Container image "{image}" is not present with pull policy of Never'
            self.recorder.record(pod, WARNING, "ErrImageNeverPull", message)
            return None, StartOutcome(c["name"], Waiting("ErrImageNeverPull", message),
                                      RETRY_CREATE_SECONDS)
        now = self.clock()
        remaining = self.pull_backoff.remaining_since_last(key, now)
        if remaining > 0:
            last = self._pull_errors.get(key)
            message = f'Back-off pulling image "{image}"' + (
                f": ErrImagePull: {last}" if last else "")
            return None, StartOutcome(c["name"], Waiting("ImagePullBackOff", message),
                                      remaining)
        auths = await self._pull_auths(pod, image, reader)
        self.recorder.record(pod, NORMAL, "Pulling", f'Pulling image "{image}"')
        error = ""
        attempts: list[cri.AuthConfig | None] = [*auths] or [None]
        for auth in attempts:
            try:
                await self.cri.pull_image(image, auth)
                break
            except CriError as e:
                error = e.details
        else:
            self.pull_backoff.record_restart(key, now)
            message = pull_failure_message(image, error)
            self._pull_errors[key] = message
            self.recorder.record(pod, WARNING, "Failed",
                                 f'Failed to pull image "{image}": {message}')
            return None, StartOutcome(c["name"], Waiting("ErrImagePull", message),
                                      self.pull_backoff.current_delay(key))
        self._pull_errors.pop(key, None)
        self.recorder.record(pod, NORMAL, "Pulled", f'Successfully pulled image "{image}"')
        return await self.cri.image_status(image), None

    async def _pull_auths(self, pod: Pod, image: str, reader: ObjectReader,
                          ) -> list[cri.AuthConfig]:
        """As kube: a pull secret that cannot be read is warned about, and the pull goes on
        with the ones that could."""
        refs = pull_secret_refs(pod.get("spec") or {})
        fetched = await reader.read(refs)
        secrets = [f.obj for f in fetched.values() if f.obj is not None]
        if len(secrets) < len(refs):
            self.recorder.record(pod, WARNING, "FailedToRetrieveImagePullSecret",
                                 "Unable to retrieve some image pull secrets ("
                                 + ", ".join(r.name for r in refs if fetched[r].obj is None)
                                 + "); attempting to pull the image may not succeed.")
        return pull_auths(image, secrets)

    # --- sandbox -------------------------------------------------------------------------

    def _host_dns_settings(self) -> DnsSettings:
        if self._host_dns is None:
            try:
                self._host_dns = parse_resolv_conf(self.config.host_resolv_conf.read_text())
            except OSError:
                self._host_dns = DnsSettings()
        return self._host_dns

    def _sandbox_config(self, pod: Pod, attempt: int) -> cri.PodSandboxConfig:
        meta = pod["metadata"]
        dns = pod_dns_settings(pod.get("spec") or {}, meta.get("namespace", "default"),
                               cluster_dns=self.config.cluster_dns,
                               cluster_domain=self.config.cluster_domain,
                               host=self._host_dns_settings())
        return sandbox_config(pod, log_dir=pod_log_dir(self.config.pods_dir, pod), dns=dns,
                              attempt=attempt, node_name=self.config.node_name,
                              cluster_domain=self.config.cluster_domain)

    async def _create_sandbox(self, pod: Pod, attempt: int,
                              ) -> tuple[str, cri.PodSandboxConfig, list[str]]:
        cfg = self._sandbox_config(pod, attempt)
        await asyncio.to_thread(pod_log_dir(self.config.pods_dir, pod).mkdir, parents=True,
                                exist_ok=True)
        sandbox_id = await self.cri.run_pod_sandbox(cfg)
        if (pod.get("spec") or {}).get("hostNetwork"):
            return sandbox_id, cfg, [self.config.node_ip]
        return sandbox_id, cfg, list(await self._sandbox_ips(sandbox_id))

    async def _sandbox_ready(self, sandbox_id: str) -> bool:
        """Read now, not from the sync's snapshot: a sandbox gone altogether is not ready."""
        try:
            status = await self.cri.pod_sandbox_status(sandbox_id)
        except CriError as e:
            if e.not_found:
                return False
            raise
        return bool(status.state == cri.SANDBOX_READY)

    async def _sandbox_ips(self, sandbox_id: str) -> tuple[str, ...]:
        status = await self.cri.pod_sandbox_status(sandbox_id)
        ips = [status.network.ip] if status.network.ip else []
        return tuple(ips + [a.ip for a in status.network.additional_ips if a.ip])

    def _pod_ips(self, pod: Pod, runtime: PodRuntime) -> list[str]:
        if (pod.get("spec") or {}).get("hostNetwork"):
            return [self.config.node_ip]
        return list(runtime.sandboxes[0].ips) if runtime.sandboxes else []

    # --- containers ----------------------------------------------------------------------

    async def _runs_by_name(self, uid: str) -> dict[str, list[ContainerRun]]:
        """Each container name's runs, newest first (only the newest two are inspected)."""
        containers = await self.cri.list_containers(labels={POD_UID_LABEL: uid})
        by_name: dict[str, list[cri.Container]] = {}
        for c in containers:
            by_name.setdefault(c.labels.get(CONTAINER_NAME_LABEL, c.metadata.name), []).append(c)
        runs: dict[str, list[ContainerRun]] = {}
        for name, cs in by_name.items():
            cs.sort(key=lambda c: c.created_at, reverse=True)
            runs[name] = []
            for c in cs[:2]:
                try:
                    st = await self.cri.container_status(c.id)
                except CriError as e:
                    if e.not_found:
                        continue
                    raise
                runs[name].append(container_run(st, c.pod_sandbox_id,
                                                await self._termination_message(st)))
        return runs

    @staticmethod
    async def _termination_message(status: cri.ContainerStatus) -> str:
        path = status.annotations.get(TERMINATION_PATH_ANNOTATION)
        if status.state != cri.CONTAINER_EXITED or not path:
            return ""
        return await asyncio.to_thread(termination_message, status, path,
                                       status.annotations.get(TERMINATION_POLICY_ANNOTATION,
                                                              "File"))

    # --- status --------------------------------------------------------------------------

    def _views(self, pod: Pod, containers: list[dict[str, Any]],
               runs: Mapping[str, Sequence[ContainerRun]]) -> list[ContainerView]:
        uid = pod["metadata"]["uid"]
        views = []
        for c in containers:
            rs = runs.get(c["name"]) or ()
            waiting = self.reasons.get(uid, c["name"])
            cur = rs[0] if rs else None
            probes = (self.prober.probe_state(uid, c["name"], cur.container_id)
                      if self.prober is not None and cur is not None else None)
            views.append(ContainerView(
                name=c["name"], image=c.get("image", ""), current=cur,
                previous=rs[1] if len(rs) > 1 else None,
                waiting_reason=waiting.reason if waiting else "",
                waiting_message=waiting.message if waiting else "",
                # Without probes, a running container is started and ready.
                ready=cur is not None and cur.state == RUNNING and (probes is None
                                                                   or probes.ready),
                started=None if probes is None else probes.started))
        return views

    def _status(self, pod: Pod, runs: Mapping[str, Sequence[ContainerRun]],
                pod_ips: list[str]) -> dict[str, Any]:
        spec = pod.get("spec") or {}
        base = {**pod, "status": newest_status(pod.get("status") or {},
                                               self._reported.get(pod["metadata"]["uid"]))}
        return compute_pod_status(
            base, init_views=self._views(pod, spec.get("initContainers") or [], runs),
            views=self._views(pod, spec.get("containers") or [], runs), pod_ips=pod_ips,
            host_ip=self.config.node_ip, now=self.clock(),
            ephemeral_views=self._views(pod, spec.get("ephemeralContainers") or [], runs))

    async def _write_status(self, pod: Pod, status: dict[str, Any]) -> None:
        meta = pod["metadata"]
        if not status_differs(pod.get("status") or {}, status):
            self._reported[meta["uid"]] = status
            return
        body = copy.deepcopy(pod)
        body["status"] = {**(pod.get("status") or {}), **status}
        for _ in range(5):
            try:
                await self.client.update(PODS, body, namespace=meta.get("namespace"),
                                         subresource="status")
                self._reported[meta["uid"]] = status
                return
            except ApiError as e:
                if e.code == 404:
                    return
                if e.code != 409:
                    raise
            fresh = await self.client.get(PODS, meta["name"], namespace=meta.get("namespace"))
            if fresh["metadata"].get("uid") != meta["uid"]:
                return
            body = fresh
            body["status"] = {**(fresh.get("status") or {}), **status}

    async def _delete_from_api(self, pod: Pod) -> None:
        meta = pod["metadata"]
        try:
            await self.client.delete(PODS, meta["name"], namespace=meta.get("namespace"),
                                     grace_period_seconds=0,
                                     preconditions={"uid": meta["uid"]})
        except ApiError as e:
            if e.code not in (404, 409):  # gone already, or a new pod took the name
                raise
