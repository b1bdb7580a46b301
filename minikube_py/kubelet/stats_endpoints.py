"""What the kubelet's stats endpoints answer, from its latest samples: /stats/summary in the
Summary API's shape (stats/v1alpha1), /metrics/resource as kube's resource metrics
collector, and /metrics/cadvisor's container CPU and memory with cAdvisor's labels. Pure:
samples in, documents and metric families out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from minikube_py.api.timefmt import rfc3339
from minikube_py.kubelet.stats import (
    NANOS,
    CpuReading,
    MemoryReading,
    Samples,
    pod_usage,
    pods_of,
)

Obj = dict[str, Any]


def cpu_stats(cpu: CpuReading) -> Obj:
    out: Obj = {"time": rfc3339(cpu.time)}
    if cpu.usage_nano_cores is not None:
        out["usageNanoCores"] = cpu.usage_nano_cores
    out["usageCoreNanoSeconds"] = cpu.usage_core_nano_seconds
    return out


def memory_stats(memory: MemoryReading) -> Obj:
    out: Obj = {"time": rfc3339(memory.time)}
    if memory.available_bytes is not None:
        out["availableBytes"] = memory.available_bytes
    if memory.usage_bytes is not None:
        out["usageBytes"] = memory.usage_bytes
    out["workingSetBytes"] = memory.working_set_bytes
    return out


def _usage(into: Obj, cpu: CpuReading | None, memory: MemoryReading | None) -> Obj:
    if cpu is not None:
        into["cpu"] = cpu_stats(cpu)
    if memory is not None:
        into["memory"] = memory_stats(memory)
    return into


def summary(node_name: str, samples: Samples | None) -> Obj:
    """The Summary API's document: the node, then each pod with its containers (fields
    the kubelet omits when it has no value are left out the same way)."""
    node: Obj = {"nodeName": node_name}
    pods: list[Obj] = []
    if samples is not None and samples.node is not None:
        node["startTime"] = rfc3339(samples.node.started_at)
        _usage(node, samples.node.cpu, samples.node.memory)
    if samples is not None:
        for (namespace, name, uid), containers in pods_of(samples).items():
            usage = pod_usage(containers)
            pod: Obj = {"podRef": {"name": name, "namespace": namespace, "uid": uid},
                        "startTime": rfc3339(min(c.started_at for c in containers)),
                        "containers": [_usage({"name": c.name,
                                               "startTime": rfc3339(c.started_at)},
                                              c.cpu, c.memory) for c in containers]}
            pods.append(_usage(pod, usage.cpu, usage.memory))
    return {"node": node, "pods": pods}


def resource_families(samples: Samples | None) -> Iterable[Metric]:
    """kube's /metrics/resource (the resource metrics collector): cumulative CPU and the
    working set of the node, each pod and each container, stamped with when each was
    read, and resource_scrape_error."""
    node_cpu = CounterMetricFamily("node_cpu_usage_seconds", "[STABLE] Cumulative cpu time "
                                   "consumed by the node in core-seconds")
    node_memory = GaugeMetricFamily("node_memory_working_set_bytes", "[STABLE] Current "
                                    "working set of the node in bytes")
    pod_cpu = CounterMetricFamily("pod_cpu_usage_seconds", "[STABLE] Cumulative cpu time "
                                  "consumed by the pod in core-seconds",
                                  labels=("namespace", "pod"))
    pod_memory = GaugeMetricFamily("pod_memory_working_set_bytes", "[STABLE] Current "
                                   "working set of the pod in bytes",
                                   labels=("namespace", "pod"))
    labels = ("container", "namespace", "pod")
    container_cpu = CounterMetricFamily("container_cpu_usage_seconds", "[STABLE] Cumulative "
                                        "cpu time consumed by the container in core-seconds",
                                        labels=labels)
    container_memory = GaugeMetricFamily("container_memory_working_set_bytes", "[STABLE] "
                                         "Current working set of the container in bytes",
                                         labels=labels)
    container_start = GaugeMetricFamily("container_start_time_seconds", "[STABLE] Start "
                                        "time of the container since unix epoch in seconds",
                                        labels=labels)
    error = GaugeMetricFamily("resource_scrape_error", "[STABLE] 1 if there was an error "
                              "while getting container metrics, 0 otherwise",
                              value=1 if samples is None or samples.scrape_error else 0)
    if samples is not None and samples.node is not None:
        if samples.node.cpu is not None:
            node_cpu.add_metric((), samples.node.cpu.usage_core_nano_seconds / NANOS,
                                timestamp=samples.node.cpu.time)
        if samples.node.memory is not None:
            node_memory.add_metric((), samples.node.memory.working_set_bytes,
                                   timestamp=samples.node.memory.time)
    if samples is not None:
        for (namespace, name, _), containers in pods_of(samples).items():
            usage = pod_usage(containers)
            if usage.cpu is not None:
                pod_cpu.add_metric((namespace, name), usage.cpu.usage_core_nano_seconds / NANOS,
                                   timestamp=usage.cpu.time)
            if usage.memory is not None:
                pod_memory.add_metric((namespace, name), usage.memory.working_set_bytes,
                                      timestamp=usage.memory.time)
            for c in containers:
                key = (c.name, namespace, name)
                if c.cpu is not None:
                    container_cpu.add_metric(key, c.cpu.usage_core_nano_seconds / NANOS,
                                             timestamp=c.cpu.time)
                if c.memory is not None:
                    container_memory.add_metric(key, c.memory.working_set_bytes,
                                                timestamp=c.memory.time)
                container_start.add_metric(key, c.started_at, timestamp=c.started_at)
    return [container_cpu, container_memory, container_start, node_cpu, node_memory,
            pod_cpu, pod_memory, error]


def cadvisor_families(samples: Samples | None) -> Iterable[Metric]:
    """/metrics/cadvisor's container CPU and working set, labelled as cAdvisor labels them:
    the container, pod and namespace, the runtime's container id (`name`), the image and the
    cgroup (`id`); CPU as the `total` of all CPUs."""
    cpu = CounterMetricFamily("container_cpu_usage_seconds", "Cumulative cpu time consumed "
                              "in seconds.", labels=("container", "cpu", "id", "image",
                                                     "name", "namespace", "pod"))
    memory = GaugeMetricFamily("container_memory_working_set_bytes", "Current working set "
                               "in bytes.", labels=("container", "id", "image", "name",
                                                    "namespace", "pod"))
    if samples is not None:
        for c in samples.containers:
            if c.cpu is not None:
                cpu.add_metric((c.name, "total", c.cgroup, c.image, c.id, c.namespace, c.pod),
                               c.cpu.usage_core_nano_seconds / NANOS, timestamp=c.cpu.time)
            if c.memory is not None:
                memory.add_metric((c.name, c.cgroup, c.image, c.id, c.namespace, c.pod),
                                  c.memory.working_set_bytes, timestamp=c.memory.time)
    return [cpu, memory]
