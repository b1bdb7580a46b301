"""RBAC enforced by the API service (kube's chain: system:masters, Node, RBAC), with the
bootstrap policy: what a ServiceAccount bound to a Role may do, what the review APIs say,
escalation checks, NodeRestriction and the bootstrap policy's reconciliation."""

from typing import Any

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    CLUSTERROLEBINDINGS,
    CLUSTERROLES,
    CSINODES,
    NAMESPACES,
    NODES,
    PERSISTENTVOLUMECLAIMS,
    PERSISTENTVOLUMES,
    PODS,
    ROLEBINDINGS,
    ROLES,
    SECRETS,
)
from minikube_py.apiserver.authn import UserInfo, node_user
from minikube_py.apiserver.kinds.localsubjectaccessreviews import LOCALSUBJECTACCESSREVIEWS
from minikube_py.apiserver.kinds.selfsubjectaccessreviews import SELFSUBJECTACCESSREVIEWS
from minikube_py.apiserver.kinds.selfsubjectreviews import SELFSUBJECTREVIEWS
from minikube_py.apiserver.kinds.selfsubjectrulesreviews import SELFSUBJECTRULESREVIEWS
from minikube_py.apiserver.kinds.subjectaccessreviews import SUBJECTACCESSREVIEWS
from minikube_py.apiserver.service import ApiService
from minikube_py.store.memory import MemoryKV
from tests.conditions import until

RBAC = "rbac.authorization.k8s.io"
SA_NAME = "system:serviceaccount:team:reader"
READER = UserInfo(SA_NAME, ("system:serviceaccounts", "system:serviceaccounts:team",
                            "system:authenticated"))
JANE = UserInfo("jane", ("system:authenticated",))
Obj = dict[str, Any]


async def make_reader(svc: ApiService) -> None:
    """Namespace team, a Role allowing get,list pods there, bound to ServiceAccount reader."""
    for ns in ("team", "other"):
        await svc.create(NAMESPACES, {"metadata": {"name": ns}})
    await svc.create(ROLES, {"metadata": {"name": "pod-reader", "namespace": "team"},
                             "rules": [{"verbs": ["get", "list"], "apiGroups": [""],
                                        "resources": ["pods"]}]}, namespace="team")
    await svc.create(ROLEBINDINGS, {
        "metadata": {"name": "reader", "namespace": "team"},
        "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "pod-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "team"}]},
        namespace="team")


async def forbidden(call: Any) -> str:
    with pytest.raises(ApiError) as e:
        await call
    assert e.value.code == 403, e.value.message
    return e.value.message


async def test_the_bootstrap_policy_is_there(svc: ApiService) -> None:
    roles = {r["metadata"]["name"] for r in (await svc.list(CLUSTERROLES))["items"]}
    assert {"cluster-admin", "admin", "edit", "view", "system:discovery",
            "system:public-info-viewer", "system:basic-user", "system:node-proxier",
            "system:kube-scheduler", "system:kube-controller-manager",
            "system:kube-dns", "system:node"} <= roles
    admin = await svc.get(CLUSTERROLEBINDINGS, "cluster-admin")
    assert admin["subjects"] == [{"kind": "Group", "apiGroup": RBAC, "name": "system:masters"}]


async def test_a_bound_service_account_lists_pods_in_its_namespace(svc: ApiService) -> None:
    await make_reader(svc)
    assert (await svc.as_user(READER).list(PODS, namespace="team"))["items"] == []


async def test_a_bound_service_account_is_refused_secrets_in_kubes_words(
        svc: ApiService) -> None:
    await make_reader(svc)
    message = await forbidden(svc.as_user(READER).list(SECRETS, namespace="team"))
    assert message == (f'secrets is forbidden: User "{SA_NAME}" cannot list resource '
                       '"secrets" in API group "" in the namespace "team"')


async def test_a_bound_service_account_is_refused_other_namespaces(svc: ApiService) -> None:
    await make_reader(svc)
    message = await forbidden(svc.as_user(READER).list(PODS, namespace="other"))
    assert message == (f'pods is forbidden: User "{SA_NAME}" cannot list resource "pods" in '
                       'API group "" in the namespace "other"')


