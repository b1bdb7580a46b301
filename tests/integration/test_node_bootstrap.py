"""`join`'s TLS bootstrap against the in-process control plane over HTTPS, with serve's
authenticators, authorizers, CSR approver and signer: the CA fetched without credentials and
checked against the token; the node's client certificate obtained with the token and used
from then on; a wrong CA, a wrong secret, a deleted token each refused in one line."""

from __future__ import annotations

import base64
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CERTIFICATESIGNINGREQUESTS, NODES, SECRETS
from minikube_py.apiserver.authn import standard_authenticators
from minikube_py.apiserver.http import build_app
from minikube_py.client.http import HttpClient
from minikube_py.controllers.csrapproving import CsrApprovingController
from minikube_py.controllers.csrsigning import CsrSigningController
from minikube_py.kubeconfig import read_kubeconfig
from minikube_py.nodebootstrap import (
    JoinRefused,
    NodePki,
    fetch_ca,
    node_api_tls,
    node_credentials,
    write_node_kubeconfig,
)
from minikube_py.pki.cluster import load_signing_ca
from minikube_py.pki.jointoken import BootstrapToken, JoinToken
from tests.certs import make_test_pki
from tests.integration.harness import ControlPlane, control_plane

CREDENTIALS = BootstrapToken("abcdef", "0123456789abcdef")
NODE = "worker-1"


@dataclass
class Cluster:
    plane: ControlPlane
    url: str
    ca_pem: bytes
    authorizations: list[str] = field(default_factory=list)  # Authorization headers seen

    @property
    def token(self) -> str:
        return str(JoinToken.make(self.ca_pem, CREDENTIALS))


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    pki = make_test_pki(tmp_path / "server")
    ca_pem = pki.layout.ca.cert.read_bytes()
    async with control_plane(nodes=0, scheduler=False) as plane:
        plane.start("csrapproving", CsrApprovingController(plane.ctx.for_controller()).run)
        plane.start("csrsigning", CsrSigningController(
            plane.ctx.for_controller(), ca=load_signing_ca(pki.layout),
            serial=x509.random_serial_number).run)
        await plane.api.create(SECRETS, {
            "metadata": {"name": CREDENTIALS.secret_name, "namespace": "kube-system"},
            "type": "bootstrap.kubernetes.io/token",
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in {
                "token-id": CREDENTIALS.id, "token-secret": CREDENTIALS.secret,
                "usage-bootstrap-authentication": "true",
                "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
            }.items()}}, namespace="kube-system")
        api = plane.api
        app = build_app(api, authenticators=standard_authenticators(api.token_authenticators()),
                        ca_pem=ca_pem)
        seen = Cluster(plane, "", ca_pem)

        @web.middleware
        async def record(request: web.Request, handler: object) -> web.StreamResponse:
            seen.authorizations.append(request.headers.get("Authorization", ""))
            return await handler(request)  # type: ignore[operator, no-any-return]

        app.middlewares.insert(0, record)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server(ssl=pki.api_server_context())
        seen.url = f"https://127.0.0.1:{server.port}"
        try:
            yield seen
        finally:
            await server.close()


async def test_the_ca_is_served_to_anyone_and_fetched_without_credentials(
        cluster: Cluster) -> None:
    assert await fetch_ca(cluster.url) == cluster.ca_pem
    assert cluster.authorizations == [""]


