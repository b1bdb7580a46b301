"""The CSI kinds of storage.k8s.io/v1 (CSIDriver, CSINode, VolumeAttachment,
CSIStorageCapacity): stored and served with kube's basic validation, defaults and printer
columns, so CSI charts apply. No CSI driver runs here; nothing acts on them."""

from __future__ import annotations

from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.quantity import QuantityError, parse_quantity
from minikube_py.api.resources import (
    CSIDRIVERS,
    CSINODES,
    CSISTORAGECAPACITIES,
    VOLUMEATTACHMENTS,
)
from minikube_py.api.validation import (
    dns1123_subdomain_errors,
    duplicate,
    forbidden,
    invalid_value,
    label_selector_errors,
    not_supported,
    qualified_name_errors,
    required,
    too_long,
)
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

LIFECYCLE_MODES = ("Ephemeral", "Persistent")
FS_GROUP_POLICIES = ("File", "None", "ReadWriteOnceWithFSType")
_MAX_NODE_ID = 256
_MAX_DRIVER_NAME = 63
_MAX_ERROR_MESSAGE = 1024


def _mapping(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def driver_name_errors(value: str) -> list[str]:
    """validateCSIDriverName: a DNS subdomain (any case) of at most 63 characters."""
    errs = [] if len(value) <= _MAX_DRIVER_NAME else [
        f"must be no more than {_MAX_DRIVER_NAME} characters"]
    return errs + dns1123_subdomain_errors(value.lower())


def _driver_name_causes(value: Any, field: str) -> list[Cause]:
    if not value:
        return [required(field)]
    if not isinstance(value, str):
        return [invalid_value(field, value, "must be a string")]
    return [invalid_value(field, value, msg) for msg in driver_name_errors(value)]


# --- CSIDriver ------------------------------------------------------------------------------

CSIDRIVER_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("AttachRequired", "Indicates this CSI volume driver requires an attach operation, "
                             "and that Kubernetes should call attach and wait for any attach "
                             "operation to complete before proceeding to mounting.",
           typ="boolean"),
    column("PodInfoOnMount", "Indicates this CSI volume driver requires additional pod "
                             "information (like podName, podUID, etc.) during mount "
                             "operations.", typ="boolean"),
    column("StorageCapacity", "Indicates this CSI volume driver publishes storage capacity "
                              "information.", typ="boolean"),
    column("TokenRequests", "Indicates this CSI volume driver needs pods' service account "
                            "tokens it is mounting volume for to do necessary "
                            "authentication."),
    column("RequiresRepublish", "Indicates this CSI volume driver requires NodePublishVolume "
                                "being periodically called to reflect any possible change "
                                "in the mounted volume.", typ="boolean"),
    column("Modes", "Indicates the volume lifecycle modes this CSI volume driver supports."),
    column("Age", AGE_DESC),
]


def csidriver_row(driver: Obj, now: float) -> Row:
    spec = _mapping(driver.get("spec"))
    audiences = [str(_mapping(t).get("audience", "")) for t in spec.get("tokenRequests") or []]
    modes = [str(m) for m in spec.get("volumeLifecycleModes") or []]
    return [name(driver), bool(spec.get("attachRequired")), bool(spec.get("podInfoOnMount")),
            bool(spec.get("storageCapacity")), ",".join(audiences) if audiences else "<unset>",
            bool(spec.get("requiresRepublish")), ",".join(modes) if modes else "<none>",
            age(driver, now)]


