"""NodeMetrics and PodMetrics (metrics.k8s.io/v1beta1): never stored; get and list are
answered from the kubelets' samples (apiserver/metricsapi), everything else is refused as a
storage without those verbs refuses it. kubectl's columns are metrics-server's: the name,
cpu and memory (a pod's summed over its containers) and the window."""

from __future__ import annotations

from fractions import Fraction

from minikube_py.api.quantity import QuantityError, format_quantity, parse_quantity
from minikube_py.api.resources import NODEMETRICS, PODMETRICS, Resource
from minikube_py.apiserver.kinds.base import Obj, Printer, ReadSource, Strategy
from minikube_py.apiserver.tables_format import Row, column, name

__all__ = ["NODEMETRICS", "PODMETRICS", "node_strategy", "pod_strategy"]

COLUMNS = [column("Name", "Name of the resource", fmt="name"),
           column("cpu", fmt="quantity"), column("memory", fmt="quantity"),
           column("Window", fmt="duration")]


def _total(containers: list[Obj], resource: str, binary: bool) -> str:
    total = Fraction(0)
    for c in containers:
        try:
            total += parse_quantity(((c.get("usage") or {}).get(resource)) or "0")
        except QuantityError:
            continue
    return format_quantity(total, binary=binary)


def node_row(obj: Obj, now: float) -> Row:
    usage = obj.get("usage") or {}
    return [name(obj), usage.get("cpu", "0"), usage.get("memory", "0"), obj.get("window", "")]


def pod_row(obj: Obj, now: float) -> Row:
    containers = obj.get("containers") or []
    return [name(obj), _total(containers, "cpu", False), _total(containers, "memory", True),
            obj.get("window", "")]


class MetricsStrategy(Strategy):
    stored = False
    verbs = ("get", "list")

    def __init__(self, resource: Resource, reads: ReadSource, printer: Printer,
                 schema: str) -> None:
        super().__init__(resource)
        self.reads = reads
        self.printer = printer
        self.schema = schema


def node_strategy(reads: ReadSource) -> MetricsStrategy:
    return MetricsStrategy(NODEMETRICS, reads, Printer(COLUMNS, node_row),
                           "metrics.NodeMetrics")


def pod_strategy(reads: ReadSource) -> MetricsStrategy:
    return MetricsStrategy(PODMETRICS, reads, Printer(COLUMNS, pod_row), "metrics.PodMetrics")
