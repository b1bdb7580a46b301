"""The scheduler's instruments (kube-scheduler's names): attempts by result and how long
they took, and the pods waiting in each part of the queue, read at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from minikube_py.metrics import ScrapeCollector

# kube-scheduler's: 1 ms doubling to about 16 s.
ATTEMPT_BUCKETS = tuple(0.001 * 2 ** i for i in range(15))
RESULTS = ("scheduled", "unschedulable", "error")
QUEUES = ("active", "backoff", "unschedulable", "gated")


class SchedulerMetrics:
    """Made once per scheduler registry; a scheduler made again (a new leadership term)
    takes the same instruments and replaces the queue read at scrape time."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._attempts = Counter(
            "scheduler_schedule_attempts", "Number of attempts to schedule pods, by the "
            "result. 'unschedulable' means a pod could not be scheduled, while 'error' means "
            "an internal scheduler problem.", ("result", "profile"), registry=registry)
        self._durations = Histogram(
            "scheduler_scheduling_attempt_duration_seconds", "Scheduling attempt latency in "
            "seconds (scheduling algorithm + binding)", ("result", "profile"),
            buckets=ATTEMPT_BUCKETS, registry=registry)
        self._pending: Callable[[], Mapping[str, int]] | None = None
        registry.register(ScrapeCollector(self._pending_families))

    def attempt(self, result: str, profile: str, seconds: float) -> None:
        self._attempts.labels(result, profile).inc()
        self._durations.labels(result, profile).observe(seconds)

    def follow_queue(self, pending: Callable[[], Mapping[str, int]]) -> None:
        """Pods pending in each queue (QUEUES), from now on read from `pending()`."""
        self._pending = pending

    def _pending_families(self) -> Iterable[Metric]:
        if self._pending is None:
            return
        counts = self._pending()
        family = GaugeMetricFamily(
            "scheduler_pending_pods", "Number of pending pods, by the queue type. 'active' "
            "means number of pods in activeQ; 'backoff' means number of pods in backoffQ; "
            "'unschedulable' means number of pods in unschedulablePods that the scheduler "
            "attempted to schedule and failed; 'gated' is the number of unschedulable pods "
            "that the scheduler never attempted to schedule because they are gated.",
            labels=("queue",))
        for queue in QUEUES:
            family.add_metric((queue,), counts.get(queue, 0))
        yield family
