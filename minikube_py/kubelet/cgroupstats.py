"""Usage read from the kernel where the runtime gives none: a container's cgroup (v1 or v2,
as /proc/PID/cgroup names it) and the node's /proc/stat and /proc/meminfo. The parsers are
pure; `read_cgroup_usage` and `read_node_usage` only open files under the roots given, so
tests point them at fake trees.

The node's working set is MemTotal - MemAvailable: cAdvisor's is the root cgroup's usage
less its inactive file pages, and MemAvailable is the kernel's estimate of what can be had
without swapping (free plus reclaimable cache), so the two agree closely and /proc/meminfo
is readable everywhere, also in a machine whose root cgroup is not ours to read.
"""

from __future__ import annotations

import os
from pathlib import Path

from minikube_py.kubelet.stats import NANOS, CpuReading, MemoryReading

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC = Path("/proc")
# The /proc/stat columns that are busy time: user nice system (idle iowait) irq softirq
# steal; guest time is already inside user.
_BUSY_COLUMNS = (0, 1, 2, 5, 6, 7)


def parse_proc_stat(text: str, clock_ticks: int) -> int:
    """The node's cumulative busy CPU time in nanoseconds, from the aggregate `cpu` line."""
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            values = [int(v) for v in fields[1:]]
            busy = sum(values[i] for i in _BUSY_COLUMNS if i < len(values))
            return busy * NANOS // clock_ticks
    raise ValueError("no aggregate cpu line in /proc/stat")


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo in bytes ("MemTotal:  16 kB" is 16384)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if not parts:
            continue
        try:
            value = int(parts[0])
        except ValueError:
            continue
        out[name.strip()] = value * 1024 if len(parts) > 1 and parts[1] == "kB" else value
    return out


def node_memory(meminfo: dict[str, int], time: float) -> MemoryReading:
    total = meminfo["MemTotal"]
    available = meminfo.get("MemAvailable", meminfo.get("MemFree", 0))
    return MemoryReading(time, max(0, total - available),
                         usage_bytes=max(0, total - meminfo.get("MemFree", 0)),
                         available_bytes=available)


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """/proc/PID/cgroup: each controller's path; cgroup v2's unified entry ("0::/x") under
    the key ""."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if not controllers:
            out[""] = path
        for name in controllers.split(","):
            if name:
                out[name] = path
    return out


def parse_flat_keyed(text: str) -> dict[str, int]:
    """A cgroup "key value" file (cpu.stat, memory.stat)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


def working_set(usage: int, stat: dict[str, int], inactive_key: str) -> int:
    """cAdvisor's working set: usage less the inactive file pages, never below zero."""
    return max(0, usage - stat.get(inactive_key, 0))


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _read_int(path: Path) -> int | None:
    text = _read(path)
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def _v1_dir(root: Path, controller: str, paths: dict[str, str]) -> Path | None:
    """A v1 controller's directory: its own mount, or the one it shares ("cpu,cpuacct")."""
    path = paths.get(controller)
    if path is None:
        return None
    for mount in (controller, "cpu,cpuacct", "cpuacct,cpu"):
        base = root / mount
        if base.is_dir():
            return base / path.lstrip("/")
    return None


def _v2_dir(root: Path, paths: dict[str, str]) -> Path | None:
    path = paths.get("")
    if path is None:
        return None
    for base in (root, root / "unified"):
        d = base / path.lstrip("/")
        if (d / "cpu.stat").exists() or (d / "memory.current").exists():
            return d
    return None


def read_cgroup_usage(proc_cgroup: str, time: float, *, root: Path = CGROUP_ROOT,
                      ) -> tuple[CpuReading | None, MemoryReading | None, str]:
    """(CPU, memory, the cgroup path) of the process whose /proc/PID/cgroup is
    `proc_cgroup`: cgroup v1's cpuacct and memory controllers where they are mounted, else
    v2's unified hierarchy; None for what neither has."""
    paths = parse_proc_cgroup(proc_cgroup)
    cpu: CpuReading | None = None
    memory: MemoryReading | None = None
    cpu_dir = _v1_dir(root, "cpuacct", paths)
    if cpu_dir is not None:
        used = _read_int(cpu_dir / "cpuacct.usage")
        if used is not None:
            cpu = CpuReading(time, used)
    mem_dir = _v1_dir(root, "memory", paths)
    if mem_dir is not None:
        usage = _read_int(mem_dir / "memory.usage_in_bytes")
        stat = _read(mem_dir / "memory.stat")
        if usage is not None:
            memory = MemoryReading(time, working_set(usage, parse_flat_keyed(stat or ""),
                                                     "total_inactive_file"), usage_bytes=usage)
    unified = _v2_dir(root, paths)
    if unified is not None:
        if cpu is None:
            stat_text = _read(unified / "cpu.stat")
            usec = parse_flat_keyed(stat_text or "").get("usage_usec")
            if usec is not None:
                cpu = CpuReading(time, usec * 1000)
        if memory is None:
            current = _read_int(unified / "memory.current")
            if current is not None:
                stat = _read(unified / "memory.stat")
                memory = MemoryReading(time, working_set(current, parse_flat_keyed(stat or ""),
                                                         "inactive_file"), usage_bytes=current)
    path = paths.get("memory") or paths.get("cpuacct") or paths.get("") or ""
    return cpu, memory, path


def read_process_cgroup(pid: int, *, proc: Path = PROC) -> str | None:
    return _read(proc / str(pid) / "cgroup")


def read_node_usage(time: float, *, proc: Path = PROC,
                    clock_ticks: int | None = None) -> tuple[CpuReading, MemoryReading]:
    """The node's cumulative CPU and its memory, from /proc (OSError when unreadable)."""
    ticks = clock_ticks or os.sysconf("SC_CLK_TCK")
    cpu = CpuReading(time, parse_proc_stat((proc / "stat").read_text(), ticks))
    return cpu, node_memory(parse_meminfo((proc / "meminfo").read_text()), time)


def parse_boot_time(text: str) -> float:
    """/proc/stat's btime: when the node booted (the Summary API's node startTime)."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == "btime":
            return float(fields[1])
    return 0.0
