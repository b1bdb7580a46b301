"""A live `serve` is HTTPS only and knows who calls it: anonymous clients get version, health
and discovery and 401 for the rest; kubectl works with the kubeconfig serve wrote; a client
certificate from another CA is refused; the kubelet's port wants a client certificate and
asks the API server (a SubjectAccessReview) about any but the API server's own; logs, exec
and port-forward still work from kubectl through both TLS hops."""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from minikube_py.pki.certs import CertSpec
from minikube_py.pki.cluster import ADMIN, KeyPair, PkiLayout, ensure_cluster_pki
from tests.e2e.cluster import KUBECTL, NEEDS_CONTAINERD, ServeProcess, running_serve, wait_for

pytestmark = NEEDS_CONTAINERD

SLOT = 21
POD_YAML = """
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox
    command: ["sh", "-c", "mkdir -p /www; echo hello over tls > /www/index.html; echo started; exec httpd -f -p 8080 -h /www"]
"""
UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("tls") / "data", SLOT) as serve:
        serve.kubectl("apply", "-f", "-", input=POD_YAML)
        serve.kubectl("wait", "--for=condition=Ready", "pod/web", "--timeout=60s", timeout=90)
        yield serve


def test_anonymous_requests_for_resources_are_401_with_a_status(
        cluster: ServeProcess) -> None:
    status, body = cluster.https_get("/api/v1/pods", None)
    assert (status, json.loads(body)) == (401, UNAUTHORIZED)


@pytest.mark.parametrize("path", ["/version", "/readyz", "/healthz", "/livez", "/api",
                                  "/apis/apps/v1"])
def test_anonymous_requests_for_version_health_and_discovery_are_answered(
        cluster: ServeProcess, path: str) -> None:
    status, _ = cluster.https_get(path, None)
    assert status == 200


def test_the_api_is_not_served_over_plain_http(cluster: ServeProcess) -> None:
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"http://127.0.0.1:{cluster.api_port}/version",  # loopback
                               timeout=5).read()


def test_kubectl_works_with_the_written_kubeconfig(cluster: ServeProcess) -> None:
    out = cluster.kubectl("get", "pod", "web", "-o", "jsonpath={.status.phase}").stdout
    assert out == "Running"
    assert cluster.kubeconfig.stat().st_mode & 0o777 == 0o600


def test_the_admin_certificate_is_the_cluster_admin(cluster: ServeProcess) -> None:
    status, body = cluster.https_get("/api/v1/namespaces/kube-system/secrets",
                                     cluster.pki.admin)
    assert status == 200 and json.loads(body)["kind"] == "SecretList"


def test_a_client_certificate_from_another_ca_is_refused(cluster: ServeProcess,
                                                         tmp_path: Path) -> None:
    other = PkiLayout(tmp_path / "other-pki")
    ensure_cluster_pki(other, [(other.admin, ADMIN)], datetime.now(UTC))  # same name, other CA
    with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
        cluster.https_get("/api/v1/pods", other.admin)


def kubelet_url(cluster: ServeProcess) -> str:
    node = cluster.kubectl_json("get", "node", cluster.node_name())
    ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
    return f"https://{ip}:{port}"


def test_the_kubelet_refuses_a_request_without_a_client_certificate(
        cluster: ServeProcess) -> None:
    status, body = cluster.https_get(kubelet_url(cluster) + "/containerLogs/default/web/httpd",
                                     None)
    assert (status, body) == (401, "Unauthorized\n")


def test_the_kubelet_asks_the_api_server_who_may_call_it(cluster: ServeProcess) -> None:
    """The API server's client is let in; anyone else as a SubjectAccessReview on the
    node's subresource says: the admin (system:masters) yes, a plain user no."""
    url = kubelet_url(cluster) + "/containerLogs/default/web/httpd"
    assert cluster.https_get(url, cluster.pki.kubelet_client) == (200, "started\n")
    assert cluster.https_get(url, cluster.pki.admin) == (200, "started\n")
    jane = KeyPair(cluster.pki.root / "e2e-jane.crt", cluster.pki.root / "e2e-jane.key")
    ensure_cluster_pki(cluster.pki, [(jane, CertSpec("jane", ("dev",), client=True))],
                       datetime.now(UTC))
    assert cluster.https_get(url, jane) == (403, "Forbidden (user=jane, verb=get, "
                                                 "resource=nodes, subresource=proxy)\n")


def test_the_kubelet_takes_a_token_for_whom_the_api_server_says(
        cluster: ServeProcess) -> None:
    """A bearer token is who the API server's TokenReview says; then RBAC decides."""
    url = kubelet_url(cluster) + "/containerLogs/default/web/httpd"
    cluster.kubectl("create", "serviceaccount", "kubelet-reader")
    token = cluster.kubectl("create", "token", "kubelet-reader").stdout.strip()

    def with_token(value: str) -> tuple[int, str]:
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {value}"})
        try:
            with urllib.request.urlopen(request, timeout=10,  # this cluster, on loopback
                                        context=cluster.tls(None)) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    assert with_token("not-a-token") == (401, "Unauthorized\n")
    user = "system:serviceaccount:default:kubelet-reader"
    assert with_token(token) == (403, f"Forbidden (user={user}, verb=get, resource=nodes, "
                                      "subresource=proxy)\n")
    cluster.kubectl("create", "serviceaccount", "kubelet-admin")
    cluster.kubectl("create", "clusterrolebinding", "kubelet-admin",
                    "--clusterrole=system:kubelet-api-admin",
                    "--serviceaccount=default:kubelet-admin")
    admin_token = cluster.kubectl("create", "token", "kubelet-admin").stdout.strip()
    assert with_token(admin_token) == (200, "started\n")


def test_kubectl_logs_exec_and_port_forward_go_through_both_tls_hops(
        cluster: ServeProcess) -> None:
    assert cluster.kubectl("logs", "web").stdout == "started\n"
    assert cluster.kubectl("exec", "web", "--", "cat", "/www/index.html").stdout == \
        "hello over tls\n"
    env = {"KUBECONFIG": str(cluster.kubeconfig), "KUBECACHEDIR": str(cluster.kube_cache),
           "HOME": str(cluster.data_dir.parent), "PATH": "/usr/bin:/bin"}
    forward = subprocess.Popen([KUBECTL, "port-forward", "pod/web", ":8080"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert forward.stdout is not None
        line = wait_for(forward.stdout.readline, timeout=30, what="port-forward to listen")
        port = re.search(r"127\.0\.0\.1:(\d+) ->", line)
        assert port, line
        with urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/",  # our kubectl
                                    timeout=10) as resp:
            assert resp.read() == b"hello over tls\n"
    finally:
        forward.terminate()
        forward.wait(10)
