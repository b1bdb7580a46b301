"""A live `serve` is reachable from where pods are: the `kubernetes` Service's Endpoints and
EndpointSlice point at the node's address, where the API answers HTTPS with a certificate
the cluster CA verifies (from the host, on the node address and through the ClusterIP, and
from a pod through the Service's DNS name); every namespace has a `default` ServiceAccount
and the CA in `kube-root-ca.crt`; pods get the service-account volume, and kubectl and the
official client read them as kube's."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator

import pytest
from kubernetes import client, config

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, free_port, running_serve, wait_for

pytestmark = NEEDS_CONTAINERD

SLOT = 32
NODE_ADDRESS = f"10.244.{200 + SLOT}.1"
CLUSTER_IP = f"10.112.{SLOT}.1"
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
POD_YAML = """
apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("incluster") / "data", SLOT) as serve:
        serve.kubectl("apply", "-f", "-", input=POD_YAML)
        serve.kubectl("wait", "--for=condition=Ready", "pod/client", "--timeout=60s",
                      timeout=90)
        yield serve


def node_internal_ip(cluster: ServeProcess) -> str:
    node = cluster.kubectl_json("get", "node", cluster.node_name())
    return next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")


def test_the_kubernetes_endpoint_slice_points_at_the_node_address(
        cluster: ServeProcess) -> None:
    assert node_internal_ip(cluster) == NODE_ADDRESS
    eps = cluster.kubectl_json("get", "endpointslice", "kubernetes", "-n", "default")
    assert eps["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    assert eps["addressType"] == "IPv4"
    assert eps["endpoints"] == [{"addresses": [NODE_ADDRESS], "conditions": {"ready": True}}]
    assert eps["ports"] == [{"name": "https", "port": cluster.api_port, "protocol": "TCP"}]


def test_the_kubernetes_endpoints_point_at_the_node_address(cluster: ServeProcess) -> None:
    eps = cluster.kubectl_json("get", "endpoints", "kubernetes", "-n", "default")
    assert eps["subsets"] == [{
        "addresses": [{"ip": NODE_ADDRESS}],
        "ports": [{"name": "https", "port": cluster.api_port, "protocol": "TCP"}]}]
    service = cluster.kubectl_json("get", "service", "kubernetes", "-n", "default")
    assert service["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP",
                                         "targetPort": cluster.api_port}]


def test_curl_verifies_the_api_on_the_node_address_with_the_ca(cluster: ServeProcess) -> None:
    out = subprocess.run(
        ["curl", "-sS", "--fail", "--max-time", "10", "--cacert", str(cluster.pki.ca.cert),
         f"https://{NODE_ADDRESS}:{cluster.api_port}/version"],  # this cluster's node
        capture_output=True, text=True, timeout=20, check=True).stdout
    assert json.loads(out)["gitVersion"].startswith("v1.32")


def test_python_verifies_the_api_on_the_node_address_with_the_ca(
        cluster: ServeProcess) -> None:
    status, body = cluster.https_get(f"https://{NODE_ADDRESS}:{cluster.api_port}/version", None)
    assert status == 200 and json.loads(body)["major"] == "1"


def test_the_cluster_ip_leads_to_the_api_under_its_service_name(cluster: ServeProcess) -> None:
    """What a pod's client does: connect to the ClusterIP, check the certificate names
    kubernetes.default.svc."""
    context = cluster.tls(None)
    with socket.create_connection((CLUSTER_IP, 443), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="kubernetes.default.svc") as tls:
        tls.sendall(b"GET /version HTTP/1.1\r\nHost: kubernetes.default.svc\r\n"
                    b"Connection: close\r\n\r\n")
        reply = b""
        while chunk := tls.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200")


def test_a_pod_reaches_the_api_port_through_the_kubernetes_service(
        cluster: ServeProcess) -> None:
    """From inside a pod, by the Service's name (cluster DNS, then kube-proxy's DNAT to the
    node address). TCP only: busybox's own TLS client finishes no handshake with Python's
    OpenSSL server (docs/design-notes.md), so TLS is checked from the host above."""
    def connected() -> bool:
        result = cluster.kubectl("exec", "client", "--", "nc", "-w", "5",
                                 "kubernetes.default.svc.cluster.local", "443",
                                 input="", check=False)
        return result.returncode == 0

    wait_for(connected, timeout=30, what="a connection from the pod to the API", interval=1)


