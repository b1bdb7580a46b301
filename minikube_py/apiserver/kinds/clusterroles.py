"""ClusterRoles (rbac.authorization.k8s.io/v1): cluster-wide rules, non-resource URLs, and an
aggregationRule whose selected roles' rules the aggregation controller writes in."""

from __future__ import annotations

from minikube_py.api.errors import Cause
from minikube_py.api.resources import CLUSTERROLES
from minikube_py.api.validation import path_segment_errors
from minikube_py.apiserver.kinds.base import Obj, Strategy
from minikube_py.apiserver.kinds.rbacobjects import (
    ROLE_PRINTER,
    validate_aggregation_rule,
    validate_rules,
)


class ClusterRoleStrategy(Strategy):
    printer = ROLE_PRINTER
    schema = "rbac.ClusterRole"
    name_errors = staticmethod(path_segment_errors)

    def validate(self, obj: Obj) -> list[Cause]:
        return (validate_rules(obj.get("rules"), namespaced=False)
                + validate_aggregation_rule(obj.get("aggregationRule")))


STRATEGY = ClusterRoleStrategy(CLUSTERROLES)
