"""CustomResourceDefinitions (apiextensions.k8s.io/v1): stored with kube's validation
(ValidateCustomResourceDefinition); `customresources/` serves what they define.

A CRD being deleted keeps its finalizer (customresourcecleanup) until every instance is gone,
as kube's CRD REST Delete marks it and the finalizer controller ends it."""

from __future__ import annotations

import copy
from typing import Any

from minikube_py.api import crschema
from minikube_py.api.errors import Cause
from minikube_py.api.resources import CUSTOMRESOURCEDEFINITIONS
from minikube_py.api.validation import (
    dns1035_label_errors,
    dns1123_subdomain_errors,
    forbidden,
    invalid_value,
    not_supported,
    required,
)
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy, keep_old_status, spec_changed
from minikube_py.apiserver.tables_format import NAME_DESC, Row, column, name

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
SCOPES = ("Cluster", "Namespaced")
COLUMN_TYPES = ("integer", "number", "string", "boolean", "date")
COLUMN_FORMATS = ("int32", "int64", "float", "double", "byte", "date", "date-time", "password")
_CREATED_DESC = "CreationTimestamp is a timestamp representing the server time when this " \
                "object was created."


def crd_row(crd: Obj, now: float) -> Row:
    return [name(crd), (crd.get("metadata") or {}).get("creationTimestamp") or ""]


PRINTER = Printer([column("Name", NAME_DESC, fmt="name"),
                   column("Created At", _CREATED_DESC, typ="date")], crd_row)


def storage_version(crd: Obj) -> str:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if isinstance(v, dict) and v.get("storage"):
            return str(v.get("name") or "")
    return ""


def set_condition(crd: Obj, type_: str, status: str, reason: str, message: str,
                  now: str) -> None:
    """SetCRDCondition: the transition time changes only with the status."""
    conditions = crd.setdefault("status", {}).setdefault("conditions", [])
    for c in conditions:
        if c.get("type") == type_:
            if c.get("status") != status:
                c["lastTransitionTime"] = now
            c.update(status=status, reason=reason, message=message)
            return
    conditions.append({"type": type_, "status": status, "lastTransitionTime": now,
                       "reason": reason, "message": message})


