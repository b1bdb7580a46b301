"""PodDisruptionBudgets (policy/v1): stored and served with kube's validation and printer
columns; the disruption controller writes their status and the eviction subresource
(kinds/pods.py) honours it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from minikube_py.api.disruption import UNHEALTHY_POD_EVICTION_POLICIES
from minikube_py.api.errors import Cause
from minikube_py.api.resources import PODDISRUPTIONBUDGETS
from minikube_py.api.validation import (
    int_field,
    invalid_value,
    label_selector_errors,
    label_value_errors,
    not_supported,
)
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

_PERCENT_RE = re.compile(r"^[0-9]+%$")
PERCENT_MSG = ("a valid percent string must be a numeric string followed by an ending '%' "
               "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")
# The counts kube always writes (no omitempty), zero until the controller has looked.
STATUS_COUNTS = ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods")

PDB_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Min Available", "The minimum number of pods that must be available."),
    column("Max Unavailable", "The maximum number of pods that may be unavailable."),
    column("Allowed Disruptions", "Calculated number of pods that may be disrupted at this "
                                  "time.", typ="integer"),
    column("Age", AGE_DESC),
]


def _int_or_string_text(value: Any) -> str:
    return "N/A" if value is None else str(value)


def pdb_row(pdb: Obj, now: float) -> Row:
    spec = pdb.get("spec") or {}
    return [name(pdb), _int_or_string_text(spec.get("minAvailable")),
            _int_or_string_text(spec.get("maxUnavailable")),
            int((pdb.get("status") or {}).get("disruptionsAllowed") or 0), age(pdb, now)]


def int_or_percent_errors(value: Any, field: str) -> list[Cause]:
    """ValidatePositiveIntOrPercent and IsNotMoreThan100Percent."""
    if isinstance(value, str):
        if not _PERCENT_RE.match(value):
            return [invalid_value(field, value, PERCENT_MSG)]
        if int(value[:-1]) > 100:
            return [invalid_value(field, value, "must not be greater than 100%")]
        return []
    if not int_field(value):
        return [invalid_value(field, value, "must be an integer or percentage (e.g '5%')")]
    if value < 0:
        return [invalid_value(field, value, "must be greater than or equal to 0")]
    return []


def _selector_errors(sel: Any, field: str) -> list[Cause]:
    """metav1 ValidateLabelSelector, values included; a null selector is allowed (it
    selects nothing)."""
    if sel is None:
        return []
    if not isinstance(sel, Mapping):
        return [invalid_value(field, sel, "must be a label selector object")]
    causes = label_selector_errors(sel, field)
    labels = sel.get("matchLabels")
    for value in labels.values() if isinstance(labels, Mapping) else ():
        causes += [invalid_value(f"{field}.matchLabels", value, e)
                   for e in label_value_errors(str(value))]
    for j, expr in enumerate(sel.get("matchExpressions") or []):
        for value in (expr.get("values") or []) if isinstance(expr, Mapping) else []:
            causes += [invalid_value(f"{field}.matchExpressions[{j}].values", value, e)
                       for e in label_value_errors(str(value))]
    return causes


def pdb_spec_errors(spec: Any) -> list[Cause]:
    """ValidatePodDisruptionBudgetSpec: minAvailable xor maxUnavailable, each a
    non-negative int or a percentage up to 100%; a valid selector; a known policy for
    unhealthy pods."""
    if not isinstance(spec, Mapping):
        return [invalid_value("spec", spec, "must be an object")]
    causes: list[Cause] = []
    low, high = spec.get("minAvailable"), spec.get("maxUnavailable")
    if low is not None and high is not None:
        causes.append(invalid_value("spec", dict(spec),
                                    "minAvailable and maxUnavailable cannot be both set"))
    if low is not None:
        causes += int_or_percent_errors(low, "spec.minAvailable")
    if high is not None:
        causes += int_or_percent_errors(high, "spec.maxUnavailable")
    causes += _selector_errors(spec.get("selector"), "spec.selector")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in UNHEALTHY_POD_EVICTION_POLICIES:
        causes.append(not_supported("spec.unhealthyPodEvictionPolicy", policy,
                                    UNHEALTHY_POD_EVICTION_POLICIES))
    return causes


def pdb_status_errors(status: Any) -> list[Cause]:
    """ValidatePodDisruptionBudgetStatusUpdate (policy/v1): no negative count."""
    if not isinstance(status, Mapping):
        return []
    return [invalid_value(f"status.{key}", status[key], "must be greater than or equal to 0")
            for key in STATUS_COUNTS
            if int_field(status.get(key)) and status[key] < 0]


class PodDisruptionBudgetStrategy(Strategy):
    generation = True
    fresh_status = {key: 0 for key in STATUS_COUNTS}
    printer = Printer(PDB_COLUMNS, pdb_row)
    schema = "policy.PodDisruptionBudget"

    def default(self, obj: Obj) -> None:
        obj.setdefault("spec", {})

    def validate(self, obj: Obj) -> list[Cause]:
        return pdb_spec_errors(obj.get("spec"))

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + pdb_status_errors(new.get("status"))


STRATEGY = PodDisruptionBudgetStrategy(PODDISRUPTIONBUDGETS)
