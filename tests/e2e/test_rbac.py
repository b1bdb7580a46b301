"""A live `serve` enforces RBAC: a ServiceAccount bound to a Role that allows get,list pods
in one namespace lists pods there with its token and nothing else (kube's 403 words), and
`kubectl auth can-i --as` agrees; anonymous clients get version and health only; `kubectl
auth whoami` says who one is. Every in-process component still does its job meanwhile (the
cluster came up and runs a pod, as system:node:NAME, system:kube-scheduler, ...)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.e2e.cluster import KUBECTL, NEEDS_CONTAINERD, ServeProcess, running_serve

pytestmark = NEEDS_CONTAINERD

SLOT = 22
NS = "rbac-team"
SA = f"system:serviceaccount:{NS}:reader"
POD_YAML = f"""
apiVersion: v1
kind: Pod
metadata:
  name: sleeper
  namespace: {NS}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: sleep
    image: busybox
    command: ["sleep", "3600"]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("rbac") / "data", SLOT) as serve:
        serve.kubectl("create", "namespace", NS)
        serve.kubectl("create", "serviceaccount", "reader", "-n", NS)
        serve.kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods",
                      "-n", NS)
        serve.kubectl("create", "rolebinding", "reader", "--role=pod-reader",
                      f"--serviceaccount={NS}:reader", "-n", NS)
        serve.kubectl("apply", "-f", "-", input=POD_YAML)
        serve.kubectl("wait", "--for=condition=Ready", "pod/sleeper", "-n", NS,
                      "--timeout=60s", timeout=90)
        yield serve


@pytest.fixture(scope="module")
def token(cluster: ServeProcess) -> str:
    return cluster.kubectl("create", "token", "reader", "-n", NS).stdout.strip()


