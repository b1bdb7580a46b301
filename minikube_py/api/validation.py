"""Object validation like kube-apiserver's: field errors with kube's reasons and messages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from minikube_py.api.errors import Cause, invalid
from minikube_py.api.quantity import is_quantity

_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_CONFIG_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an alphanumeric character "
                 "(e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
               "start with an alphabetic character, and end with an alphanumeric character "
               "(e.g. 'my-name',  or 'abc-123', regex used for validation is "
               "'[a-z]([-a-z0-9]*[a-z0-9])?')")
_MAX_ANNOTATIONS_BYTES = 256 * 1024
_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def required(field: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", f"Required value{': ' + detail if detail else ''}", field)


def invalid_value(field: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", f"Invalid value: {_quote(value)}: {detail}", field)


def not_supported(field: str, value: Any, supported: Iterable[str]) -> Cause:
    vals = ", ".join(json.dumps(s) for s in supported)
    return Cause("FieldValueNotSupported",
                 f"Unsupported value: {_quote(value)}: supported values: {vals}", field)


def duplicate(field: str, value: Any) -> Cause:
    return Cause("FieldValueDuplicate", f"Duplicate value: {_quote(value)}", field)


def forbidden(field: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", field)


def too_long(field: str, max_len: int) -> Cause:
    return Cause("FieldValueTooLong", f"Too long: may not be more than {max_len} bytes", field)


# --- names -------------------------------------------------------------------------------


def dns1123_label_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_RE.match(value):
        errs.append(LABEL_MSG)
    return errs


def dns1123_subdomain_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _SUBDOMAIN_RE.match(value):
        errs.append(SUBDOMAIN_MSG)
    return errs


def dns1035_label_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1035_RE.match(value):
        errs.append(DNS1035_MSG)
    return errs


def path_segment_errors(value: str) -> list[str]:
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    for bad in ("/", "%"):
        if bad in value:
            return [f"may not contain '{bad}'"]
    return []


# Per resource: how object names are checked (kube's ValidateNameFunc per registry).
def qualified_name_errors(key: str) -> list[str]:
    errs: list[str] = []
    name = key
    if "/" in key:
        prefix, name = key.split("/", 1)
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + e for e in dns1123_subdomain_errors(prefix))
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if name and not _QUALIFIED_NAME_RE.match(name):
        errs.append("name part must consist of alphanumeric characters, '-', '_' or '.', and "
                    "must start and end with an alphanumeric character (e.g. 'MyName',  or "
                    "'my.name',  or '123-abc', regex used for validation is "
                    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
    return errs


def config_key_errors(key: str) -> list[str]:
    """IsConfigMapKey: the keys of ConfigMap and Secret data."""
    errs = []
    if len(key) > 253:
        errs.append("must be no more than 253 characters")
    if not _CONFIG_KEY_RE.match(key):
        errs.append("a valid config key must consist of alphanumeric characters, '-', '_' or "
                    "'.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
                    "validation is '[-._a-zA-Z0-9]+')")
    if key in (".", ".."):
        errs.append(f"must not be '{key}'")
    elif key.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def label_value_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_VALUE_RE.match(value):
        errs.append("a valid label must be an empty string or consist of alphanumeric characters, "
                    "'-', '_' or '.', and must start and end with an alphanumeric character "
                    "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
    return errs


def validate_labels(labels: Any, field: str) -> list[Cause]:
    if labels is None:
        return []
    if not isinstance(labels, Mapping):
        return [invalid_value(field, labels, "must be a map of string keys to string values")]
    causes = []
    for k, v in labels.items():
        causes += [invalid_value(field, k, e) for e in qualified_name_errors(k)]
        if not isinstance(v, str):
            causes.append(invalid_value(f"{field}[{k}]", v, "must be a string"))
        else:
            causes += [invalid_value(field, v, e) for e in label_value_errors(v)]
    return causes


def validate_annotations(annotations: Any, field: str) -> list[Cause]:
    if annotations is None:
        return []
    if not isinstance(annotations, Mapping):
        return [invalid_value(field, annotations, "must be a map of string keys to string values")]
    causes = []
    total = 0
    for k, v in annotations.items():
        causes += [invalid_value(field, k, e) for e in qualified_name_errors(k.lower())]
        if not isinstance(v, str):
            causes.append(invalid_value(f"{field}[{k}]", v, "must be a string"))
        else:
            total += len(k) + len(v)
    if total > _MAX_ANNOTATIONS_BYTES:
        causes.append(too_long(field, _MAX_ANNOTATIONS_BYTES))
    return causes


def validate_object_meta(name_rule: Callable[[str], list[str]], meta: Mapping[str, Any],
                         namespaced: bool) -> list[Cause]:
    """ObjectMeta's rules; `name_rule` is the kind's (most kinds: a DNS-1123 subdomain)."""
    causes: list[Cause] = []
    name = meta.get("name") or ""
    for f in ("name", "generateName", "namespace"):
        if meta.get(f) is not None and not isinstance(meta[f], str):
            return [invalid_value(f"metadata.{f}", meta[f], "must be a string")]
    if not name:
        if meta.get("generateName"):
            causes += [invalid_value("metadata.generateName", meta["generateName"], e)
                       for e in name_rule(meta["generateName"] + "a")]
        else:
            causes.append(required("metadata.name", "name or generateName is required"))
    else:
        causes += [invalid_value("metadata.name", name, e) for e in name_rule(name)]
    ns = meta.get("namespace") or ""
    if namespaced and ns:
        causes += [invalid_value("metadata.namespace", ns, e) for e in dns1123_label_errors(ns)]
    elif not namespaced and ns:
        causes.append(forbidden("metadata.namespace", "not allowed on this type"))
    causes += validate_labels(meta.get("labels"), "metadata.labels")
    causes += validate_annotations(meta.get("annotations"), "metadata.annotations")
    causes += validate_owner_references(meta.get("ownerReferences"))
    causes += validate_finalizers(meta.get("finalizers"))
    return causes


def validate_finalizers(finalizers: Any) -> list[Cause]:
    if finalizers is None:
        return []
    if not isinstance(finalizers, list):
        return [invalid_value("metadata.finalizers", finalizers, "must be a list of strings")]
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, f in enumerate(finalizers):
        if not isinstance(f, str):
            causes.append(invalid_value(f"metadata.finalizers[{i}]", f, "must be a string"))
            continue
        causes += [invalid_value(f"metadata.finalizers[{i}]", f, e)
                   for e in qualified_name_errors(f)]
        if f in seen:
            causes.append(duplicate(f"metadata.finalizers[{i}]", f))
        seen.add(f)
    return causes


def _api_version_parts(api_version: str) -> tuple[str, str]:
    """(group, version) like schema.ParseGroupVersion; ("", "") when it cannot be parsed."""
    if api_version.count("/") > 1:
        return "", ""
    group, _, version = api_version.rpartition("/")
    return group, version


def _owner_reference_errors(ref: Any, field: str) -> list[Cause]:
    # kube reports these on "metadata.ownerReferences.<field>", without the index.
    if not isinstance(ref, Mapping):
        return [invalid_value(field, ref, "must be an object")]
    causes = []
    for key in ("apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion"):
        want = bool if key in ("controller", "blockOwnerDeletion") else str
        if ref.get(key) is not None and not isinstance(ref[key], want):
            causes.append(invalid_value(f"{field}.{key}", ref[key],
                                        f"must be a {'boolean' if want is bool else 'string'}"))
    if causes:
        return causes
    group, version = _api_version_parts(ref.get("apiVersion") or "")
    if not version:
        causes.append(invalid_value(f"{field}.apiVersion", ref.get("apiVersion") or "",
                                    "version must not be empty"))
    for key in ("kind", "name", "uid"):
        if not ref.get(key):
            causes.append(invalid_value(f"{field}.{key}", ref.get(key) or "",
                                        f"{key} must not be empty"))
    if (group, version, ref.get("kind")) == ("", "v1", "Event"):
        causes.append(invalid_value(field, ref, "/v1, Kind=Event is disallowed from being an "
                                                "owner"))
    return causes


def validate_owner_references(refs: Any) -> list[Cause]:
    """ValidateOwnerReferences: complete references, at most one of them the controller."""
    field = "metadata.ownerReferences"
    if refs is None:
        return []
    if not isinstance(refs, list):
        return [invalid_value(field, refs, "must be a list of owner references")]
    causes: list[Cause] = []
    controller = ""
    for ref in refs:
        errs = _owner_reference_errors(ref, field)
        causes += errs
        if errs or ref.get("controller") is not True:
            continue
        current = f"{ref.get('kind')}/{ref.get('name')}"
        if controller:
            causes.append(invalid_value(field, refs, "Only one reference can have Controller "
                                        'set to true. Found "true" in references for '
                                        f"{controller} and {current}"))
        else:
            controller = current
    return causes


def label_selector_errors(sel: Mapping[str, Any], at: str) -> list[Cause]:
    """metav1 ValidateLabelSelector: keys, operators, and values as the operator wants."""
    causes: list[Cause] = []
    for key in sel.get("matchLabels") or {}:
        causes += [invalid_value(f"{at}.matchLabels", key, e) for e in qualified_name_errors(key)]
    for j, expr in enumerate(sel.get("matchExpressions") or []):
        if not isinstance(expr, Mapping):
            continue
        where = f"{at}.matchExpressions[{j}]"
        op, values = expr.get("operator"), expr.get("values") or []
        if op not in _SELECTOR_OPERATORS:
            causes.append(invalid_value(f"{where}.operator", op, "not a valid selector operator"))
        elif op in ("In", "NotIn") and not values:
            causes.append(required(f"{where}.values", "must be specified when `operator` is "
                                                      "'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist") and values:
            causes.append(forbidden(f"{where}.values", "may not be specified when `operator` "
                                                       "is 'Exists' or 'DoesNotExist'"))
        key = str(expr.get("key") or "")
        causes += [invalid_value(f"{where}.key", key, e) for e in qualified_name_errors(key)]
    return causes


def validate_string_map(value: Any, field: str) -> list[Cause]:
    """A map of string keys to string values (the shape, not the keys' syntax)."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [invalid_value(field, value, "must be a map of string keys to string values")]
    return [invalid_value(f"{field}[{k}]", v, "must be a string")
            for k, v in value.items() if not isinstance(v, str)]


def raise_if(kind: str, name: str, causes: list[Cause], group: str = "") -> None:
    if causes:
        raise invalid(kind, name, causes, group)


def check_quantity(value: Any, field: str) -> list[Cause]:
    if not is_quantity(value):
        return [invalid_value(field, value, "must be a valid quantity")]
    return []


def validate_resources(res: Any, field: str) -> list[Cause]:
    if not isinstance(res, Mapping):
        return []
    causes = []
    for section in ("limits", "requests"):
        for rname, q in (res.get(section) or {}).items():
            causes += check_quantity(q, f"{field}.{section}[{rname}]")
    return causes


def int_field(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_update_meta(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Cause]:
    causes = []
    om, nm = old.get("metadata") or {}, new.get("metadata") or {}
    for f in ("name", "namespace"):
        if (nm.get(f) or "") != (om.get(f) or ""):
            causes.append(invalid_value(f"metadata.{f}", nm.get(f), "field is immutable"))
    if nm.get("uid") and nm.get("uid") != om.get("uid"):
        causes.append(invalid_value("metadata.uid", nm.get("uid"), "field is immutable"))
    return causes
