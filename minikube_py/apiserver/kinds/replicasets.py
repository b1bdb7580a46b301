"""ReplicaSets (apps)."""

from __future__ import annotations

from minikube_py.api.errors import Cause
from minikube_py.api.resources import REPLICASETS
from minikube_py.apiserver.kinds.base import Obj, Printer
from minikube_py.apiserver.kinds.podspec import default_template, wide, wide_columns
from minikube_py.apiserver.kinds.workloads import (
    LABEL_SELECTOR_SCALE,
    WorkloadStrategy,
    immutable_selector,
    status_replicas_field,
    validate_replicated,
)
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

REPLICASET_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Desired", "Number of desired pods.", typ="integer"),
    column("Current", "Number of actual running pods.", typ="integer"),
    column("Ready", "Number of pods ready.", typ="integer"),
    column("Age", AGE_DESC),
    *wide_columns(),
]


def replicaset_row(rs: Obj, now: float) -> Row:
    spec, st = rs.get("spec") or {}, rs.get("status") or {}
    return [name(rs), spec.get("replicas", 0), st.get("replicas", 0), st.get("readyReplicas", 0),
            age(rs, now), *wide(rs)]


def _default_replicaset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    default_template(spec)



class ReplicaSetStrategy(WorkloadStrategy):
    printer = Printer(REPLICASET_COLUMNS, replicaset_row)
    scale = LABEL_SELECTOR_SCALE
    schema = "apps.ReplicaSet"
    # Go writes status.replicas even at 0; the official clients require it.
    fresh_status: Obj | None = {"replicas": 0}
    field_labels = staticmethod(status_replicas_field)

    def default(self, obj: Obj) -> None:
        _default_replicaset(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_replicated(obj, "deployment")

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + immutable_selector(new, old)


STRATEGY = ReplicaSetStrategy(REPLICASETS)
