"""ControllerRevisions (apps): the template history of StatefulSets and DaemonSets."""

from __future__ import annotations

from minikube_py.api.errors import Cause
from minikube_py.api.resources import CONTROLLERREVISIONS
from minikube_py.api.validation import required
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

CONTROLLERREVISION_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Controller", "Controller of the object"),
    column("Revision", "Revision indicates the revision of the state represented by Data."),
    column("Age", AGE_DESC),
]


def controller_name(obj: Obj) -> str:
    """kind.group/name of the controlling owner (formatResourceName), "<none>" without one."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            api_version = str(ref.get("apiVersion", ""))
            group = api_version.rpartition("/")[0]
            kind = str(ref.get("kind", ""))
            group_kind = f"{kind}.{group}" if group else kind
            return f"{group_kind.lower()}/{ref.get('name', '')}" if group_kind else \
                str(ref.get("name", ""))
    return "<none>"


def controllerrevision_row(cr: Obj, now: float) -> Row:
    return [name(cr), controller_name(cr), cr.get("revision", 0), age(cr, now)]



class ControllerRevisionStrategy(Strategy):
    printer = Printer(CONTROLLERREVISION_COLUMNS, controllerrevision_row)
    schema = "apps.ControllerRevision"

    def validate(self, obj: Obj) -> list[Cause]:
        # kube's ValidateControllerRevision: a revision without data records nothing (and the
        # official client's newer models refuse to read one).
        return [] if obj.get("data") is not None else [required("data", "data is mandatory")]


STRATEGY = ControllerRevisionStrategy(CONTROLLERREVISIONS)
