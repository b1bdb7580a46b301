"""LimitRanges (core/v1): stored and served with kube's defaults and validation; the
LimitRanger admission plugin (apiserver/limitranger.py) applies them to pods and claims."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.quantity import format_quantity, parse_quantity
from minikube_py.api.quota import is_binary
from minikube_py.api.resources import LIMITRANGES
from minikube_py.api.validation import (
    duplicate,
    forbidden,
    invalid_value,
    not_supported,
    qualified_name_errors,
    required,
)
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.kinds.resourcequotas import quantity_errors
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, column

LIMIT_TYPES = ("Pod", "Container", "PersistentVolumeClaim")
_SECTIONS = ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")
# helper.IsStandardContainerResourceName
_CONTAINER_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})

LIMITRANGE_PRINTER = Printer(
    [column("Name", NAME_DESC, fmt="name"), column("Created At", AGE_DESC, typ="date")],
    lambda obj, now: [(obj.get("metadata") or {}).get("name", ""),
                      (obj.get("metadata") or {}).get("creationTimestamp") or ""])


def default_limit_item(item: Obj) -> None:
    """SetDefaults_LimitRangeItem, for Container items: the default limit is the max, the
    default request the default limit, else the min."""
    if item.get("type") != "Container":
        return
    default = item.setdefault("default", {})
    request = item.setdefault("defaultRequest", {})
    if not isinstance(default, dict) or not isinstance(request, dict):
        return
    for source, target in ((item.get("max"), default), (default, request),
                           (item.get("min"), request)):
        for k, v in (source or {}).items() if isinstance(source, Mapping) else ():
            target.setdefault(k, v)
    for key in ("default", "defaultRequest"):
        if not item[key]:
            del item[key]


def q(value: Fraction, res: str) -> str:
    return format_quantity(value, is_binary(res))


def _resource_name_errors(limit_type: Any, res: str, field: str) -> list[Cause]:
    """validateLimitRangeResourceName: containers' and pods' names are container
    resources (or qualified); other types any qualified name."""
    causes = [invalid_value(field, res, msg) for msg in qualified_name_errors(res)]
    if causes or "/" in res or limit_type not in ("Pod", "Container"):
        return causes
    if res not in _CONTAINER_RESOURCES and not res.startswith("hugepages-"):
        causes.append(invalid_value(field, res, "must be a standard resource for containers"))
    return causes


def _sections(item: Obj, path: str) -> tuple[dict[str, dict[str, Fraction]], list[Cause]]:
    values: dict[str, dict[str, Fraction]] = {s: {} for s in _SECTIONS}
    causes: list[Cause] = []
    for section in _SECTIONS:
        given = item.get(section)
        if not isinstance(given, Mapping):
            continue
        for res in sorted(given):
            field = f"{path}.{section}[{res}]"
            causes += _resource_name_errors(item.get("type"), str(res), field)
            errs = quantity_errors(str(res), given[res], field)
            causes += errs
            if not errs:
                values[section][str(res)] = parse_quantity(given[res])
    return values, causes


# (smaller, larger, the field reported, the value shown, the message): kube's checks, in order.
_ORDER_RULES = (
    ("min", "max", "min", "min", "min value {a} is greater than max value {b}"),
    ("min", "defaultRequest", "defaultRequest", "defaultRequest",
     "min value {a} is greater than default request value {b}"),
    ("defaultRequest", "max", "defaultRequest", "defaultRequest",
     "default request value {a} is greater than max value {b}"),
    ("defaultRequest", "default", "defaultRequest", "defaultRequest",
     "default request value {a} is greater than default limit value {b}"),
    ("min", "default", "default", "min", "min value {a} is greater than default value {b}"),
    ("default", "max", "default", "max", "default value {a} is greater than max value {b}"),
)


def _order_errors(values: dict[str, dict[str, Fraction]], path: str) -> list[Cause]:
    """min <= default request <= default <= max, and a ratio of at least 1 that max/min
    allows."""
    causes: list[Cause] = []
    for k in sorted(set().union(*values.values())):
        for smaller, larger, field, shown, message in _ORDER_RULES:
            a, b = values[smaller].get(k), values[larger].get(k)
            if a is not None and b is not None and a > b:
                causes.append(invalid_value(f"{path}.{field}[{k}]", q(values[shown][k], k),
                                            message.format(a=q(a, k), b=q(b, k))))
        ratio, lo, hi = (values["maxLimitRequestRatio"].get(k), values["min"].get(k),
                         values["max"].get(k))
        if ratio is not None and ratio < 1:
            causes.append(invalid_value(f"{path}.maxLimitRequestRatio[{k}]", q(ratio, k),
                                        f"ratio {q(ratio, k)} is less than 1"))
        if ratio is not None and lo and hi is not None and ratio > hi / lo:
            causes.append(invalid_value(f"{path}.maxLimitRequestRatio[{k}]", q(ratio, k),
                                        f"ratio {q(ratio, k)} is greater than max/min = "
                                        f"{float(hi / lo):f}"))
    return causes


def limit_item_errors(item: Any, path: str) -> list[Cause]:
    if not isinstance(item, Mapping):
        return [invalid_value(path, item, "must be an object")]
    causes: list[Cause] = []
    limit_type = item.get("type")
    if limit_type not in LIMIT_TYPES:
        causes.append(not_supported(f"{path}.type", limit_type, LIMIT_TYPES) if limit_type
                      else required(f"{path}.type"))
    values, errs = _sections(dict(item), path)
    causes += errs
    if limit_type == "Pod":
        for section in ("default", "defaultRequest"):
            if item.get(section):
                causes.append(forbidden(f"{path}.{section}",
                                        "may not be specified when `type` is 'Pod'"))
    if limit_type == "PersistentVolumeClaim" and "storage" not in values["min"] and \
            "storage" not in values["max"]:
        causes.append(required(f"{path}.limits", "either minimum or maximum storage value is "
                                                 "required, but neither was provided"))
    return causes + _order_errors(values, path)


def limitrange_errors(lr: Obj) -> list[Cause]:
    limits = (lr.get("spec") or {}).get("limits") or []
    if not isinstance(limits, list):
        return [invalid_value("spec.limits", limits, "must be a list")]
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, item in enumerate(limits):
        path = f"spec.limits[{i}]"
        limit_type = item.get("type") if isinstance(item, Mapping) else None
        if isinstance(limit_type, str) and limit_type in seen:
            causes.append(duplicate(f"{path}.type", limit_type))
        elif isinstance(limit_type, str):
            seen.add(limit_type)
        causes += limit_item_errors(item, path)
    return causes


class LimitRangeStrategy(Strategy):
    printer = LIMITRANGE_PRINTER
    schema = "core.LimitRange"

    def default(self, obj: Obj) -> None:
        for item in (obj.get("spec") or {}).get("limits") or []:
            if isinstance(item, dict):
                default_limit_item(item)

    def validate(self, obj: Obj) -> list[Cause]:
        return limitrange_errors(obj)


STRATEGY = LimitRangeStrategy(LIMITRANGES)
