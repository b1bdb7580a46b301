"""DATA/pki: made on first start, reused on restart, each file made again when a rule says
so, keys 0600 always; the API server's names; the service-account key."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from minikube_py.pki.certs import sans_of
from minikube_py.pki.cluster import (
    ADMIN,
    KUBELET_CLIENT,
    CertSpec,
    KeyPair,
    PkiLayout,
    api_server_spec,
    ensure_cluster_pki,
    kubelet_serving_spec,
    load_service_account_key,
    peer_spec,
    subject_alt_name,
)
from minikube_py.store.peer_identity import certified_members, member_uri

T0 = datetime(2030, 1, 1, tzinfo=UTC)
SERVICE_NAMES = {"kubernetes", "kubernetes.default", "kubernetes.default.svc",
                 "kubernetes.default.svc.cluster.local"}


def leaves(layout: PkiLayout, node_ip: str = "10.244.0.1",
           extra_sans: tuple[str, ...] = ()) -> list[tuple[KeyPair, CertSpec]]:
    return [(layout.api_server, api_server_spec(node_ip=node_ip, service_cidr="10.96.0.0/12",
                                                extra_sans=extra_sans)),
            (layout.admin, ADMIN), (layout.kubelet_client, KUBELET_CLIENT),
            (layout.kubelet("n1"), kubelet_serving_spec("n1", node_ip))]


@pytest.fixture
def layout(tmp_path: Path) -> PkiLayout:
    return PkiLayout(tmp_path / "pki")


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def snapshot(layout: PkiLayout) -> dict[str, bytes]:
    return {str(p.relative_to(layout.root)): p.read_bytes()
            for p in sorted(layout.root.rglob("*")) if p.is_file()}


def test_the_first_start_makes_every_file(layout: PkiLayout) -> None:
    made = ensure_cluster_pki(layout, leaves(layout), T0)
    assert made == ["made the cluster CA (none existed)",
                    "made apiserver.crt (none existed)", "made admin.crt (none existed)",
                    "made apiserver-kubelet-client.crt (none existed)",
                    "made kubelets/n1.crt (none existed)",
                    "made the service-account signing key sa.key"]
    assert sorted(snapshot(layout)) == [
        "admin.crt", "admin.key", "apiserver-kubelet-client.crt",
        "apiserver-kubelet-client.key", "apiserver.crt", "apiserver.key", "ca.crt", "ca.key",
        "kubelets/n1.crt", "kubelets/n1.key", "sa.key", "sa.pub"]


def test_private_keys_are_readable_by_the_owner_only(layout: PkiLayout) -> None:
    ensure_cluster_pki(layout, leaves(layout), T0)
    modes = {str(p.relative_to(layout.root)): p.stat().st_mode & 0o777
             for p in layout.root.rglob("*") if p.is_file()}
    assert {name for name, mode in modes.items() if mode == 0o600} == \
        {name for name in modes if name.endswith(".key")}
    assert {mode for name, mode in modes.items() if not name.endswith(".key")} == {0o644}
    assert layout.root.stat().st_mode & 0o777 == 0o700


def test_keys_are_private_whatever_the_umask(layout: PkiLayout) -> None:
    old = os.umask(0)
    try:
        ensure_cluster_pki(layout, leaves(layout), T0)
    finally:
        os.umask(old)
    assert layout.ca.key.stat().st_mode & 0o777 == 0o600


def test_a_restart_reuses_everything(layout: PkiLayout) -> None:
    ensure_cluster_pki(layout, leaves(layout), T0)
    before = snapshot(layout)
    assert ensure_cluster_pki(layout, leaves(layout), T0 + timedelta(days=200)) == []
    assert snapshot(layout) == before


def test_a_loosened_key_is_made_private_again_on_restart(layout: PkiLayout) -> None:
    ensure_cluster_pki(layout, leaves(layout), T0)
    os.chmod(layout.admin.key, 0o644)
    os.chmod(layout.service_account_key, 0o640)
    assert ensure_cluster_pki(layout, leaves(layout), T0) == []
    assert layout.admin.key.stat().st_mode & 0o777 == 0o600
    assert layout.service_account_key.stat().st_mode & 0o777 == 0o600


def test_a_new_node_address_renews_the_certificates_that_name_it(layout: PkiLayout) -> None:
    ensure_cluster_pki(layout, leaves(layout), T0)
    before = snapshot(layout)
    made = ensure_cluster_pki(layout, leaves(layout, node_ip="10.244.9.1"), T0)
    assert made == ["made apiserver.crt (it lacks 10.244.9.1)",
                    "made kubelets/n1.crt (it lacks 10.244.9.1)"]
    assert "10.244.9.1" in sans_of(cert(layout.api_server.cert))
    after = snapshot(layout)
    assert [k for k in before if before[k] != after[k]] == [
        "apiserver.crt", "apiserver.key", "kubelets/n1.crt", "kubelets/n1.key"]


def test_an_added_tls_san_renews_the_serving_certificate(layout: PkiLayout) -> None:
    ensure_cluster_pki(layout, leaves(layout), T0)
    made = ensure_cluster_pki(layout, leaves(layout, extra_sans=("my.laptop",)), T0)
    assert made == ["made apiserver.crt (it lacks my.laptop)"]


def test_a_peer_certificate_without_its_member_id_is_made_again_naming_it(
        layout: PkiLayout) -> None:
    """A member's peer certificate made before ids were bound to certificates (or for
    another member) is issued again from the CA on the member's next start."""
    ensure_cluster_pki(layout, [(layout.peer, peer_spec("a", ("10.0.0.5",)))], T0)
    uri = member_uri(0xC1, 0x5A)
    made = ensure_cluster_pki(layout, [(layout.peer, peer_spec("a", ("10.0.0.5",), uri))], T0)
    assert made == [f"made peer.crt (it lacks {uri})"]
    issued = cert(layout.peer.cert)
    san = issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    shown = {"subjectAltName": [("URI", u) for u in
                                san.get_values_for_type(x509.UniformResourceIdentifier)]}
    assert certified_members(shown) == {(0xC1, 0x5A)}
    assert {"10.0.0.5", "127.0.0.1", "localhost", uri} == sans_of(issued)
    assert ensure_cluster_pki(layout, [(layout.peer, peer_spec("a", ("10.0.0.5",), uri))],
                              T0) == []


