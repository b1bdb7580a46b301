"""What the PersistentVolume controller decides, as pure functions of the cache: which volume
a claim binds to, and what one sync of a claim or of a volume writes (kube's
pkg/controller/volume/persistentvolume: syncClaim, syncVolume, findMatchingVolume).

A binding is written volume first (its claimRef), then the claim (volumeName and the
bind-completed annotation), then the claim's status, so that a crash between writes leaves
a state the next sync completes, never two claims on one volume.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from minikube_py.api.resources import PERSISTENTVOLUMECLAIMS, PERSISTENTVOLUMES, Resource
from minikube_py.api.storage import (
    BETA_STORAGE_PROVISIONER_ANNOTATION,
    BIND_COMPLETED_ANNOTATION,
    BOUND_BY_CONTROLLER_ANNOTATION,
    LOCAL_PATH_PROVISIONER,
    PROVISIONED_BY_ANNOTATION,
    SELECTED_NODE_ANNOTATION,
    STORAGE_PROVISIONER_ANNOTATION,
)
from minikube_py.api.volumes import (
    claim_key,
    claim_ref_key,
    class_of,
    find_matching_volume,
    is_bound_to,
    mismatch,
    provisioner_of,
    wait_for_first_consumer,
)

Obj = dict[str, Any]



@dataclass(frozen=True, slots=True)
class Write:
    """One update: the whole object as it should be stored (`subresource` "status" for its
    status). A later write of the same object takes the resourceVersion the earlier gave."""

    resource: Resource
    obj: Obj
    subresource: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    obj: Obj
    type: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Plan:
    writes: tuple[Write, ...] = ()
    events: tuple[Event, ...] = ()

    def __add__(self, other: Plan) -> Plan:
        return Plan(self.writes + other.writes, self.events + other.events)


NOTHING = Plan()

# Work-queue keys of the storage controllers: a claim's namespace/name, or a volume's name.
CLAIM = "claim:"
VOLUME = "volume:"


async def sync_storage_key(key: str, sync_claim: Callable[[str], Awaitable[None]],
                           sync_volume: Callable[[str], Awaitable[None]]) -> None:
    """Route a storage controller's key to its claim or volume sync."""
    if key.startswith(CLAIM):
        await sync_claim(key[len(CLAIM):])
    elif key.startswith(VOLUME):
        await sync_volume(key[len(VOLUME):])


def _warning(obj: Obj, reason: str, message: str) -> Plan:
    return Plan(events=(Event(obj, "Warning", reason, message),))


def _normal(obj: Obj, reason: str, message: str) -> Plan:
    return Plan(events=(Event(obj, "Normal", reason, message),))


def _meta(obj: Mapping[str, Any]) -> Obj:
    return obj.get("metadata") or {}


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return _meta(obj).get("annotations") or {}


# --- binding ----------------------------------------------------------------------------


def _claim_ref(claim: Mapping[str, Any]) -> Obj:
    meta = _meta(claim)
    return {"kind": "PersistentVolumeClaim", "namespace": meta.get("namespace", ""),
            "name": meta.get("name", ""), "uid": meta.get("uid", ""), "apiVersion": "v1",
            "resourceVersion": meta.get("resourceVersion", "")}


def _with_phase(obj: Obj, phase: str, message: str = "", reason: str = "") -> Obj | None:
    """The object with status.phase (and message/reason) set, or None when already so."""
    status = obj.get("status") or {}
    if (status.get("phase") == phase and status.get("message", "") == message
            and status.get("reason", "") == reason):
        return None
    new = copy.deepcopy(obj)
    st = {k: v for k, v in status.items() if k not in ("message", "reason")}
    st["phase"] = phase
    if message:
        st["message"] = message
    if reason:
        st["reason"] = reason
    new["status"] = st
    return new


def _volume_phase(volume: Obj, phase: str, message: str = "", reason: str = "") -> Plan:
    new = _with_phase(volume, phase, message, reason)
    return NOTHING if new is None else Plan(writes=(Write(PERSISTENTVOLUMES, new, "status"),))


