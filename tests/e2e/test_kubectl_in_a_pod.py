"""In-cluster access on a live `serve`: a pod with no kubeconfig runs the real kubectl (the
static binary, mounted from the host by hostPath) with what every pod is given (the
KUBERNETES_SERVICE_* variables and the projected service-account volume) and reaches the
API through the `kubernetes` Service, as its ServiceAccount and subject to RBAC."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, running_serve

# The kubectl minor the server reports, as a static binary the pod can run.
KUBECTL_BINARY = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.32")
pytestmark = [*NEEDS_CONTAINERD, pytest.mark.skipif(not KUBECTL_BINARY.exists(),
                                                    reason=f"no {KUBECTL_BINARY}")]

SLOT = 41
NS = "inc"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
POD = f"""
apiVersion: v1
kind: Pod
metadata: {{name: client, namespace: {NS}}}
spec:
  serviceAccountName: reader
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sleep", "3600"]
    volumeMounts: [{{name: kubectl, mountPath: /kubectl, readOnly: true}}]
  volumes:
  - name: kubectl
    hostPath: {{path: {KUBECTL_BINARY}, type: File}}
"""
NO_TOKEN_POD = f"""
apiVersion: v1
kind: Pod
metadata: {{name: no-token, namespace: {NS}}}
spec:
  serviceAccountName: reader
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sleep", "3600"]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("incluster") / "data", SLOT) as serve:
        serve.kubectl("create", "namespace", NS)
        serve.kubectl("create", "serviceaccount", "reader", "-n", NS)
        serve.kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods",
                      "-n", NS)
        serve.kubectl("create", "rolebinding", "reader-reads-pods", "--role=pod-reader",
                      f"--serviceaccount={NS}:reader", "-n", NS)
        for pod in (POD, NO_TOKEN_POD):
            serve.kubectl("apply", "-f", "-", input=pod)
        serve.kubectl("wait", "--for=condition=Ready", "pod/client", "pod/no-token", "-n", NS,
                      "--timeout=90s", timeout=120)
        yield serve


def in_pod(cluster: ServeProcess, *command: str, pod: str = "client",
           check: bool = True) -> tuple[int, str, str]:
    result = cluster.kubectl("exec", "-n", NS, pod, "--", *command, check=check)
    return result.returncode, result.stdout, result.stderr


def test_a_pod_is_given_the_api_address_and_its_service_account_volume(
        cluster: ServeProcess) -> None:
    service = cluster.kubectl_json("get", "service", "kubernetes", "-n", "default")
    _, env, _ = in_pod(cluster, "env")
    assert f"KUBERNETES_SERVICE_HOST={service['spec']['clusterIP']}" in env.splitlines()
    assert "KUBERNETES_SERVICE_PORT=443" in env.splitlines()
    _, namespace, _ = in_pod(cluster, "cat", f"{SA_DIR}/namespace")
    assert namespace == NS
    _, ca, _ = in_pod(cluster, "cat", f"{SA_DIR}/ca.crt")
    assert ca == (cluster.data_dir / "pki" / "ca.crt").read_text()
    _, token, _ = in_pod(cluster, "cat", f"{SA_DIR}/token")
    assert token.count(".") == 2  # a JWT


def test_kubectl_in_a_pod_lists_pods_through_the_kubernetes_service(
        cluster: ServeProcess) -> None:
    _, out, _ = in_pod(cluster, "/kubectl", "get", "pods", "-o", "name")
    assert sorted(out.split()) == ["pod/client", "pod/no-token"]
    _, who, _ = in_pod(cluster, "/kubectl", "auth", "whoami", "-o",
                       "jsonpath={.status.userInfo.username}")
    assert who == f"system:serviceaccount:{NS}:reader"


def test_what_its_role_does_not_grant_is_forbidden_in_the_pod(cluster: ServeProcess) -> None:
    code, _, err = in_pod(cluster, "/kubectl", "get", "secrets", check=False)
    assert code != 0
    assert (f'secrets is forbidden: User "system:serviceaccount:{NS}:reader" cannot list '
            f'resource "secrets" in API group "" in the namespace "{NS}"') in err
    code, _, err = in_pod(cluster, "/kubectl", "get", "pods", "-n", "default", check=False)
    assert code != 0
    assert 'cannot list resource "pods" in API group "" in the namespace "default"' in err


def test_a_pod_that_opts_out_gets_no_token(cluster: ServeProcess) -> None:
    code, _, _ = in_pod(cluster, "ls", SA_DIR, pod="no-token", check=False)
    assert code != 0
    pod = cluster.kubectl_json("get", "pod", "no-token", "-n", NS)
    assert not any(v["name"].startswith("kube-api-access-") for v in pod["spec"].get("volumes", []))
