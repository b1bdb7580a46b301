"""Sync one pod: make the runtime match its spec (sandbox, init and app containers, restarts),
tear it down when it is deleted, and write its status when it changed."""

from __future__ import annotations

import asyncio
import copy
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cri_api.v1 import api_pb2 as cri

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import PODS
from minikube_py.client.events import NORMAL, WARNING, EventRecorder
from minikube_py.client.interface import ApiClient
from minikube_py.kubelet.backoff import RestartBackoff, crash_loop_message, should_restart
from minikube_py.kubelet.config import KubeletConfig
from minikube_py.kubelet.cri import CriClient, CriError
from minikube_py.kubelet.dns import DnsSettings, parse_resolv_conf, pod_dns_settings
from minikube_py.kubelet.pod_status import (
    CREATED,
    EXITED,
    RUNNING,
    UNKNOWN,
    ContainerRun,
    ContainerView,
    compute_pod_status,
    status_differs,
)
from minikube_py.kubelet.probe_state import KillDecision
from minikube_py.kubelet.prober import ProbeManager
from minikube_py.kubelet.specs import (
    CONTAINER_NAME_LABEL,
    POD_UID_LABEL,
    RESTART_COUNT_ANNOTATION,
    FieldContext,
    container_config,
    pod_log_dir,
    sandbox_config,
    volume_host_paths,
)

log = logging.getLogger("minikube_py.kubelet.sync")

Pod = dict[str, Any]
_STATES = {cri.CONTAINER_CREATED: CREATED, cri.CONTAINER_RUNNING: RUNNING,
           cri.CONTAINER_EXITED: EXITED}


def _seconds(ns: int) -> float:
    return ns / 1e9 if ns > 0 else 0.0


def container_run(status: cri.ContainerStatus, sandbox_id: str) -> ContainerRun:
    return ContainerRun(
        container_id=status.id, state=_STATES.get(status.state, UNKNOWN),
        restart_count=int(status.annotations.get(RESTART_COUNT_ANNOTATION, "0") or 0),
        exit_code=status.exit_code, reason=status.reason, message=status.message,
        created_at=_seconds(status.created_at), started_at=_seconds(status.started_at),
        finished_at=_seconds(status.finished_at), image_id=status.image_ref,
        sandbox_id=sandbox_id)