def bind(claim: Obj, volume: Obj) -> Plan:
    """The writes that bind the claim and the volume to each other (bind: volume, then
    claim, then claim status), each only if not done yet."""
    writes: list[Write] = []
    vol = volume
    if not ((volume.get("spec") or {}).get("claimRef") or {}).get("uid"):
        vol = copy.deepcopy(volume)
        if not vol["spec"].get("claimRef"):
            vol["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER_ANNOTATION] = "yes"
        vol["spec"]["claimRef"] = _claim_ref(claim)
        writes.append(Write(PERSISTENTVOLUMES, vol))
    bound = _with_phase(vol, "Bound")
    if bound is not None:
        writes.append(Write(PERSISTENTVOLUMES, bound, "status"))
    name = _meta(volume).get("name", "")
    annotations = _annotations(claim)
    cl = claim
    if ((claim.get("spec") or {}).get("volumeName") != name
            or annotations.get(BIND_COMPLETED_ANNOTATION) != "yes"):
        cl = copy.deepcopy(claim)
        ann = cl["metadata"].setdefault("annotations", {})
        if cl["spec"].get("volumeName") != name:
            ann[BOUND_BY_CONTROLLER_ANNOTATION] = "yes"
            cl["spec"]["volumeName"] = name
        ann[BIND_COMPLETED_ANNOTATION] = "yes"
        writes.append(Write(PERSISTENTVOLUMECLAIMS, cl))
    vspec = volume.get("spec") or {}
    want_status = {"phase": "Bound", "accessModes": list(vspec.get("accessModes") or []),
                   "capacity": dict(vspec.get("capacity") or {})}
    status = cl.get("status") or {}
    if any(status.get(k) != v for k, v in want_status.items()):
        new = copy.deepcopy(cl)
        new["status"] = {**{k: v for k, v in status.items() if k != "phase"}, **want_status}
        writes.append(Write(PERSISTENTVOLUMECLAIMS, new, "status"))
    return Plan(writes=tuple(writes))


def _claim_phase(claim: Obj, phase: str) -> Plan:
    new = _with_phase(claim, phase)
    return NOTHING if new is None else Plan(writes=(Write(PERSISTENTVOLUMECLAIMS, new, "status"),))


# --- one sync of a claim ----------------------------------------------------------------


def claim_plan(claim: Obj, volumes: Mapping[str, Obj], classes: Mapping[str, Obj],
               nodes: Mapping[str, Obj]) -> Plan:
    """syncClaim: bind an unbound claim, finish a half-done binding, or notice a lost one."""
    if _meta(claim).get("deletionTimestamp"):
        return NOTHING
    volume_name = (claim.get("spec") or {}).get("volumeName") or ""
    if volume_name:
        return _bound_claim_plan(claim, volumes.get(volume_name))
    return _unbound_claim_plan(claim, list(volumes.values()), classes, nodes)


def _unbound_claim_plan(claim: Obj, volumes: list[Obj], classes: Mapping[str, Obj],
                        nodes: Mapping[str, Obj]) -> Plan:
    class_name = class_of(claim)
    storage_class = classes.get(class_name) if class_name else None
    pending = _claim_phase(claim, "Pending")
    selected = _annotations(claim).get(SELECTED_NODE_ANNOTATION, "")
    if wait_for_first_consumer(storage_class) and not selected:
        return pending + _normal(claim, "WaitForFirstConsumer",
                                 "waiting for first consumer to be created before binding")
    node = nodes.get(selected) if selected else None
    match = find_matching_volume(claim, volumes, node)
    if match is not None:
        return bind(claim, match)
    if not class_name:
        return pending + _normal(claim, "FailedBinding", "no persistent volumes available for "
                                 "this claim and no storage class is set")
    if storage_class is None:
        return pending + _warning(claim, "ProvisioningFailed",
                                  f'storageclass.storage.k8s.io "{class_name}" not found')
    provisioner = provisioner_of(storage_class)
    if not provisioner:
        return pending + _normal(claim, "FailedBinding",
                                 "no persistent volumes available for this claim and the "
                                 f'storage class "{class_name}" has no provisioner')
    return pending + _hand_to_provisioner(claim, provisioner)


def _hand_to_provisioner(claim: Obj, provisioner: str) -> Plan:
    """Annotate the claim with its provisioner (which watches for exactly that) and say so."""
    ann = _annotations(claim)
    plan = NOTHING
    if (ann.get(STORAGE_PROVISIONER_ANNOTATION) != provisioner
            or ann.get(BETA_STORAGE_PROVISIONER_ANNOTATION) != provisioner):
        new = copy.deepcopy(claim)
        annotations = new["metadata"].setdefault("annotations", {})
        annotations[STORAGE_PROVISIONER_ANNOTATION] = provisioner
        annotations[BETA_STORAGE_PROVISIONER_ANNOTATION] = provisioner
        plan = Plan(writes=(Write(PERSISTENTVOLUMECLAIMS, new),))
    if provisioner == LOCAL_PATH_PROVISIONER:
        return plan  # ours: it says Provisioning itself, at once
    return plan + _normal(
        claim, "ExternalProvisioning",
        f"Waiting for a volume to be created either by the external provisioner "
        f"'{provisioner}' or manually by the system administrator. If volume creation is "
        "delayed, please verify that the provisioner is running and correctly registered.")


def _bound_claim_plan(claim: Obj, volume: Obj | None) -> Plan:
    name = (claim.get("spec") or {}).get("volumeName")
    phase = (claim.get("status") or {}).get("phase")
    if volume is None:
        if phase in ("Bound", "Lost"):
            return _claim_phase(claim, "Lost") + (
                NOTHING if phase == "Lost" else _warning(
                    claim, "ClaimLost",
                    "Bound claim has lost its PersistentVolume. Data on the volume is lost!"))
        return _claim_phase(claim, "Pending")  # the named volume may be created later
    ref = (volume.get("spec") or {}).get("claimRef")
    if not ref or is_bound_to(volume, claim):
        why = mismatch(claim, volume) if not ref else None
        if why is not None:
            return _claim_phase(claim, "Pending") + _warning(
                claim, "VolumeMismatch", f'Cannot bind to requested volume "{name}": {why}')
        return bind(claim, volume)
    if _annotations(claim).get(BIND_COMPLETED_ANNOTATION) == "yes":
        return _claim_phase(claim, "Lost") + _warning(
            claim, "ClaimMisbound",
            "Two claims are bound to the same volume, this one is bound incorrectly")
    return _claim_phase(claim, "Pending") + _normal(
        claim, "FailedBinding", f'volume "{name}" already bound to a different claim.')


# --- one sync of a volume ---------------------------------------------------------------


def volume_plan(volume: Obj, claim: Obj | None) -> Plan:
    """syncVolume, given the claim its claimRef names (None: confirmed gone). A volume with
    no claim is Available; one whose claim is gone is Released and then reclaimed as its
    policy says (Delete of our own volumes is the provisioner's; any other Delete, and
    Recycle, fail with a message, as kube's do without a plugin that can)."""
    if _meta(volume).get("deletionTimestamp"):
        return NOTHING
    spec = volume.get("spec") or {}
    ref = spec.get("claimRef")
    if not ref:
        return _volume_phase(volume, "Available")
    if not ref.get("uid"):  # pre-bound by name: the claim's sync binds it
        return _volume_phase(volume, "Available")
    if claim is not None and _meta(claim).get("uid") == ref.get("uid"):
        claim_volume = (claim.get("spec") or {}).get("volumeName") or ""
        if claim_volume == _meta(volume).get("name"):
            return _volume_phase(volume, "Bound")
        if claim_volume and _annotations(volume).get(BOUND_BY_CONTROLLER_ANNOTATION):
            return _unbind(volume)  # we bound it; the claim went elsewhere
        return NOTHING  # the claim's sync finishes the binding
    return _reclaim(volume)


def _unbind(volume: Obj) -> Plan:
    new = copy.deepcopy(volume)
    new["spec"].pop("claimRef", None)
    new["metadata"].get("annotations", {}).pop(BOUND_BY_CONTROLLER_ANNOTATION, None)
    status = _with_phase(new, "Available")
    writes = [Write(PERSISTENTVOLUMES, new)]
    if status is not None:
        writes.append(Write(PERSISTENTVOLUMES, status, "status"))
    return Plan(writes=tuple(writes))


def _reclaim(volume: Obj) -> Plan:
    name = _meta(volume).get("name", "")
    phase = (volume.get("status") or {}).get("phase")
    if phase == "Failed":
        return NOTHING
    policy = (volume.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain"
    if policy == "Retain":
        return _volume_phase(volume, "Released")
    if policy == "Delete":
        if _annotations(volume).get(PROVISIONED_BY_ANNOTATION) == LOCAL_PATH_PROVISIONER:
            return _volume_phase(volume, "Released")  # the provisioner deletes it
        message = (f'error getting deleter volume plugin for volume "{name}": no deletable '
                   "volume plugin matched")
        return _volume_phase(volume, "Failed", message) + _warning(
            volume, "VolumeFailedDelete", message)
    message = (f"recycling volume {name} is not supported by minikube-py (Recycle is "
               "deprecated): use Retain or Delete")
    return _volume_phase(volume, "Failed", message) + _warning(
        volume, "VolumeFailedRecycle", message)


# --- which claims a volume's change concerns -------------------------------------------


def claims_to_sync(volume: Mapping[str, Any],
                   unbound: Callable[[], list[Obj]]) -> list[str]:
    """The claim a volume names, or, for a volume that became Available, the unbound claims
    that may now bind to it."""
    key = claim_ref_key(volume)
    if key is not None:
        return [key]
    return [claim_key(c) for c in unbound()]
