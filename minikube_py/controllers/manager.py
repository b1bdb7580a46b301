"""The controller manager: builds every controller from one context and one settings
object. The composition root runs each as its own supervised task."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from minikube_py.controllers.base import ControllerContext


@dataclass(frozen=True)
class ControllerSettings:
    """Tunables, with kube-controller-manager's defaults (flags shorten them for tests)."""

    # node lifecycle: a node whose lease is older than this is NotReady/Unknown
    node_monitor_grace_period: float = 40.0
    node_monitor_period: float = 5.0
    cluster_cidr: str = "10.244.0.0/16"
    node_cidr_mask_size: int = 24
    # pod GC: terminated pods kept before the oldest are deleted
    terminated_pod_gc_threshold: int = 12500
    workers: int = 2


Runner = Callable[[], Awaitable[None]]


def build_controllers(ctx: ControllerContext,
                      settings: ControllerSettings) -> list[tuple[str, Runner]]:
    """(task name, run) for every controller. Each controller module adds its line here."""
    controllers: list[tuple[str, Runner]] = []
    return controllers
