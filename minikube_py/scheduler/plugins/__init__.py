"""Scheduler plugins (one module per plugin family) and the registry that builds a
framework from a profile of plugin names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from minikube_py.api.scheduling import node_selector_term_matches, tolerates
from minikube_py.scheduler.framework import Framework
from minikube_py.scheduler.plugins.interpod_affinity import InterPodAffinity
from minikube_py.scheduler.plugins.node_affinity import NodeAffinity
from minikube_py.scheduler.plugins.node_basics import NodeName, NodeReady, NodeUnschedulable
from minikube_py.scheduler.plugins.resources import BalancedAllocation, NodeResourcesFit
from minikube_py.scheduler.plugins.taints import TaintToleration
from minikube_py.scheduler.plugins.topology_spread import PodTopologySpread
from minikube_py.scheduler.plugins.volume_binding import VolumeBinding, VolumeCatalog

__all__ = [
    "BalancedAllocation",
    "InterPodAffinity",
    "NodeAffinity",
    "NodeName",
    "NodeReady",
    "NodeResourcesFit",
    "NodeUnschedulable",
    "PodTopologySpread",
    "Profile",
    "TaintToleration",
    "VolumeBinding",
    "VolumeCatalog",
    "build_framework",
    "node_selector_term_matches",
    "tolerates",
]

PluginFactory = Callable[[], Any]

REGISTRY: dict[str, PluginFactory] = {
    "NodeName": NodeName,
    "NodeUnschedulable": NodeUnschedulable,
    "NodeReady": NodeReady,
    "NodeResourcesFit": NodeResourcesFit,
    "NodeResourcesBalancedAllocation": BalancedAllocation,
    "TaintToleration": TaintToleration,
    "NodeAffinity": NodeAffinity,
    "InterPodAffinity": InterPodAffinity,
    "PodTopologySpread": PodTopologySpread,
    "VolumeBinding": VolumeBinding,
}

DEFAULT_PROFILE = (
    "NodeName", "NodeUnschedulable", "NodeReady", "TaintToleration", "NodeAffinity",
    "NodeResourcesFit", "VolumeBinding", "PodTopologySpread", "InterPodAffinity",
    "NodeResourcesBalancedAllocation",
)


@dataclass(frozen=True)
class Profile:
    plugins: tuple[str, ...] = DEFAULT_PROFILE
    percentage_of_nodes_to_score: int = 0


def build_framework(profile: Profile = Profile(), *, volumes: VolumeCatalog | None = None,
                    **kw: Any) -> Framework:
    """Instantiate each plugin once and slot it into every extension point it implements.
    `volumes` is the scheduler's catalog of claims, volumes and classes, which the
    VolumeBinding plugin reads (without it, it sees none)."""
    instances = [REGISTRY[name]() for name in profile.plugins]
    for plugin in instances:
        if isinstance(plugin, VolumeBinding) and volumes is not None:
            plugin.catalog = volumes
    return Framework(
        pre_filters=[p for p in instances if hasattr(p, "pre_filter")],
        filters=[p for p in instances if hasattr(p, "filter")],
        scorers=[p for p in instances if hasattr(p, "score")],
        percentage_of_nodes_to_score=profile.percentage_of_nodes_to_score,
        **kw,
    )
