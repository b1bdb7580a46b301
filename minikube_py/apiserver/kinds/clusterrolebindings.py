"""ClusterRoleBindings (rbac.authorization.k8s.io/v1): a ClusterRole granted to subjects
everywhere; roleRef is immutable."""

from __future__ import annotations

from minikube_py.api.errors import Cause
from minikube_py.api.resources import CLUSTERROLEBINDINGS
from minikube_py.api.validation import path_segment_errors
from minikube_py.apiserver.kinds.base import Obj, Strategy
from minikube_py.apiserver.kinds.rbacobjects import (
    binding_printer,
    default_binding,
    role_ref_unchanged,
    validate_binding,
)


class ClusterRoleBindingStrategy(Strategy):
    printer = binding_printer(
        "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef "
        "cannot be resolved, the Authorizer must return an error. This field is immutable.")
    schema = "rbac.ClusterRoleBinding"
    name_errors = staticmethod(path_segment_errors)

    def default(self, obj: Obj) -> None:
        default_binding(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_binding(obj, ("ClusterRole",), namespaced=False)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + role_ref_unchanged(new, old)


STRATEGY = ClusterRoleBindingStrategy(CLUSTERROLEBINDINGS)
