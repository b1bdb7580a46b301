"""RBAC on the in-process control plane: the aggregation controller (as
system:kube-controller-manager) fills admin, edit and view from the aggregate-to-* roles, and
those roles then grant what kube's do."""

from __future__ import annotations

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CLUSTERROLES, NAMESPACES, PODS, ROLEBINDINGS, SECRETS
from minikube_py.apiserver.authn import UserInfo
from minikube_py.controllers.clusterroleaggregation import ClusterRoleAggregationController
from tests.integration.harness import ControlPlane, control_plane, eventually

RBAC = "rbac.authorization.k8s.io"
VIEWER = UserInfo("viewer", ("system:authenticated",))


async def holds_rule_for(plane: ControlPlane, role: str, resource: str) -> bool:
    rules = (await plane.api.get(CLUSTERROLES, role)).get("rules") or []
    return any(resource in (r.get("resources") or []) for r in rules)


async def test_admin_edit_and_view_gather_their_aggregated_roles() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        plane.start("aggregation", ClusterRoleAggregationController(plane.ctx).run)
        for role, resource in (("view", "pods"), ("edit", "secrets"), ("edit", "pods"),
                               ("admin", "rolebindings"), ("admin", "secrets")):
            await eventually(lambda r=role, res=resource: holds_rule_for(plane, r, res),
                             plane=plane, what=f"{role} to hold {resource}")


async def test_an_aggregated_role_follows_a_new_labelled_role() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        plane.start("aggregation", ClusterRoleAggregationController(plane.ctx).run)
        await plane.api.create(CLUSTERROLES, {
            "metadata": {"name": "widgets-view",
                         "labels": {f"{RBAC}/aggregate-to-view": "true"}},
            "rules": [{"verbs": ["get"], "apiGroups": ["example.com"],
                       "resources": ["widgets"]}]})
        await eventually(lambda: holds_rule_for(plane, "view", "widgets"), plane=plane,
                         what="view to hold widgets")


async def test_view_bound_in_a_namespace_reads_pods_but_not_secrets() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        plane.start("aggregation", ClusterRoleAggregationController(plane.ctx).run)
        await eventually(lambda: holds_rule_for(plane, "view", "pods"), plane=plane,
                         what="view to hold pods")
        await plane.api.create(NAMESPACES, {"metadata": {"name": "team"}})
        await plane.api.create(ROLEBINDINGS, {
            "metadata": {"name": "viewer", "namespace": "team"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "apiGroup": RBAC, "name": "viewer"}]},
            namespace="team")
        viewer = plane.api.as_user(VIEWER)
        assert (await viewer.list(PODS, namespace="team"))["items"] == []
        with pytest.raises(ApiError) as e:
            await viewer.list(SECRETS, namespace="team")
        assert e.value.code == 403
        with pytest.raises(ApiError) as e:
            await viewer.list(PODS, namespace="default")
        assert e.value.code == 403

