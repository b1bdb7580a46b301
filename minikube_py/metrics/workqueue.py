"""The work queues' instruments (client-go's workqueue metrics): depth (read at scrape
time), adds, retries, and how long keys wait and take to sync."""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from minikube_py.metrics import ScrapeCollector

# client-go's: 10 ns growing tenfold to 10 s.
DURATION_BUCKETS = tuple(1e-8 * 10 ** i for i in range(10))


class Queue(Protocol):
    name: str

    def __len__(self) -> int: ...


class QueueMetrics:
    """One queue's children of the shared instruments."""

    def __init__(self, adds: Counter, retries: Counter, waits: Histogram,
                 work: Histogram, name: str) -> None:
        self.added = adds.labels(name).inc
        self.retried = retries.labels(name).inc
        self.waited = waits.labels(name).observe
        self.worked = work.labels(name).observe


class WorkqueueMetrics:
    """Made once per registry; every queue made with it (`for_queue`) is counted under
    its name. A queue no longer referenced drops out of workqueue_depth by itself (the
    controllers are made again with each leadership term)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._adds = Counter("workqueue_adds", "Total number of adds handled by workqueue",
                             ("name",), registry=registry)
        self._retries = Counter("workqueue_retries", "Total number of retries handled by "
                                "workqueue", ("name",), registry=registry)
        self._waits = Histogram("workqueue_queue_duration_seconds", "How long in seconds an "
                                "item stays in workqueue before being requested.", ("name",),
                                buckets=DURATION_BUCKETS, registry=registry)
        self._work = Histogram("workqueue_work_duration_seconds", "How long in seconds "
                               "processing an item from workqueue takes.", ("name",),
                               buckets=DURATION_BUCKETS, registry=registry)
        self._queues: list[weakref.ref[Queue]] = []
        registry.register(ScrapeCollector(self._depth_families))

    def for_queue(self, queue: Queue) -> QueueMetrics:
        self._queues = [q for q in self._queues if q() is not None]
        self._queues.append(weakref.ref(queue))
        return QueueMetrics(self._adds, self._retries, self._waits, self._work, queue.name)

    def _depth_families(self) -> Iterable[Metric]:
        depths: dict[str, int] = {}
        for ref in self._queues:
            queue = ref()
            if queue is not None:
                depths[queue.name] = depths.get(queue.name, 0) + len(queue)
        family = GaugeMetricFamily("workqueue_depth", "Current depth of workqueue",
                                   labels=("name",))
        for name, depth in sorted(depths.items()):
            family.add_metric((name,), depth)
        yield family
