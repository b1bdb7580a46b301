"""The kubelet's usage samples: rates, the cgroup and /proc parsers on fake trees, the
sampler's CRI-then-cgroup reading, and the shapes of its three endpoints."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from cri_api.v1 import api_pb2 as cri
from prometheus_client.parser import text_string_to_metric_families

from minikube_py.kubelet import cgroupstats
from minikube_py.kubelet.stats import (
    ContainerSample,
    CpuReading,
    MemoryReading,
    NodeSample,
    Samples,
    pod_usage,
    with_rate,
)
from minikube_py.kubelet.stats_endpoints import cadvisor_families, resource_families, summary
from minikube_py.kubelet.stats_sampler import StatsSampler
from minikube_py.metrics import ScrapeCollector, new_registry, render

# --- rates ------------------------------------------------------------------------------


def test_rate_is_the_cumulative_difference_over_the_time_between_readings() -> None:
    rate = with_rate(CpuReading(100.0, 1_000_000_000), CpuReading(102.0, 2_000_000_000))
    assert rate.usage_nano_cores == 500_000_000


def test_rate_from_two_readings_wins_over_the_runtimes_own() -> None:
    rate = with_rate(CpuReading(100.0, 0), CpuReading(101.0, 250_000_000, 999))
    assert rate.usage_nano_cores == 250_000_000


def test_first_reading_keeps_a_non_zero_runtime_rate_and_drops_a_zero_one() -> None:
    assert with_rate(None, CpuReading(1.0, 5, 123)).usage_nano_cores == 123
    assert with_rate(None, CpuReading(1.0, 5, 0)).usage_nano_cores is None
    assert with_rate(None, CpuReading(1.0, 5)).usage_nano_cores is None


def test_a_counter_that_went_back_or_no_time_passed_gives_no_rate() -> None:
    assert with_rate(CpuReading(1.0, 500), CpuReading(2.0, 100)).usage_nano_cores is None
    assert with_rate(CpuReading(2.0, 100), CpuReading(2.0, 200)).usage_nano_cores is None


def _container(name: str, cpu: CpuReading | None, memory: MemoryReading | None,
               pod: str = "p") -> ContainerSample:
    return ContainerSample(id=f"id-{name}", name=name, pod=pod, namespace="ns",
                           pod_uid=f"uid-{pod}", image="busybox", cgroup=f"/kubepods/{name}",
                           started_at=50.0, cpu=cpu, memory=memory)


def test_pod_usage_sums_its_containers_and_is_unknown_when_one_is() -> None:
    a = _container("a", CpuReading(10.0, 100, 7), MemoryReading(10.0, 1000))
    b = _container("b", CpuReading(11.0, 200, 3), MemoryReading(11.0, 24))
    usage = pod_usage([a, b])
    assert usage.cpu == CpuReading(11.0, 300, 10)
    assert usage.memory == MemoryReading(11.0, 1024)
    unknown = pod_usage([a, _container("c", None, None)])
    assert unknown.cpu is None and unknown.memory is None


# --- /proc and cgroups --------------------------------------------------------------------

PROC_STAT = ("cpu  100 20 30 1000 50 5 5 0 0 0\ncpu0 100 20 30 1000 50 5 5 0 0 0\n"
             "btime 1700000000\n")
MEMINFO = "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    400 kB\n"


def test_proc_stat_busy_time_leaves_out_idle_and_iowait() -> None:
    assert cgroupstats.parse_proc_stat(PROC_STAT, 100) == 160 * 10_000_000
    assert cgroupstats.parse_boot_time(PROC_STAT) == 1700000000.0
    with pytest.raises(ValueError):
        cgroupstats.parse_proc_stat("intr 1 2 3\n", 100)


def test_node_working_set_is_total_less_available() -> None:
    memory = cgroupstats.node_memory(cgroupstats.parse_meminfo(MEMINFO), 5.0)
    assert memory == MemoryReading(5.0, 600 * 1024, usage_bytes=900 * 1024,
                                   available_bytes=400 * 1024)


def test_proc_cgroup_names_each_controllers_path() -> None:
    paths = cgroupstats.parse_proc_cgroup(
        "12:memory:/kubepods/pod1/c1\n4:cpu,cpuacct:/kubepods/pod1/c1\n0::/unified/c1\n")
    assert paths == {"memory": "/kubepods/pod1/c1", "cpu": "/kubepods/pod1/c1",
                     "cpuacct": "/kubepods/pod1/c1", "": "/unified/c1"}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v1_usage_reads_cpuacct_and_memory_less_inactive_file(tmp_path: Path) -> None:
    _write(tmp_path / "cpu,cpuacct/kubepods/c1/cpuacct.usage", "123456789\n")
    _write(tmp_path / "memory/kubepods/c1/memory.usage_in_bytes", "10000\n")
    _write(tmp_path / "memory/kubepods/c1/memory.stat",
           "cache 5000\ntotal_inactive_file 3000\n")
    cpu, memory, path = cgroupstats.read_cgroup_usage(
        "4:cpu,cpuacct:/kubepods/c1\n9:memory:/kubepods/c1\n", 7.0, root=tmp_path)
    assert cpu == CpuReading(7.0, 123456789)
    assert memory == MemoryReading(7.0, 7000, usage_bytes=10000)
    assert path == "/kubepods/c1"


def test_cgroup_v2_usage_reads_cpu_stat_and_memory_current(tmp_path: Path) -> None:
    _write(tmp_path / "kubepods/c2/cpu.stat", "usage_usec 2500\nuser_usec 2000\n")
    _write(tmp_path / "kubepods/c2/memory.current", "8192\n")
    _write(tmp_path / "kubepods/c2/memory.stat", "anon 4096\ninactive_file 12288\n")
    cpu, memory, path = cgroupstats.read_cgroup_usage("0::/kubepods/c2\n", 3.0, root=tmp_path)
    assert cpu == CpuReading(3.0, 2_500_000)
    assert memory == MemoryReading(3.0, 0, usage_bytes=8192)  # never below zero
    assert path == "/kubepods/c2"


def test_a_hybrid_hosts_unified_tree_is_read_under_unified(tmp_path: Path) -> None:
    _write(tmp_path / "unified/c3/cpu.stat", "usage_usec 1\n")
    cpu, memory, _ = cgroupstats.read_cgroup_usage("0::/c3\n", 1.0, root=tmp_path)
    assert cpu == CpuReading(1.0, 1000)
    assert memory is None


def test_a_cgroup_that_is_gone_reads_as_nothing(tmp_path: Path) -> None:
    assert cgroupstats.read_cgroup_usage("9:memory:/gone\n0::/gone\n", 1.0,
                                         root=tmp_path)[:2] == (None, None)


# --- the sampler: CRI first, the cgroup for what CRI leaves out ---------------------------


class FakeCri:
    """The three CRI calls the sampler makes, answering from fields a test sets."""

    def __init__(self) -> None:
        self.containers: list[cri.Container] = []
        self.stats: list[cri.ContainerStats] = []
        self.infos: dict[str, dict[str, str]] = {}

    async def list_containers(self, sandbox_id: str = "",
                              labels: dict[str, str] | None = None) -> list[cri.Container]:
        return list(self.containers)

    async def list_container_stats(self) -> list[cri.ContainerStats]:
        return list(self.stats)

    async def container_info(self, container_id: str) -> dict[str, str]:
        return self.infos.get(container_id, {})


def _cri_container(cid: str, name: str, state: int = 1) -> cri.Container:
    return cri.Container(id=cid, state=state, created_at=40 * 10**9,  # type: ignore[arg-type]
                         metadata=cri.ContainerMetadata(name=name),
                         image=cri.ImageSpec(image="docker.io/library/busybox:latest"),
                         labels={"io.kubernetes.pod.name": "busy",
                                 "io.kubernetes.pod.namespace": "default",
                                 "io.kubernetes.pod.uid": "u1",
                                 "io.kubernetes.container.name": name})


def _cri_stats(cid: str, seconds: int, nanos: int, working_set: int | None) -> cri.ContainerStats:
    stats = cri.ContainerStats(attributes=cri.ContainerAttributes(id=cid))
    stats.cpu.timestamp = seconds * 10**9
    stats.cpu.usage_core_nano_seconds.value = nanos
    if working_set is not None:
        stats.memory.timestamp = seconds * 10**9
        stats.memory.working_set_bytes.value = working_set
    return stats


def _proc(tmp_path: Path, busy_ticks: int) -> Path:
    proc = tmp_path / "proc"
    _write(proc / "stat", f"cpu  {busy_ticks} 0 0 1000 0 0 0 0 0 0\nbtime 1700000000\n")
    _write(proc / "meminfo", MEMINFO)
    _write(proc / "4242/cgroup", "9:memory:/kubepods/c1\n4:cpuacct:/kubepods/c1\n")
    return proc


def test_sampler_reads_cri_rates_two_ticks_and_fills_memory_from_the_cgroup(
        tmp_path: Path) -> None:
    fake = FakeCri()
    fake.containers = [_cri_container("c1", "main"), _cri_container("old", "main", state=2)]
    fake.infos["c1"] = {"info": '{"pid": 4242}'}
    root = tmp_path / "cgroup"
    _write(root / "memory/kubepods/c1/memory.usage_in_bytes", "4096\n")
    _write(root / "memory/kubepods/c1/memory.stat", "total_inactive_file 0\n")
    now = [100.0]
    sampler = StatsSampler(fake, interval=1.0, clock=lambda: now[0],  # type: ignore[arg-type]
                           proc=_proc(tmp_path, 100), cgroup_root=root)

    fake.stats = [_cri_stats("c1", 100, 1_000_000_000, None)]
    first = asyncio.run(sampler.sample())
    assert [c.id for c in first.containers] == ["c1"]  # the exited one is left out
    (c,) = first.containers
    assert c.cpu is not None and c.cpu.usage_nano_cores is None
    assert c.memory == MemoryReading(100.0, 4096, usage_bytes=4096)
    assert c.cgroup == "/kubepods/c1" and c.image == "docker.io/library/busybox:latest"
    assert first.node is not None and first.node.started_at == 1700000000.0
    assert first.window == 0.0

    now[0] = 102.0
    fake.stats = [_cri_stats("c1", 102, 1_500_000_000, 8192)]
    _write(tmp_path / "proc/stat", "cpu  300 0 0 1000 0 0 0 0 0 0\nbtime 1700000000\n")
    second = asyncio.run(sampler.sample())
    (c,) = second.containers
    assert c.cpu is not None and c.cpu.usage_nano_cores == 250_000_000
    assert c.memory is not None and c.memory.working_set_bytes == 8192  # CRI's, now it has one
    assert second.node is not None and second.node.cpu is not None
    assert second.node.cpu.usage_nano_cores == 1_000_000_000  # 200 ticks of 10 ms in 2 s
    assert second.window == 2.0
    assert not second.scrape_error


def test_a_container_neither_cri_nor_its_cgroup_can_read_is_a_scrape_error(
        tmp_path: Path) -> None:
    fake = FakeCri()
    fake.containers = [_cri_container("c9", "lost")]
    sampler = StatsSampler(fake, interval=1.0, clock=lambda: 1.0,  # type: ignore[arg-type]
                           proc=_proc(tmp_path, 1), cgroup_root=tmp_path / "none")
    samples = asyncio.run(sampler.sample())
    assert samples.scrape_error
    assert samples.containers[0].cpu is None


# --- the endpoints' shapes ------------------------------------------------------------------

SAMPLES = Samples(
    NodeSample(1700000000.0, CpuReading(1700000100.0, 5 * 10**9, 250_000_000),
               MemoryReading(1700000100.0, 2048, usage_bytes=4096, available_bytes=1024)),
    (_container("a", CpuReading(1700000100.0, 3 * 10**9, 100), MemoryReading(1700000100.0, 10)),
     _container("b", CpuReading(1700000100.0, 10**9), MemoryReading(1700000100.0, 20))),
    window=10.0)


def test_summary_has_the_summary_apis_shape() -> None:
    doc = summary("node-1", SAMPLES)
    assert doc["node"] == {
        "nodeName": "node-1", "startTime": "2023-11-14T22:13:20Z",
        "cpu": {"time": "2023-11-14T22:15:00Z", "usageNanoCores": 250_000_000,
                "usageCoreNanoSeconds": 5 * 10**9},
        "memory": {"time": "2023-11-14T22:15:00Z", "availableBytes": 1024,
                   "usageBytes": 4096, "workingSetBytes": 2048}}
    (pod,) = doc["pods"]
    assert pod["podRef"] == {"name": "p", "namespace": "ns", "uid": "uid-p"}
    assert [c["name"] for c in pod["containers"]] == ["a", "b"]
    assert "usageNanoCores" not in pod["containers"][1]["cpu"]  # omitted, as kube omits it
    assert "usageNanoCores" not in pod["cpu"]  # unknown for the pod while b's is
    assert pod["cpu"]["usageCoreNanoSeconds"] == 4 * 10**9
    assert pod["memory"]["workingSetBytes"] == 30


def test_summary_before_the_first_tick_names_only_the_node() -> None:
    assert summary("n", None) == {"node": {"nodeName": "n"}, "pods": []}


def _scrape(families: Any) -> tuple[dict[str, Any], str]:
    registry = new_registry(process=False)
    registry.register(ScrapeCollector(lambda: families(SAMPLES)))
    text = render(registry).decode()
    return {f.name: f for f in text_string_to_metric_families(text)}, text


def test_resource_metrics_are_kubes_names_labels_and_timestamps() -> None:
    families, text = _scrape(resource_families)
    assert "container_cpu_usage_seconds_total{" in text
    container = families["container_cpu_usage_seconds"].samples
    by_name = {s.labels["container"]: s for s in container}
    assert by_name["a"].labels == {"container": "a", "namespace": "ns", "pod": "p"}
    assert by_name["a"].value == 3.0
    assert by_name["a"].timestamp == 1700000100.0
    assert families["node_cpu_usage_seconds"].samples[0].value == 5.0
    assert families["node_memory_working_set_bytes"].samples[0].value == 2048
    assert families["pod_memory_working_set_bytes"].samples[0].value == 30
    assert families["pod_cpu_usage_seconds"].samples[0].value == 4.0
    assert families["resource_scrape_error"].samples[0].value == 0


def test_cadvisor_metrics_carry_cadvisors_labels() -> None:
    families, _ = _scrape(cadvisor_families)
    cpu = {s.labels["container"]: s for s in families["container_cpu_usage_seconds"].samples}
    assert cpu["a"].labels == {"container": "a", "cpu": "total", "id": "/kubepods/a",
                               "image": "busybox", "name": "id-a", "namespace": "ns",
                               "pod": "p"}
    memory = {s.labels["container"]: s
              for s in families["container_memory_working_set_bytes"].samples}
    assert memory["b"].value == 20 and "cpu" not in memory["b"].labels


@pytest.mark.skipif(not Path("/proc/self/cgroup").exists(), reason="no /proc cgroups")
def test_this_processs_own_cgroup_and_the_node_read_on_the_real_kernel() -> None:
    """The parsers against the machine's real layout (v1, v2 or hybrid): this process's
    cgroup has used CPU or holds memory, and the node's numbers are sane."""
    cpu, memory, _ = cgroupstats.read_cgroup_usage(Path("/proc/self/cgroup").read_text(), 1.0)
    if cpu is None and memory is None and not any(
            (cgroupstats.CGROUP_ROOT / d).exists() for d in ("cpuacct", "memory", "cpu.stat")):
        pytest.skip("no cgroup hierarchy mounted here")
    assert (cpu is not None and cpu.usage_core_nano_seconds > 0) or (
        memory is not None and memory.working_set_bytes > 0)
    node_cpu, node_memory = cgroupstats.read_node_usage(1.0)
    assert node_cpu.usage_core_nano_seconds > 0
    assert 0 < node_memory.working_set_bytes < (node_memory.usage_bytes or 0) + 1
