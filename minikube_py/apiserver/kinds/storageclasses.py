"""StorageClasses (storage.k8s.io/v1): stored and served with kube's validation, defaults and
printer columns. The built-in `standard` class (the local-path provisioner's, the default)
exists from the start (bootstrap); a claim naming no class gets the default's name at create
(admission.DefaultStorageClass)."""

from __future__ import annotations

from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.resources import STORAGECLASSES
from minikube_py.api.storage import (
    DEFAULT_CLASS_ANNOTATION,
    DEFAULT_STORAGE_CLASS,
    LOCAL_PATH_PROVISIONER,
    is_default_class,
)
from minikube_py.api.validation import (
    duplicate,
    forbidden,
    invalid_value,
    not_supported,
    qualified_name_errors,
    required,
    validate_string_map,
)
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

# The Warning a class allowing expansion gets (admission.VolumeExpansionNotSupported).
EXPANSION_HAS_NO_EFFECT = ("storage.k8s.io/v1 StorageClass allowVolumeExpansion has no "
                           "effect in minikube-py: volumes are never expanded, and a claim "
                           "asking for more storage is refused")
RECLAIM_POLICIES = ("Delete", "Retain")
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
_MAX_PARAMETERS = 512
_MAX_PARAMETERS_BYTES = 256 * 1024

STORAGECLASS_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Provisioner", "provisioner indicates the type of the provisioner."),
    column("ReclaimPolicy", "reclaimPolicy controls the reclaimPolicy for dynamically "
                            "provisioned PersistentVolumes of this storage class. Defaults "
                            "to Delete."),
    column("VolumeBindingMode", "volumeBindingMode indicates how PersistentVolumeClaims "
                                "should be provisioned and bound.  When unset, "
                                "VolumeBindingImmediate is used. This field is only honored "
                                "by servers that enable the VolumeScheduling feature."),
    column("AllowVolumeExpansion", "allowVolumeExpansion shows whether the storage class "
                                   "allow volume expand."),
    column("Age", AGE_DESC),
]


def storageclass_row(sc: Obj, now: float) -> Row:
    label = name(sc) + (" (default)" if is_default_class(sc) else "")
    return [label, sc.get("provisioner", ""), sc.get("reclaimPolicy") or "Delete",
            sc.get("volumeBindingMode") or "Immediate", bool(sc.get("allowVolumeExpansion")),
            age(sc, now)]