def default_pull_policy(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.rsplit(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


class PodSyncer:
    """Stateless about pods except waiting reasons and back-off: everything else is read
    back from the runtime on each sync, which is what makes restart adoption work."""

    def __init__(self, *, client: ApiClient, cri_client: CriClient, config: KubeletConfig,
                 recorder: EventRecorder, clock: Callable[[], float],
                 backoff: RestartBackoff | None = None,
                 prober: ProbeManager | None = None) -> None:
        self.client = client
        self.cri = cri_client
        self.config = config
        self.recorder = recorder
        self.clock = clock
        self.backoff = backoff or RestartBackoff()
        self.pull_backoff = RestartBackoff()
        self.prober = prober
        self._waiting: dict[tuple[str, str], tuple[str, str]] = {}
        self._host_dns: DnsSettings | None = None

    # --- public --------------------------------------------------------------------------

    async def sync(self, pod: Pod) -> float | None:
        meta = pod["metadata"]
        uid = meta["uid"]
        if meta.get("deletionTimestamp"):
            grace = meta.get("deletionGracePeriodSeconds")
            await self.terminate(pod, 30 if grace is None else int(grace))
            await self._delete_from_api(pod)
            return None
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            if self.prober is not None:
                self.prober.forget_pod(uid)
            await self._stop_sandboxes(uid)
            return None
        sandbox_id, sandbox_cfg, pod_ips = await self._ensure_sandbox(pod)
        ctx = FieldContext(pod_ip=pod_ips[0] if pod_ips else "", host_ip=self.config.node_ip,
                           node_name=self.config.node_name)
        runs = await self._runs_by_name(uid)
        wake: list[float] = []
        initialized = await self._sync_init_containers(pod, sandbox_id, sandbox_cfg, ctx, runs,
                                                       wake)
        if initialized:
            for c in (pod.get("spec") or {}).get("containers") or []:
                await self._sync_app_container(pod, c, sandbox_id, sandbox_cfg, ctx, runs, wake)
        runs = await self._runs_by_name(uid)
        if self.prober is not None:
            self.prober.track_pod(pod, runs, pod_ips[0] if pod_ips else "")
        status = self._status(pod, runs, pod_ips)
        await self._write_status(pod, status)
        return min(wake) if wake else None

    async def terminate(self, pod: Pod, grace_seconds: int) -> None:
        """Stop every container of the pod (SIGTERM, SIGKILL after the grace period: the
        runtime's job), then stop and remove its sandboxes. Raises on a runtime failure so the
        worker retries; a sandbox is only gone once RemovePodSandbox succeeded."""
        uid = pod["metadata"]["uid"]
        containers = await self.cri.list_containers(labels={POD_UID_LABEL: uid})
        live = [c for c in containers if c.state in (cri.CONTAINER_RUNNING, cri.CONTAINER_CREATED)]
        for c in live:
            self.recorder.record(pod, NORMAL, "Killing",
                                 f"Stopping container {c.metadata.name}")
        results = await asyncio.gather(
            *(self.cri.stop_container(c.id, grace_seconds) for c in live), return_exceptions=True)
        for r in results:
            if isinstance(r, CriError) and not r.not_found:
                raise r
        for sb in await self.cri.list_pod_sandboxes(labels={POD_UID_LABEL: uid}):
            await self.cri.stop_pod_sandbox(sb.id)
            await self.cri.remove_pod_sandbox(sb.id)
        self.forget(uid)
        log_dir = pod_log_dir(self.config.pods_dir, pod)
        await asyncio.to_thread(shutil.rmtree, log_dir, True)
        await asyncio.to_thread(shutil.rmtree, self._volumes_dir(uid), True)

    def forget(self, uid: str) -> None:
        self.backoff.forget_pod(uid)
        self.pull_backoff.forget_pod(uid)
        if self.prober is not None:
            self.prober.forget_pod(uid)
        for key in [k for k in self._waiting if k[0] == uid]:
            del self._waiting[key]

    # --- sandbox -------------------------------------------------------------------------

    def _host_dns_settings(self) -> DnsSettings:
        if self._host_dns is None:
            try:
                self._host_dns = parse_resolv_conf(self.config.host_resolv_conf.read_text())
            except OSError:
                self._host_dns = DnsSettings()
        return self._host_dns

    def _volumes_dir(self, uid: str) -> Path:
        return self.config.data_dir / "pod-volumes" / uid

    def _sandbox_config(self, pod: Pod, attempt: int) -> cri.PodSandboxConfig:
        meta = pod["metadata"]
        dns = pod_dns_settings(pod.get("spec") or {}, meta.get("namespace", "default"),
                               cluster_dns=self.config.cluster_dns,
                               cluster_domain=self.config.cluster_domain,
                               host=self._host_dns_settings())
        return sandbox_config(pod, log_dir=pod_log_dir(self.config.pods_dir, pod), dns=dns,
                              attempt=attempt, node_name=self.config.node_name)

    async def _ensure_sandbox(self, pod: Pod) -> tuple[str, cri.PodSandboxConfig, list[str]]:
        uid = pod["metadata"]["uid"]
        sandboxes = await self.cri.list_pod_sandboxes(labels={POD_UID_LABEL: uid})
        ready = sorted((s for s in sandboxes if s.state == cri.SANDBOX_READY),
                       key=lambda s: s.created_at, reverse=True)
        if ready:
            sandbox = ready[0]
            cfg = self._sandbox_config(pod, sandbox.metadata.attempt)
        else:
            cfg = self._sandbox_config(pod, len(sandboxes))
            await asyncio.to_thread(self._make_pod_dirs, pod)
            sandbox_id = await self.cri.run_pod_sandbox(cfg)
            sandbox = cri.PodSandbox(id=sandbox_id)
        if (pod.get("spec") or {}).get("hostNetwork"):
            return sandbox.id, cfg, [self.config.node_ip]
        status = await self.cri.pod_sandbox_status(sandbox.id)
        ips = [status.network.ip] if status.network.ip else []
        ips += [a.ip for a in status.network.additional_ips if a.ip]
        return sandbox.id, cfg, ips

    def _make_pod_dirs(self, pod: Pod) -> None:
        pod_log_dir(self.config.pods_dir, pod).mkdir(parents=True, exist_ok=True)
        vol_dir = self._volumes_dir(pod["metadata"]["uid"])
        for path in volume_host_paths(pod, vol_dir).values():
            if path.startswith(str(vol_dir)):  # emptyDir; hostPath dirs are the user's
                Path(path).mkdir(parents=True, exist_ok=True)

    async def _stop_sandboxes(self, uid: str) -> None:
        for sb in await self.cri.list_pod_sandboxes(labels={POD_UID_LABEL: uid}):
            if sb.state == cri.SANDBOX_READY:
                await self.cri.stop_pod_sandbox(sb.id)

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
                runs[name].append(container_run(st, c.pod_sandbox_id))
        return runs

    async def _sync_init_containers(self, pod: Pod, sandbox_id: str,
                                    sandbox_cfg: cri.PodSandboxConfig, ctx: FieldContext,
                                    runs: dict[str, list[ContainerRun]],
                                    wake: list[float]) -> bool:
        """Runs init containers one at a time, in order; True once all have succeeded."""
        spec = pod.get("spec") or {}
        policy = spec.get("restartPolicy") or "Always"
        for c in spec.get("initContainers") or []:
            cur = next(iter(runs.get(c["name"]) or []), None)
            if cur is not None and cur.state == EXITED and cur.exit_code == 0:
                continue
            if cur is not None and cur.state == RUNNING:
                return False
            if cur is not None and cur.state == CREATED and cur.sandbox_id == sandbox_id:
                await self._start_created(pod, c, cur.container_id)
                return False
            if cur is not None and cur.state == EXITED and policy == "Never":
                return False  # the pod fails; pod_phase reports it
            await self._restart_or_start(pod, c, sandbox_id, sandbox_cfg, ctx, cur, wake,
                                         init=True)
            return False
        return True

    async def _sync_app_container(self, pod: Pod, c: dict[str, Any], sandbox_id: str,
                                  sandbox_cfg: cri.PodSandboxConfig, ctx: FieldContext,
                                  runs: dict[str, list[ContainerRun]], wake: list[float]) -> None:
        policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
        cur = next(iter(runs.get(c["name"]) or []), None)
        if cur is not None and cur.sandbox_id == sandbox_id:
            if cur.state == RUNNING:
                kill = (self.prober.kill_decision(pod["metadata"]["uid"], c["name"],
                                                  cur.container_id)
                        if self.prober is not None else None)
                if kill is None:
                    self._waiting.pop((pod["metadata"]["uid"], c["name"]), None)
                    return
                cur = await self._kill_unhealthy(pod, cur, kill, restart=policy != "Never")
                if policy != "Never":  # even after a clean exit under OnFailure, as kube
                    await self._restart_or_start(pod, c, sandbox_id, sandbox_cfg, ctx, cur,
                                                 wake, init=False)
                return
            if cur.state == CREATED:
                await self._start_created(pod, c, cur.container_id)
                return
            if cur.state == EXITED and not should_restart(policy, cur.exit_code):
                return
        await self._restart_or_start(pod, c, sandbox_id, sandbox_cfg, ctx, cur, wake, init=False)

    async def _kill_unhealthy(self, pod: Pod, cur: ContainerRun, kill: KillDecision, *,
                              restart: bool) -> ContainerRun:
        """Stop a container its liveness or startup probe condemned; returns its exited run."""
        grace = kill.grace_seconds
        if grace is None:
            grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        self.recorder.record(pod, NORMAL, "Killing",
                             kill.message + (", will be restarted" if restart else ""))
        try:
            await self.cri.stop_container(cur.container_id, 30 if grace is None else int(grace))
        except CriError as e:
            if not e.not_found:
                raise
        return container_run(await self.cri.container_status(cur.container_id), cur.sandbox_id)

    async def _restart_or_start(self, pod: Pod, c: dict[str, Any], sandbox_id: str,
                                sandbox_cfg: cri.PodSandboxConfig, ctx: FieldContext,
                                cur: ContainerRun | None, wake: list[float], *, init: bool,
                                ) -> None:
        meta = pod["metadata"]
        key = (meta["uid"], c["name"])
        now = self.clock()
        restart_count = 0
        if cur is not None:
            restart_count = cur.restart_count + 1
            if cur.state == EXITED:
                remaining = self.backoff.remaining(key, cur.finished_at, now)
                if remaining > 0:
                    delay = self.backoff.current_delay(key)
                    message = crash_loop_message(delay, c["name"], meta["name"],
                                                 meta.get("namespace", "default"), meta["uid"])
                    if self._waiting.get(key, ("",))[0] != "CrashLoopBackOff":
                        self.recorder.record(pod, WARNING, "BackOff",
                                             "Back-off restarting failed container "
                                             f"{c['name']} in pod {meta['name']}")
                    self._waiting[key] = ("CrashLoopBackOff", message)
                    wake.append(remaining)
                    return
                self.backoff.record_restart(key, now)
        if not await self._ensure_image(pod, c, wake):
            return
        config = container_config(pod, c, restart_count=restart_count, ctx=ctx,
                                  volumes=volume_host_paths(pod, self._volumes_dir(meta["uid"])),
                                  init=init)
        try:
            cid = await self.cri.create_container(sandbox_id, config, sandbox_cfg)
        except CriError as e:
            self._waiting[key] = ("CreateContainerError", e.details)
            self.recorder.record(pod, WARNING, "Failed", f"Error: {e.details}")
            wake.append(10.0)
            return
        self.recorder.record(pod, NORMAL, "Created", f"Created container {c['name']}")
        await self._start_created(pod, c, cid)

    async def _start_created(self, pod: Pod, c: dict[str, Any], container_id: str) -> None:
        key = (pod["metadata"]["uid"], c["name"])
        try:
            await self.cri.start_container(container_id)
        except CriError as e:
            # The container is now exited with a StartError; the next sync restarts it.
            self.recorder.record(pod, WARNING, "Failed", f"Error: {e.details}")
            self._waiting.pop(key, None)
            return
        self._waiting.pop(key, None)
        self.recorder.record(pod, NORMAL, "Started", f"Started container {c['name']}")

    async def _ensure_image(self, pod: Pod, c: dict[str, Any], wake: list[float]) -> bool:
        """True when the image is present. An image already in the runtime is used even with
        pullPolicy Always: no registry is reachable from a laptop cluster's tests, and
        `image load` is how images arrive."""
        image = c.get("image", "")
        key = (pod["metadata"]["uid"], c["name"])
        if await self.cri.image_status(image) is not None:
            self.recorder.record(pod, NORMAL, "Pulled",
                                 f'Container image "{image}" already present on machine')
            return True
        policy = c.get("imagePullPolicy") or default_pull_policy(image)
        if policy == "Never":
            self._waiting[key] = ("ErrImageNeverPull",
                                  f'Container image "{image}" is not present with pull policy '
                                  "of Never")
            self.recorder.record(pod, WARNING, "ErrImageNeverPull", self._waiting[key][1])
            wake.append(10.0)
            return False
        now = self.clock()
        remaining = self.pull_backoff.remaining(key, now, now)
        if remaining > 0 and key in self._waiting:
            self._waiting[key] = ("ImagePullBackOff", f'Back-off pulling image "{image}"')
            wake.append(remaining)
            return False
        self.recorder.record(pod, NORMAL, "Pulling", f'Pulling image "{image}"')
        try:
            await self.cri.pull_image(image)
        except CriError as e:
            self.pull_backoff.record_restart(key, now)
            self._waiting[key] = ("ErrImagePull", e.details)
            self.recorder.record(pod, WARNING, "Failed",
                                 f'Failed to pull image "{image}": {e.details}')
            wake.append(self.pull_backoff.current_delay(key))
            return False
        self.recorder.record(pod, NORMAL, "Pulled", f'Successfully pulled image "{image}"')
        return True

    # --- status --------------------------------------------------------------------------

    def _views(self, pod: Pod, containers: list[dict[str, Any]],
               runs: dict[str, list[ContainerRun]]) -> list[ContainerView]:
        uid = pod["metadata"]["uid"]
        views = []
        for c in containers:
            rs = runs.get(c["name"]) or []
            reason, message = self._waiting.get((uid, c["name"]), ("", ""))
            cur = rs[0] if rs else None
            probes = (self.prober.probe_state(uid, c["name"], cur.container_id)
                      if self.prober is not None and cur is not None else None)
            views.append(ContainerView(
                name=c["name"], image=c.get("image", ""), current=cur,
                previous=rs[1] if len(rs) > 1 else None, waiting_reason=reason,
                waiting_message=message,
                # Without probes, a running container is started and ready.
                ready=cur is not None and cur.state == RUNNING and (probes is None
                                                                   or probes.ready),
                started=None if probes is None else probes.started))
        return views

    def _status(self, pod: Pod, runs: dict[str, list[ContainerRun]],
                pod_ips: list[str]) -> dict[str, Any]:
        spec = pod.get("spec") or {}
        return compute_pod_status(
            pod, init_views=self._views(pod, spec.get("initContainers") or [], runs),
            views=self._views(pod, spec.get("containers") or [], runs), pod_ips=pod_ips,
            host_ip=self.config.node_ip, now=self.clock())

    async def _write_status(self, pod: Pod, status: dict[str, Any]) -> None:
        if not status_differs(pod.get("status") or {}, status):
            return
        meta = pod["metadata"]
        body = copy.deepcopy(pod)
        body["status"] = {**(pod.get("status") or {}), **status}
        for _ in range(5):
            try:
                await self.client.update(PODS, body, namespace=meta.get("namespace"),
                                         subresource="status")
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
