"""NodeMetrics and PodMetrics in metrics-server's wire shape, made from a Node or Pod and
what its kubelet's Summary API said. Pure: objects and summaries in, objects out.

CPU is a quantity of nanocores and memory one of bytes (BinarySI), formatted as Go's
resource.Quantity prints them ("1234567n", "5m", "1500Ki"); the window is Go's
Duration text ("10s", "1.5s"). A pod is shown only while Running and when every one of its
containers has a sample, as metrics-server leaves out what it has no metrics for."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.quantity import format_quantity
from minikube_py.api.resources import NODEMETRICS, PODMETRICS, Resource
from minikube_py.api.timefmt import go_duration

Obj = dict[str, Any]
# How metrics-server names its resources in errors (metrics.Resource("podmetrics")).
NODEMETRICS_RESOURCE = "nodemetrics"
PODMETRICS_RESOURCE = "podmetrics"


def cpu_quantity(nano_cores: int) -> str:
    return format_quantity(Fraction(nano_cores, 10**9))


def memory_quantity(bytes_: int) -> str:
    return format_quantity(Fraction(bytes_), binary=True)


def _rate_and_memory(stats: Obj) -> tuple[int, int, str] | None:
    """(nanocores, working set bytes, the sample's time) of a summary entry, or None when
    it has no CPU rate or no working set yet."""
    cpu = stats.get("cpu") or {}
    memory = stats.get("memory") or {}
    rate, working_set = cpu.get("usageNanoCores"), memory.get("workingSetBytes")
    if not isinstance(rate, int) or not isinstance(working_set, int) or not cpu.get("time"):
        return None
    return rate, working_set, str(cpu["time"])


def _metadata(obj: Obj, now: str, *, namespaced: bool) -> Obj:
    meta = obj.get("metadata") or {}
    out: Obj = {"name": meta.get("name", "")}
    if namespaced:
        out["namespace"] = meta.get("namespace", "")
    out["creationTimestamp"] = now
    if meta.get("labels"):
        out["labels"] = dict(meta["labels"])
    return out


def node_metrics(node: Obj, summary: Obj | None, window: float, now: str) -> Obj | None:
    """The node's NodeMetrics, None without a sample of it (as list items: no kind)."""
    usage = _rate_and_memory((summary or {}).get("node") or {})
    if usage is None:
        return None
    cpu, memory, time = usage
    return {"metadata": _metadata(node, now, namespaced=False), "timestamp": time,
            "window": go_duration(window),
            "usage": {"cpu": cpu_quantity(cpu), "memory": memory_quantity(memory)}}


def summary_pods(summary: Obj | None) -> dict[tuple[str, str], Obj]:
    """The summary's pods by (namespace, name)."""
    out: dict[tuple[str, str], Obj] = {}
    for pod in (summary or {}).get("pods") or []:
        ref = pod.get("podRef") or {}
        out[(str(ref.get("namespace", "")), str(ref.get("name", "")))] = pod
    return out


def pod_metrics(pod: Obj, stats: Obj | None, window: float, now: str) -> Obj | None:
    """The pod's PodMetrics: a Running pod whose every running container has a sample (the
    sample's pod uid must be this pod's: a pod made again under the same name is new)."""
    if stats is None or (pod.get("status") or {}).get("phase") != "Running":
        return None
    meta = pod.get("metadata") or {}
    if (stats.get("podRef") or {}).get("uid") not in (None, "", meta.get("uid")):
        return None
    containers, times = [], []
    for c in stats.get("containers") or []:
        usage = _rate_and_memory(c)
        if usage is None:
            return None
        cpu, memory, time = usage
        times.append(time)
        containers.append({"name": c.get("name", ""),
                           "usage": {"cpu": cpu_quantity(cpu),
                                     "memory": memory_quantity(memory)}})
    if not containers:
        return None
    return {"metadata": _metadata(pod, now, namespaced=True), "timestamp": max(times),
            "window": go_duration(window), "containers": containers}


def as_object(resource: Resource, item: Obj) -> Obj:
    """A list item as a GET answers it, with its kind and apiVersion first."""
    return {"kind": resource.kind, "apiVersion": resource.api_version, **item}


def node_metrics_not_found(name: str) -> ApiError:
    return errors.not_found(NODEMETRICS_RESOURCE, name, NODEMETRICS.group)


def pod_metrics_not_found(namespace: str, name: str) -> ApiError:
    """metrics-server's wording names the pod as namespace/name."""
    return errors.not_found(PODMETRICS_RESOURCE, f"{namespace}/{name}", PODMETRICS.group)


def watch_not_supported(resource: str) -> ApiError:
    """apimachinery's NewMethodNotSupported for a storage that cannot watch."""
    group_resource = f"{resource}.{NODEMETRICS.group}"
    return ApiError(405, "MethodNotAllowed",
                    f'watch is not supported on resources of kind "{group_resource}"',
                    {"group": NODEMETRICS.group, "kind": resource})
