"""The equivalence cache: which nodes pass the static filters, per pod shape.

A static filter (NodeName, NodeUnschedulable, NodeReady, TaintToleration, NodeAffinity)
reads only part of the pod (its "shape": nodeName, tolerations, nodeSelector, required node
affinity) and facts of the node that change only when the node itself does (labels, hard
taints, readiness, cordon). Pods of one workload share a shape, so their verdicts are worked
out once per shape and node-set generation and reused by every later pod of that shape, as
kube-scheduler's old equivalence class cache did. Only what the pod places on a node
(resources, spreading, pod affinity) is looked at again in every cycle.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minikube_py.scheduler.nodeinfo import NodeInfo


def frozen(value: Any) -> Hashable:
    """A JSON value as a hashable with the same content: objects become frozensets of
    their items (key order does not matter), arrays tuples."""
    if isinstance(value, dict):
        return frozenset((k, frozen(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(frozen(v) for v in value)
    return value  # type: ignore[no-any-return]


def tolerations_shape(pod: dict[str, Any]) -> Hashable:
    """The shape of the plugins that read only the pod's tolerations: one function, so a
    cycle computes it once for all of them."""
    return frozen((pod.get("spec") or {}).get("tolerations") or [])


def node_affinity_shape(pod: dict[str, Any]) -> Hashable:
    """What decides which nodes a pod's nodeSelector and required node affinity admit."""
    spec = pod.get("spec") or {}
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution")
    return frozen(spec.get("nodeSelector")), frozen(required)


@dataclass(frozen=True, slots=True)
class StaticVerdicts:
    """The nodes of one generation of the snapshot that pass every static filter, in
    snapshot order, and their positions. Why the others fail is not kept: it is needed
    only when no node fits, and a shape that fails almost everywhere (a DaemonSet pod's)
    would hold a reason per node."""

    eligible: list[NodeInfo]
    positions: Sequence[int]


class EquivalenceCache:
    """Static verdicts by shape, for the current generation of the node snapshot only: a
    new generation (a node added, removed, or changed in a static fact) drops them all."""

    def __init__(self, max_shapes: int = 64) -> None:
        self.max_shapes = max_shapes
        self._generation: int | None = None
        self._verdicts: OrderedDict[Hashable, StaticVerdicts] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, shape: Hashable, generation: int) -> StaticVerdicts | None:
        self._follow(generation)
        found = self._verdicts.get(shape)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        self._verdicts.move_to_end(shape)
        return found

    def put(self, shape: Hashable, generation: int, verdicts: StaticVerdicts) -> None:
        self._follow(generation)
        self._verdicts[shape] = verdicts
        self._verdicts.move_to_end(shape)
        while len(self._verdicts) > self.max_shapes:
            self._verdicts.popitem(last=False)

    def _follow(self, generation: int) -> None:
        if generation != self._generation:
            self._generation = generation
            self._verdicts.clear()