@pytest.fixture(scope="module")
def bare_kubeconfig(cluster: ServeProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kubeconfig with only the server and the CA: no client certificate, so the token
    alone says who calls."""
    path = tmp_path_factory.mktemp("bare") / "kubeconfig"
    env = {"KUBECONFIG": str(path), "HOME": str(path.parent), "PATH": "/usr/bin:/bin"}
    for args in (["set-cluster", "c", f"--server={cluster.api_url}",
                  f"--certificate-authority={cluster.pki.ca.cert}", "--embed-certs"],
                 ["set-context", "c", "--cluster=c"], ["use-context", "c"]):
        subprocess.run([KUBECTL, "config", *args], env=env, check=True, capture_output=True)
    return path


def as_token(cluster: ServeProcess, kubeconfig: Path, token: str,
             *args: str) -> subprocess.CompletedProcess[str]:
    env = {"KUBECONFIG": str(kubeconfig), "KUBECACHEDIR": str(cluster.kube_cache) + "-sa",
           "HOME": str(kubeconfig.parent), "PATH": "/usr/bin:/bin"}
    return subprocess.run([KUBECTL, f"--token={token}", *args], capture_output=True,
                          text=True, env=env, timeout=60, check=False)


def test_the_service_account_lists_pods_in_its_namespace(
        cluster: ServeProcess, bare_kubeconfig: Path, token: str) -> None:
    result = as_token(cluster, bare_kubeconfig, token, "get", "pods", "-n", NS, "-o", "name")
    assert (result.returncode, result.stdout) == (0, "pod/sleeper\n"), result.stderr


def test_the_service_account_is_refused_secrets_in_kubes_words(
        cluster: ServeProcess, bare_kubeconfig: Path, token: str) -> None:
    result = as_token(cluster, bare_kubeconfig, token, "get", "secrets", "-n", NS)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f'Error from server (Forbidden): secrets is forbidden: User "{SA}" cannot list '
        f'resource "secrets" in API group "" in the namespace "{NS}"')


def test_the_service_account_is_refused_pods_in_other_namespaces(
        cluster: ServeProcess, bare_kubeconfig: Path, token: str) -> None:
    result = as_token(cluster, bare_kubeconfig, token, "get", "pods", "-n", "default")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f'Error from server (Forbidden): pods is forbidden: User "{SA}" cannot list resource '
        '"pods" in API group "" in the namespace "default"')


@pytest.mark.parametrize(("args", "answer"), [
    (["list", "pods", "-n", NS], "yes"),
    (["get", "pods", "-n", NS], "yes"),
    (["delete", "pods", "-n", NS], "no"),
    (["list", "secrets", "-n", NS], "no"),
    (["list", "pods", "-n", "default"], "no"),
])
def test_can_i_as_the_service_account_agrees(cluster: ServeProcess, args: list[str],
                                             answer: str) -> None:
    result = cluster.kubectl("auth", "can-i", f"--as={SA}", *args, check=False)
    assert (result.stdout.strip(), result.returncode) == (answer, 0 if answer == "yes" else 1)


def test_can_i_list_shows_the_roles_rules(cluster: ServeProcess) -> None:
    out = cluster.kubectl("auth", "can-i", "--list", f"--as={SA}", "-n", NS).stdout
    rows = [line.split() for line in out.splitlines()]
    assert ["pods", "[]", "[]", "[get", "list]"] in rows


def test_the_service_account_asks_can_i_with_its_own_token(
        cluster: ServeProcess, bare_kubeconfig: Path, token: str) -> None:
    result = as_token(cluster, bare_kubeconfig, token, "auth", "can-i", "list", "pods",
                      "-n", NS)
    assert (result.stdout.strip(), result.returncode) == ("yes", 0), result.stderr


def test_impersonating_without_the_impersonate_verb_is_refused(
        cluster: ServeProcess, bare_kubeconfig: Path, token: str) -> None:
    result = as_token(cluster, bare_kubeconfig, token, "get", "pods", "-n", NS,
                      "--as=jane")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f'Error from server (Forbidden): users "jane" is forbidden: User "{SA}" cannot '
        'impersonate resource "users" in API group "" at the cluster scope')


def test_anonymous_requests_for_pods_are_401(cluster: ServeProcess) -> None:
    status, body = cluster.https_get("/api/v1/pods", None)
    assert (status, json.loads(body)["reason"]) == (401, "Unauthorized")


@pytest.mark.parametrize("path", ["/version", "/readyz"])
def test_anonymous_requests_for_version_and_readiness_are_answered(
        cluster: ServeProcess, path: str) -> None:
    assert cluster.https_get(path, None)[0] == 200


def test_whoami_names_the_admin(cluster: ServeProcess) -> None:
    review = json.loads(cluster.kubectl("auth", "whoami", "-o", "json").stdout)
    assert review["status"]["userInfo"]["username"] == "kubernetes-admin"
    assert "system:masters" in review["status"]["userInfo"]["groups"]


def test_whoami_names_the_service_account(cluster: ServeProcess, bare_kubeconfig: Path,
                                          token: str) -> None:
    result = as_token(cluster, bare_kubeconfig, token, "auth", "whoami", "-o", "json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)["status"]["userInfo"]
    assert (info["username"], "system:serviceaccounts" in info["groups"]) == (SA, True)


def test_whoami_as_someone_else_names_them(cluster: ServeProcess) -> None:
    review = json.loads(cluster.kubectl("auth", "whoami", "--as=jane", "--as-group=devs",
                                        "-o", "json").stdout)
    assert review["status"]["userInfo"] == {
        "username": "jane", "groups": ["devs", "system:authenticated"]}


def test_nothing_in_process_was_refused(cluster: ServeProcess) -> None:
    """The scheduler, the controllers, kube-proxy, DNS and the kubelet, each as itself, were
    allowed everything they asked for."""
    assert "is forbidden" not in cluster.log


# --- the official Python client ------------------------------------------------------------


@pytest.fixture(scope="module")
def rbac_api(cluster: ServeProcess) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    yield api_client
    api_client.close()


def test_the_official_client_creates_gets_and_lists_rbac_objects(rbac_api: client.ApiClient) -> None:
    rbac = client.RbacAuthorizationV1Api(rbac_api)
    rbac.create_namespaced_role(NS, client.V1Role(
        metadata=client.V1ObjectMeta(name="cm-reader"),
        rules=[client.V1PolicyRule(verbs=["get"], api_groups=[""],
                                   resources=["configmaps"])]))
    rbac.create_namespaced_role_binding(NS, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="cm-reader"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role",
                                  name="cm-reader"),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name="reader",
                                       namespace=NS)]))
    role = rbac.read_namespaced_role("cm-reader", NS)
    assert role.rules[0].resources == ["configmaps"]
    assert "cm-reader" in {b.metadata.name
                           for b in rbac.list_namespaced_role_binding(NS).items}
    names = {r.metadata.name for r in rbac.list_cluster_role().items}
    assert {"cluster-admin", "view", "system:node-proxier"} <= names
    assert rbac.read_cluster_role_binding("cluster-admin").subjects[0].name == \
        "system:masters"


def test_the_official_client_asks_a_subject_access_review(rbac_api: client.ApiClient) -> None:
    review = client.AuthorizationV1Api(rbac_api).create_subject_access_review(
        client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
            user=SA, groups=["system:serviceaccounts", f"system:serviceaccounts:{NS}"],
            resource_attributes=client.V1ResourceAttributes(verb="list", resource="pods",
                                                            namespace=NS))))
    assert review.status.allowed is True


def test_the_official_client_asks_the_other_reviews(rbac_api: client.ApiClient) -> None:
    authz = client.AuthorizationV1Api(rbac_api)
    local = authz.create_namespaced_local_subject_access_review(
        NS, client.V1LocalSubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
            user=SA, resource_attributes=client.V1ResourceAttributes(
                verb="get", resource="secrets", namespace=NS))))
    assert local.status.allowed is False
    mine = authz.create_self_subject_access_review(client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(verb="delete", resource="nodes"))))
    assert mine.status.allowed is True  # the admin
    rules = authz.create_self_subject_rules_review(client.V1SelfSubjectRulesReview(
        spec=client.V1SelfSubjectRulesReviewSpec(namespace=NS)))
    assert any("*" in r.verbs and "*" in r.resources for r in rules.status.resource_rules)
    who = client.AuthenticationV1Api(rbac_api).create_self_subject_review(
        client.V1SelfSubjectReview())
    assert who.status.user_info.username == "kubernetes-admin"
    assert "system:masters" in who.status.user_info.groups