def csidriver_errors(driver: Obj) -> list[Cause]:
    """ValidateCSIDriver: the spec's booleans set (by defaulting), known modes and fsGroup
    policy, token audiences unique."""
    spec = _mapping(driver.get("spec"))
    causes = [required(f"spec.{k}") for k in ("attachRequired", "podInfoOnMount",
                                              "requiresRepublish", "storageCapacity")
              if spec.get(k) is None]
    for i, mode in enumerate(spec.get("volumeLifecycleModes") or []):
        if mode not in LIFECYCLE_MODES:
            causes.append(not_supported(f"spec.volumeLifecycleModes[{i}]", mode,
                                        LIFECYCLE_MODES))
    policy = spec.get("fsGroupPolicy")
    if policy is not None and policy not in FS_GROUP_POLICIES:
        causes.append(not_supported("spec.fsGroupPolicy", policy, FS_GROUP_POLICIES))
    seen: set[str] = set()
    for i, token in enumerate(spec.get("tokenRequests") or []):
        audience = str(_mapping(token).get("audience", ""))
        if audience in seen:
            causes.append(duplicate(f"spec.tokenRequests[{i}].audience", audience))
        seen.add(audience)
        causes += _expiry_errors(_mapping(token).get("expirationSeconds"),
                                 f"spec.tokenRequests[{i}].expirationSeconds")
    return causes


def _expiry_errors(expiry: Any, field: str) -> list[Cause]:
    """A token's lifetime: at least ten minutes, under 2^32 seconds."""
    if expiry is None:
        return []
    if not isinstance(expiry, int) or expiry < 600:
        return [invalid_value(field, expiry, "may not specify a duration less than 10 minutes")]
    if expiry >= 2**32:
        return [invalid_value(field, expiry, "may not specify a duration larger than 2^32 "
                                             "seconds")]
    return []


def csidriver_update_errors(new: Obj, old: Obj) -> list[Cause]:
    """ValidateCSIDriverUpdate: attachRequired and the lifecycle modes are immutable."""
    causes = csidriver_errors(new)
    ns, os_ = _mapping(new.get("spec")), _mapping(old.get("spec"))
    for key in ("attachRequired", "volumeLifecycleModes"):
        if ns.get(key) != os_.get(key):
            causes.append(invalid_value(f"spec.{key}", ns.get(key), "field is immutable"))
    return causes


class CSIDriverStrategy(Strategy):
    printer = Printer(CSIDRIVER_COLUMNS, csidriver_row)
    schema = "storage.CSIDriver"
    name_errors = staticmethod(driver_name_errors)

    def default(self, obj: Obj) -> None:
        """SetDefaults_CSIDriver."""
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        for key, value in (("attachRequired", True), ("podInfoOnMount", False),
                           ("storageCapacity", False), ("requiresRepublish", False),
                           ("seLinuxMount", False), ("fsGroupPolicy", "ReadWriteOnceWithFSType")):
            if spec.get(key) is None:
                spec[key] = value
        if not spec.get("volumeLifecycleModes"):
            spec["volumeLifecycleModes"] = ["Persistent"]

    def validate(self, obj: Obj) -> list[Cause]:
        return csidriver_errors(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return csidriver_update_errors(new, old)


# --- CSINode --------------------------------------------------------------------------------

CSINODE_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Drivers", "Drivers indicates the number of CSI drivers registered on the node",
           typ="integer"),
    column("Age", AGE_DESC),
]


def csinode_row(node: Obj, now: float) -> Row:
    return [name(node), len(_mapping(node.get("spec")).get("drivers") or []), age(node, now)]


def _csinode_driver_errors(driver: Obj, field: str) -> list[Cause]:
    causes = _driver_name_causes(driver.get("name"), f"{field}.name")
    node_id = driver.get("nodeID")
    if not node_id:
        causes.append(required(f"{field}.nodeID"))
    elif len(str(node_id)) > _MAX_NODE_ID:
        causes.append(too_long(f"{field}.nodeID", _MAX_NODE_ID))
    for j, key in enumerate(driver.get("topologyKeys") or []):
        if not key:
            causes.append(required(f"{field}.topologyKeys[{j}]"))
        else:
            causes += [invalid_value(f"{field}.topologyKeys[{j}]", key, msg)
                       for msg in qualified_name_errors(str(key))]
    count = _mapping(driver.get("allocatable")).get("count")
    if count is not None and (not isinstance(count, int) or count < 0):
        causes.append(invalid_value(f"{field}.allocatable.count", count,
                                    "must be greater than or equal to 0"))
    return causes