def access_review(verb: str, resource: str, namespace: str) -> Obj:
    return {"spec": {"resourceAttributes": {"verb": verb, "resource": resource,
                                            "namespace": namespace}}}


@pytest.mark.parametrize(("verb", "resource", "namespace", "allowed"), [
    ("list", "pods", "team", True),
    ("get", "pods", "team", True),
    ("delete", "pods", "team", False),
    ("list", "secrets", "team", False),
    ("list", "pods", "other", False),
])
async def test_a_self_subject_access_review_agrees(svc: ApiService, verb: str, resource: str,
                                                  namespace: str, allowed: bool) -> None:
    await make_reader(svc)
    review = await svc.as_user(READER).create(SELFSUBJECTACCESSREVIEWS,
                                              access_review(verb, resource, namespace))
    assert review["status"]["allowed"] is allowed


async def test_a_subject_access_review_asks_about_someone_else(svc: ApiService) -> None:
    await make_reader(svc)
    body = access_review("list", "pods", "team")
    body["spec"]["user"] = SA_NAME
    body["spec"]["groups"] = list(READER.groups)
    review = await svc.create(SUBJECTACCESSREVIEWS, body)
    assert review["status"]["allowed"] is True
    assert review["status"]["reason"] == ('RBAC: allowed by RoleBinding "reader/team" of Role '
                                          '"pod-reader" to ServiceAccount "reader/team"')


async def test_a_local_subject_access_review_must_name_its_namespace(svc: ApiService) -> None:
    body = access_review("list", "pods", "other")
    body["spec"]["user"] = "jane"
    with pytest.raises(ApiError) as e:
        await svc.create(LOCALSUBJECTACCESSREVIEWS, {**body, "metadata": {"namespace": "team"}},
                         namespace="team")
    assert e.value.code == 422


async def test_a_subject_access_review_needs_a_user_or_group(svc: ApiService) -> None:
    with pytest.raises(ApiError) as e:
        await svc.create(SUBJECTACCESSREVIEWS, access_review("list", "pods", "team"))
    assert e.value.code == 422


async def test_a_self_subject_rules_review_lists_what_one_may_do(svc: ApiService) -> None:
    await make_reader(svc)
    review = await svc.as_user(READER).create(SELFSUBJECTRULESREVIEWS,
                                              {"spec": {"namespace": "team"}})
    rules = review["status"]["resourceRules"]
    assert {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]} in rules
    assert {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]} in rules
    assert review["status"]["incomplete"] is False


async def test_a_self_subject_review_says_who_one_is(svc: ApiService) -> None:
    review = await svc.as_user(READER).create(SELFSUBJECTREVIEWS, {})
    assert review["status"]["userInfo"] == {"username": SA_NAME, "groups": list(READER.groups)}


async def test_anyone_authenticated_may_ask_about_themselves_only(svc: ApiService) -> None:
    await forbidden(svc.as_user(JANE).create(SUBJECTACCESSREVIEWS, {
        **access_review("list", "pods", "team"), "spec": {"user": "x", "resourceAttributes": {
            "verb": "list", "resource": "pods"}}}))


# --- escalation ----------------------------------------------------------------------------


async def grant_jane_role_management(svc: ApiService) -> None:
    """jane may manage Roles and RoleBindings in team (not `*`, which holds escalate and
    bind), and read pods there."""
    await make_reader(svc)
    await svc.create(ROLES, {"metadata": {"name": "rbac-manager", "namespace": "team"},
                             "rules": [{"verbs": ["create", "get", "list", "update", "delete"],
                                        "apiGroups": [RBAC],
                                        "resources": ["roles", "rolebindings"]},
                                       {"verbs": ["get", "list"], "apiGroups": [""],
                                        "resources": ["pods"]}]}, namespace="team")
    await svc.create(ROLEBINDINGS, {
        "metadata": {"name": "jane", "namespace": "team"},
        "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "rbac-manager"},
        "subjects": [{"kind": "User", "apiGroup": RBAC, "name": "jane"}]}, namespace="team")


def secrets_role(name: str) -> Obj:
    return {"metadata": {"name": name, "namespace": "team"},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}]}


