"""The CSR approver's and signer's decisions: which requests are the approver's, the
SubjectAccessReview it asks, the condition it adds; which requests the signer signs, and
what it writes when its signer refuses one."""

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from minikube_py.controllers.csrapproving import (
    NODE_CLIENT,
    SELF_NODE_CLIENT,
    access_review,
    approved,
    decided,
    permissions_to_check,
)
from minikube_py.controllers.csrsigning import signed_status, to_sign
from minikube_py.pki.certs import issue_ca
from minikube_py.pki.csr import SigningCa
from tests.csrs import KUBELET_CLIENT_SIGNER, NODE_CLIENT_USAGES, request_b64

Obj = dict[str, Any]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
APPROVED = {"type": "Approved", "status": "True"}
NODE_REQUEST = request_b64("system:node:n1", ("system:nodes",))


def csr(request: str = NODE_REQUEST, *, signer: str = KUBELET_CLIENT_SIGNER,
        username: str = "system:bootstrap:abcdef", usages: list[str] | None = None,
        **status: Any) -> Obj:
    return {"metadata": {"name": "c"},
            "spec": {"request": request, "signerName": signer, "username": username,
                     "groups": ["system:bootstrappers", "system:authenticated"],
                     "usages": usages or list(NODE_CLIENT_USAGES)},
            "status": status}


@pytest.mark.parametrize(("obj", "permissions"), [
    (csr(), [NODE_CLIENT]),
    (csr(username="system:node:n1"), [SELF_NODE_CLIENT, NODE_CLIENT]),
    (csr(signer="kubernetes.io/kube-apiserver-client"), []),
    (csr(request_b64("system:node:n1", ("system:masters",))), []),
    (csr(usages=["client auth"]), []),
    (csr(base64.b64encode(b"junk").decode()), []),
], ids=["bootstrap-token", "renewal", "other-signer", "not-system-nodes", "wrong-usages",
        "unparsable"])
def test_which_permissions_would_approve(obj: Obj, permissions: list[Any]) -> None:
    assert permissions_to_check(obj) == permissions


@pytest.mark.parametrize(("status", "done"), [
    ({}, False),
    ({"conditions": [APPROVED]}, True),
    ({"conditions": [{"type": "Denied", "status": "True"}]}, True),
    ({"certificate": "eA=="}, True),
])
def test_the_approver_leaves_decided_requests_alone(status: Obj, done: bool) -> None:
    assert decided(csr(**status)) is done


def test_the_review_asks_about_the_requester_and_the_subresource() -> None:
    assert access_review(csr(), NODE_CLIENT)["spec"] == {
        "user": "system:bootstrap:abcdef",
        "groups": ["system:bootstrappers", "system:authenticated"],
        "resourceAttributes": {"group": "certificates.k8s.io",
                               "resource": "certificatesigningrequests", "verb": "create",
                               "subresource": "nodeclient"}}


def test_approval_appends_kubes_condition() -> None:
    out = approved(csr(), SELF_NODE_CLIENT.message, "2026-01-01T00:00:00Z")
    assert out["status"]["conditions"] == [{
        "type": "Approved", "status": "True", "reason": "AutoApproved",
        "message": "Auto approving self kubelet client certificate after SubjectAccessReview.",
        "lastUpdateTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"}]


@pytest.mark.parametrize(("obj", "signs"), [
    (csr(conditions=[APPROVED]), True),
    (csr(), False),
    (csr(conditions=[APPROVED], certificate="eA=="), False),
    (csr(conditions=[APPROVED, {"type": "Failed", "status": "True"}]), False),
    (csr(signer="example.com/other", conditions=[APPROVED]), False),
], ids=["approved", "pending", "issued", "failed", "someone-elses-signer"])
def test_which_requests_the_signer_signs(obj: Obj, signs: bool) -> None:
    assert to_sign(obj) is signs


CA_KEY = ec.generate_private_key(ec.SECP256R1())
CA = SigningCa(issue_ca(CA_KEY, "test-ca", NOW - timedelta(days=1)), CA_KEY)


def test_the_signer_writes_a_certificate_the_ca_signed() -> None:
    status = signed_status(csr(conditions=[APPROVED]), CA, NOW, x509.random_serial_number)
    cert = x509.load_pem_x509_certificate(base64.b64decode(status["certificate"]))
    cert.verify_directly_issued_by(CA.cert)
    assert status["conditions"] == [APPROVED]


def test_a_request_its_signer_refuses_fails_saying_why() -> None:
    obj = csr(request_b64("jane", ("system:nodes",)), conditions=[APPROVED])
    status = signed_status(obj, CA, NOW, x509.random_serial_number)
    assert "certificate" not in status
    assert status["conditions"][-1] == {
        "type": "Failed", "status": "True", "reason": "SignerValidationFailure",
        "message": "subject common name does not begin with system:node:",
        "lastUpdateTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"}
