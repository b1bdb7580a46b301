"""The API server's instruments: requests by kube's labels, their latency, long-running
requests, watchers and stored objects (kube-apiserver's names)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from minikube_py.metrics import ScrapeCollector

# kube-apiserver 1.32's buckets of apiserver_request_duration_seconds.
DURATION_BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0,
                    4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0)
# What every request is counted and timed by (kube's order).
REQUEST_LABELS = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope",
                  "component")
LONGRUNNING_LABELS = ("verb", "group", "version", "resource", "subresource", "scope",
                      "component")

# Values of REQUEST_LABELS, in that order.
RequestLabels = tuple[str, str, str, str, str, str, str, str]


class ApiServerMetrics:
    """Made once per API server on its registry. The request path calls `observe` (a
    dictionary lookup and two locked additions); the rest is read at scrape time."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._requests = Counter(
            "apiserver_request", "Counter of apiserver requests broken out for each verb, "
            "dry run value, group, version, resource, scope, component, and HTTP response "
            "code.", (*REQUEST_LABELS, "code"), registry=registry)
        self._durations = Histogram(
            "apiserver_request_duration_seconds", "Response latency distribution in seconds "
            "for each verb, dry run value, group, version, resource, subresource, scope and "
            "component.", REQUEST_LABELS, buckets=DURATION_BUCKETS, registry=registry)
        self._longrunning = Gauge(
            "apiserver_longrunning_requests", "Gauge of all active long-running apiserver "
            "requests broken out by verb, group, version, resource, scope and component.",
            LONGRUNNING_LABELS, registry=registry)
        # The labelled children, by their labels: `labels()` checks and locks each time.
        self._counters: dict[tuple[RequestLabels, int], Any] = {}
        self._timers: dict[RequestLabels, Any] = {}
        self._object_counts: dict[str, int] = {}
        self._watchers: Callable[[], Mapping[tuple[str, str, str], int]] | None = None
        self._registry = registry
        registry.register(ScrapeCollector(self._state_families))

    @property
    def registry(self) -> CollectorRegistry:
        """Where these instruments are, with whatever else the endpoint shows."""
        return self._registry

    def observe(self, labels: RequestLabels, code: int, seconds: float) -> None:
        """One request answered with `code` after `seconds`."""
        counter = self._counters.get((labels, code))
        if counter is None:
            counter = self._counters[(labels, code)] = self._requests.labels(*labels, str(code))
        counter.inc()
        timer = self._timers.get(labels)
        if timer is None:
            timer = self._timers[labels] = self._durations.labels(*labels)
        timer.observe(seconds)

    def long_running(self, labels: RequestLabels) -> Any:
        """The gauge child of a long-running request's labels: inc() when it starts,
        dec() when it ends."""
        verb, _dry_run, *rest = labels
        return self._longrunning.labels(verb, *rest)

    def count_watchers(self, watchers: Callable[[], Mapping[tuple[str, str, str], int]]) -> None:
        """apiserver_registered_watchers from now on read from `watchers()`: (group,
        version, kind) -> the watches open on it."""
        self._watchers = watchers

    def set_object_counts(self, counts: Mapping[str, int]) -> None:
        """The objects stored of each resource ("pods", "deployments.apps"), as counted
        just before a scrape."""
        self._object_counts = dict(counts)

    def _state_families(self) -> Iterable[Metric]:
        if self._watchers is not None:
            watchers = GaugeMetricFamily(
                "apiserver_registered_watchers", "Number of currently registered watchers "
                "for a given resources", labels=("group", "version", "kind"))
            for (group, version, kind), n in sorted(self._watchers().items()):
                watchers.add_metric((group, version, kind), n)
            yield watchers
        if self._object_counts:
            objects = GaugeMetricFamily(
                "apiserver_storage_objects", "Number of stored objects at the time of last "
                "check split by kind.", labels=("resource",))
            for resource, n in sorted(self._object_counts.items()):
                objects.add_metric((resource,), n)
            yield objects
