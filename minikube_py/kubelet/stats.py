"""The kubelet's resource usage samples (kube's stats provider, in small): what one
housekeeping tick read of each running container and of the node, and the CPU rate made
from two cumulative readings when the runtime gives none. Pure: the sampler
(stats_sampler.py) does the reading; the endpoints (stats_endpoints.py) the showing."""

from __future__ import annotations

from dataclasses import dataclass, replace

NANOS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class CpuReading:
    """Cumulative CPU time at `time` (Unix seconds); `usage_nano_cores` is the rate over the
    last window, None until two readings made one."""

    time: float
    usage_core_nano_seconds: int
    usage_nano_cores: int | None = None


@dataclass(frozen=True, slots=True)
class MemoryReading:
    """The working set (usage less what the kernel can reclaim at once: inactive file
    pages), what cAdvisor, the kubelet's evictions and `kubectl top` count."""

    time: float
    working_set_bytes: int
    usage_bytes: int | None = None
    available_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class ContainerSample:
    id: str
    name: str
    pod: str
    namespace: str
    pod_uid: str
    image: str = ""
    cgroup: str = ""  # its cgroup path (cAdvisor's `id` label), "" when unknown
    started_at: float = 0.0
    cpu: CpuReading | None = None
    memory: MemoryReading | None = None


@dataclass(frozen=True, slots=True)
class NodeSample:
    started_at: float
    cpu: CpuReading | None = None
    memory: MemoryReading | None = None


@dataclass(frozen=True, slots=True)
class Samples:
    """One housekeeping tick. `window` is the seconds between the two CPU readings the
    rates come from (0 before a second tick); `scrape_error` says some container could
    not be read (kube's resource_scrape_error)."""

    node: NodeSample | None
    containers: tuple[ContainerSample, ...] = ()
    window: float = 0.0
    scrape_error: bool = False


def with_rate(previous: CpuReading | None, current: CpuReading) -> CpuReading:
    """`current` with its rate over the window since `previous`: the cumulative difference
    over the time between them, as metrics-server makes it, so every rate of one tick
    covers the same window. Without a usable earlier reading (the first, no time passed,
    or a counter that went back: a new container under the same id), the runtime's own
    rate if it gave a non-zero one (a runtime's first answer is 0 for want of its own
    earlier reading), else none yet."""
    if previous is not None:
        elapsed = current.time - previous.time
        used = current.usage_core_nano_seconds - previous.usage_core_nano_seconds
        if elapsed > 0 and used >= 0:
            return replace(current, usage_nano_cores=int(used / elapsed))
    if current.usage_nano_cores:
        return current
    return replace(current, usage_nano_cores=None)


@dataclass(frozen=True, slots=True)
class PodUsage:
    """A pod's usage: the sum of its containers', when every container has it."""

    cpu: CpuReading | None
    memory: MemoryReading | None


def pod_usage(containers: list[ContainerSample]) -> PodUsage:
    cpus = [c.cpu for c in containers]
    mems = [c.memory for c in containers]
    cpu = None
    if cpus and all(c is not None for c in cpus):
        present = [c for c in cpus if c is not None]
        rates = [c.usage_nano_cores for c in present]
        cpu = CpuReading(max(c.time for c in present),
                         sum(c.usage_core_nano_seconds for c in present),
                         sum(r for r in rates if r is not None)
                         if all(r is not None for r in rates) else None)
    memory = None
    if mems and all(m is not None for m in mems):
        present_m = [m for m in mems if m is not None]
        memory = MemoryReading(max(m.time for m in present_m),
                               sum(m.working_set_bytes for m in present_m))
    return PodUsage(cpu, memory)


def pods_of(samples: Samples) -> dict[tuple[str, str, str], list[ContainerSample]]:
    """The containers by pod (namespace, name, uid), in the order sampled."""
    pods: dict[tuple[str, str, str], list[ContainerSample]] = {}
    for c in samples.containers:
        pods.setdefault((c.namespace, c.pod, c.pod_uid), []).append(c)
    return pods