async def test_a_joining_node_gets_its_own_certificate_and_needs_no_token_afterwards(
        cluster: Cluster, tmp_path: Path) -> None:
    pki = NodePki(tmp_path / "node" / "pki")
    said = await node_credentials(cluster.url, cluster.token, pki, NODE, random.Random(1))
    assert said.startswith(f"joined with the token: client certificate CN=system:node:{NODE}")
    assert pki.ca.read_bytes() == cluster.ca_pem
    assert oct(pki.client.key.stat().st_mode & 0o777) == "0o600"
    # The token went out only once the CA was checked: its first request carried nothing.
    assert cluster.authorizations[0] == ""
    assert cluster.authorizations[1] == f"Bearer {CREDENTIALS}"
    # From now on the certificate: it is the node (may read its own Node, no one else's
    # Secrets), and a restart needs no token.
    client = HttpClient(cluster.url, tls=node_api_tls(pki))
    try:
        await client.create(NODES, {"apiVersion": "v1", "kind": "Node",
                                    "metadata": {"name": NODE}})
        assert (await client.get(NODES, NODE))["metadata"]["name"] == NODE
        with pytest.raises(ApiError) as e:
            await client.list(SECRETS, namespace="kube-system")
        assert e.value.code == 403
    finally:
        await client.close()
    before = len(cluster.authorizations)
    again = await node_credentials(cluster.url, None, pki, NODE, random.Random(2))
    assert again == f"using the node's saved certificate ({pki.client.cert})"
    assert len(cluster.authorizations) == before
    kubeconfig = tmp_path / "node" / "kubeconfig"
    write_node_kubeconfig(kubeconfig, cluster.url, pki)
    server, _ = read_kubeconfig(kubeconfig.read_text())
    assert server == cluster.url


async def test_a_token_naming_another_ca_is_refused_before_it_is_sent(
        cluster: Cluster, tmp_path: Path) -> None:
    other = str(JoinToken.make(b"another cluster's CA", CREDENTIALS))
    with pytest.raises(JoinRefused, match="is not the one the token names"):
        await node_credentials(cluster.url, other, NodePki(tmp_path / "pki"), NODE,
                               random.Random(1))
    assert cluster.authorizations == [""]
    assert (await cluster.plane.api.list(CERTIFICATESIGNINGREQUESTS))["items"] == []


@pytest.mark.parametrize("how", ["wrong secret", "deleted"])
async def test_a_token_the_cluster_does_not_accept_is_one_line(
        cluster: Cluster, tmp_path: Path, how: str) -> None:
    token = cluster.token
    if how == "wrong secret":
        token = str(JoinToken.make(cluster.ca_pem, BootstrapToken("abcdef", "x" * 16)))
    else:
        await cluster.plane.api.delete(SECRETS, CREDENTIALS.secret_name,
                                       namespace="kube-system")
    with pytest.raises(JoinRefused) as e:
        await node_credentials(cluster.url, token, NodePki(tmp_path / "pki"), NODE,
                               random.Random(1))
    assert "refused the token (401 Unauthorized)" in str(e.value)
    assert "\n" not in str(e.value)


async def test_without_a_token_or_a_saved_certificate_join_says_to_give_one(
        tmp_path: Path) -> None:
    with pytest.raises(JoinRefused, match="give --token"):
        await node_credentials("https://127.0.0.1:1", None, NodePki(tmp_path / "pki"), NODE,
                               random.Random(1))


async def test_a_token_cannot_take_the_name_of_a_node_in_the_cluster(
        cluster: Cluster, tmp_path: Path) -> None:
    """Whoever holds the token would otherwise become that node (k3s refuses it too)."""
    await cluster.plane.api.create(NODES, {"apiVersion": "v1", "kind": "Node",
                                           "metadata": {"name": NODE}})
    with pytest.raises(JoinRefused) as e:
        await node_credentials(cluster.url, cluster.token, NodePki(tmp_path / "pki"), NODE,
                               random.Random(1))
    assert f"a Node named {NODE} is already in the cluster" in str(e.value)
    assert f"kubectl delete node {NODE}" in str(e.value)
    (csr,) = (await cluster.plane.api.list(CERTIFICATESIGNINGREQUESTS))["items"]
    assert [c["type"] for c in csr["status"]["conditions"]] == ["Denied"]
    assert "certificate" not in csr["status"]


async def test_a_node_of_one_cluster_given_another_clusters_token_is_told_to_leave_first(
        cluster: Cluster, tmp_path: Path) -> None:
    pki = NodePki(tmp_path / "node" / "pki")
    await node_credentials(cluster.url, cluster.token, pki, NODE, random.Random(1))
    other = str(JoinToken.make(b"another cluster's CA", CREDENTIALS))
    with pytest.raises(JoinRefused, match="a node of another cluster") as e:
        await node_credentials(cluster.url, other, pki, NODE, random.Random(2))
    assert f"minikube-py delete --data-dir {tmp_path / 'node'}" in str(e.value)
