"""The CSR cryptography: the kubelet signers' rules, what each signer refuses, kube's
duration rules, and certificates that verify against the CA with what was asked."""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from minikube_py.pki.certs import issue_ca
from minikube_py.pki.csr import (
    BACKDATE,
    SigningCa,
    kubelet_client_error,
    kubelet_serving_error,
    parse_request,
    sign,
    signer_refusal,
    validity,
)
from tests.csrs import request_pem

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CA_KEY = ec.generate_private_key(ec.SECP256R1())
CA = SigningCa(issue_ca(CA_KEY, "test-ca", NOW - timedelta(days=1)), CA_KEY)
CLIENT = ["digital signature", "client auth"]
SERVING = ["digital signature", "key encipherment", "server auth"]


def request(cn: str = "system:node:n1", orgs: tuple[str, ...] = ("system:nodes",),
            **kw: tuple[str, ...]) -> x509.CertificateSigningRequest:
    return parse_request(request_pem(cn, orgs, **kw))


def test_a_request_that_is_not_pem_is_refused_with_kubes_words() -> None:
    with pytest.raises(ValueError, match=r"^PEM block type must be CERTIFICATE REQUEST$"):
        parse_request(b"not a request")


@pytest.mark.parametrize(("req", "usages", "why"), [
    (request(), CLIENT, None),
    (request(), ["digital signature", "key encipherment", "client auth"], None),
    (request(orgs=("system:masters",)), CLIENT, "subject organization is not system:nodes"),
    (request(orgs=()), CLIENT, "subject organization is not system:nodes"),
    (request(cn="jane"), CLIENT, "subject common name does not begin with system:node:"),
    (request(dns_names=("n1",)), CLIENT, "DNS subjectAltNames are not allowed"),
    (request(ip_addresses=("10.0.0.1",)), CLIENT, "IP subjectAltNames are not allowed"),
    (request(), ["client auth"],
     "usages did not match ['client auth', 'digital signature', 'key encipherment']"),
], ids=["ecdsa-usages", "rsa-usages", "masters", "no-org", "not-a-node", "dns-san", "ip-san",
        "too-few-usages"])
def test_kubelet_client_rule(req: x509.CertificateSigningRequest, usages: list[str],
                             why: str | None) -> None:
    assert kubelet_client_error(req, usages) == why


@pytest.mark.parametrize(("req", "usages", "why"), [
    (request(dns_names=("n1",), ip_addresses=("10.0.0.1",)), SERVING, None),
    (request(), SERVING, "DNS or IP subjectAltName is required"),
    (request(dns_names=("n1",)), CLIENT,
     "usages did not match ['digital signature', 'key encipherment', 'server auth']"),
    (request(cn="web", dns_names=("n1",)), SERVING,
     "subject common name does not begin with system:node:"),
], ids=["valid", "no-san", "client-usages", "not-a-node"])
def test_kubelet_serving_rule(req: x509.CertificateSigningRequest, usages: list[str],
                              why: str | None) -> None:
    assert kubelet_serving_error(req, usages) == why


def test_the_api_server_client_signer_refuses_a_server_usage() -> None:
    assert signer_refusal("kubernetes.io/kube-apiserver-client", request(cn="jane"),
                          ["client auth", "server auth"]) == \
        "invalid usage for client certificate: server auth"


@pytest.mark.parametrize(("seconds", "lifetime"), [
    (None, timedelta(days=365) - BACKDATE),  # the signing duration
    (3600, timedelta(hours=1)),  # short: no backdate taken off the end
    (86400, timedelta(days=1) - BACKDATE),
    (10 * 365 * 86400, timedelta(days=365) - BACKDATE),  # capped
], ids=["unset", "one-hour", "one-day", "over-the-cap"])
def test_validity_follows_the_requested_duration(seconds: int | None,
                                                 lifetime: timedelta) -> None:
    not_before, not_after = validity(NOW, seconds, NOW + timedelta(days=3650))
    assert (not_before, not_after) == (NOW - BACKDATE, NOW + lifetime)


def test_validity_never_passes_the_ca() -> None:
    assert validity(NOW, None, NOW + timedelta(days=2))[1] == NOW + timedelta(days=2)


def test_a_signed_certificate_verifies_against_the_ca_with_the_subject_and_usages() -> None:
    cert = sign(request(), ["digital signature", "client auth"], CA, NOW, 3600)
    cert.verify_directly_issued_by(CA.cert)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == \
        "system:node:n1"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == \
        "system:nodes"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_encipherment
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == \
        timedelta(hours=1) + BACKDATE
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_serving_certificate_keeps_the_requested_names() -> None:
    cert = sign(request(dns_names=("n1",), ip_addresses=("10.0.0.1",)), SERVING, CA, NOW,
                None)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["n1"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["10.0.0.1"]
