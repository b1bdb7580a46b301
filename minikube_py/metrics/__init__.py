"""Prometheus metrics (prometheus-client) of the components, in kube's names and labels.

One process may hold several API servers, stores, schedulers and kubelets (the integration
tests run several control planes at once), so nothing here uses the library's global
REGISTRY: the composition root makes a registry per endpoint (`new_registry`) and hands
each component the instrument set built on it. Gauges of a component's state (store size,
Raft position, queue depths, watch counts) are collectors that read it at scrape time, so
they cost nothing between scrapes. This package imports only prometheus_client: any layer
may use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, ProcessCollector, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import Metric

# Kube's components expose no `_created` series; the flag is the library's, read when an
# instrument is made and when it is collected.
disable_created_metrics()  # type: ignore[no-untyped-call]

# The text format every Prometheus and `kubectl get --raw` reads (kube's components answer
# with this version too).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def new_registry(*, process: bool = True) -> CollectorRegistry:
    """A registry for one /metrics endpoint, with the process's own metrics
    (process_resident_memory_bytes, process_cpu_seconds_total, ...) unless `process` is
    False (a second endpoint of the same process need not repeat them)."""
    registry = CollectorRegistry()
    if process:
        ProcessCollector(registry=registry)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The registry's metrics in the Prometheus text format."""
    return generate_latest(registry)


class ScrapeCollector:
    """A collector whose metric families a function makes at each scrape, from the state
    it reads then."""

    def __init__(self, families: Callable[[], Iterable[Metric]]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families()

    def describe(self) -> list[Metric]:
        return []  # nothing to check for clashes ahead of time: scraping must stay cheap
