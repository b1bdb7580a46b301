"""PersistentVolumes (core/v1, cluster-scoped): stored and served with kube's validation,
defaults and printer columns. Only the sources a node here can mount are accepted (hostPath
and local); any other source is refused at create, never stored to be silently unmountable.
The access-mode, capacity and class rules a claim shares live here too."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.quantity import QuantityError, parse_quantity
from minikube_py.api.resources import PERSISTENTVOLUMES
from minikube_py.api.validation import (
    dns1123_subdomain_errors,
    forbidden,
    invalid_value,
    not_supported,
    required,
)
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
# helper.GetAccessModesAsString: kube's order and abbreviations.
_MODE_SHORT = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
               "ReadWriteOncePod": "RWOP"}
VOLUME_MODES = ("Block", "Filesystem")
RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
HOST_PATH_TYPES = ("", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File",
                   "FileOrCreate", "Socket")
SUPPORTED_SOURCES = ("hostPath", "local")
# Every other PersistentVolumeSource kube knows, in kube's validation order.
UNSUPPORTED_SOURCES = ("gcePersistentDisk", "awsElasticBlockStore", "glusterfs", "flocker",
                       "nfs", "rbd", "quobyte", "cephfs", "iscsi", "cinder", "fc", "flexVolume",
                       "azureFile", "vsphereVolume", "photonPersistentDisk", "portworxVolume",
                       "azureDisk", "scaleIO", "storageos", "csi")
# The annotation that named a volume's or claim's class before spec.storageClassName.
BETA_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"

PERSISTENTVOLUME_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Capacity", "capacity is the description of the persistent volume's resources and "
                       "capacity."),
    column("Access Modes", "accessModes contains all ways the volume can be mounted."),
    column("Reclaim Policy", "persistentVolumeReclaimPolicy defines what happens to a "
                             "persistent volume when released from its claim."),
    column("Status", "phase indicates if a volume is available, bound to a claim, or "
                     "released by a claim."),
    column("Claim", "claimRef is part of a bi-directional binding between PersistentVolume "
                    "and PersistentVolumeClaim."),
    column("StorageClass", "StorageClass of the pv"),
    column("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
    column("Reason", "reason is a brief CamelCase string that describes any failure and is "
                     "meant for machine parsing and tidy display in the CLI."),
    column("Age", AGE_DESC),
    column("VolumeMode", "volumeMode defines if a volume is intended to be used with a "
                         "formatted filesystem or to remain in raw block state.", priority=1),
]


def _mapping(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def access_modes_text(modes: Any) -> str:
    """helper.GetAccessModesAsString: RWO,ROX,RWX,RWOP, each once, in that order."""
    given = set(modes) if isinstance(modes, list) else set()
    return ",".join(short for mode, short in _MODE_SHORT.items() if mode in given)


def phase_text(obj: Obj) -> str:
    if _mapping(obj.get("metadata")).get("deletionTimestamp"):
        return "Terminating"
    return str(_mapping(obj.get("status")).get("phase") or "")


def _volume_class(pv: Obj) -> str:
    """helper.GetPersistentVolumeClass: the beta annotation, else spec.storageClassName."""
    annotations = _mapping(_mapping(pv.get("metadata")).get("annotations"))
    if BETA_STORAGE_CLASS_ANNOTATION in annotations:
        return str(annotations[BETA_STORAGE_CLASS_ANNOTATION])
    return str(_mapping(pv.get("spec")).get("storageClassName") or "")


def persistentvolume_row(pv: Obj, now: float) -> Row:
    spec = _mapping(pv.get("spec"))
    claim = _mapping(spec.get("claimRef"))
    claim_text = f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else ""
    return [name(pv), str(_mapping(spec.get("capacity")).get("storage") or "0"),
            access_modes_text(spec.get("accessModes")),
            str(spec.get("persistentVolumeReclaimPolicy") or ""), phase_text(pv), claim_text,
            _volume_class(pv), spec.get("volumeAttributesClassName") or "<unset>",
            str(_mapping(pv.get("status")).get("reason") or ""), age(pv, now),
            spec.get("volumeMode") or "<unset>"]


def access_mode_errors(modes: Any, field: str, required_detail: str = "") -> list[Cause]:
    """Shared by volumes and claims: at least one mode, each known, ReadWriteOncePod alone."""
    if not isinstance(modes, list) or not modes:
        return [required(field, required_detail)]
    causes = [not_supported(field, m, ACCESS_MODES) for m in modes if m not in ACCESS_MODES]
    if "ReadWriteOncePod" in modes and any(m in ACCESS_MODES and m != "ReadWriteOncePod"
                                           for m in modes):
        causes.append(forbidden(field, "may not use ReadWriteOncePod with other access modes"))
    return causes


def positive_quantity_errors(value: Any, field: str) -> list[Cause]:
    """ValidatePositiveQuantityValue (and a quantity at all)."""
    try:
        amount = parse_quantity(value)
    except (QuantityError, TypeError, ValueError):
        return [invalid_value(field, value, "must be a valid quantity")]
    if amount <= 0:
        return [invalid_value(field, value, "must be greater than zero")]
    return []


def class_name_errors(value: Any, field: str) -> list[Cause]:
    """ValidateClassName: a DNS subdomain, when given at all."""
    if value is None or value == "":
        return []
    if not isinstance(value, str):
        return [invalid_value(field, value, "must be a string")]
    return [invalid_value(field, value, msg) for msg in dns1123_subdomain_errors(value)]


def volume_mode_errors(mode: Any) -> list[Cause]:
    """Kube's modes; of them minikube-py mounts only filesystems (no raw block devices), so a
    Block volume or claim is refused rather than left unmountable or pending forever."""
    if mode is None:
        return []
    if mode not in VOLUME_MODES:
        return [not_supported("spec.volumeMode", mode, VOLUME_MODES)]
    if mode == "Block":
        return [forbidden("spec.volumeMode", "raw block volumes are not supported by "
                                             "minikube-py (supported: Filesystem)")]
    return []


def _capacity_errors(capacity: Any) -> list[Cause]:
    if not isinstance(capacity, Mapping) or not capacity:
        return [required("spec.capacity"),
                not_supported("spec.capacity", capacity or {}, ("storage",))]
    causes = []
    if "storage" not in capacity or len(capacity) > 1:
        causes.append(not_supported("spec.capacity", dict(capacity), ("storage",)))
    for key, qty in capacity.items():
        causes += positive_quantity_errors(qty, f"spec.capacity[{key}]")
    return causes


def _path_errors(path: Any, field: str) -> list[Cause]:
    if not path:
        return [required(field)]
    if not isinstance(path, str):
        return [invalid_value(field, path, "must be a string")]
    if ".." in path.split("/"):
        return [invalid_value(field, path, "must not contain '..'")]
    return []


def _host_path_errors(source: Obj) -> list[Cause]:
    causes = _path_errors(source.get("path"), "spec.hostPath.path")
    kind = source.get("type")
    if kind is not None and kind not in HOST_PATH_TYPES:
        causes.append(not_supported("spec.hostPath.type", kind, HOST_PATH_TYPES))
    return causes


def _local_errors(source: Obj) -> list[Cause]:
    return _path_errors(source.get("path"), "spec.local.path")


def _node_selector_errors(selector: Any, field: str) -> list[Cause]:
    terms = _mapping(selector).get("nodeSelectorTerms")
    if not isinstance(terms, list) or not terms:
        return [required(f"{field}.nodeSelectorTerms", "must have at least one node selector "
                                                       "term")]
    causes = []
    for i, term in enumerate(terms):
        for key in ("matchExpressions", "matchFields"):
            for j, req in enumerate(_mapping(term).get(key) or []):
                at = f"{field}.nodeSelectorTerms[{i}].{key}[{j}]"
                if not _mapping(req).get("key"):
                    causes.append(required(f"{at}.key"))
                op = _mapping(req).get("operator")
                if op not in ("DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"):
                    causes.append(not_supported(f"{at}.operator", op, (
                        "DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn")))
    return causes


def _node_affinity_errors(affinity: Any) -> tuple[bool, list[Cause]]:
    """validateVolumeNodeAffinity: whether affinity was given, and what is wrong with it."""
    if affinity is None:
        return False, []
    required_terms = _mapping(affinity).get("required")
    if required_terms is None:
        return True, [required("spec.nodeAffinity.required", "must specify required node "
                                                             "constraints")]
    return True, _node_selector_errors(required_terms, "spec.nodeAffinity.required")


def _source_errors(spec: Obj, has_affinity: bool) -> list[Cause]:
    """Exactly one source, and one minikube-py can mount."""
    given = [s for s in (*SUPPORTED_SOURCES, *UNSUPPORTED_SOURCES) if spec.get(s) is not None]
    if not given:
        return [required("spec", "must specify a volume type")]
    causes = [forbidden(f"spec.{s}", "may not specify more than 1 volume type")
              for s in given[1:]]
    first = given[0]
    if first in UNSUPPORTED_SOURCES:
        causes.append(forbidden(f"spec.{first}", f"volume type {first} is not supported by "
                                "minikube-py (supported: hostPath, local)"))
    elif first == "hostPath":
        causes += _host_path_errors(_mapping(spec.get("hostPath")))
    else:
        causes += _local_errors(_mapping(spec.get("local")))
        if not has_affinity:
            causes.append(required("spec.nodeAffinity", "Local volume requires node affinity"))
    return causes


def persistentvolume_errors(pv: Obj) -> list[Cause]:
    """ValidatePersistentVolumeSpec, refusing the sources minikube-py cannot mount."""
    spec = _mapping(pv.get("spec"))
    causes = access_mode_errors(spec.get("accessModes"), "spec.accessModes")
    causes += _capacity_errors(spec.get("capacity"))
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy and policy not in RECLAIM_POLICIES:
        causes.append(not_supported("spec.persistentVolumeReclaimPolicy", policy,
                                    RECLAIM_POLICIES))
    has_affinity, affinity_causes = _node_affinity_errors(spec.get("nodeAffinity"))
    causes += affinity_causes
    causes += _source_errors(spec, has_affinity)
    host_path = _mapping(spec.get("hostPath")).get("path")
    if isinstance(host_path, str) and host_path and posixpath.normpath(host_path) == "/" \
            and policy == "Recycle":
        causes.append(forbidden("spec.persistentVolumeReclaimPolicy",
                                "may not be 'recycle' for a hostPath mount of '/'"))
    causes += class_name_errors(spec.get("storageClassName"), "spec.storageClassName")
    causes += volume_mode_errors(spec.get("volumeMode"))
    if spec.get("mountOptions"):  # a bind mount of a node's directory takes none
        causes.append(forbidden("spec.mountOptions", "mount options are not supported by "
                                "minikube-py for hostPath and local volumes"))
    if spec.get("volumeAttributesClassName") is not None:
        causes.append(forbidden("spec.volumeAttributesClassName", "volume attributes classes "
                                "are not supported by minikube-py"))
    return causes


def _source(spec: Obj) -> Obj:
    return {k: spec.get(k) for k in (*SUPPORTED_SOURCES, *UNSUPPORTED_SOURCES)
            if spec.get(k) is not None}


def persistentvolume_update_errors(new: Obj, old: Obj) -> list[Cause]:
    """ValidatePersistentVolumeUpdate: the source and volume mode never change; node
    affinity may be set once."""
    causes = persistentvolume_errors(new)
    ns, os_ = _mapping(new.get("spec")), _mapping(old.get("spec"))
    if _source(ns) != _source(os_):
        causes.append(forbidden("spec.persistentvolumesource",
                                "spec.persistentvolumesource is immutable after creation"))
    if ns.get("volumeMode") != os_.get("volumeMode"):
        causes.append(invalid_value("volumeMode", ns.get("volumeMode"), "field is immutable"))
    if os_.get("nodeAffinity") is not None and ns.get("nodeAffinity") != os_["nodeAffinity"]:
        causes.append(invalid_value("nodeAffinity", ns.get("nodeAffinity"),
                                    "field is immutable"))
    return causes


class PersistentVolumeStrategy(Strategy):
    printer = Printer(PERSISTENTVOLUME_COLUMNS, persistentvolume_row)
    schema = "core.PersistentVolume"
    # kube's strategy clears the status; SetDefaults_PersistentVolume makes it Pending (the
    # PV controller moves it to Available).
    fresh_status = {"phase": "Pending"}

    def default(self, obj: Obj) -> None:
        """SetDefaults_PersistentVolume."""
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict):
            if not spec.get("persistentVolumeReclaimPolicy"):
                spec["persistentVolumeReclaimPolicy"] = "Retain"
            spec.setdefault("volumeMode", "Filesystem")
            if isinstance(spec.get("hostPath"), dict):
                spec["hostPath"].setdefault("type", "")
        status = obj.setdefault("status", {})
        if isinstance(status, dict) and not status.get("phase"):
            status["phase"] = "Pending"

    def validate(self, obj: Obj) -> list[Cause]:
        return persistentvolume_errors(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return persistentvolume_update_errors(new, old)


STRATEGY = PersistentVolumeStrategy(PERSISTENTVOLUMES)
