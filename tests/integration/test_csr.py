"""TLS bootstrapping on the in-process control plane over HTTPS: a bootstrap token's user
asks for a kubelet client certificate, the approver approves it (the token may create
`nodeclient`), the signer signs it with the cluster CA, and that certificate then
authenticates as system:node:NAME; the node renews it itself (`selfnodeclient`). Requests the
approver does not recognise wait for a person, who approves them through `approval`."""

from __future__ import annotations

import base64
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    CERTIFICATESIGNINGREQUESTS,
    CLUSTERROLEBINDINGS,
    CLUSTERROLES,
)
from minikube_py.apiserver.authn import UserInfo
from minikube_py.pki.cluster import KeyPair
from minikube_py.pki.tls import client_context
from tests.csrs import KUBELET_CLIENT_SIGNER, NODE_CLIENT_USAGES, request_pem
from tests.integration.csr_cluster import TOKEN, Cluster, csr_cluster
from tests.integration.harness import eventually

Obj = dict[str, Any]
CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
NODE = "worker-1"
RBAC = "rbac.authorization.k8s.io"


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with csr_cluster(tmp_path) as found:
        yield found


def csr_body(name: str, pem: bytes, signer: str = KUBELET_CLIENT_SIGNER,
             usages: list[str] | None = None) -> Obj:
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": name},
            "spec": {"request": base64.b64encode(pem).decode(), "signerName": signer,
                     "usages": usages or list(NODE_CLIENT_USAGES), "expirationSeconds": 3600}}


async def issued(cluster: Cluster, name: str) -> bytes:
    async def certificate() -> str | None:
        csr = await cluster.plane.api.get(CERTIFICATESIGNINGREQUESTS, name)
        return str((csr.get("status") or {}).get("certificate") or "") or None

    found = await eventually(certificate, plane=cluster.plane, what=f"{name} to be issued")
    return base64.b64decode(found)


def identity(cluster: Cluster, name: str, cert: bytes, key: ec.EllipticCurvePrivateKey
             ) -> ssl.SSLContext:
    pair = KeyPair(cluster.tmp / f"{name}.crt", cluster.tmp / f"{name}.key")
    pair.cert.write_bytes(cert)
    pair.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return client_context(cluster.pki.layout.ca.cert, pair)


async def whoami(cluster: Cluster, tls: ssl.SSLContext) -> Obj:
    code, review = await cluster.call(
        "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", tls=tls,
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    assert code == 201, review
    user: Obj = review["status"]["userInfo"]
    return user


async def bootstrap(cluster: Cluster) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = request_pem(f"system:node:{NODE}", ("system:nodes",), key=key)
    code, created = await cluster.call("POST", CSR_PATH, token=TOKEN,
                                       body=csr_body("node-csr-1", pem))
    assert code == 201, created
    return identity(cluster, "node", await issued(cluster, "node-csr-1"), key)


async def test_a_bootstrap_tokens_csr_is_approved_signed_and_authenticates_as_the_node(
        cluster: Cluster) -> None:
    tls = await bootstrap(cluster)
    csr = await cluster.plane.api.get(CERTIFICATESIGNINGREQUESTS, "node-csr-1")
    assert csr["spec"]["username"] == "system:bootstrap:abcdef"
    assert [(c["type"], c["reason"]) for c in csr["status"]["conditions"]] == [
        ("Approved", "AutoApproved")]
    user = await whoami(cluster, tls)
    assert (user["username"], sorted(user["groups"])) == (
        f"system:node:{NODE}", ["system:authenticated", "system:nodes"])


async def test_a_node_renews_its_own_certificate(cluster: Cluster) -> None:
    tls = await bootstrap(cluster)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = request_pem(f"system:node:{NODE}", ("system:nodes",), key=key)
    code, created = await cluster.call("POST", CSR_PATH, tls=tls,
                                       body=csr_body("node-csr-2", pem))
    assert code == 201, created
    renewed = identity(cluster, "renewed", await issued(cluster, "node-csr-2"), key)
    csr = await cluster.plane.api.get(CERTIFICATESIGNINGREQUESTS, "node-csr-2")
    assert csr["status"]["conditions"][0]["message"] == \
        "Auto approving self kubelet client certificate after SubjectAccessReview."
    assert (await whoami(cluster, renewed))["username"] == f"system:node:{NODE}"


async def test_a_request_for_another_nodes_name_is_not_approved_for_a_node(
        cluster: Cluster) -> None:
    tls = await bootstrap(cluster)
    pem = request_pem("system:node:worker-2", ("system:nodes",))
    code, _ = await cluster.call("POST", CSR_PATH, tls=tls, body=csr_body("steal", pem))
    assert code == 201
    # The approver looked (its Approved condition on the first request shows it runs) and
    # a node holds no `nodeclient`: the request waits for a person.
    await cluster.call("POST", CSR_PATH, token=TOKEN, body=csr_body(
        "marker", request_pem(f"system:node:{NODE}", ("system:nodes",))))
    await issued(cluster, "marker")
    csr = await cluster.plane.api.get(CERTIFICATESIGNINGREQUESTS, "steal")
    assert not (csr.get("status") or {}).get("conditions")


async def test_an_api_server_client_request_waits_until_a_person_approves_it(
        cluster: Cluster) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = request_pem("jane", ("dev",), key=key)
    body = csr_body("jane", pem, signer="kubernetes.io/kube-apiserver-client",
                    usages=["client auth"])
    code, created = await cluster.call("POST", CSR_PATH, body=body,
                                       tls=cluster.pki.client(cluster.pki.layout.admin))
    assert code == 201, created
    created["status"] = {"conditions": [{"type": "Approved", "status": "True",
                                         "reason": "KubectlApprove", "message": "ok"}]}
    code, _ = await cluster.call("PUT", f"{CSR_PATH}/jane/approval", body=created,
                                 tls=cluster.pki.client(cluster.pki.layout.admin))
    assert code == 200
    user = await whoami(cluster, identity(cluster, "jane", await issued(cluster, "jane"), key))
    assert (user["username"], sorted(user["groups"])) == ("jane",
                                                          ["dev", "system:authenticated"])


async def test_nobody_may_ask_for_a_system_masters_client_certificate(
        cluster: Cluster) -> None:
    body = csr_body("root", request_pem("eve", ("system:masters",)),
                    signer="kubernetes.io/kube-apiserver-client", usages=["client auth"])
    code, status = await cluster.call("POST", CSR_PATH, body=body,
                                      tls=cluster.pki.client(cluster.pki.layout.admin))
    assert (code, status["reason"], status["message"]) == (
        403, "Forbidden", 'certificatesigningrequests.certificates.k8s.io "root" is forbidden: '
        "use of kubernetes.io/kube-apiserver-client signer with system:masters group is not "
        "allowed")


async def test_a_bootstrap_token_may_not_approve_its_own_request(cluster: Cluster) -> None:
    pem = request_pem("jane", ("dev",))
    body = csr_body("sneaky", pem, signer="kubernetes.io/kube-apiserver-client",
                    usages=["client auth"])
    code, created = await cluster.call("POST", CSR_PATH, token=TOKEN, body=body)
    assert code == 201
    created["status"] = {"conditions": [{"type": "Approved", "status": "True"}]}
    code, status = await cluster.call("PUT", f"{CSR_PATH}/sneaky/approval", token=TOKEN,
                                      body=created)
    assert (code, status["reason"]) == (403, "Forbidden")


APPROVER = UserInfo("approver", ("system:authenticated",))


async def grant(cluster: Cluster, name: str, rules: list[Obj]) -> None:
    api = cluster.plane.api
    await api.create(CLUSTERROLES, {"metadata": {"name": name}, "rules": rules})
    await api.create(CLUSTERROLEBINDINGS, {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "User", "apiGroup": RBAC, "name": APPROVER.name}]})