async def test_a_role_with_rules_one_holds_may_be_created(svc: ApiService) -> None:
    await grant_jane_role_management(svc)
    await svc.as_user(JANE).create(ROLES, {
        "metadata": {"name": "subset", "namespace": "team"},
        "rules": [{"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]}]},
        namespace="team")


async def test_a_role_granting_more_than_one_holds_is_forbidden(svc: ApiService) -> None:
    await grant_jane_role_management(svc)
    message = await forbidden(svc.as_user(JANE).create(ROLES, secrets_role("more"),
                                                       namespace="team"))
    assert message == (
        f'roles.{RBAC} "more" is forbidden: user "jane" (groups=["system:authenticated"]) is '
        'attempting to grant RBAC permissions not currently held:\n'
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}')


async def test_escalate_lets_one_grant_what_one_does_not_hold(svc: ApiService) -> None:
    await grant_jane_role_management(svc)
    await svc.create(ROLES, {"metadata": {"name": "escalator", "namespace": "team"},
                             "rules": [{"verbs": ["escalate"], "apiGroups": [RBAC],
                                        "resources": ["roles"]}]}, namespace="team")
    await svc.create(ROLEBINDINGS, {
        "metadata": {"name": "jane-escalates", "namespace": "team"},
        "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "escalator"},
        "subjects": [{"kind": "User", "apiGroup": RBAC, "name": "jane"}]}, namespace="team")
    await svc.as_user(JANE).create(ROLES, secrets_role("more"), namespace="team")


def binding_to(role_kind: str, role: str, name: str = "b") -> Obj:
    return {"metadata": {"name": name, "namespace": "team"},
            "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role},
            "subjects": [{"kind": "User", "apiGroup": RBAC, "name": "john"}]}


async def test_binding_a_role_one_holds_is_allowed(svc: ApiService) -> None:
    await grant_jane_role_management(svc)
    await svc.as_user(JANE).create(ROLEBINDINGS, binding_to("Role", "pod-reader"),
                                   namespace="team")


async def test_binding_a_role_one_does_not_hold_is_forbidden(svc: ApiService) -> None:
    await grant_jane_role_management(svc)
    await svc.create(ROLES, secrets_role("secret-reader"), namespace="team")
    message = await forbidden(svc.as_user(JANE).create(
        ROLEBINDINGS, binding_to("Role", "secret-reader"), namespace="team"))
    assert "is attempting to grant RBAC permissions not currently held" in message


async def test_bind_lets_one_bind_a_role_one_does_not_hold(svc: ApiService) -> None:
    await grant_jane_role_management(svc)
    await svc.create(ROLES, secrets_role("secret-reader"), namespace="team")
    await svc.create(ROLES, {"metadata": {"name": "binder", "namespace": "team"},
                             "rules": [{"verbs": ["bind"], "apiGroups": [RBAC],
                                        "resources": ["roles"],
                                        "resourceNames": ["secret-reader"]}]},
                     namespace="team")
    await svc.create(ROLEBINDINGS, {
        "metadata": {"name": "jane-binds", "namespace": "team"},
        "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "binder"},
        "subjects": [{"kind": "User", "apiGroup": RBAC, "name": "jane"}]}, namespace="team")
    await svc.as_user(JANE).create(ROLEBINDINGS, binding_to("Role", "secret-reader"),
                                   namespace="team")


# --- NodeRestriction -------------------------------------------------------------------------


def node(name: str, **labels: str) -> Obj:
    return {"metadata": {"name": name, "labels": labels}}


async def test_a_node_may_register_itself(svc: ApiService) -> None:
    await svc.as_user(node_user("n1")).create(NODES, node("n1", **{"kubernetes.io/os": "linux"}))


async def test_a_node_may_not_create_another(svc: ApiService) -> None:
    message = await forbidden(svc.as_user(node_user("n1")).create(NODES, node("n2")))
    assert message == 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"'


async def test_a_node_may_not_set_restricted_labels(svc: ApiService) -> None:
    message = await forbidden(svc.as_user(node_user("n1")).create(
        NODES, node("n1", **{"node-restriction.kubernetes.io/pool": "a"})))
    assert message.endswith('node "n1" is not allowed to set the following labels: '
                            'node-restriction.kubernetes.io/pool')


async def test_a_node_may_not_update_the_status_of_pods_of_another(svc: ApiService) -> None:
    await svc.create(PODS, {"metadata": {"name": "p", "namespace": "default"},
                            "spec": {"nodeName": "n2",
                                     "containers": [{"name": "c", "image": "i"}]}},
                     namespace="default")
    pod = await svc.get(PODS, "p", namespace="default")
    message = await forbidden(svc.as_user(node_user("n1")).update(
        PODS, {**pod, "status": {"phase": "Running"}}, namespace="default",
        subresource="status"))
    assert message.endswith('node "n1" can only update pod status for pods with spec.nodeName '
                            "set to itself")


async def test_a_node_keeps_to_its_own_csinode(svc: ApiService) -> None:
    kubelet = svc.as_user(node_user("n1"))
    await kubelet.create(CSINODES, {"metadata": {"name": "n1"}, "spec": {"drivers": []}})
    await kubelet.get(CSINODES, "n1")
    message = await forbidden(kubelet.create(CSINODES, {"metadata": {"name": "n2"},
                                                        "spec": {"drivers": []}}))
    assert message == ('csinodes.storage.k8s.io "n2" is forbidden: the node "n1" is not '
                       'allowed to modify CSINode "n2"')


async def test_a_node_reads_the_volume_of_a_claim_its_pod_uses(svc: ApiService) -> None:
    for name in ("pv-mine", "pv-other"):
        await svc.create(PERSISTENTVOLUMES, {"metadata": {"name": name}, "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": f"/data/{name}"}}})
    await svc.create(PERSISTENTVOLUMECLAIMS, {
        "metadata": {"name": "data", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "volumeName": "pv-mine",
                 "resources": {"requests": {"storage": "1Gi"}}}}, namespace="default")
    await svc.create(PODS, {"metadata": {"name": "p", "namespace": "default"}, "spec": {
        "nodeName": "n1", "containers": [{"name": "c", "image": "i"}],
        "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}},
        namespace="default")
    kubelet = svc.as_user(node_user("n1"))
    # The authorizer's graph hears of the pod through the watch fan-out, just after.
    await until(lambda: svc.authz_state.graph.related("n1", "persistentvolumes", "",
                                                      "pv-mine"), "the graph has the pod")
    await kubelet.get(PERSISTENTVOLUMECLAIMS, "data", namespace="default")
    assert (await kubelet.get(PERSISTENTVOLUMES, "pv-mine"))["metadata"]["name"] == "pv-mine"
    message = await forbidden(kubelet.get(PERSISTENTVOLUMES, "pv-other"))
    assert message.startswith('persistentvolumes "pv-other" is forbidden: User '
                              '"system:node:n1" cannot get resource "persistentvolumes"')


# --- the bootstrap policy on restart ---------------------------------------------------------


async def restarted(kv: MemoryKV) -> ApiService:
    svc = ApiService(kv)
    await svc.start()
    return svc


async def test_a_bootstrap_role_a_user_changed_keeps_the_change_and_gets_back_its_rules(
) -> None:
    kv = MemoryKV()
    svc = await restarted(kv)
    view = await svc.get(CLUSTERROLES, "system:discovery")
    extra = {"verbs": ["get"], "nonResourceURLs": ["/metrics"]}
    await svc.update(CLUSTERROLES, {**view, "rules": [extra]})
    await svc.stop()
    svc = await restarted(kv)
    try:
        rules = (await svc.get(CLUSTERROLES, "system:discovery"))["rules"]
        assert rules[0] == extra
        assert {"verbs": ["get"], "nonResourceURLs": ["/version"]} in rules
    finally:
        await svc.stop()
        await kv.close()


async def test_a_bootstrap_role_marked_autoupdate_false_is_left_alone() -> None:
    kv = MemoryKV()
    svc = await restarted(kv)
    role = await svc.get(CLUSTERROLES, "system:discovery")
    role["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"] = "false"
    await svc.update(CLUSTERROLES, {**role, "rules": []})
    await svc.stop()
    svc = await restarted(kv)
    try:
        assert (await svc.get(CLUSTERROLES, "system:discovery")).get("rules", []) == []
    finally:
        await svc.stop()
        await kv.close()
