"""ReplicationControllers (core/v1): a plain label map for a selector, defaulted from the
template's labels."""

from __future__ import annotations

from minikube_py.api.errors import Cause
from minikube_py.api.resources import REPLICATIONCONTROLLERS
from minikube_py.apiserver.kinds.base import Obj, Printer, ScaleSpec
from minikube_py.apiserver.kinds.podspec import (
    default_template,
    validate_replicas,
    validate_template,
)
from minikube_py.apiserver.kinds.replicasets import REPLICASET_COLUMNS
from minikube_py.apiserver.kinds.workloads import WorkloadStrategy, status_replicas_field
from minikube_py.apiserver.tables_format import (
    Row,
    age,
    container_cells,
    format_labels,
    name,
    template_spec,
)

# A ReplicationController's selector is a plain label map, not a LabelSelector.
REPLICATIONCONTROLLER_COLUMNS = REPLICASET_COLUMNS


def replicationcontroller_row(rc: Obj, now: float) -> Row:
    spec, st = rc.get("spec") or {}, rc.get("status") or {}
    names, images = container_cells(template_spec(rc))
    return [name(rc), spec.get("replicas", 0), st.get("replicas", 0), st.get("readyReplicas", 0),
            age(rc, now), names, images, format_labels(spec.get("selector"))]


def _default_rc(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    if labels and not spec.get("selector"):
        spec["selector"] = dict(labels)
    if labels and not (obj.get("metadata") or {}).get("labels"):
        obj.setdefault("metadata", {})["labels"] = dict(labels)
    default_template(spec)



def _map_selector_text(obj: Obj) -> str:
    """SelectorFromSet(selector).String(): sorted by key."""
    selector = (obj.get("spec") or {}).get("selector") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


class ReplicationControllerStrategy(WorkloadStrategy):
    printer = Printer(REPLICATIONCONTROLLER_COLUMNS, replicationcontroller_row)
    scale = ScaleSpec(_map_selector_text)
    schema = "core.ReplicationController"
    # Go writes status.replicas even at 0; the official clients require it.
    fresh_status: Obj | None = {"replicas": 0}
    field_labels = staticmethod(status_replicas_field)

    def default(self, obj: Obj) -> None:
        _default_rc(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        spec = obj.get("spec") or {}
        return validate_replicas(spec, "spec") + validate_template(spec, "spec")


STRATEGY = ReplicationControllerStrategy(REPLICATIONCONTROLLERS)
