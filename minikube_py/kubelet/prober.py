"""Runs the probes of this node's pods: one sleeping task per probed running container feeds
outcomes into its ContainerProbeState, and asks for a pod sync when started/ready flip or a
kill is decided. The pod worker reads the results; it never waits on a probe."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from minikube_py.client.events import WARNING, EventRecorder
from minikube_py.kubelet.cri import CriClient
from minikube_py.kubelet.pod_status import RUNNING, ContainerRun
from minikube_py.kubelet.probe_handlers import ProbeTarget, run_probe
from minikube_py.kubelet.probe_state import (
    ContainerProbeState,
    KillDecision,
    ProbeOutcome,
    ProbeResult,
    ProbeSpec,
    container_probe_specs,
)
from minikube_py.tasks import TaskSet

log = logging.getLogger("minikube_py.kubelet.prober")

Pod = dict[str, Any]
ProbeRunner = Callable[[ProbeSpec, ProbeTarget], Awaitable[ProbeOutcome]]
# A probe handler that outlives its own timeout by this much is abandoned (a bug or a hung
# runtime); the outcome counts as an error, not a failure.
RUNNER_SLACK = 10.0


@dataclass(slots=True)
class _Worker:
    pod: Pod
    state: ContainerProbeState
    target: ProbeTarget
    task: asyncio.Task[None] | None = None


class ProbeManager:
    def __init__(self, *, cri_client: CriClient, recorder: EventRecorder,
                 on_change: Callable[[str], None], clock: Callable[[], float] = time.time,
                 max_concurrent: int = 32, runner: ProbeRunner | None = None) -> None:
        self.cri = cri_client
        self.recorder = recorder
        self.on_change = on_change  # called with the pod UID
        self.clock = clock
        self._limit = asyncio.Semaphore(max_concurrent)
        self._runner = runner or self._run_handler
        self._session: aiohttp.ClientSession | None = None
        self._workers: dict[tuple[str, str], _Worker] = {}
        self._children = TaskSet("prober", logger=log)

    # --- what the pod sync calls ---------------------------------------------------------

    def track_pod(self, pod: Pod, runs: dict[str, list[ContainerRun]], pod_ip: str) -> None:
        """Probe every running app container of the pod that has probes; a new container ID
        starts from fresh results, a container that is no longer running stops being probed."""
        uid = pod["metadata"]["uid"]
        probed: set[tuple[str, str]] = set()
        for c in (pod.get("spec") or {}).get("containers") or []:
            specs = container_probe_specs(c)
            cur = next(iter(runs.get(c["name"]) or []), None)
            if not specs or cur is None or cur.state != RUNNING:
                continue
            key = (uid, c["name"])
            probed.add(key)
            target = ProbeTarget(cur.container_id, c, pod_ip)
            w = self._workers.get(key)
            if w is not None and w.state.container_id == cur.container_id:
                w.pod, w.target = pod, target
                continue
            self._stop(key)
            state = ContainerProbeState(c["name"], cur.container_id, specs,
                                        cur.started_at or self.clock())
            w = _Worker(pod, state, target)
            w.task = self._children.spawn(f"{uid}:{c['name']}", self._probe_container(uid, w),
                                          on_error=self._dropper(key, w))
            self._workers[key] = w
        for key in [k for k in self._workers if k[0] == uid and k not in probed]:
            self._stop(key)

    def probe_state(self, uid: str, name: str, container_id: str) -> ContainerProbeState | None:
        """The probe results of that container instance, if it is probed."""
        w = self._workers.get((uid, name))
        return w.state if w is not None and w.state.container_id == container_id else None

    def kill_decision(self, uid: str, name: str, container_id: str) -> KillDecision | None:
        state = self.probe_state(uid, name, container_id)
        return state.kill if state is not None else None

    def forget_pod(self, uid: str) -> None:
        for key in [k for k in self._workers if k[0] == uid]:
            self._stop(key)

    async def close(self) -> None:
        self._workers.clear()
        await self._children.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def probed_containers(self) -> int:
        return len(self._workers)

    # --- the probing tasks ---------------------------------------------------------------

    def _stop(self, key: tuple[str, str]) -> None:
        w = self._workers.pop(key, None)
        if w is not None and w.task is not None:
            w.task.cancel()

    def _dropper(self, key: tuple[str, str], w: _Worker) -> Callable[[BaseException], None]:
        """Undoes a prober that broke (the task set logs why): it is forgotten, so the pod's
        next sync starts a fresh one for the container."""
        def drop(_error: BaseException) -> None:
            if self._workers.get(key) is w:
                del self._workers[key]
        return drop

    async def _probe_container(self, uid: str, w: _Worker) -> None:
        while (wake := w.state.next_wakeup()) is not None:
            delay = wake - self.clock()
            if delay > 0:
                await asyncio.sleep(delay)
            due = w.state.take_due(self.clock())
            if due:
                await self._probe_round(uid, w, due)

    async def _probe_round(self, uid: str, w: _Worker, due: list[ProbeSpec]) -> None:
        outcomes = await asyncio.gather(*(self._run_bounded(spec, w.target) for spec in due))
        now = self.clock()
        changed = False
        for spec, outcome in zip(due, outcomes, strict=True):
            effects = w.state.record(spec.kind, outcome, now)
            if effects.unhealthy_event:
                self.recorder.record(w.pod, WARNING, "Unhealthy", effects.unhealthy_event)
            changed = changed or effects.status_changed
        if changed:
            self.on_change(uid)

    async def _run_bounded(self, spec: ProbeSpec, target: ProbeTarget) -> ProbeOutcome:
        async with self._limit:
            try:
                return await asyncio.wait_for(self._runner(spec, target),
                                              spec.timeout + RUNNER_SLACK)
            except TimeoutError:
                return ProbeOutcome(ProbeResult.ERROR, "probe handler did not return")

    async def _run_handler(self, spec: ProbeSpec, target: ProbeTarget) -> ProbeOutcome:
        if self._session is None:
            # No keep-alive, as kube: a probe must see a server that accepts connections now.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True, limit=0), trust_env=False)
        return await run_probe(spec, target, cri_client=self.cri, session=self._session)
