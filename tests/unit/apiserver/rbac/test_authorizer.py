"""The RBAC authorizer over a policy: which bindings apply to whom, in which scope, what it
says when a role is missing, and its cache of decisions."""

from typing import Any

import pytest

from minikube_py.api.resources import CONFIGMAPS, NODES, PODS, Resource
from minikube_py.apiserver.authn import UserInfo
from minikube_py.apiserver.authz import Decision
from minikube_py.apiserver.kinds.registry import KindRegistry
from minikube_py.apiserver.rbac.authorizer import RbacAuthorizer
from minikube_py.apiserver.rbac.policy import RbacPolicy
from minikube_py.apiserver.requestinfo import RequestInfo
from tests.unit.apiserver.kinds import KINDS

RBAC = "rbac.authorization.k8s.io"
JANE = UserInfo("jane", ("devs", "system:authenticated"))
SA = UserInfo("system:serviceaccount:team:robot",
              ("system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"))
Obj = dict[str, Any]


def role(name: str, verbs: list[str], resources: list[str], namespace: str = "") -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"metadata": meta, "rules": [{"verbs": verbs, "apiGroups": [""],
                                         "resources": resources}]}


def binding(name: str, role_kind: str, role_name: str, subjects: list[Obj],
            namespace: str = "") -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"metadata": meta, "roleRef": {"apiGroup": RBAC, "kind": role_kind,
                                          "name": role_name}, "subjects": subjects}


def user(name: str) -> Obj:
    return {"kind": "User", "apiGroup": RBAC, "name": name}


def group(name: str) -> Obj:
    return {"kind": "Group", "apiGroup": RBAC, "name": name}


def info(verb: str, resource: Resource, namespace: str | None = None,
         name: str | None = None, kinds: KindRegistry = KINDS) -> RequestInfo:
    return RequestInfo("", verb, kinds.strategy(resource), namespace, name)


@pytest.fixture
def policy() -> RbacPolicy:
    p = RbacPolicy()
    p.put("clusterroles", role("pod-reader", ["get", "list"], ["pods"]))
    p.put("roles", role("cm-writer", ["create"], ["configmaps"], "team"))
    return p


@pytest.mark.parametrize(("subject", "who", "allowed"), [
    (user("jane"), JANE, True),
    (user("john"), JANE, False),
    (group("devs"), JANE, True),
    (group("ops"), JANE, False),
    ({"kind": "ServiceAccount", "name": "robot", "namespace": "team"}, SA, True),
    ({"kind": "ServiceAccount", "name": "robot", "namespace": "other"}, SA, False),
    (group("system:serviceaccounts:team"), SA, True),
])
def test_a_cluster_role_binding_applies_to_its_subjects(policy: RbacPolicy, subject: Obj,
                                                       who: UserInfo, allowed: bool) -> None:
    policy.put("clusterrolebindings", binding("b", "ClusterRole", "pod-reader", [subject]))
    verdict = RbacAuthorizer(policy).authorize(who, info("list", PODS, "anywhere"))
    assert (verdict.decision is Decision.ALLOW) is allowed


def test_a_service_account_subject_without_namespace_is_the_bindings(
        policy: RbacPolicy) -> None:
    policy.put("rolebindings", binding("b", "ClusterRole", "pod-reader",
                                       [{"kind": "ServiceAccount", "name": "robot"}], "team"))
    authz = RbacAuthorizer(policy)
    assert authz.authorize(SA, info("get", PODS, "team", "p")).decision is Decision.ALLOW


def test_a_role_binding_allows_only_in_its_namespace(policy: RbacPolicy) -> None:
    policy.put("rolebindings", binding("b", "ClusterRole", "pod-reader", [user("jane")], "team"))
    authz = RbacAuthorizer(policy)
    assert authz.authorize(JANE, info("list", PODS, "team")).decision is Decision.ALLOW
    assert authz.authorize(JANE, info("list", PODS, "other")).decision is Decision.NO_OPINION
    assert authz.authorize(JANE, info("list", PODS)).decision is Decision.NO_OPINION


def test_a_role_binding_to_a_role_uses_the_role_of_its_namespace(policy: RbacPolicy) -> None:
    policy.put("rolebindings", binding("b", "Role", "cm-writer", [user("jane")], "team"))
    policy.put("rolebindings", binding("b", "Role", "cm-writer", [user("jane")], "other"))
    authz = RbacAuthorizer(policy)
    assert authz.authorize(JANE, info("create", CONFIGMAPS, "team")).decision is Decision.ALLOW
    verdict = authz.authorize(JANE, info("create", CONFIGMAPS, "other"))
    assert verdict.decision is Decision.NO_OPINION
    assert verdict.reason == f'RBAC: role.{RBAC} "cm-writer" not found'


def test_an_allowed_decision_names_the_binding(policy: RbacPolicy) -> None:
    policy.put("rolebindings", binding("read", "ClusterRole", "pod-reader", [user("jane")],
                                       "team"))
    verdict = RbacAuthorizer(policy).authorize(JANE, info("get", PODS, "team", "p"))
    assert verdict.reason == ('RBAC: allowed by RoleBinding "read/team" of ClusterRole '
                              '"pod-reader" to User "jane"')


def test_rbac_never_denies(policy: RbacPolicy) -> None:
    verdict = RbacAuthorizer(policy).authorize(JANE, info("delete", NODES, None, "n"))
    assert verdict.decision is Decision.NO_OPINION


def test_a_cached_decision_is_dropped_when_the_policy_changes(policy: RbacPolicy) -> None:
    authz = RbacAuthorizer(policy)
    request = info("list", PODS, "team")
    assert authz.authorize(JANE, request).decision is Decision.NO_OPINION
    policy.put("clusterrolebindings", binding("b", "ClusterRole", "pod-reader", [user("jane")]))
    assert authz.authorize(JANE, request).decision is Decision.ALLOW
    policy.remove("clusterrolebindings", "", "b")
    assert authz.authorize(JANE, request).decision is Decision.NO_OPINION


def test_decisions_are_cached_per_user_and_groups(policy: RbacPolicy) -> None:
    policy.put("clusterrolebindings", binding("b", "ClusterRole", "pod-reader", [group("devs")]))
    authz = RbacAuthorizer(policy)
    request = info("list", PODS, "team")
    assert authz.authorize(JANE, request).decision is Decision.ALLOW
    jane_elsewhere = UserInfo("jane", ("system:authenticated",))
    assert authz.authorize(jane_elsewhere, request).decision is Decision.NO_OPINION


def test_rules_for_lists_cluster_and_namespace_rules(policy: RbacPolicy) -> None:
    policy.put("clusterrolebindings", binding("b", "ClusterRole", "pod-reader", [user("jane")]))
    policy.put("rolebindings", binding("b", "Role", "cm-writer", [user("jane")], "team"))
    found = RbacAuthorizer(policy).rules_for(JANE, "team")
    assert [r.resources for r in found.resource_rules] == [("pods",), ("configmaps",)]
    assert RbacAuthorizer(policy).rules_for(JANE, "other").resource_rules[0].resources == \
        ("pods",)
