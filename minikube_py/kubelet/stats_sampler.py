"""The kubelet's housekeeping: every interval, the usage of each running pod container (CRI
ListContainerStats; the container's cgroup where the runtime leaves a value out) and of the
node (/proc), with CPU rates over the window since the tick before. `latest` is what the
kubelet's /stats/summary, /metrics/resource and /metrics/cadvisor show."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from minikube_py.kubelet import cgroupstats
from minikube_py.kubelet.cri import CriClient, CriError
from minikube_py.kubelet.specs import (
    CONTAINER_NAME_LABEL,
    POD_NAME_LABEL,
    POD_NAMESPACE_LABEL,
    POD_UID_LABEL,
)
from minikube_py.kubelet.stats import (
    NANOS,
    ContainerSample,
    CpuReading,
    MemoryReading,
    NodeSample,
    Samples,
    with_rate,
)

log = logging.getLogger("minikube_py.kubelet.stats")

CONTAINER_RUNNING = 1


def cri_cpu(stats: Any) -> CpuReading | None:
    """The CPU of a CRI ContainerStats, None when the runtime left the counter out."""
    if not stats.HasField("cpu") or not stats.cpu.HasField("usage_core_nano_seconds"):
        return None
    cpu = stats.cpu
    rate = cpu.usage_nano_cores.value if cpu.HasField("usage_nano_cores") else None
    return CpuReading(cpu.timestamp / NANOS, cpu.usage_core_nano_seconds.value, rate)


def cri_memory(stats: Any) -> MemoryReading | None:
    if not stats.HasField("memory") or not stats.memory.HasField("working_set_bytes"):
        return None
    mem = stats.memory
    usage = mem.usage_bytes.value if mem.HasField("usage_bytes") else None
    available = mem.available_bytes.value if mem.HasField("available_bytes") else None
    return MemoryReading(mem.timestamp / NANOS, mem.working_set_bytes.value, usage, available)


def info_pid(info: dict[str, str]) -> int | None:
    """The container's init pid from containerd's verbose status ("info": JSON)."""
    try:
        pid = json.loads(info.get("info") or "{}").get("pid")
    except ValueError:
        return None
    return int(pid) if isinstance(pid, int) and pid > 0 else None


class StatsSampler:
    """`await run()` until cancelled; `latest` is None until the first tick."""

    def __init__(self, cri_client: CriClient, *, interval: float,
                 clock: Callable[[], float] = time.time, proc: Path = cgroupstats.PROC,
                 cgroup_root: Path = cgroupstats.CGROUP_ROOT) -> None:
        self.cri = cri_client
        self.interval = interval
        self.clock = clock
        self.proc = proc
        self.cgroup_root = cgroup_root
        self.latest: Samples | None = None
        self._previous_cpu: dict[str, CpuReading] = {}
        self._previous_node: CpuReading | None = None
        # By container id: its cgroup lines (a container's cgroup never changes).
        self._cgroups: dict[str, str] = {}
        self._boot_time: float | None = None

    async def run(self) -> None:
        while True:
            try:
                await self.sample()
            except (CriError, OSError) as e:
                log.warning("kubelet stats: %s", e)
            await asyncio.sleep(self.interval)

    async def sample(self) -> Samples:
        containers = [c for c in await self.cri.list_containers()
                      if c.state == CONTAINER_RUNNING and c.labels.get(POD_UID_LABEL)]
        stats = {s.attributes.id: s for s in await self.cri.list_container_stats()}
        now = self.clock()
        samples: list[ContainerSample] = []
        error = False
        for c in containers:
            sample = await self._container(c, stats.get(c.id), now)
            error = error or sample.cpu is None or sample.memory is None
            samples.append(sample)
        node = await asyncio.to_thread(self._node, now)
        window = 0.0
        if node.cpu is not None:
            previous = self._previous_node
            if previous is not None:
                window = max(0.0, node.cpu.time - previous.time)
            self._previous_node = node.cpu
            node = replace(node, cpu=with_rate(previous, node.cpu))
        self._previous_cpu = {s.id: s.cpu for s in samples if s.cpu is not None}
        running = {c.id for c in containers}
        self._cgroups = {cid: v for cid, v in self._cgroups.items() if cid in running}
        self.latest = Samples(node, tuple(samples), window, error)
        return self.latest

    def _node(self, now: float) -> NodeSample:
        if self._boot_time is None:
            self._boot_time = cgroupstats.parse_boot_time((self.proc / "stat").read_text())
        cpu, memory = cgroupstats.read_node_usage(now, proc=self.proc)
        return NodeSample(self._boot_time, cpu, memory)

    async def _container(self, c: Any, stats: Any, now: float) -> ContainerSample:
        cpu = cri_cpu(stats) if stats is not None else None
        memory = cri_memory(stats) if stats is not None else None
        cgroup_lines = await self._cgroup_of(c.id)
        path = ""
        if cgroup_lines is not None:
            path = _cgroup_path(cgroup_lines)
            if cpu is None or memory is None:
                fallback_cpu, fallback_memory, path = await asyncio.to_thread(
                    cgroupstats.read_cgroup_usage, cgroup_lines, now, root=self.cgroup_root)
                cpu = cpu or fallback_cpu
                memory = memory or fallback_memory
        if cpu is not None:
            cpu = with_rate(self._previous_cpu.get(c.id), cpu)
        labels = c.labels
        return ContainerSample(
            id=c.id, name=labels.get(CONTAINER_NAME_LABEL, c.metadata.name),
            pod=labels.get(POD_NAME_LABEL, ""), namespace=labels.get(POD_NAMESPACE_LABEL, ""),
            pod_uid=labels.get(POD_UID_LABEL, ""), image=c.image.image, cgroup=path,
            started_at=c.created_at / NANOS, cpu=cpu, memory=memory)

    async def _cgroup_of(self, container_id: str) -> str | None:
        """The container's /proc/PID/cgroup, learned once from its init process."""
        cached = self._cgroups.get(container_id)
        if cached is not None:
            return cached
        try:
            pid = info_pid(await self.cri.container_info(container_id))
        except CriError:
            return None
        if pid is None:
            return None
        lines = await asyncio.to_thread(cgroupstats.read_process_cgroup, pid, proc=self.proc)
        if lines is not None:
            self._cgroups[container_id] = lines
        return lines


def _cgroup_path(lines: str) -> str:
    paths = cgroupstats.parse_proc_cgroup(lines)
    return paths.get("memory") or paths.get("cpuacct") or paths.get("") or ""
