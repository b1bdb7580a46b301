"""DaemonSets (apps)."""

from __future__ import annotations

from minikube_py.api.errors import Cause
from minikube_py.api.resources import DAEMONSETS
from minikube_py.apiserver.kinds.base import Obj, Printer
from minikube_py.apiserver.kinds.podspec import default_template, wide, wide_columns
from minikube_py.apiserver.kinds.workloads import (
    WorkloadStrategy,
    immutable_selector,
    validate_replicated,
)
from minikube_py.apiserver.tables_format import (
    AGE_DESC,
    NAME_DESC,
    Row,
    age,
    column,
    format_labels,
    name,
    template_spec,
)

DAEMONSET_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Desired", "The total number of nodes that should be running the daemon pod.",
           typ="integer"),
    column("Current", "The number of nodes that are running at least 1 daemon pod and are "
                      "supposed to run the daemon pod.", typ="integer"),
    column("Ready", "The number of nodes that should be running the daemon pod and have one or "
                    "more of the daemon pod running and ready.", typ="integer"),
    column("Up-to-date", "The total number of nodes that are running updated daemon pod",
           typ="integer"),
    column("Available", "The number of nodes that should be running the daemon pod and have one "
                        "or more of the daemon pod running and available.", typ="integer"),
    column("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on "
                            "a node."),
    column("Age", AGE_DESC),
    *wide_columns(),
]


def daemonset_row(ds: Obj, now: float) -> Row:
    st = ds.get("status") or {}
    counts = [st.get(k, 0) for k in ("desiredNumberScheduled", "currentNumberScheduled",
                                     "numberReady", "updatedNumberScheduled", "numberAvailable")]
    return [name(ds), *counts, format_labels(template_spec(ds).get("nodeSelector")),
            age(ds, now), *wide(ds)]


def _default_daemonset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    us = spec.setdefault("updateStrategy", {})
    if not us.get("type"):
        us["type"] = "RollingUpdate"
    if us["type"] == "RollingUpdate":
        ru = us.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", 1)
        ru.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    default_template(spec)



class DaemonSetStrategy(WorkloadStrategy):
    printer = Printer(DAEMONSET_COLUMNS, daemonset_row)
    schema = "apps.DaemonSet"
    # Go writes these counts even at 0; the official clients require them.
    fresh_status: Obj | None = {"currentNumberScheduled": 0, "numberMisscheduled": 0,
                                "desiredNumberScheduled": 0, "numberReady": 0}

    def default(self, obj: Obj) -> None:
        _default_daemonset(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_replicated(obj, "daemonset")

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + immutable_selector(new, old)


STRATEGY = DaemonSetStrategy(DAEMONSETS)
