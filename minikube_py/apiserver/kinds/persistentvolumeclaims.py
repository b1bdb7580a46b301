"""PersistentVolumeClaims (core/v1): stored and served with kube's validation, defaults and
printer columns. A claim's spec is fixed at create but for the volume the binder names and
a class set where there was none; volumes never grow here (no expansion), so a larger
request is refused rather than left pending forever."""

from __future__ import annotations

import copy
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.quantity import QuantityError, parse_quantity
from minikube_py.api.resources import PERSISTENTVOLUMECLAIMS
from minikube_py.api.validation import forbidden, invalid_value, label_selector_errors, required
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.kinds.persistentvolumes import (
    BETA_STORAGE_CLASS_ANNOTATION,
    access_mode_errors,
    access_modes_text,
    class_name_errors,
    phase_text,
    positive_quantity_errors,
    volume_mode_errors,
)
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

IMMUTABLE_SPEC = ("spec is immutable after creation except resources.requests and "
                  "volumeAttributesClassName for bound claims")
NO_EXPANSION = "volume expansion is not supported by minikube-py"

PERSISTENTVOLUMECLAIM_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Status", "phase represents the current phase of PersistentVolumeClaim."),
    column("Volume", "volumeName is the binding reference to the PersistentVolume backing "
                     "this claim."),
    column("Capacity", "capacity represents the actual resources of the underlying volume."),
    column("Access Modes", "accessModes contains the actual access modes the volume backing "
                           "the PVC has."),
    column("StorageClass", "StorageClass of the pvc"),
    column("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
    column("Age", AGE_DESC),
    column("VolumeMode", "volumeMode defines what type of volume is required by the claim.",
           priority=1),
]


def _mapping(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def claim_class(pvc: Obj) -> str:
    """helper.GetPersistentVolumeClaimClass: the beta annotation, else
    spec.storageClassName."""
    annotations = _mapping(_mapping(pvc.get("metadata")).get("annotations"))
    if BETA_STORAGE_CLASS_ANNOTATION in annotations:
        return str(annotations[BETA_STORAGE_CLASS_ANNOTATION])
    return str(_mapping(pvc.get("spec")).get("storageClassName") or "")


def persistentvolumeclaim_row(pvc: Obj, now: float) -> Row:
    spec, status = _mapping(pvc.get("spec")), _mapping(pvc.get("status"))
    volume = str(spec.get("volumeName") or "")
    capacity = modes = ""
    if volume:  # a bound claim shows what its volume has
        capacity = str(_mapping(status.get("capacity")).get("storage") or "0")
        modes = access_modes_text(status.get("accessModes"))
    return [name(pvc), phase_text(pvc), volume, capacity, modes, claim_class(pvc),
            spec.get("volumeAttributesClassName") or "<unset>", age(pvc, now),
            spec.get("volumeMode") or "<unset>"]


def _storage_request(spec: Obj) -> Any:
    return _mapping(_mapping(spec.get("resources")).get("requests")).get("storage")


def persistentvolumeclaim_errors(pvc: Obj) -> list[Cause]:
    """ValidatePersistentVolumeClaimSpec."""
    spec = _mapping(pvc.get("spec"))
    causes = access_mode_errors(spec.get("accessModes"), "spec.accessModes",
                                "at least 1 access mode is required")
    selector = spec.get("selector")
    if isinstance(selector, dict):
        causes += label_selector_errors(selector, "spec.selector")
    elif selector is not None:
        causes.append(invalid_value("spec.selector", selector, "must be a label selector"))
    storage = _storage_request(spec)
    if storage is None:
        causes.append(required("spec.resources[storage]"))
    else:
        causes += positive_quantity_errors(storage, "spec.resources[storage]")
    causes += class_name_errors(spec.get("storageClassName"), "spec.storageClassName")
    causes += volume_mode_errors(spec.get("volumeMode"))
    # The local-path provisioner makes empty directories: no clones, snapshots, populators.
    causes += [forbidden(f"spec.{key}", "volume data sources (clones, snapshots, populators) "
                                        "are not supported by minikube-py")
               for key in ("dataSource", "dataSourceRef") if spec.get(key) is not None]
    if spec.get("volumeAttributesClassName"):
        causes.append(forbidden("spec.volumeAttributesClassName", "volume attributes classes "
                                "are not supported by minikube-py"))
    return causes


def _size(value: Any) -> Any:
    try:
        return parse_quantity(value)
    except (QuantityError, TypeError, ValueError):
        return None


def persistentvolumeclaim_update_errors(new: Obj, old: Obj) -> list[Cause]:
    """ValidatePersistentVolumeClaimUpdate: the spec stays but for a volumeName set once and
    a storageClassName set where there was none (kube's retroactive default class); the
    storage request never shrinks, and never grows here (no expansion)."""
    causes = persistentvolumeclaim_errors(new)
    new_spec, old_spec = _mapping(new.get("spec")), _mapping(old.get("spec"))
    new_cmp, old_cmp = copy.deepcopy(new_spec), copy.deepcopy(old_spec)
    if not old_spec.get("volumeName"):
        old_cmp["volumeName"] = new_cmp.get("volumeName")
        if new_cmp.get("volumeName") is None:
            old_cmp.pop("volumeName", None)
    if old_spec.get("storageClassName") is None and new_spec.get("storageClassName"):
        old_cmp["storageClassName"] = new_spec["storageClassName"]
    new_size, old_size = _size(_storage_request(new_spec)), _size(_storage_request(old_spec))
    # The size is judged on its own below, not as a spec change.
    for spec in (new_cmp, old_cmp):
        requests = _mapping(_mapping(spec.get("resources")).get("requests"))
        requests.pop("storage", None)
    if new_cmp != old_cmp:
        causes.append(forbidden("spec", IMMUTABLE_SPEC))
    if new_size is not None and old_size is not None:
        if new_size < old_size:
            causes.append(forbidden("spec.resources.requests.storage",
                                    "field can not be less than previous value"))
        elif new_size > old_size:
            causes.append(forbidden("spec.resources.requests.storage", NO_EXPANSION))
    return causes


class PersistentVolumeClaimStrategy(Strategy):
    printer = Printer(PERSISTENTVOLUMECLAIM_COLUMNS, persistentvolumeclaim_row)
    schema = "core.PersistentVolumeClaim"
    fresh_status = {"phase": "Pending"}

    def default(self, obj: Obj) -> None:
        """SetDefaults_PersistentVolumeClaim(Spec)."""
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict):
            spec.setdefault("volumeMode", "Filesystem")
        status = obj.setdefault("status", {})
        if isinstance(status, dict) and not status.get("phase"):
            status["phase"] = "Pending"

    def validate(self, obj: Obj) -> list[Cause]:
        return persistentvolumeclaim_errors(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return persistentvolumeclaim_update_errors(new, old)


STRATEGY = PersistentVolumeClaimStrategy(PERSISTENTVOLUMECLAIMS)