def csinode_errors(node: Obj) -> list[Cause]:
    """ValidateCSINode: every driver named once, with a node ID and valid topology keys."""
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, driver in enumerate(_mapping(node.get("spec")).get("drivers") or []):
        field = f"spec.drivers[{i}]"
        driver = _mapping(driver)
        causes += _csinode_driver_errors(driver, field)
        driver_name = str(driver.get("name") or "")
        if driver_name in seen:
            causes.append(duplicate(f"{field}.name", driver_name))
        seen.add(driver_name)
    return causes


def csinode_update_errors(new: Obj, old: Obj) -> list[Cause]:
    """ValidateCSINodeUpdate: a driver's nodeID and topologyKeys stay while it is listed."""
    causes = csinode_errors(new)
    before = {d.get("name"): d for d in map(_mapping, _mapping(old.get("spec")).get("drivers")
                                            or [])}
    for i, driver in enumerate(map(_mapping, _mapping(new.get("spec")).get("drivers") or [])):
        prior = before.get(driver.get("name"))
        if prior is None:
            continue
        for key in ("nodeID", "topologyKeys"):
            if driver.get(key) != prior.get(key):
                causes.append(invalid_value(f"spec.drivers[{i}].{key}", driver.get(key),
                                            "field is immutable"))
    return causes


class CSINodeStrategy(Strategy):
    printer = Printer(CSINODE_COLUMNS, csinode_row)
    schema = "storage.CSINode"

    def default(self, obj: Obj) -> None:
        obj.setdefault("spec", {}).setdefault("drivers", [])

    def validate(self, obj: Obj) -> list[Cause]:
        return csinode_errors(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return csinode_update_errors(new, old)


# --- VolumeAttachment -----------------------------------------------------------------------

VOLUMEATTACHMENT_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Attacher", "attacher indicates the name of the volume driver that MUST handle "
                       "this request. This is the name returned by GetPluginName()."),
    column("PV", "Name of the persistent volume to attach."),
    column("Node", "nodeName represents the node that the volume should be attached to."),
    column("Attached", "attached indicates the volume is successfully attached.",
           typ="boolean"),
    column("Age", AGE_DESC),
]


def volumeattachment_row(va: Obj, now: float) -> Row:
    spec = _mapping(va.get("spec"))
    return [name(va), spec.get("attacher", ""),
            _mapping(spec.get("source")).get("persistentVolumeName") or "",
            spec.get("nodeName", ""), bool(_mapping(va.get("status")).get("attached")),
            age(va, now)]


def _volume_error_causes(status: Obj) -> list[Cause]:
    causes = []
    for key in ("attachError", "detachError"):
        message = _mapping(status.get(key)).get("message")
        if isinstance(message, str) and len(message) > _MAX_ERROR_MESSAGE:
            causes.append(too_long(f"status.{key}.message", _MAX_ERROR_MESSAGE))
    return causes


def volumeattachment_errors(va: Obj) -> list[Cause]:
    """ValidateVolumeAttachment: an attacher, a node and exactly one source (a volume's
    name; inline specs exist only for CSI migration, which does not happen here)."""
    spec = _mapping(va.get("spec"))
    causes = _driver_name_causes(spec.get("attacher"), "spec.attacher")
    node = spec.get("nodeName")
    if not node:
        causes.append(required("spec.nodeName"))
    else:
        causes += [invalid_value("spec.nodeName", node, msg)
                   for msg in dns1123_subdomain_errors(str(node))]
    source = _mapping(spec.get("source"))
    pv, inline = source.get("persistentVolumeName"), source.get("inlineVolumeSpec")
    if (pv is None) == (inline is None):
        causes.append(required("spec.source", "must specify exactly one of inlineVolumeSpec "
                                              "and persistentVolumeName"))
    elif inline is not None:
        causes.append(forbidden("spec.source.inlineVolumeSpec", "inline volume specs (CSI "
                                "migration) are not supported by minikube-py"))
    else:
        causes += [invalid_value("spec.source.persistentVolumeName", pv, msg)
                   for msg in dns1123_subdomain_errors(str(pv))]
    return causes + _volume_error_causes(_mapping(va.get("status")))


