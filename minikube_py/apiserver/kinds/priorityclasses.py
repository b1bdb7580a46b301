"""PriorityClasses (scheduling.k8s.io/v1): stored and served; a pod's priorityClassName
resolves to its priority at create (admission.Priority). The two system classes exist from
the start (bootstrap); names starting with `system-` are reserved for them."""

from __future__ import annotations

from minikube_py.api.errors import Cause
from minikube_py.api.resources import PRIORITYCLASSES
from minikube_py.api.validation import forbidden, int_field, invalid_value, not_supported, required
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")
SYSTEM_PREFIX = "system-"
# scheduling.HighestUserDefinablePriority; values above it are the system classes'.
HIGHEST_USER_PRIORITY = 1000000000
SYSTEM_CLASSES = {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}

PRIORITYCLASS_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Value", "value represents the integer value of this priority class. This is the "
                    "actual priority that pods receive when they have the name of this class "
                    "in their pod spec.", typ="integer"),
    column("Global-Default", "globalDefault specifies whether this PriorityClass should be "
                             "considered as the default priority for pods that do not have "
                             "any priority class.", typ="boolean"),
    column("Age", AGE_DESC),
    column("PreemptionPolicy", "preemptionPolicy is the Policy for preempting pods with lower "
                               "priority. One of Never, PreemptLowerPriority."),
]


def priorityclass_row(pc: Obj, now: float) -> Row:
    return [name(pc), pc.get("value", 0), bool(pc.get("globalDefault")), age(pc, now),
            pc.get("preemptionPolicy") or ""]


_SYSTEM_DESCRIPTIONS = {
    "system-cluster-critical": "Used for system critical pods that must run in the cluster, "
                               "but can be moved to another node if necessary.",
    "system-node-critical": "Used for system critical pods that must not be moved from their "
                            "current node.",
}


def system_classes() -> list[Obj]:
    """The built-in classes, as the API server creates them at start."""
    return [{"metadata": {"name": n}, "value": v, "description": _SYSTEM_DESCRIPTIONS[n]}
            for n, v in SYSTEM_CLASSES.items()]


def _system_name_error(pc: Obj) -> str | None:
    """scheduling.IsKnownSystemPriorityClass: the name, value and globalDefault of a
    built-in."""
    meta_name = name(pc)
    if meta_name not in SYSTEM_CLASSES:
        return f"{meta_name} is not a known system priority class"
    if pc.get("value") != SYSTEM_CLASSES[meta_name]:
        return f"value of {meta_name} PriorityClass must be {SYSTEM_CLASSES[meta_name]}"
    if pc.get("globalDefault"):
        return f"globalDefault of {meta_name} PriorityClass must be false"
    return None


def priorityclass_errors(pc: Obj) -> list[Cause]:
    """ValidatePriorityClass: `system-` names reserved for the built-ins, user values at
    most HighestUserDefinablePriority, a supported preemption policy."""
    causes: list[Cause] = []
    value = pc.get("value", 0)
    if not int_field(value) or not -2**31 <= value < 2**31:
        causes.append(invalid_value("value", value, "must be a 32-bit integer"))
    elif name(pc).startswith(SYSTEM_PREFIX):
        why = _system_name_error(pc)
        if why:
            causes.append(forbidden("metadata.name", "priority class names with "
                                    f"'{SYSTEM_PREFIX}' prefix are reserved for system use "
                                    f"only. error: {why}"))
    elif value > HIGHEST_USER_PRIORITY:
        causes.append(forbidden("value", "maximum allowed value of a user defined priority "
                                f"is {HIGHEST_USER_PRIORITY}"))
    policy = pc.get("preemptionPolicy")
    if policy == "":
        causes.append(required("preemptionPolicy"))
    elif policy not in PREEMPTION_POLICIES:
        causes.append(not_supported("preemptionPolicy", policy, PREEMPTION_POLICIES))
    return causes


class PriorityClassStrategy(Strategy):
    printer = Printer(PRIORITYCLASS_COLUMNS, priorityclass_row)
    schema = "scheduling.PriorityClass"

    def default(self, obj: Obj) -> None:
        obj.setdefault("preemptionPolicy", "PreemptLowerPriority")
        obj.setdefault("value", 0)

    def validate(self, obj: Obj) -> list[Cause]:
        return priorityclass_errors(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        """ValidatePriorityClassUpdate: value and preemptionPolicy never change."""
        causes = self.validate(new)
        if new.get("value") != old.get("value"):
            causes.append(forbidden("value", "may not be changed in an update."))
        if new.get("preemptionPolicy") != old.get("preemptionPolicy"):
            causes.append(invalid_value("preemptionPolicy", new.get("preemptionPolicy"),
                                        "field is immutable"))
        return causes


STRATEGY = PriorityClassStrategy(PRIORITYCLASSES)
