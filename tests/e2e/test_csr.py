"""CertificateSigningRequests on a live `serve` with kubectl and the official client: a
kube-apiserver-client request made with `cryptography` shows as Pending in `kubectl get
csr`, `kubectl certificate approve` has the cluster CA sign it (and that certificate then
authenticates as the name it asked for), `kubectl certificate deny` denies another."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from kubernetes import client, config

from tests.csrs import request_pem
from tests.e2e.cluster import KUBECTL, NEEDS_CONTAINERD, ServeProcess, running_serve, wait_for

pytestmark = NEEDS_CONTAINERD

SLOT = 50
KEY = ec.generate_private_key(ec.SECP256R1())


def csr_yaml(name: str, pem: bytes) -> str:
    return json.dumps({
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {"request": base64.b64encode(pem).decode(), "expirationSeconds": 86400,
                 "signerName": "kubernetes.io/kube-apiserver-client",
                 "usages": ["client auth"]}})


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("csr") / "data", SLOT) as serve:
        serve.kubectl("apply", "-f", "-", input=csr_yaml("jane", request_pem(
            "jane", ("dev",), key=KEY)))
        serve.kubectl("apply", "-f", "-", input=csr_yaml("mallory", request_pem(
            "mallory", ("dev",))))
        yield serve


def test_kubectl_get_csr_shows_kubectls_columns(cluster: ServeProcess) -> None:
    rows = [line.split() for line in cluster.kubectl("get", "csr", "jane").stdout.splitlines()]
    assert rows[0] == ["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION",
                       "CONDITION"]
    name, _age, signer, requestor, duration, condition = rows[1]
    assert (name, signer, requestor, duration) == (
        "jane", "kubernetes.io/kube-apiserver-client", "kubernetes-admin", "24h")
    assert condition in ("Pending", "Approved,Issued")


def test_an_approved_request_is_issued_and_authenticates_as_its_name(
        cluster: ServeProcess, tmp_path: Path) -> None:
    cluster.kubectl("certificate", "approve", "jane")

    def certificate() -> str | None:
        csr = cluster.kubectl_json("get", "csr", "jane")
        return (csr.get("status") or {}).get("certificate")

    issued = wait_for(certificate, timeout=20, what="jane's certificate")
    row = cluster.kubectl("get", "csr", "jane", "--no-headers").stdout.split()
    assert row[-1] == "Approved,Issued"
    cert, key = tmp_path / "jane.crt", tmp_path / "jane.key"
    cert.write_bytes(base64.b64decode(issued))
    key.write_bytes(KEY.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    env = {"KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [KUBECTL, f"--server={cluster.api_url}",
         f"--certificate-authority={cluster.pki.ca.cert}", f"--client-certificate={cert}",
         f"--client-key={key}", "auth", "whoami", "-o", "json"],
        capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    user = json.loads(result.stdout)["status"]["userInfo"]
    assert (user["username"], sorted(user["groups"])) == ("jane",
                                                          ["dev", "system:authenticated"])


def test_a_denied_request_shows_denied_and_gets_no_certificate(
        cluster: ServeProcess) -> None:
    cluster.kubectl("certificate", "deny", "mallory")
    csr = cluster.kubectl_json("get", "csr", "mallory")
    assert [c["type"] for c in csr["status"]["conditions"]] == ["Denied"]
    assert "certificate" not in csr["status"]
    row = cluster.kubectl("get", "csr", "mallory", "--no-headers").stdout.split()
    assert row[-1] == "Denied"


def test_the_official_client_reads_csrs_as_typed_models(cluster: ServeProcess) -> None:
    api_client = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    try:
        api = client.CertificatesV1Api(api_client)
        csrs = {c.metadata.name: c for c in api.list_certificate_signing_request().items}
        jane = api.read_certificate_signing_request("jane")
    finally:
        api_client.close()
    assert {"jane", "mallory"} <= set(csrs)
    assert isinstance(jane, client.V1CertificateSigningRequest)
    assert jane.spec.signer_name == "kubernetes.io/kube-apiserver-client"
    assert jane.spec.username == "kubernetes-admin"
    assert jane.spec.usages == ["client auth"]
    assert jane.spec.expiration_seconds == 86400
    assert b"CERTIFICATE REQUEST" in base64.b64decode(jane.spec.request)


def test_a_request_for_system_masters_is_refused_in_kubes_words(
        cluster: ServeProcess) -> None:
    result = cluster.kubectl("create", "-f", "-", check=False, input=csr_yaml(
        "admin-please", request_pem("eve", ("system:masters",))))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        'Error from server (Forbidden): error when creating "STDIN": '
        'certificatesigningrequests.certificates.k8s.io "admin-please" is forbidden: use of '
        "kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed")