class VolumeAttachmentStrategy(Strategy):
    printer = Printer(VOLUMEATTACHMENT_COLUMNS, volumeattachment_row)
    schema = "storage.VolumeAttachment"
    # Only the attacher (through status) says a volume is attached.
    fresh_status = {"attached": False}

    def validate(self, obj: Obj) -> list[Cause]:
        return volumeattachment_errors(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        """ValidateVolumeAttachmentUpdate: the spec is immutable."""
        causes = volumeattachment_errors(new)
        if new.get("spec") != old.get("spec"):
            causes.append(invalid_value("spec", new.get("spec"), "field is immutable"))
        return causes


# --- CSIStorageCapacity ---------------------------------------------------------------------

CSISTORAGECAPACITY_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("StorageClassName", "storageClassName represents the name of the StorageClass "
                               "that the reported capacity applies to."),
    column("Capacity", "capacity is the value reported by the CSI driver in its "
                       "GetCapacityResponse for a GetCapacityRequest with topology and "
                       "parameters that match the previous fields."),
    column("Age", AGE_DESC),
]


def csistoragecapacity_row(cap: Obj, now: float) -> Row:
    capacity = cap.get("capacity")
    return [name(cap), cap.get("storageClassName", ""),
            "<unset>" if capacity is None else str(capacity), age(cap, now)]


def _non_negative_errors(value: Any, field: str) -> list[Cause]:
    if value is None:
        return []
    try:
        amount = parse_quantity(value)
    except (QuantityError, TypeError, ValueError):
        return [invalid_value(field, value, "must be a valid quantity")]
    return [] if amount >= 0 else [invalid_value(field, value,
                                                 "must be greater than or equal to 0")]


def csistoragecapacity_errors(cap: Obj) -> list[Cause]:
    """ValidateCSIStorageCapacity: a class name, non-negative sizes."""
    class_name = cap.get("storageClassName")
    causes = [required("storageClassName")] if not class_name else [
        invalid_value("storageClassName", class_name, msg)
        for msg in dns1123_subdomain_errors(str(class_name))]
    topology = cap.get("nodeTopology")
    if isinstance(topology, dict):
        causes += label_selector_errors(topology, "nodeTopology")
    elif topology is not None:
        causes.append(invalid_value("nodeTopology", topology, "must be a label selector"))
    causes += _non_negative_errors(cap.get("capacity"), "capacity")
    causes += _non_negative_errors(cap.get("maximumVolumeSize"), "maximumVolumeSize")
    return causes


class CSIStorageCapacityStrategy(Strategy):
    printer = Printer(CSISTORAGECAPACITY_COLUMNS, csistoragecapacity_row)
    schema = "storage.CSIStorageCapacity"

    def validate(self, obj: Obj) -> list[Cause]:
        return csistoragecapacity_errors(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        """ValidateCSIStorageCapacityUpdate: only the sizes change."""
        causes = csistoragecapacity_errors(new)
        for key in ("nodeTopology", "storageClassName"):
            if new.get(key) != old.get(key):
                causes.append(invalid_value(key, new.get(key), "field is immutable"))
        return causes


CSIDRIVER_STRATEGY = CSIDriverStrategy(CSIDRIVERS)
CSINODE_STRATEGY = CSINodeStrategy(CSINODES)
VOLUMEATTACHMENT_STRATEGY = VolumeAttachmentStrategy(VOLUMEATTACHMENTS)
CSISTORAGECAPACITY_STRATEGY = CSIStorageCapacityStrategy(CSISTORAGECAPACITIES)
