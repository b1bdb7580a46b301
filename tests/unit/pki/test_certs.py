"""When a certificate must be made again: one rule per row, for leaves and for the CA."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509

from minikube_py.pki.certs import (
    CertSpec,
    ca_renewal_reason,
    issue,
    issue_ca,
    leaf_renewal_reason,
    new_key,
    sans_of,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)
SERIALS = itertools.count(1).__next__
CA_KEY = new_key()
CA = issue_ca(CA_KEY, "test-ca", T0, SERIALS)
OTHER_CA_KEY = new_key()
OTHER_CA = issue_ca(OTHER_CA_KEY, "test-ca", T0, SERIALS)  # same name, another key
SPEC = CertSpec("kube-apiserver", dns_names=("localhost", "kubernetes"),
                ip_addresses=("127.0.0.1", "10.244.0.1"), server=True)
KEY = new_key()
LEAF = issue(SPEC, KEY, CA, CA_KEY, T0, SERIALS)


def test_a_leaf_holds_what_its_spec_says() -> None:
    assert LEAF.subject.rfc4514_string() == "CN=kube-apiserver"
    assert sans_of(LEAF) == {"localhost", "kubernetes", "127.0.0.1", "10.244.0.1"}
    assert LEAF.not_valid_after_utc - T0 == timedelta(days=365)
    LEAF.verify_directly_issued_by(CA)


def test_a_client_certificate_carries_its_groups_as_organizations() -> None:
    spec = CertSpec("kubernetes-admin", ("system:masters", "team"), client=True)
    cert = issue(spec, new_key(), CA, CA_KEY, T0, SERIALS)
    assert cert.subject.rfc4514_string() == "CN=kubernetes-admin,O=team,O=system:masters"


def test_a_leaf_never_outlives_its_ca() -> None:
    late = T0 + timedelta(days=3650 - 100)
    cert = issue(SPEC, KEY, CA, CA_KEY, late, SERIALS)
    assert cert.not_valid_after_utc == CA.not_valid_after_utc


def test_a_certificate_for_no_purpose_is_refused() -> None:
    with pytest.raises(ValueError, match="neither a server nor a client"):
        issue(CertSpec("nobody"), KEY, CA, CA_KEY, T0, SERIALS)


def _with(**changes: object) -> CertSpec:
    fields = {"common_name": SPEC.common_name, "organizations": SPEC.organizations,
              "dns_names": SPEC.dns_names, "ip_addresses": SPEC.ip_addresses,
              "server": SPEC.server, "client": SPEC.client, **changes}
    return CertSpec(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("cert", "key", "spec", "ca", "now", "reason"), [
    (LEAF, KEY, SPEC, CA, T0 + timedelta(days=100), None),
    (LEAF, KEY, _with(ip_addresses=("127.0.0.1", "10.244.0.1")[::-1]), CA, T0, None),
    (LEAF, KEY, SPEC, CA, T0 + timedelta(days=366), "it has expired"),
    (LEAF, KEY, SPEC, CA, T0 + timedelta(days=340), "it expires on 2031-01-01"),
    (LEAF, KEY, SPEC, CA, T0 - timedelta(days=1), "it is not valid yet (the clock went back)"),
    (LEAF, KEY, _with(ip_addresses=("127.0.0.1", "10.244.7.1")), CA, T0,
     "it lacks 10.244.7.1"),
    (LEAF, KEY, _with(dns_names=("localhost", "kubernetes", "my.laptop")), CA, T0,
     "it lacks my.laptop"),
    (LEAF, KEY, _with(dns_names=("localhost",)), CA, T0,
     "it holds kubernetes, no longer wanted"),
    (LEAF, KEY, SPEC, OTHER_CA, T0, "the cluster CA did not sign it"),
    (LEAF, new_key(), SPEC, CA, T0, "its key does not match"),
    (LEAF, KEY, _with(common_name="other"), CA, T0,
     "it names CN=kube-apiserver, not CN=other"),
    (LEAF, KEY, _with(client=True), CA, T0, "its usages differ"),
], ids=["fresh", "order of names does not matter", "expired", "expires within 30 days",
        "not valid yet", "node address changed", "a --tls-san added", "a name dropped",
        "another CA", "another key", "another subject", "another usage"])
def test_when_a_leaf_is_made_again(cert: x509.Certificate, key: object, spec: CertSpec,
                                   ca: x509.Certificate, now: datetime,
                                   reason: str | None) -> None:
    assert leaf_renewal_reason(cert, key, spec, ca, now) == reason  # type: ignore[arg-type]


@pytest.mark.parametrize(("cert", "key", "now", "reason"), [
    (CA, CA_KEY, T0 + timedelta(days=365 * 8), None),
    (CA, CA_KEY, T0 + timedelta(days=3650 - 200), "it expires on 2039-12-30"),
    (CA, CA_KEY, T0 + timedelta(days=3651), "it has expired"),
    (CA, OTHER_CA_KEY, T0, "its key does not match"),
    (LEAF, KEY, T0, "it is not a CA"),
], ids=["fresh", "could not sign a leaf for a full year", "expired", "another key",
        "not a CA"])
def test_when_the_ca_is_made_again(cert: x509.Certificate, key: object, now: datetime,
                                   reason: str | None) -> None:
    assert ca_renewal_reason(cert, key, now) == reason  # type: ignore[arg-type]
