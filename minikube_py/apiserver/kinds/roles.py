"""Roles (rbac.authorization.k8s.io/v1): namespaced rules; RBAC's escalation check runs in
admission (apiserver/rbac/escalation.py)."""

from __future__ import annotations

from minikube_py.api.errors import Cause
from minikube_py.api.resources import ROLES
from minikube_py.api.validation import path_segment_errors
from minikube_py.apiserver.kinds.base import Obj, Strategy
from minikube_py.apiserver.kinds.rbacobjects import ROLE_PRINTER, validate_rules


class RoleStrategy(Strategy):
    printer = ROLE_PRINTER
    schema = "rbac.Role"
    name_errors = staticmethod(path_segment_errors)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_rules(obj.get("rules"), namespaced=True)


STRATEGY = RoleStrategy(ROLES)
