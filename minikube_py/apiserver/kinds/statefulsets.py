"""StatefulSets (apps)."""

from __future__ import annotations

from minikube_py.api.errors import Cause
from minikube_py.api.resources import STATEFULSETS
from minikube_py.api.validation import forbidden
from minikube_py.apiserver.kinds.base import Obj, Printer
from minikube_py.apiserver.kinds.podspec import default_template, wide, wide_columns
from minikube_py.apiserver.kinds.workloads import (
    LABEL_SELECTOR_SCALE,
    WorkloadStrategy,
    validate_replicated,
)
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

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
    us = spec.setdefault("updateStrategy", {})
    if not us.get("type"):
        us["type"] = "RollingUpdate"
        us.setdefault("rollingUpdate", {})
    # An explicit RollingUpdate without rollingUpdate gets no partition (as kube).
    if us["type"] == "RollingUpdate" and isinstance(us.get("rollingUpdate"), dict):
        us["rollingUpdate"].setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    policy = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    policy.setdefault("whenDeleted", "Retain")
    policy.setdefault("whenScaled", "Retain")
    default_template(spec)



# What ValidateStatefulSetUpdate lets an update change; the rest of the spec is fixed.
_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
            "persistentVolumeClaimRetentionPolicy", "minReadySeconds")
_UPDATE_FORBIDDEN = ("updates to statefulset spec for fields other than 'replicas', "
                     "'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "
                     "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
                     "forbidden")


def _spec_update_errors(new: Obj, old: Obj) -> list[Cause]:
    def fixed(obj: Obj) -> Obj:
        return {k: v for k, v in (obj.get("spec") or {}).items() if k not in _MUTABLE}

    return [forbidden("spec", _UPDATE_FORBIDDEN)] if fixed(new) != fixed(old) else []


class StatefulSetStrategy(WorkloadStrategy):
    printer = Printer(STATEFULSET_COLUMNS, statefulset_row)
    scale = LABEL_SELECTOR_SCALE
    schema = "apps.StatefulSet"
    # Go writes status.replicas even at 0; the official clients require it.
    fresh_status: Obj | None = {"replicas": 0}

    def default(self, obj: Obj) -> None:
        _default_statefulset(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_replicated(obj, "statefulset")

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + _spec_update_errors(new, old)


STRATEGY = StatefulSetStrategy(STATEFULSETS)