def _mapping(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def standard_class() -> Obj:
    """The built-in default class, as the API server creates it at start: volumes made on
    the node that first uses them, so binding waits for the pod."""
    return {"metadata": {"name": DEFAULT_STORAGE_CLASS,
                         "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
            "provisioner": LOCAL_PATH_PROVISIONER, "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer"}


def _provisioner_errors(provisioner: object) -> list[Cause]:
    if not provisioner:
        return [required("provisioner", str(provisioner or ""))]
    if not isinstance(provisioner, str):
        return [invalid_value("provisioner", provisioner, "must be a string")]
    return [invalid_value("provisioner", provisioner, msg)
            for msg in qualified_name_errors(provisioner.lower())]


def _parameter_errors(params: object) -> list[Cause]:
    causes = validate_string_map(params, "parameters")
    if causes or not isinstance(params, dict):
        return causes
    if len(params) > _MAX_PARAMETERS:
        causes.append(Cause("FieldValueTooMany", f"Too many: {len(params)}: must have at most "
                            f"{_MAX_PARAMETERS} items", "parameters"))
    if sum(len(k) + len(v) for k, v in params.items()) > _MAX_PARAMETERS_BYTES:
        causes.append(Cause("FieldValueTooLong", "Too long: may not be more than "
                            f"{_MAX_PARAMETERS_BYTES} bytes", "parameters"))
    if any(k == "" for k in params):
        causes.append(invalid_value("parameters", params, "field can not be empty."))
    return causes


def storageclass_errors(sc: Obj) -> list[Cause]:
    """ValidateStorageClass: a provisioner, parameters, a reclaim policy and binding mode
    kube knows."""
    causes = _provisioner_errors(sc.get("provisioner"))
    causes += _parameter_errors(sc.get("parameters"))
    policy = sc.get("reclaimPolicy")
    if policy and policy not in RECLAIM_POLICIES:
        causes.append(not_supported("reclaimPolicy", policy, RECLAIM_POLICIES))
    mode = sc.get("volumeBindingMode")
    if mode is None:
        causes.append(required("volumeBindingMode"))
    elif mode not in BINDING_MODES:
        causes.append(not_supported("volumeBindingMode", mode, BINDING_MODES))
    return causes + _topologies_errors(sc.get("allowedTopologies"))


def _term_errors(term: Any, field: str) -> tuple[dict[str, frozenset[str]], list[Cause]]:
    """ValidateTopologySelectorTerm: each key once, with at least one value, each once."""
    exprs, causes = {}, []
    for i, req in enumerate(_mapping(term).get("matchLabelExpressions") or []):
        at = f"{field}.matchLabelExpressions[{i}]"
        key, values = str(_mapping(req).get("key") or ""), _mapping(req).get("values") or []
        if not values:
            causes.append(required(f"{at}.values", "must specify as least one value"))
        seen: set[str] = set()
        for value in values:
            if value in seen:
                causes.append(duplicate(f"{at}.values", value))
            seen.add(value)
        causes += [invalid_value(f"{at}.key", key, msg) for msg in qualified_name_errors(key)]
        if key in exprs:
            causes.append(duplicate(f"{at}.key", key))
        exprs[key] = frozenset(seen)
    return exprs, causes


def _topologies_errors(terms: Any) -> list[Cause]:
    """validateAllowedTopologies: valid terms, no term twice."""
    if terms is None:
        return []
    if not isinstance(terms, list):
        return [invalid_value("allowedTopologies", terms, "must be a list")]
    causes: list[Cause] = []
    seen: list[dict[str, frozenset[str]]] = []
    for i, term in enumerate(terms):
        exprs, term_causes = _term_errors(term, f"allowedTopologies[{i}]")
        causes += term_causes
        if exprs in seen:
            causes.append(duplicate(f"allowedTopologies[{i}].matchLabelExpressions", ""))
        seen.append(exprs)
    return causes


def storageclass_update_errors(new: Obj, old: Obj) -> list[Cause]:
    """ValidateStorageClassUpdate: provisioner, parameters, reclaim policy and binding mode
    never change."""
    causes = storageclass_errors(new)
    if (new.get("parameters") or {}) != (old.get("parameters") or {}):
        causes.append(forbidden("parameters", "updates to parameters are forbidden."))
    if new.get("provisioner") != old.get("provisioner"):
        causes.append(forbidden("provisioner", "updates to provisioner are forbidden."))
    if new.get("reclaimPolicy") != old.get("reclaimPolicy"):
        causes.append(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
    if new.get("volumeBindingMode") != old.get("volumeBindingMode"):
        causes.append(invalid_value("volumeBindingMode", new.get("volumeBindingMode"),
                                    "field is immutable"))
    return causes


class StorageClassStrategy(Strategy):
    printer = Printer(STORAGECLASS_COLUMNS, storageclass_row)
    schema = "storage.StorageClass"

    def default(self, obj: Obj) -> None:
        """SetDefaults_StorageClass."""
        if obj.get("reclaimPolicy") is None:
            obj["reclaimPolicy"] = "Delete"
        if obj.get("volumeBindingMode") is None:
            obj["volumeBindingMode"] = "Immediate"

    def validate(self, obj: Obj) -> list[Cause]:
        return storageclass_errors(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return storageclass_update_errors(new, old)


STRATEGY = StorageClassStrategy(STORAGECLASSES)