def condition_status(crd: Obj, type_: str) -> str:
    for c in (crd.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return str(c.get("status") or "")
    return ""


class CustomResourceDefinitionStrategy(Strategy):
    schema = "apiextensions.CustomResourceDefinition"
    generation = True
    printer = PRINTER

    def default(self, obj: Obj) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        names = spec.get("names")
        if isinstance(names, dict) and names.get("kind"):
            names.setdefault("singular", str(names["kind"]).lower())
            names.setdefault("listKind", f"{names['kind']}List")
        conversion = spec.setdefault("conversion", {})
        if isinstance(conversion, dict):
            conversion.setdefault("strategy", "None")
        for v in spec.get("versions") or []:
            if isinstance(v, dict) and isinstance(v.get("additionalPrinterColumns"), list):
                for col in v["additionalPrinterColumns"]:
                    if isinstance(col, dict):
                        col.setdefault("priority", 0)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["metadata"]["generation"] = 1
        obj["status"] = {"conditions": [], "acceptedNames": {"plural": "", "kind": ""},
                         "storedVersions": [v for v in [storage_version(obj)] if v]}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        keep_old_status(new, old)
        if spec_changed(old, new):
            new["metadata"]["generation"] = int(old["metadata"].get("generation") or 1) + 1
        stored = storage_version(new)
        status = new.setdefault("status", {})
        versions = status.setdefault("storedVersions", [])
        if stored and stored not in versions:
            versions.append(stored)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_crd(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = validate_crd(new)
        spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        for f in ("group", "scope"):
            if spec.get(f) != old_spec.get(f):
                causes.append(invalid_value(f"spec.{f}", spec.get(f), "field is immutable"))
        return causes + _stored_versions_errors(new)

    def finalizing(self, obj: Obj) -> bool:
        # The first delete marks it (prepare_for_delete); the cleanup finalizer holds it.
        return not obj["metadata"].get("deletionTimestamp")

    def prepare_for_delete(self, obj: Obj) -> None:
        finalizers = obj["metadata"].setdefault("finalizers", [])
        if CLEANUP_FINALIZER not in finalizers:
            finalizers.append(CLEANUP_FINALIZER)
        now = obj["metadata"].get("deletionTimestamp") or ""
        set_condition(obj, "Terminating", "True", "InstanceDeletionPending",
                      "CustomResourceDefinition marked for deletion; instance deletion pending",
                      now)


def _stored_versions_errors(crd: Obj) -> list[Cause]:
    versions = {v.get("name") for v in (crd.get("spec") or {}).get("versions") or []
                if isinstance(v, dict)}
    causes = []
    for i, v in enumerate((crd.get("status") or {}).get("storedVersions") or []):
        if v not in versions:
            causes.append(invalid_value(f"status.storedVersions[{i}]", v,
                                        "must appear in spec.versions"))
    return causes


def validate_crd(crd: Obj) -> list[Cause]:
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    causes: list[Cause] = []
    group = str(spec.get("group") or "")
    plural = str((spec.get("names") or {}).get("plural") or "")
    meta_name = crd["metadata"].get("name") or ""
    if meta_name != f"{plural}.{group}":
        causes.append(invalid_value("metadata.name", meta_name,
                                    'must be spec.names.plural+"."+spec.group'))
    if not group:
        causes.append(required("spec.group"))
    else:
        errs = dns1123_subdomain_errors(group)
        if errs:
            causes.append(invalid_value("spec.group", group, ",".join(errs)))
        if "." not in group:
            causes.append(invalid_value("spec.group", group,
                                        "should be a domain with at least one dot"))
    scope = spec.get("scope")
    if not scope:
        causes.append(required("spec.scope"))
    elif scope not in SCOPES:
        causes.append(not_supported("spec.scope", scope, SCOPES))
    causes += _names_errors(spec.get("names"), "spec.names")
    causes += _versions_errors(spec.get("versions"))
    causes += _conversion_errors(spec.get("conversion"))
    if spec.get("preserveUnknownFields"):
        causes.append(invalid_value("spec.preserveUnknownFields", True,
                                    "must be false in order to use defaults in the schema"))
    return causes


def _label_cause(field: str, value: str, *, mixed_case: bool = False) -> list[Cause]:
    errs = dns1035_label_errors(value.lower() if mixed_case else value)
    if not errs:
        return []
    detail = ",".join(errs)
    if mixed_case:
        detail = "may have mixed case, but should otherwise match: " + detail
    return [invalid_value(field, value, detail)]


def _names_errors(names: Any, field: str) -> list[Cause]:
    if not isinstance(names, dict):
        return [required(f"{field}.plural"), required(f"{field}.kind")]
    causes: list[Cause] = []
    for key in ("plural", "singular"):
        value = str(names.get(key) or "")
        if key == "plural" and not value:
            causes.append(required(f"{field}.plural"))
        elif value:
            causes += _label_cause(f"{field}.{key}", value)
    for key in ("kind", "listKind"):
        value = str(names.get(key) or "")
        if not value:
            causes.append(required(f"{field}.{key}"))
        else:
            causes += _label_cause(f"{field}.{key}", value, mixed_case=True)
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        causes.append(invalid_value(f"{field}.listKind", names["listKind"],
                                    "kind and listKind may not be the same"))
    for key in ("shortNames", "categories"):
        for i, value in enumerate(names.get(key) or []):
            causes += _label_cause(f"{field}.{key}[{i}]", str(value))
    return causes


def _versions_errors(versions: Any) -> list[Cause]:
    field = "spec.versions"
    if not versions:
        return [required(field, "must have at least one version")]
    causes: list[Cause] = []
    seen: set[str] = set()
    storage = 0
    names = [str(v.get("name") or "") for v in versions if isinstance(v, dict)]
    for i, v in enumerate(versions):
        if not isinstance(v, dict):
            continue
        vfield = f"{field}[{i}]"
        vname = str(v.get("name") or "")
        if not vname:
            causes.append(required(f"{vfield}.name"))
        else:
            causes += _label_cause(f"{vfield}.name", vname)
        storage += bool(v.get("storage"))
        if v.get("deprecationWarning") and not v.get("deprecated"):
            causes.append(invalid_value(f"{vfield}.deprecationWarning",
                                        v["deprecationWarning"],
                                        "can only be set for deprecated versions"))
        if v.get("selectableFields"):
            causes.append(forbidden(f"{vfield}.selectableFields",
                                    "selectable fields are not supported by this server"))
        causes += _version_schema_errors(v, vfield)
        causes += _subresources_errors(v.get("subresources"), f"{vfield}.subresources")
        for j, col in enumerate(v.get("additionalPrinterColumns") or []):
            causes += _column_errors(col, f"{vfield}.additionalPrinterColumns[{j}]")
        seen.add(vname)
    if len(seen) != len(names):
        causes.append(invalid_value(field, names, "must contain unique version names"))
    if storage != 1:
        causes.append(invalid_value(field, names,
                                    "must have exactly one version marked as storage version"))
    return causes


def _version_schema_errors(version: Obj, vfield: str) -> list[Cause]:
    schema = (version.get("schema") or {}).get("openAPIV3Schema")
    field = f"{vfield}.schema.openAPIV3Schema"
    if schema is None:
        return [required(field, "schemas are required")]
    return crschema.structural_errors(schema, field)


def _subresources_errors(subs: Any, field: str) -> list[Cause]:
    scale = (subs or {}).get("scale") if isinstance(subs, dict) else None
    if not isinstance(scale, dict):
        return []
    causes: list[Cause] = []
    rules = (("specReplicasPath", (".spec.",), "should be a json path under .spec"),
             ("statusReplicasPath", (".status.",), "should be a json path under .status"),
             ("labelSelectorPath", (".spec.", ".status."),
              "should be a json path under either .spec or .status"))
    for key, prefixes, detail in rules:
        path = scale.get(key)
        if not path:
            if key != "labelSelectorPath":
                causes.append(required(f"{field}.scale.{key}"))
            continue
        if not str(path).startswith(prefixes) or "[" in str(path):
            causes.append(invalid_value(f"{field}.scale.{key}", path, detail))
    return causes


def _column_errors(col: Any, field: str) -> list[Cause]:
    if not isinstance(col, dict):
        return [required(field)]
    causes: list[Cause] = []
    if not col.get("name"):
        causes.append(required(f"{field}.name"))
    if not col.get("type"):
        causes.append(required(f"{field}.type"))
    elif col["type"] not in COLUMN_TYPES:
        causes.append(not_supported(f"{field}.type", col["type"], COLUMN_TYPES))
    if col.get("format") and col["format"] not in COLUMN_FORMATS:
        causes.append(not_supported(f"{field}.format", col["format"], COLUMN_FORMATS))
    if int(col.get("priority") or 0) < 0:
        causes.append(invalid_value(f"{field}.priority", col["priority"],
                                    "must be greater than or equal to zero"))
    path = col.get("jsonPath")
    if not path:
        causes.append(required(f"{field}.jsonPath"))
    elif not str(path).startswith("."):
        causes.append(invalid_value(f"{field}.jsonPath", path, "must be a simple json path"))
    return causes


def _conversion_errors(conversion: Any) -> list[Cause]:
    if not isinstance(conversion, dict):
        return []
    strategy = conversion.get("strategy")
    field = "spec.conversion.strategy"
    if strategy == "Webhook":
        return [forbidden(field, "conversion webhooks are not supported by this server "
                                 "(no webhooks are called here); use None")]
    if strategy not in ("None", None):
        return [not_supported(field, strategy, ("None", "Webhook"))]
    if conversion.get("webhook"):
        return [forbidden("spec.conversion.webhook", 'should not be set when strategy is not '
                                                     'set to Webhook')]
    return []


def rules_not_enforced(crd: Obj) -> list[str]:
    """The Warnings of a CRD whose schemas have CEL rules: stored, never evaluated here."""
    out = []
    for i, v in enumerate((crd.get("spec") or {}).get("versions") or []):
        if isinstance(v, dict):
            schema = (v.get("schema") or {}).get("openAPIV3Schema")
            out += [f"{path}: validation rules (CEL) are not enforced by this server"
                    for path in crschema.rule_paths(
                        schema, f"spec.versions[{i}].schema.openAPIV3Schema")]
    return out


def accepted(crd: Obj) -> Obj:
    """The names a CRD asks for (what status.acceptedNames becomes once accepted)."""
    return copy.deepcopy((crd.get("spec") or {}).get("names") or {})


STRATEGY = CustomResourceDefinitionStrategy(CUSTOMRESOURCEDEFINITIONS)
