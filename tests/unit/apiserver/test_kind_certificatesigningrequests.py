"""CertificateSigningRequests' strategy: kube's validation messages, the requester written by
the server, and what the main resource, `approval` and `status` may each change."""

import asyncio
import base64
import copy

import pytest

from minikube_py.api import resources as r
from minikube_py.apiserver.authn import UserInfo
from minikube_py.apiserver.kinds.certificatesigningrequests import csr_condition
from minikube_py.apiserver.options import RequestOptions
from minikube_py.pki.csr import VALID_USAGES
from tests.csrs import request_pem
from tests.unit.apiserver.kind_objects import (
    Cause,
    Obj,
    csr,
    strategy,
    update_causes,
)
from tests.unit.apiserver.kind_objects import causes as create_causes
from tests.unit.apiserver.kinds import validate_create, validate_update

CSRS = r.CERTIFICATESIGNINGREQUESTS
NOT_A_REQUEST = base64.b64encode(b"hello").decode()
SUPPORTED = ", ".join(f'"{u}"' for u in VALID_USAGES)
APPROVED = {"type": "Approved", "status": "True", "reason": "AutoApproved"}
DENIED = {"type": "Denied", "status": "True", "reason": "No"}


def with_status(obj: Obj, **status: object) -> Obj:
    return {**obj, "status": dict(status)}


@pytest.mark.parametrize(("obj", "expected"), [
    (csr(request=NOT_A_REQUEST),
     [("FieldValueInvalid", "spec.request",
       f'Invalid value: "{NOT_A_REQUEST}": PEM block type must be CERTIFICATE REQUEST')]),
    (csr(usages=[]), [("FieldValueRequired", "spec.usages", "Required value")]),
    (csr(usages=["client auth", "flying"]),
     [("FieldValueNotSupported", "spec.usages[1]",
       f'Unsupported value: "flying": supported values: {SUPPORTED}')]),
    (csr(usages=["client auth", "client auth"]),
     [("FieldValueDuplicate", "spec.usages[1]", 'Duplicate value: "client auth"')]),
    (csr(signerName=""), [("FieldValueRequired", "spec.signerName", "Required value")]),
    (csr(signerName="signer"),
     [("FieldValueInvalid", "spec.signerName",
       "Invalid value: \"signer\": must be a fully qualified domain and path of the form "
       "'example.com/signer-name'")]),
    (csr(signerName="example/signer"),
     [("FieldValueInvalid", "spec.signerName", 'Invalid value: "example": should be a domain '
                                               "with at least two segments separated by dots")]),
    (csr(signerName="kubernetes.io/legacy-unknown"),
     [("FieldValueInvalid", "spec.signerName", 'Invalid value: "kubernetes.io/legacy-unknown": '
                                               "the legacy signerName is not allowed via this "
                                               "API version")]),
    (csr(expirationSeconds=599),
     [("FieldValueInvalid", "spec.expirationSeconds",
       "Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)")]),
], ids=["unparsable-request", "no-usages", "unknown-usage", "duplicate-usage", "no-signer",
        "signer-without-path", "signer-domain-of-one-label", "legacy-signer",
        "under-ten-minutes"])
def test_create_rule(obj: Obj, expected: list[Cause]) -> None:
    assert create_causes(CSRS, obj) == expected


def test_a_request_to_any_other_signer_is_accepted() -> None:
    validate_create(CSRS, csr(signerName="example.com/my-signer", expirationSeconds=600))


def test_create_drops_the_status_and_the_requester_the_body_sent() -> None:
    obj = with_status(csr(username="system:admin", groups=["system:masters"]),
                      conditions=[APPROVED])
    strategy(CSRS).prepare_for_create(obj)
    assert obj["status"] == {} and "username" not in obj["spec"] and "groups" not in obj["spec"]


def test_the_requester_is_who_sent_the_request() -> None:
    obj = csr()
    user = UserInfo("system:bootstrap:abcdef", ("system:bootstrappers",
                                                "system:authenticated"), uid="u1",
                    extra={"scope": ["x"]})
    asyncio.run(strategy(CSRS).before_create(obj, RequestOptions(user=user)))
    assert {k: obj["spec"][k] for k in ("username", "uid", "groups", "extra")} == {
        "username": "system:bootstrap:abcdef", "uid": "u1",
        "groups": ["system:bootstrappers", "system:authenticated"], "extra": {"scope": ["x"]}}


def test_a_main_resource_update_keeps_spec_and_status() -> None:
    old = with_status(csr(username="jane"), conditions=[APPROVED])
    new = with_status(csr(username="mallory", usages=["server auth"]), certificate="eA==")
    strategy(CSRS).prepare_for_update(new, copy.deepcopy(old))
    assert (new["spec"], new["status"]) == (old["spec"], old["status"])


