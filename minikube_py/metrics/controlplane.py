"""The instruments of one control plane, on the registry its API server's /metrics shows:
made once per serve, handed to the store, the API server, the scheduler and the
controllers (made again with each leadership term, they take the same instruments)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from minikube_py.metrics import new_registry
from minikube_py.metrics.apiserver import ApiServerMetrics
from minikube_py.metrics.scheduler import SchedulerMetrics
from minikube_py.metrics.store import StoreMetrics
from minikube_py.metrics.workqueue import WorkqueueMetrics


class ControlPlaneMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else new_registry()
        self.api = ApiServerMetrics(self.registry)
        self.store = StoreMetrics(self.registry)
        self.scheduler = SchedulerMetrics(self.registry)
        self.workqueues = WorkqueueMetrics(self.registry)
