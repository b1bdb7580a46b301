"""StatefulSets (apps)."""

from __future__ import annotations

from minikube_py.api.errors import Cause
from minikube_py.api.resources import STATEFULSETS
from minikube_py.apiserver.kinds.base import Obj, Printer
from minikube_py.apiserver.kinds.podspec import (
    default_template,
    wide,
    wide_columns,
)
from minikube_py.apiserver.kinds.workloads import (
    LABEL_SELECTOR_SCALE,
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
    name,
)

STATEFULSET_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Ready", "Number of the pod with ready state"),
    column("Age", AGE_DESC),
    *wide_columns(selector=False),
]


def statefulset_row(sts: Obj, now: float) -> Row:
    spec, st = sts.get("spec") or {}, sts.get("status") or {}
    return [name(sts), f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 0)}", age(sts, now),
            *wide(sts, selector=False)]


def _default_statefulset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    us = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if us.get("type") == "RollingUpdate":
        us.setdefault("rollingUpdate", {"partition": 0})
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy",
                    {"whenDeleted": "Retain", "whenScaled": "Retain"})
    default_template(spec)



class StatefulSetStrategy(WorkloadStrategy):
    printer = Printer(STATEFULSET_COLUMNS, statefulset_row)
    scale = LABEL_SELECTOR_SCALE
    schema = "apps.StatefulSet"
    # Go writes status.replicas even at 0; the official clients require it.
    fresh_status: Obj | None = {"replicas": 0}

    def default(self, obj: Obj) -> None:
        _default_statefulset(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_replicated(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + immutable_selector(new, old)


STRATEGY = StatefulSetStrategy(STATEFULSETS)