def test_a_pod_cannot_connect_where_the_service_has_no_port(cluster: ServeProcess) -> None:
    """The check above can fail: a port the Service does not have is refused."""
    result = cluster.kubectl("exec", "client", "--", "nc", "-w", "5",
                             "kubernetes.default.svc.cluster.local", "444", input="",
                             check=False)
    assert result.returncode != 0


def test_every_namespace_has_a_default_account_and_the_root_ca(cluster: ServeProcess) -> None:
    cluster.kubectl("create", "namespace", "fresh")
    ca = cluster.pki.ca.cert.read_text()

    def published() -> bool:
        found = cluster.kubectl("get", "configmap", "kube-root-ca.crt", "-n", "fresh",
                                "-o", "json", check=False)
        return found.returncode == 0 and json.loads(found.stdout)["data"] == {"ca.crt": ca}

    wait_for(published, timeout=30, what="kube-root-ca.crt in fresh")
    assert cluster.kubectl("get", "serviceaccount", "default", "-n", "fresh").returncode == 0


def test_the_pod_got_the_service_account_volume_as_kube_gives_it(
        cluster: ServeProcess) -> None:
    pod = cluster.kubectl_json("get", "pod", "client")
    spec = pod["spec"]
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    (volume,) = spec["volumes"]
    assert volume["name"].startswith("kube-api-access-")
    assert volume["projected"] == {
        "defaultMode": 420,
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}],
                           "name": "kube-root-ca.crt"}},
            {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1",
                                                     "fieldPath": "metadata.namespace"},
                                        "path": "namespace"}]}}]}
    assert spec["containers"][0]["volumeMounts"] == [
        {"mountPath": TOKEN_PATH, "name": volume["name"], "readOnly": True}]


def test_kubectl_describes_the_service_account_volume_as_kubes(cluster: ServeProcess) -> None:
    out = cluster.kubectl("describe", "pod", "client").stdout
    assert f"{TOKEN_PATH} from kube-api-access-" in out and "(ro)" in out
    for line in ("Type:                    Projected (a volume that contains injected data "
                 "from multiple sources)",
                 "TokenExpirationSeconds:  3607",
                 "ConfigMapName:           kube-root-ca.crt",
                 "DownwardAPI:             true"):
        assert line in out, out


def test_the_official_client_reads_the_mutated_pod(cluster: ServeProcess) -> None:
    api_client = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    try:
        pod = client.CoreV1Api(api_client).read_namespaced_pod("client", "default")
    finally:
        api_client.close()
    (volume,) = pod.spec.volumes
    token = volume.projected.sources[0].service_account_token
    assert (token.path, token.expiration_seconds) == ("token", 3607)
    assert volume.projected.sources[1].config_map.name == "kube-root-ca.crt"
    assert pod.spec.containers[0].volume_mounts[0].mount_path == TOKEN_PATH


def test_a_pod_naming_a_missing_account_is_refused(cluster: ServeProcess) -> None:
    result = cluster.kubectl("run", "orphan", "--image=busybox", "--restart=Never",
                             "--overrides", json.dumps({"spec": {"serviceAccountName": "ghost"}}),
                             check=False)
    assert result.returncode != 0
    assert ('pods "orphan" is forbidden: error looking up service account default/ghost: '
            'serviceaccount "ghost" not found') in result.stderr




def test_after_a_restart_on_another_port_the_service_leads_to_the_new_one(
        cluster: ServeProcess) -> None:
    """Last in this module: it restarts the module's cluster."""
    assert cluster.stop() == 0
    cluster.api_port = free_port()
    cluster.start()
    eps = cluster.kubectl_json("get", "endpointslice", "kubernetes", "-n", "default")
    assert eps["ports"] == [{"name": "https", "port": cluster.api_port, "protocol": "TCP"}]
    assert eps["endpoints"][0]["addresses"] == [NODE_ADDRESS]
    service = cluster.kubectl_json("get", "service", "kubernetes", "-n", "default")
    assert service["spec"]["ports"][0]["targetPort"] == cluster.api_port
    status, _ = cluster.https_get(f"https://{NODE_ADDRESS}:{cluster.api_port}/version", None)
    assert status == 200
