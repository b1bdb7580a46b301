"""VolumeBinding: a pod goes only where its claims' volumes can be (kube's VolumeBinding
plugin). A bound claim's volume must admit the node by its node affinity; an unbound claim of
a WaitForFirstConsumer class needs, on the node, an Available volume that fits it or a class
that provisions there; an unbound claim of an Immediate class waits for its binder.

The plugin reads a VolumeCatalog the scheduler keeps from its informers. After a node is
chosen, the scheduler's bind step annotates the pod's waiting claims with that node
(`volume.kubernetes.io/selected-node`) and binds the pod once they are bound
(kube's PreBind)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from minikube_py.api.storage import SELECTED_NODE_ANNOTATION
from minikube_py.api.volumes import (
    class_of,
    find_matching_volume,
    provisioner_of,
    volume_fits_node,
    wait_for_first_consumer,
)
from minikube_py.scheduler.framework import (
    SKIP,
    SUCCESS,
    CycleState,
    NodeInfo,
    Obj,
    Status,
    unresolvable,
)

_STATE = "VolumeBinding"

NODE_CONFLICT = "node(s) had volume node affinity conflict"
NO_VOLUME = "node(s) didn't find available persistent volumes to bind"
PV_MISSING = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"


@dataclass
class VolumeCatalog:
    """Claims, volumes and classes as the scheduler's informers last saw them; `changed`
    wakes whoever waits for a claim to be bound."""

    claims: dict[str, Obj] = field(default_factory=dict)  # namespace/name
    volumes: dict[str, Obj] = field(default_factory=dict)
    classes: dict[str, Obj] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def put(self, table: dict[str, Obj], key: str, obj: Obj | None) -> None:
        if obj is None:
            table.pop(key, None)
        else:
            table[key] = obj
        self.changed.set()

    async def wait_changed(self) -> None:
        self.changed.clear()
        await self.changed.wait()


def pod_claims(pod: Mapping[str, Any]) -> list[str]:
    """namespace/name of the claims the pod's volumes name (ephemeral volumes are refused
    at admission, so every claim is a persistentVolumeClaim volume)."""
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    return [f"{namespace}/{v['persistentVolumeClaim']['claimName']}"
            for v in (pod.get("spec") or {}).get("volumes") or []
            if (v.get("persistentVolumeClaim") or {}).get("claimName")]


def is_bound(claim: Mapping[str, Any]) -> bool:
    return bool((claim.get("spec") or {}).get("volumeName")) and (
        (claim.get("status") or {}).get("phase") == "Bound")


@dataclass(frozen=True, slots=True)
class _PodVolumes:
    bound: tuple[Obj, ...]  # the volumes of bound claims
    waiting: tuple[Obj, ...]  # unbound claims of WaitForFirstConsumer classes


def classify(pod: Mapping[str, Any], catalog: VolumeCatalog) -> _PodVolumes | Status:
    """The pod's claims sorted into bound (with their volumes) and waiting for a node, or
    why no node can do (kube's PreFilter)."""
    bound: list[Obj] = []
    waiting: list[Obj] = []
    for key in pod_claims(pod):
        claim = catalog.claims.get(key)
        name = key.partition("/")[2]
        if claim is None:
            return unresolvable(f'persistentvolumeclaim "{name}" not found')
        if (claim.get("metadata") or {}).get("deletionTimestamp"):
            return unresolvable(f'persistentvolumeclaim "{name}" is being deleted')
        volume_name = (claim.get("spec") or {}).get("volumeName")
        if volume_name:
            volume = catalog.volumes.get(volume_name)
            if volume is None:
                return unresolvable(PV_MISSING)
            bound.append(volume)
        elif wait_for_first_consumer(catalog.classes.get(class_of(claim))):
            waiting.append(claim)
        else:
            return unresolvable(UNBOUND_IMMEDIATE)
    return _PodVolumes(tuple(bound), tuple(waiting))


def class_allows_node(storage_class: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """The class's allowedTopologies admit the node (none: every node)."""
    terms = storage_class.get("allowedTopologies") or []
    if not terms:
        return True
    labels = (node.get("metadata") or {}).get("labels") or {}
    return any(all(labels.get(e.get("key")) in (e.get("values") or [])
                   for e in t.get("matchLabelExpressions") or []) for t in terms)


def claim_fits_node(claim: Mapping[str, Any], catalog: VolumeCatalog,
                    node: Mapping[str, Any]) -> bool:
    """An unbound claim can be had on the node: a volume there fits it (the claim's
    selected node, if a scheduler picked one earlier, counts as any other), or its class
    provisions volumes on the node."""
    if find_matching_volume(claim, list(catalog.volumes.values()), node) is not None:
        return True
    storage_class = catalog.classes.get(class_of(claim))
    return (storage_class is not None and bool(provisioner_of(storage_class))
            and class_allows_node(storage_class, node))


class VolumeBinding:
    name = "VolumeBinding"

    def __init__(self, catalog: VolumeCatalog | None = None) -> None:
        self.catalog = catalog or VolumeCatalog()

    def pre_filter(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status:
        if not pod_claims(pod):
            return SKIP
        found = classify(pod, self.catalog)
        if isinstance(found, Status):
            return found
        state[_STATE] = found
        return SUCCESS

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        found: _PodVolumes = state[_STATE]
        if not all(volume_fits_node(v, node.node) for v in found.bound):
            return unresolvable(NODE_CONFLICT)
        if not all(claim_fits_node(c, self.catalog, node.node) for c in found.waiting):
            return unresolvable(NO_VOLUME)
        return SUCCESS


def claims_to_select(pod: Mapping[str, Any], catalog: VolumeCatalog, node: str) -> list[Obj]:
    """The pod's unbound claims that do not yet name `node` as their selected node."""
    out = []
    for key in pod_claims(pod):
        claim = catalog.claims.get(key)
        if claim is None or (claim.get("spec") or {}).get("volumeName"):
            continue
        annotations = (claim.get("metadata") or {}).get("annotations") or {}
        if annotations.get(SELECTED_NODE_ANNOTATION) != node:
            out.append(claim)
    return out


def all_bound(pod: Mapping[str, Any], catalog: VolumeCatalog) -> bool:
    return all(is_bound(catalog.claims[k]) for k in pod_claims(pod) if k in catalog.claims)