CSR_UPDATES = {"apiGroups": ["certificates.k8s.io"], "verbs": ["get", "update"],
               "resources": ["certificatesigningrequests/approval",
                             "certificatesigningrequests/status"]}


async def pending_client_csr(cluster: Cluster, name: str) -> Obj:
    return await cluster.plane.api.create(CERTIFICATESIGNINGREQUESTS, csr_body(
        name, request_pem("jane", ("dev",)), signer="example.com/my-signer",
        usages=["client auth"]))


async def test_approving_needs_approve_on_the_requests_signer(cluster: Cluster) -> None:
    await grant(cluster, "csr-updates", [CSR_UPDATES])
    csr = await pending_client_csr(cluster, "needs-approver")
    csr["status"] = {"conditions": [{"type": "Approved", "status": "True"}]}
    approver = cluster.plane.api.as_user(APPROVER)
    with pytest.raises(ApiError) as e:
        await approver.update(CERTIFICATESIGNINGREQUESTS, csr, subresource="approval")
    assert (e.value.code, e.value.message) == (
        403, 'certificatesigningrequests.certificates.k8s.io "needs-approver" is forbidden: '
        'user not permitted to approve requests with signerName "example.com/my-signer"')
    await grant(cluster, "approve-my-signer", [{
        "apiGroups": ["certificates.k8s.io"], "verbs": ["approve"], "resources": ["signers"],
        "resourceNames": ["example.com/*"]}])
    await eventually(lambda: approves(approver, csr), plane=cluster.plane,
                     what="the approver's new role to take effect")


async def approves(approver: Any, csr: Obj) -> bool:
    try:
        await approver.update(CERTIFICATESIGNINGREQUESTS, csr, subresource="approval")
    except ApiError as e:
        if e.code != 403:
            raise
        return False
    return True


async def test_writing_a_certificate_needs_sign_on_the_requests_signer(
        cluster: Cluster) -> None:
    await grant(cluster, "csr-updates", [CSR_UPDATES])
    csr = await pending_client_csr(cluster, "needs-signer")
    csr["status"] = {"certificate": base64.b64encode(cluster.pki.layout.ca.cert.read_bytes())
                     .decode()}
    with pytest.raises(ApiError) as e:
        await cluster.plane.api.as_user(APPROVER).update(
            CERTIFICATESIGNINGREQUESTS, csr, subresource="status")
    assert (e.value.code, e.value.message) == (
        403, 'certificatesigningrequests.certificates.k8s.io "needs-signer" is forbidden: '
        'user not permitted to sign requests with signerName "example.com/my-signer"')