def test_approval_takes_the_conditions_and_keeps_the_certificate() -> None:
    old = with_status(csr(), certificate="c3RvcmVk")
    body = with_status(csr(), conditions=[APPROVED], certificate="Zm9yZ2Vk")
    new = strategy(CSRS).prepare_for_subresource_update("approval", body, old)
    assert new["status"] == {"certificate": "c3RvcmVk", "conditions": [APPROVED]}


def test_status_keeps_the_approval_the_body_dropped() -> None:
    old = with_status(csr(), conditions=[APPROVED])
    body = with_status(csr(), certificate="Zm9yZ2Vk")
    new = strategy(CSRS).prepare_for_subresource_update("status", body, old)
    assert new["status"] == {"certificate": "Zm9yZ2Vk", "conditions": [APPROVED]}


def test_a_condition_keeps_its_transition_time_from_the_stored_one() -> None:
    old = with_status(csr(), conditions=[{**APPROVED, "lastTransitionTime": "2024-01-01T00:00:00Z"}])
    body = with_status(csr(), conditions=[{**APPROVED, "lastUpdateTime": "2024-02-02T00:00:00Z"}])
    new = strategy(CSRS).prepare_for_subresource_update("approval", body, old)
    assert new["status"]["conditions"][0]["lastTransitionTime"] == "2024-01-01T00:00:00Z"


@pytest.mark.parametrize(("old_status", "new_status", "expected"), [
    ({}, {"conditions": [APPROVED, DENIED]},
     [("FieldValueInvalid", "status.conditions[1].type",
       'Invalid value: "Denied": Approved and Denied conditions are mutually exclusive')]),
    ({}, {"conditions": [{**APPROVED, "status": "False"}]},
     [("FieldValueNotSupported", "status.conditions[0].status",
       'Unsupported value: "False": supported values: "True"')]),
    ({}, {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Ready",
                                                             "status": "True"}]},
     [("FieldValueDuplicate", "status.conditions[1].type", 'Duplicate value: "Ready"')]),
    ({"conditions": [APPROVED]}, {},
     [("FieldValueForbidden", "status.conditions",
       'Forbidden: updates may not remove a condition of type "Approved"')]),
    ({}, {"certificate": "aGVsbG8="},
     [("FieldValueInvalid", "status.certificate",
       'Invalid value: "<certificate data>": must contain at least one CERTIFICATE PEM '
       "block")]),
], ids=["approved-and-denied", "approved-not-true", "duplicate-type", "approval-removed",
        "certificate-not-pem"])
def test_update_rule(old_status: Obj, new_status: Obj, expected: list[Cause]) -> None:
    assert update_causes(CSRS, with_status(csr(), **old_status),
                         with_status(csr(), **new_status)) == expected


def test_an_issued_certificate_cannot_be_replaced() -> None:
    pem = base64.b64encode(request_pem("x").replace(b"CERTIFICATE REQUEST",
                                                    b"CERTIFICATE")).decode()
    old = with_status(csr(), conditions=[APPROVED], certificate="c3RvcmVk")
    new = with_status(csr(), conditions=[APPROVED], certificate=pem)
    assert ("FieldValueForbidden", "status.certificate",
            "Forbidden: updates may not modify existing certificate content") in \
        update_causes(CSRS, old, new)


def test_an_unchanged_request_with_an_approval_is_a_valid_update() -> None:
    obj = with_status(csr(), conditions=[APPROVED])
    validate_update(CSRS, obj, copy.deepcopy(obj))


@pytest.mark.parametrize(("status", "shown"), [
    ({}, "Pending"),
    ({"conditions": [APPROVED]}, "Approved"),
    ({"conditions": [APPROVED], "certificate": "eA=="}, "Approved,Issued"),
    ({"conditions": [APPROVED, DENIED]}, "Denied"),
    ({"conditions": [APPROVED, {"type": "Failed", "status": "True"}]}, "Approved,Failed"),
])
def test_condition_column(status: Obj, shown: str) -> None:
    assert csr_condition(with_status(csr(), **status)) == shown


def test_a_row_shows_signer_requestor_and_requested_duration() -> None:
    obj = csr(username="system:bootstrap:abcdef", expirationSeconds=3600)
    obj["metadata"]["creationTimestamp"] = "2023-11-14T22:13:20Z"
    row = strategy(CSRS).printer.row(obj, 1_700_000_000.0 + 120)
    assert row == ["node-csr", "2m", "kubernetes.io/kube-apiserver-client-kubelet",
                   "system:bootstrap:abcdef", "60m", "Pending"]
