"""ResourceQuotas (core/v1): stored and served with kube's validation; quota admission
(apiserver/quotaadmission.py) charges status.used, and the resource quota controller keeps
it true. Every scope but CrossNamespacePodAffinity applies; that one is refused."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.quantity import QuantityError, format_quantity, parse_quantity
from minikube_py.api.quota import (
    FLAG_SCOPES,
    INTEGER_NAMES,
    POD_COMPUTE_NAMES,
    SCOPE_OPERATORS,
    SCOPES,
    STANDARD_NAMES,
    is_binary,
    is_standard_name,
)
from minikube_py.api.resources import RESOURCEQUOTAS
from minikube_py.api.validation import forbidden, invalid_value, qualified_name_errors, required
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

# Pods' cross-namespace affinity terms are not counted here: refused, not ignored.
UNSUPPORTED_SCOPE = "CrossNamespacePodAffinity"
_EXISTS_ONLY = ("must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, "
                "ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, "
                "ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity")
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


def _scope_fits(scope: str, res: str) -> bool:
    """IsResourceQuotaScopeValidForResource."""
    if scope == "BestEffort":
        return res == "pods"
    if scope in SCOPES:
        return res == "pods" or res in POD_COMPUTE_NAMES
    return True


def _scope_errors(scope: str, hard: list[str], field: str, shown: Any,
                  named_at: str) -> list[Cause]:
    """What validateResourceQuotaScopes and validateScopeSelector ask of each scope: a
    known one, on a quota limiting only what a pod scope can."""
    causes: list[Cause] = []
    if scope not in SCOPES:
        causes.append(invalid_value(named_at, scope if named_at != field else shown,
                                    "unsupported scope"))
    elif scope == UNSUPPORTED_SCOPE:
        causes.append(forbidden(named_at, f"the {UNSUPPORTED_SCOPE} scope is not supported "
                                          "by this cluster"))
    return causes + [invalid_value(field, shown, "unsupported scope applied to resource")
                     for res in sorted(hard) if res in STANDARD_NAMES
                     and not _scope_fits(scope, res)]


def _conflict_errors(scopes: list[str], field: str, shown: Any) -> list[Cause]:
    return [invalid_value(field, shown, "conflicting scopes")
            for pair in (("BestEffort", "NotBestEffort"), ("Terminating", "NotTerminating"))
            if set(pair) <= set(scopes)]


def _selector_term_errors(term: Obj, field: str) -> list[Cause]:
    scope, operator, values = (term.get("scopeName"), term.get("operator"),
                               term.get("values") or [])
    causes: list[Cause] = []
    if scope in (*FLAG_SCOPES, UNSUPPORTED_SCOPE) and operator != "Exists":
        causes.append(invalid_value(f"{field}.operator", operator, _EXISTS_ONLY))
    if operator in ("In", "NotIn") and not values:
        causes.append(required(f"{field}.values", "must be at least one value when "
                                                  "`operator` is 'In' or 'NotIn' for scope "
                                                  "selector"))
    elif operator in ("Exists", "DoesNotExist") and values:
        causes.append(invalid_value(f"{field}.values", values, "must be no value when "
                                    "`operator` is 'Exist' or 'DoesNotExist' for scope "
                                    "selector"))
    elif operator not in SCOPE_OPERATORS:
        causes.append(invalid_value(f"{field}.operator", operator,
                                    "not a valid selector operator"))
    return causes


def scope_errors(spec: Obj) -> list[Cause]:
    hard = [str(k) for k in spec.get("hard") or {}]
    scopes = [str(s) for s in spec.get("scopes") or []]
    causes: list[Cause] = []
    for scope in scopes:
        causes += _scope_errors(scope, hard, "spec.scopes", scopes, "spec.scopes")
    causes += _conflict_errors(scopes, "spec.scopes", scopes)
    selector = spec.get("scopeSelector") or {}
    terms = [t for t in selector.get("matchExpressions") or [] if isinstance(t, dict)]
    field = "spec.scopeSelector.matchExpressions"
    for term in terms:
        causes += _scope_errors(str(term.get("scopeName") or ""), hard, field, selector,
                                f"{field}.scopeName")
        causes += _selector_term_errors(term, field)
    # kube reports a selector's conflict with the quota's `scopes` as the value shown
    return causes + _conflict_errors([str(t.get("scopeName") or "") for t in terms], field,
                                     scopes)


def resourcequota_errors(quota: Obj) -> list[Cause]:
    spec = quota.get("spec") or {}
    causes = resource_list_errors(spec.get("hard"), "spec.hard") + scope_errors(spec)
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
