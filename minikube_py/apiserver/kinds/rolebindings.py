"""RoleBindings (rbac.authorization.k8s.io/v1): a Role or ClusterRole granted to subjects in
one namespace; roleRef is immutable."""

from __future__ import annotations

from minikube_py.api.errors import Cause
from minikube_py.api.resources import ROLEBINDINGS
from minikube_py.api.validation import path_segment_errors
from minikube_py.apiserver.kinds.base import Obj, Strategy
from minikube_py.apiserver.kinds.rbacobjects import (
    binding_printer,
    default_binding,
    role_ref_unchanged,
    validate_binding,
)


class RoleBindingStrategy(Strategy):
    printer = binding_printer(
        "RoleRef can reference a Role in the current namespace or a ClusterRole in the global "
        "namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. "
        "This field is immutable.")
    schema = "rbac.RoleBinding"
    name_errors = staticmethod(path_segment_errors)

    def default(self, obj: Obj) -> None:
        default_binding(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_binding(obj, ("Role", "ClusterRole"), namespaced=True)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + role_ref_unchanged(new, old)


STRATEGY = RoleBindingStrategy(ROLEBINDINGS)
