"""Reading claims, volumes and classes, and which volume a claim can bind to (kube's
findMatchingVolume and checkVolumeSatisfyClaim): pure functions the PersistentVolume
controller and the scheduler's VolumeBinding plugin share."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from minikube_py.api.quantity import parse_quantity
from minikube_py.api.scheduling import node_selector_term_matches
from minikube_py.api.selectors import selector_from_label_selector_object
from minikube_py.api.storage import NO_PROVISIONER

Obj = dict[str, Any]

WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"


def _meta(obj: Mapping[str, Any]) -> Obj:
    return obj.get("metadata") or {}


def claim_key(claim: Mapping[str, Any]) -> str:
    meta = _meta(claim)
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def class_of(obj: Mapping[str, Any]) -> str:
    """The class a claim asks for or a volume belongs to ("" for none)."""
    return str((obj.get("spec") or {}).get("storageClassName") or "")


def requested(claim: Mapping[str, Any]) -> Fraction:
    storage = (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get(
        "storage", "0")
    return parse_quantity(storage)


def capacity(volume: Mapping[str, Any]) -> Fraction:
    return parse_quantity(((volume.get("spec") or {}).get("capacity") or {}).get("storage", "0"))


def _mode(obj: Mapping[str, Any]) -> str:
    return str((obj.get("spec") or {}).get("volumeMode") or "Filesystem")


def claim_ref_key(volume: Mapping[str, Any]) -> str | None:
    ref = (volume.get("spec") or {}).get("claimRef")
    if not ref:
        return None
    return f"{ref.get('namespace', '')}/{ref.get('name', '')}"


def is_bound_to(volume: Mapping[str, Any], claim: Mapping[str, Any]) -> bool:
    """kube's IsVolumeBoundToClaim: the volume's claimRef names the claim (and its uid, when
    the ref has one)."""
    ref = (volume.get("spec") or {}).get("claimRef") or {}
    meta = _meta(claim)
    if ref.get("name") != meta.get("name") or ref.get("namespace") != meta.get("namespace"):
        return False
    return not ref.get("uid") or ref.get("uid") == meta.get("uid")


def wait_for_first_consumer(storage_class: Mapping[str, Any] | None) -> bool:
    return bool(storage_class) and (
        storage_class.get("volumeBindingMode") == WAIT_FOR_FIRST_CONSUMER)  # type: ignore[union-attr]


def volume_fits_node(volume: Mapping[str, Any], node: Mapping[str, Any] | None) -> bool:
    """The volume's required node affinity admits the node (no affinity admits every node;
    no node known admits every volume)."""
    required = (((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {})
    terms = required.get("nodeSelectorTerms")
    if node is None or terms is None:
        return True
    return any(node_selector_term_matches(node, t) for t in terms)


def mismatch(claim: Mapping[str, Any], volume: Mapping[str, Any]) -> str | None:
    """Why the volume cannot satisfy the claim (kube's checkVolumeSatisfyClaim), or None."""
    if class_of(claim) != class_of(volume):
        return "storageClassName does not match"
    if _mode(claim) != _mode(volume):
        return "incompatible volumeMode"
    wanted = set((claim.get("spec") or {}).get("accessModes") or [])
    if not wanted <= set((volume.get("spec") or {}).get("accessModes") or []):
        return "incompatible accessMode"
    if capacity(volume) < requested(claim):
        return "requested PV is too small"
    return None


def _selector_matches(claim: Mapping[str, Any], volume: Mapping[str, Any]) -> bool:
    selector = (claim.get("spec") or {}).get("selector")
    if not selector:
        return True
    try:
        parsed = selector_from_label_selector_object(selector)
    except Exception:  # an invalid selector (validation should have refused it) selects nothing
        return False
    return parsed.matches(_meta(volume).get("labels") or {})


def find_matching_volume(claim: Mapping[str, Any], volumes: list[Obj],
                         node: Mapping[str, Any] | None = None) -> Obj | None:
    """The volume the claim binds to: one pre-bound to it (claimRef) if it fits, else the
    smallest Available one of its class whose access modes, mode, capacity, the claim's
    selector and (when a node is given) node affinity all fit (findMatchingVolume)."""
    best: Obj | None = None
    for volume in volumes:
        if _meta(volume).get("deletionTimestamp") or mismatch(claim, volume):
            continue
        if not volume_fits_node(volume, node):
            continue
        if (volume.get("spec") or {}).get("claimRef"):
            if is_bound_to(volume, claim):
                return volume
            continue
        if (volume.get("status") or {}).get("phase") not in (None, "", "Available", "Pending"):
            continue
        if not _selector_matches(claim, volume):
            continue
        if best is None or capacity(volume) < capacity(best):
            best = volume
    return best


def provisioner_of(storage_class: Mapping[str, Any] | None) -> str:
    if not storage_class:
        return ""
    name = str(storage_class.get("provisioner") or "")
    return "" if name == NO_PROVISIONER else name
