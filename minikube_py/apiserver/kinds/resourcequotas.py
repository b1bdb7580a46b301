"""ResourceQuotas (core/v1): stored and served with kube's validation; quota admission
(apiserver/quotaadmission.py) charges status.used, and the resource quota controller keeps
it true. Scopes and scope selectors are refused: nothing here would apply them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.quantity import QuantityError, format_quantity, parse_quantity
from minikube_py.api.quota import INTEGER_NAMES, STANDARD_NAMES, is_binary, is_standard_name
from minikube_py.api.resources import RESOURCEQUOTAS
from minikube_py.api.validation import forbidden, invalid_value, qualified_name_errors
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

NOT_SUPPORTED_SCOPES = "quota scopes are not supported by this cluster: a scoped quota would " \
                       "count every pod, so it is refused rather than applied wrongly"
# helper.IsStandardResourceName beyond the quota names.
_STANDARD_RESOURCES = STANDARD_NAMES | {"storage"}

RESOURCEQUOTA_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Age", AGE_DESC),
    column("Request", "Request represents a minimum amount of cpu/memory that a container may "
                      "consume."),
    column("Limit", "Limits control the maximum amount of cpu/memory that a container may use "
                    "independent of contention on the node."),
]


def _quantity_text(name: str, value: Any) -> str:
    try:
        return format_quantity(parse_quantity(value), is_binary(name))
    except (QuantityError, TypeError, ValueError):
        return str(value)


def resourcequota_row(quota: Obj, now: float) -> Row:
    """printResourceQuota: "used/hard" per name of status.hard, names starting `limits.`
    in LIMIT, the rest in REQUEST."""
    status = quota.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    request: list[str] = []
    limit: list[str] = []
    for res in sorted(hard):
        cell = f"{res}: {_quantity_text(res, used.get(res, '0'))}/{_quantity_text(res, hard[res])}"
        pieces = res.split(".")
        (limit if len(pieces) > 1 and pieces[0] == "limits" else request).append(cell)
    return [name(quota), age(quota, now), ", ".join(request), ", ".join(limit)]


def resource_name_errors(res: str, field: str, *, for_quota: bool) -> list[Cause]:
    """validateResourceName, and for quotas ValidateResourceQuotaResourceName."""
    causes = [invalid_value(field, res, msg) for msg in qualified_name_errors(res)]
    if causes or "/" in res:
        return causes
    if not (res in _STANDARD_RESOURCES or res.startswith("hugepages-")):
        causes.append(invalid_value(field, res, "must be a standard resource type or fully "
                                                "qualified"))
    if for_quota and not is_standard_name(res):
        causes.append(invalid_value(field, res, "must be a standard resource for quota"))
    return causes


def quantity_errors(res: str, value: Any, field: str) -> list[Cause]:
    """ValidateResourceQuantityValue: a quantity, not negative, whole for counted names."""
    try:
        amount = parse_quantity(value)
    except (QuantityError, TypeError, ValueError):
        return [invalid_value(field, value, "must be a valid quantity")]
    if amount < 0:
        return [invalid_value(field, format_quantity(amount), "must be greater than or equal "
                                                              "to 0")]
    if res in INTEGER_NAMES and math.ceil(amount * 1000) % 1000:
        return [invalid_value(field, format_quantity(amount), "must be an integer")]
    return []


def resource_list_errors(values: Any, field: str) -> list[Cause]:
    if not isinstance(values, Mapping):
        return []
    causes: list[Cause] = []
    for res in sorted(values):
        path = f"{field}[{res}]"
        causes += resource_name_errors(str(res), path, for_quota=True)
        causes += quantity_errors(str(res), values[res], path)
    return causes


def resourcequota_errors(quota: Obj) -> list[Cause]:
    spec = quota.get("spec") or {}
    causes = resource_list_errors(spec.get("hard"), "spec.hard")
    if spec.get("scopes"):
        causes.append(forbidden("spec.scopes", NOT_SUPPORTED_SCOPES))
    if (spec.get("scopeSelector") or {}).get("matchExpressions"):
        causes.append(forbidden("spec.scopeSelector", NOT_SUPPORTED_SCOPES))
    status = quota.get("status") or {}
    for part in ("hard", "used"):
        causes += resource_list_errors(status.get(part), f"status.{part}")
    return causes


class ResourceQuotaStrategy(Strategy):
    printer = Printer(RESOURCEQUOTA_COLUMNS, resourcequota_row)
    schema = "core.ResourceQuota"
    fresh_status: Obj | None = {}

    def validate(self, obj: Obj) -> list[Cause]:
        return resourcequota_errors(obj)


STRATEGY = ResourceQuotaStrategy(RESOURCEQUOTAS)
