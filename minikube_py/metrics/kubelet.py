"""A kubelet's own instruments (the kubelet's names): its pods and containers (read at
scrape time), pod start latency, CRI operations, and its HTTP requests."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from minikube_py.metrics import ScrapeCollector

# The kubelet's buckets.
POD_START_BUCKETS = (0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360,
                     480, 600, 900, 1200, 1800, 2700, 3600)
OPERATION_BUCKETS = tuple(0.005 * 2.5 ** i for i in range(14))
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
CONTAINER_STATES = ("created", "running", "exited", "unknown")


class KubeletMetrics:
    """Made once per kubelet on the registry of its /metrics."""

    def __init__(self, registry: CollectorRegistry, node_name: str) -> None:
        self._pod_starts = Histogram(
            "kubelet_pod_start_duration_seconds", "Duration in seconds from kubelet seeing "
            "a pod for the first time to the pod starting to run", buckets=POD_START_BUCKETS,
            registry=registry)
        self._operations = Counter(
            "kubelet_runtime_operations", "Cumulative number of runtime operations by "
            "operation type.", ("operation_type",), registry=registry)
        self._operation_errors = Counter(
            "kubelet_runtime_operations_errors", "Cumulative number of runtime operation "
            "errors by operation type.", ("operation_type",), registry=registry)
        self._operation_durations = Histogram(
            "kubelet_runtime_operations_duration_seconds", "Duration in seconds of runtime "
            "operations. Broken down by operation type.", ("operation_type",),
            buckets=OPERATION_BUCKETS, registry=registry)
        self._http = Counter(
            "kubelet_http_requests", "Number of the http requests received since the server "
            "started", ("method", "path", "server_type", "long_running"), registry=registry)
        self._http_durations = Histogram(
            "kubelet_http_requests_duration_seconds", "Duration in seconds to serve http "
            "requests", ("method", "path", "server_type", "long_running"),
            buckets=HTTP_BUCKETS, registry=registry)
        self._node_name = node_name
        self._registry = registry
        self._containers: Callable[[], Mapping[str, Iterable[str]]] | None = None
        self._children: dict[tuple[str, ...], tuple[Any, Any]] = {}
        registry.register(ScrapeCollector(self._state_families))

    @property
    def registry(self) -> CollectorRegistry:
        return self._registry

    def pod_started(self, seconds: float) -> None:
        self._pod_starts.observe(seconds)

    def runtime_operation(self, operation: str, seconds: float, failed: bool) -> None:
        key = ("op", operation)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (self._operations.labels(operation),
                                               self._operation_durations.labels(operation))
        children[0].inc()
        children[1].observe(seconds)
        if failed:
            self._operation_errors.labels(operation).inc()

    def http_request(self, method: str, path: str, long_running: bool, seconds: float) -> None:
        key = (method, path, "readwrite", "true" if long_running else "false")
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (self._http.labels(*key),
                                               self._http_durations.labels(*key))
        children[0].inc()
        children[1].observe(seconds)

    def follow_containers(self, containers: Callable[[], Mapping[str, Iterable[str]]]) -> None:
        """The states (CONTAINER_STATES) of each pod's containers, by pod uid, read from
        `containers()` at scrape time."""
        self._containers = containers

    def _state_families(self) -> Iterable[Metric]:
        node = GaugeMetricFamily("kubelet_node_name", "The node's name. The count is always 1.",
                                 labels=("node",))
        node.add_metric((self._node_name,), 1)
        yield node
        if self._containers is None:
            return
        by_state = dict.fromkeys(CONTAINER_STATES, 0)
        running_pods = 0
        for states in self._containers().values():
            running = False
            for state in states:
                by_state[state] = by_state.get(state, 0) + 1
                running = running or state == "running"
            running_pods += running
        yield GaugeMetricFamily("kubelet_running_pods", "Number of pods that have a running "
                                "pod sandbox", value=running_pods)
        containers = GaugeMetricFamily("kubelet_running_containers", "Number of containers "
                                       "currently running", labels=("container_state",))
        for state, n in by_state.items():
            containers.add_metric((state,), n)
        yield containers
