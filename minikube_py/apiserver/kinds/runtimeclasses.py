"""RuntimeClasses (node.k8s.io/v1): stored and served. A pod naming one must name one that
exists, and one whose handler our kubelet has (only runc): admission.RuntimeClass."""

from __future__ import annotations

from minikube_py.api.errors import Cause
from minikube_py.api.resources import RUNTIMECLASSES
from minikube_py.api.validation import dns1123_label_errors, invalid_value
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

# The only runtime handler the kubelet here has.
KUBELET_HANDLER = "runc"

RUNTIMECLASS_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Handler", "handler specifies the underlying runtime and configuration that the "
                      "CRI implementation will use to handle pods of this class."),
    column("Age", AGE_DESC),
]


def runtimeclass_row(rc: Obj, now: float) -> Row:
    return [name(rc), rc.get("handler", ""), age(rc, now)]


class RuntimeClassStrategy(Strategy):
    printer = Printer(RUNTIMECLASS_COLUMNS, runtimeclass_row)
    schema = "node.RuntimeClass"

    def validate(self, obj: Obj) -> list[Cause]:
        """ValidateRuntimeClass: the handler a DNS label (so required)."""
        handler = obj.get("handler")
        if not isinstance(handler, str):
            handler = ""
        return [invalid_value("handler", handler, e) for e in dns1123_label_errors(handler)]

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.validate(new)
        if new.get("handler") != old.get("handler"):
            causes.append(invalid_value("handler", new.get("handler"), "field is immutable"))
        return causes


STRATEGY = RuntimeClassStrategy(RUNTIMECLASSES)
