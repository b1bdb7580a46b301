"""The certificate manager's pure half: when a certificate is renewed, the request a node
sends, the issued certificate checked against its key, and a key pair replaced on disk so
that a crash at any step leaves a pair whose certificate matches its key."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from minikube_py.pki.certmanager import (
    IssuedPair,
    RequestTemplate,
    issued_pair,
    load_key_pair,
    make_request,
    new_key,
    recover_key_pair,
    renewal_deadline,
    renewal_reason,
    write_key_pair,
)
from minikube_py.pki.certs import issue_ca
from minikube_py.pki.cluster import KeyPair, key_pem
from minikube_py.pki.csr import (
    SigningCa,
    certificate_pem,
    common_name,
    organizations,
    parse_request,
    sign,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CA_KEY = ec.generate_private_key(ec.SECP256R1())
CA = SigningCa(issue_ca(CA_KEY, "test-ca", NOW - timedelta(days=1)), CA_KEY)
SERVING = RequestTemplate("kubernetes.io/kubelet-serving", "system:node:n1",
                          ("system:nodes",), ("digital signature", "server auth"),
                          dns_names=("n1",), ip_addresses=("10.200.0.11",))


def issued(template: RequestTemplate = SERVING, *, now: datetime = NOW,
           seconds: int = 3600, key: ec.EllipticCurvePrivateKey | None = None) -> IssuedPair:
    key = key or new_key()
    cert = sign(parse_request(template.request_pem(key)), list(template.usages), CA, now,
                seconds)
    return issued_pair(certificate_pem(cert), key)


@pytest.mark.parametrize(("draw", "fraction"), [(0.0, 0.7), (0.5, 0.8), (0.999999, 0.9)])
def test_the_renewal_deadline_falls_between_70_and_90_percent_of_the_validity(
        draw: float, fraction: float) -> None:
    class Fixed(random.Random):
        def random(self) -> float:
            return draw

    start, end = NOW, NOW + timedelta(days=10)
    deadline = renewal_deadline(start, end, Fixed())
    assert abs((deadline - start) - (end - start) * fraction) < timedelta(seconds=1)


def test_renewal_deadlines_are_spread_by_the_random_source() -> None:
    rand = random.Random(7)
    deadlines = {renewal_deadline(NOW, NOW + timedelta(days=10), rand) for _ in range(20)}
    assert len(deadlines) == 20
    assert all(NOW + timedelta(days=7) <= d <= NOW + timedelta(days=9) for d in deadlines)


def test_the_request_names_the_subject_and_sans_and_is_signed_by_the_key() -> None:
    key = new_key()
    request = parse_request(make_request(key, "system:node:n1", ("system:nodes",), ("n1",),
                                         ("10.200.0.11", "fd00::11")))
    assert (common_name(request), organizations(request)) == ("system:node:n1",
                                                              ["system:nodes"])
    sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["n1"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == [
        "10.200.0.11", "fd00::11"]
    assert request.public_key() == key.public_key()


def test_a_kubelets_key_is_ecdsa_p256() -> None:
    key = new_key()
    assert isinstance(key.curve, ec.SECP256R1)


def test_a_certificate_for_another_key_is_refused() -> None:
    other = issued()
    with pytest.raises(ValueError, match="not for the key that asked for it"):
        issued_pair(other.cert_pem, new_key())


def test_an_issued_certificate_that_is_not_pem_is_refused() -> None:
    with pytest.raises(ValueError, match="not PEM"):
        issued_pair(b"garbage", new_key())


def test_a_current_certificate_is_kept_until_its_deadline() -> None:
    found = issued()
    deadline = NOW + timedelta(minutes=45)
    assert renewal_reason(found, SERVING, NOW + timedelta(minutes=10), deadline) is None
    assert renewal_reason(found, SERVING, deadline, deadline) == \
        "its renewal time 2026-01-01 00:45:00Z has come"


@pytest.mark.parametrize(("template", "at", "why"), [
    (SERVING, NOW + timedelta(hours=2), "it has expired"),
    (RequestTemplate(SERVING.signer, "system:node:n2", ("system:nodes",), SERVING.usages,
                     dns_names=("n1",), ip_addresses=("10.200.0.11",)), NOW,
     "it names CN=system:node:n1,O=system:nodes, not CN=system:node:n2,O=system:nodes"),
    (RequestTemplate(SERVING.signer, SERVING.common_name, SERVING.organizations,
                     SERVING.usages, dns_names=("n1",), ip_addresses=("10.200.0.12",)), NOW,
     "it holds 10.200.0.11, n1, not 10.200.0.12, n1"),
], ids=["expired", "other-subject", "address-changed"])
def test_a_certificate_is_renewed_at_once_when(template: RequestTemplate, at: datetime,
                                               why: str) -> None:
    assert renewal_reason(issued(), template, at, NOW + timedelta(days=1)) == why


def test_a_missing_certificate_is_requested_at_once() -> None:
    assert renewal_reason(None, SERVING, NOW, None) == "none exists"


def pair_in(tmp_path: Path) -> KeyPair:
    return KeyPair(tmp_path / "kubelet.crt", tmp_path / "kubelet.key")


def test_a_written_pair_loads_back_with_the_key_private(tmp_path: Path) -> None:
    pair, new = pair_in(tmp_path), issued()
    write_key_pair(pair, new)
    assert os.stat(pair.key).st_mode & 0o777 == 0o600
    loaded = load_key_pair(pair)
    assert loaded is not None and loaded.cert == new.cert
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kubelet.crt", "kubelet.key"]


def test_a_new_pair_replaces_the_old(tmp_path: Path) -> None:
    pair = pair_in(tmp_path)
    write_key_pair(pair, issued())
    newer = issued()
    write_key_pair(pair, newer)
    loaded = load_key_pair(pair)
    assert loaded is not None and loaded.cert == newer.cert


def test_a_missing_or_mismatched_pair_loads_as_none(tmp_path: Path) -> None:
    pair = pair_in(tmp_path)
    assert load_key_pair(pair) is None
    write_key_pair(pair, issued())
    pair.key.write_bytes(key_pem(new_key()))
    assert load_key_pair(pair) is None


def next_of(path: Path) -> Path:
    return path.with_name(path.name + ".next")


def test_a_crash_after_the_key_was_moved_is_finished_on_load(tmp_path: Path) -> None:
    pair, old, new = pair_in(tmp_path), issued(), issued()
    write_key_pair(pair, old)
    # The crash: the new key already in place, the new certificate still beside it.
    pair.key.write_bytes(key_pem(new.key))
    next_of(pair.cert).write_bytes(new.cert_pem)
    loaded = load_key_pair(pair)
    assert loaded is not None and loaded.cert == new.cert
    assert not next_of(pair.cert).exists()


def test_a_crash_before_the_new_pair_was_complete_keeps_the_old(tmp_path: Path) -> None:
    pair, old, new = pair_in(tmp_path), issued(), issued()
    write_key_pair(pair, old)
    next_of(pair.key).write_bytes(key_pem(new.key))  # its certificate never written
    loaded = load_key_pair(pair)
    assert loaded is not None and loaded.cert == old.cert
    assert not next_of(pair.key).exists()


def test_recovering_a_pair_with_nothing_pending_changes_nothing(tmp_path: Path) -> None:
    pair = pair_in(tmp_path)
    write_key_pair(pair, issued())
    before = (pair.cert.read_bytes(), pair.key.read_bytes())
    recover_key_pair(pair)
    assert (pair.cert.read_bytes(), pair.key.read_bytes()) == before