def test_an_expiring_leaf_is_made_again_and_the_ca_kept(layout: PkiLayout) -> None:
    ensure_cluster_pki(layout, leaves(layout), T0)
    ca = layout.ca.cert.read_bytes()
    made = ensure_cluster_pki(layout, leaves(layout), T0 + timedelta(days=340))
    assert len(made) == 4 and all("expires on" in m for m in made)
    assert layout.ca.cert.read_bytes() == ca
    assert cert(layout.admin.cert).not_valid_after_utc > T0 + timedelta(days=700)


def test_an_expiring_ca_is_made_again_with_every_leaf_but_not_the_signing_key(
        layout: PkiLayout) -> None:
    ensure_cluster_pki(layout, leaves(layout), T0)
    sa = layout.service_account_key.read_bytes()
    made = ensure_cluster_pki(layout, leaves(layout), T0 + timedelta(days=3650 - 100))
    assert made[0].startswith("made the cluster CA (it expires on")
    assert [m.split(" (")[1] for m in made[1:]] == ["the cluster CA did not sign it)"] * 4
    assert layout.service_account_key.read_bytes() == sa


def test_an_unreadable_certificate_is_made_again(layout: PkiLayout) -> None:
    ensure_cluster_pki(layout, leaves(layout), T0)
    layout.admin.cert.write_text("not a certificate")
    layout.kubelet_client.key.unlink()
    assert ensure_cluster_pki(layout, leaves(layout), T0) == [
        "made admin.crt (none existed)", "made apiserver-kubelet-client.crt (none existed)"]


def test_a_certificate_that_lost_its_key_is_made_again(layout: PkiLayout) -> None:
    ensure_cluster_pki(layout, leaves(layout), T0)
    layout.admin.key.write_bytes(layout.kubelet_client.key.read_bytes())
    assert ensure_cluster_pki(layout, leaves(layout), T0) == [
        "made admin.crt (its key does not match)"]


@pytest.mark.parametrize(("api_host", "extra", "more_ips", "more_names"), [
    ("127.0.0.1", (), set(), set()),
    ("0.0.0.0", (), set(), set()),
    ("10.1.2.3", (), {"10.1.2.3"}, set()),
    ("127.0.0.1", ("192.168.7.7", "My.Laptop", "::1"), {"192.168.7.7", "::1"}, {"my.laptop"}),
], ids=["loopback", "every address", "a chosen address", "--tls-san addresses and names"])
def test_the_api_server_is_named_as_clients_reach_it(api_host: str, extra: tuple[str, ...],
                                                     more_ips: set[str],
                                                     more_names: set[str]) -> None:
    spec = api_server_spec(node_ip="10.244.0.1", service_cidr="10.96.0.0/12",
                           api_host=api_host, extra_sans=extra)
    assert set(spec.ip_addresses) == {"127.0.0.1", "10.244.0.1", "10.96.0.1", *more_ips}
    assert set(spec.dns_names) == {"localhost", *SERVICE_NAMES, *more_names}
    assert spec.server and not spec.client


@pytest.mark.parametrize(("value", "normal"), [
    ("10.1.2.3", "10.1.2.3"),
    ("::ffff:10.1.2.3", "::ffff:a01:203"),
    ("My.Laptop.", "my.laptop"),
    ("*.apps.example.com", "*.apps.example.com"),
    ("host-1", "host-1"),
    ("not a name", None),
    ("a..b", None),
    ("-lead.example", None),
    ("*", None),
    ("x" * 64 + ".com", None),
])
def test_a_tls_san_is_an_address_or_a_dns_name(value: str, normal: str | None) -> None:
    if normal is None:
        with pytest.raises(ValueError, match="neither an IP address nor a DNS name"):
            subject_alt_name(value)
    else:
        assert subject_alt_name(value) == normal


def test_the_kubernetes_service_address_is_the_first_of_the_service_range() -> None:
    spec = api_server_spec(node_ip="10.244.201.1", service_cidr="10.112.1.0/24")
    assert "10.112.1.1" in spec.ip_addresses


def test_a_kubelet_serves_under_its_node_name_and_address() -> None:
    spec = kubelet_serving_spec("n1", "10.244.0.1")
    assert (spec.common_name, spec.organizations) == ("system:node:n1", ("system:nodes",))
    assert spec.sans == {"n1", "10.244.0.1"} and spec.server


def test_the_service_account_key_is_made_once_and_loads(layout: PkiLayout) -> None:
    ensure_cluster_pki(layout, leaves(layout), T0)
    key = load_service_account_key(layout)
    assert key.private_key.key_size == 2048
    assert layout.service_account_public_key.read_bytes().startswith(b"-----BEGIN PUBLIC KEY")
    ensure_cluster_pki(layout, leaves(layout), T0)
    assert load_service_account_key(layout).key_id == key.key_id
    assert len(key.key_id) == 43  # base64url of a SHA-256, unpadded
