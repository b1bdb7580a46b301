"""Deployments (apps): rolling-update defaults, generation, scale, kubectl's columns."""

from __future__ import annotations

from minikube_py.api.errors import Cause
from minikube_py.api.resources import DEPLOYMENTS
from minikube_py.apiserver.kinds.base import Obj, Printer
from minikube_py.apiserver.kinds.podspec import default_template, wide, wide_columns
from minikube_py.apiserver.kinds.workloads import (
    LABEL_SELECTOR_SCALE,
    WorkloadStrategy,
    immutable_selector,
    validate_replicated,
)
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

DEPLOYMENT_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Ready", "Number of the pod with ready state"),
    column("Up-to-date", "Total number of non-terminated pods targeted by this deployment that "
                         "have the desired template spec."),
    column("Available", "Total number of available pods (ready for at least minReadySeconds) "
                        "targeted by this deployment."),
    column("Age", AGE_DESC),
    *wide_columns(),
]


def deployment_row(d: Obj, now: float) -> Row:
    spec, st = d.get("spec") or {}, d.get("status") or {}
    return [name(d), f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0), age(d, now),
            *wide(d)]


def _default_deployment(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", "25%")
        ru.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    default_template(spec)



class DeploymentStrategy(WorkloadStrategy):
    printer = Printer(DEPLOYMENT_COLUMNS, deployment_row)
    scale = LABEL_SELECTOR_SCALE
    schema = "apps.Deployment"

    def default(self, obj: Obj) -> None:
        _default_deployment(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_replicated(obj, "deployment")

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + immutable_selector(new, old)


STRATEGY = DeploymentStrategy(DEPLOYMENTS)
