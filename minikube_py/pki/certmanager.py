"""The pure half of a node's certificate manager (client-go's certificate manager): when a
certificate is renewed, the request a node sends for a new one, and a key pair on disk that
is replaced without ever being half old and half new. The API calls live in
minikube_py/kubelet/certificates.py."""

from __future__ import annotations

import ipaddress
import os
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from minikube_py.pki.certs import PrivateKey, new_key, sans_of
from minikube_py.pki.cluster import (
    CERT_MODE,
    KEY_MODE,
    KeyPair,
    key_pem,
    write_file_atomically,
)

__all__ = ["IssuedPair", "RequestTemplate", "issued_pair", "load_key_pair", "make_request",
           "new_key", "recover_key_pair", "renewal_deadline", "renewal_reason",
           "write_key_pair"]

# client-go's jitter: a renewal falls at 70-90% of the certificate's life, so the nodes of
# a cluster made at the same moment do not all renew at the same moment.
RENEW_FROM = 0.7
RENEW_JITTER = 0.2


def renewal_deadline(not_before: datetime, not_after: datetime, rand: random.Random
                     ) -> datetime:
    """When to renew a certificate valid from `not_before` to `not_after`: at a random
    point between 70% and 90% of its validity (client-go's nextRotationDeadline)."""
    return not_before + (not_after - not_before) * (RENEW_FROM + RENEW_JITTER * rand.random())


@dataclass(frozen=True, slots=True)
class RequestTemplate:
    """What a node's certificate must say, and how it is asked for: the subject and names
    of the PKCS#10 request, and the CSR's signer, usages and requested duration."""

    signer: str
    common_name: str
    organizations: tuple[str, ...]
    usages: tuple[str, ...]
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    name_prefix: str = "node-csr-"
    expiration_seconds: int | None = None

    def request_pem(self, key: PrivateKey) -> bytes:
        return make_request(key, self.common_name, self.organizations, self.dns_names,
                            self.ip_addresses)

    @property
    def subject(self) -> x509.Name:
        return _subject(self.common_name, self.organizations)

    @property
    def sans(self) -> frozenset[str]:
        ips = {str(ipaddress.ip_address(ip)) for ip in self.ip_addresses}
        return frozenset({*self.dns_names, *ips})


def _subject(common_name: str, organizations: Iterable[str]) -> x509.Name:
    # Organizations first, as kubelet's (and our CertSpec's) subjects are ordered, so a
    # renewed certificate's subject compares equal to the one it replaces.
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def make_request(key: PrivateKey, common_name: str, orgs: Iterable[str] = (),
                 dns_names: Iterable[str] = (), ips: Iterable[str] = ()) -> bytes:
    """A PEM PKCS#10 request signed by `key`, naming the subject and the SANs given."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        _subject(common_name, orgs))
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True, slots=True)
class IssuedPair:
    """A certificate (with any chain after it) and the private key it was issued for."""

    cert: x509.Certificate
    cert_pem: bytes
    key: PrivateKey


def issued_pair(cert_pem: bytes, key: PrivateKey) -> IssuedPair:
    """The issued certificate checked against the key it was requested with (ValueError
    saying why not): a signer that answered with someone else's certificate must not
    leave the node with a pair that cannot complete a handshake."""
    try:
        certs = x509.load_pem_x509_certificates(cert_pem)
    except ValueError as e:
        raise ValueError(f"the issued certificate is not PEM: {e}") from None
    if not certs:
        raise ValueError("the issued certificate is empty")
    if certs[0].public_key() != key.public_key():
        raise ValueError("the issued certificate is not for the key that asked for it")
    return IssuedPair(certs[0], cert_pem, key)


def renewal_reason(found: IssuedPair | None, template: RequestTemplate, now: datetime,
                   deadline: datetime | None) -> str | None:
    """Why a new certificate is wanted now (None: keep this one until `deadline`)."""
    if found is None:
        return "none exists"
    if found.cert.subject != template.subject:
        return f"it names {found.cert.subject.rfc4514_string()}, not " \
               f"{template.subject.rfc4514_string()}"
    if sans_of(found.cert) != template.sans:
        return f"it holds {', '.join(sorted(sans_of(found.cert))) or 'no names'}, not " \
               f"{', '.join(sorted(template.sans)) or 'no names'}"
    if now >= found.cert.not_valid_after_utc:
        return "it has expired"
    if deadline is not None and now >= deadline:
        return f"its renewal time {deadline:%Y-%m-%d %H:%M:%S}Z has come"
    return None


# --- the pair on disk -------------------------------------------------------------------
#
# A new pair is written beside the old one (NAME.next), both files made durable, then
# moved over it key first. A crash at any point leaves either the old pair, or a complete
# new pair of which part is still at NAME.next: `recover_key_pair` finishes that move, so a
# restarted node never meets a certificate that does not match its key.

def _next(path: Path) -> Path:
    return path.with_name(f"{path.name}.next")


def write_key_pair(pair: KeyPair, issued: IssuedPair) -> None:
    """Replace the pair on disk with `issued` (the key 0600 from its first byte)."""
    write_file_atomically(_next(pair.key), key_pem(issued.key), KEY_MODE)
    write_file_atomically(_next(pair.cert), issued.cert_pem, CERT_MODE)
    _sync_dir(pair.key.parent)
    _sync_dir(pair.cert.parent)
    os.replace(_next(pair.key), pair.key)
    os.replace(_next(pair.cert), pair.cert)
    _sync_dir(pair.key.parent)
    _sync_dir(pair.cert.parent)


def recover_key_pair(pair: KeyPair) -> None:
    """Finish a replacement a crash interrupted, or drop a new pair that was not yet
    complete (the old one stays)."""
    cert_next, key_next = _next(pair.cert), _next(pair.key)
    if not cert_next.exists() and not key_next.exists():
        return
    cert_path = cert_next if cert_next.exists() else pair.cert
    key_path = key_next if key_next.exists() else pair.key
    if _read(cert_path, key_path) is not None:
        for new, old in ((key_next, pair.key), (cert_next, pair.cert)):
            if new.exists():
                os.replace(new, old)
    else:
        cert_next.unlink(missing_ok=True)
        key_next.unlink(missing_ok=True)
    _sync_dir(pair.cert.parent)


def load_key_pair(pair: KeyPair) -> IssuedPair | None:
    """The pair on disk (after recovering an interrupted replacement), or None when it is
    missing, unreadable, or its certificate is not for its key."""
    recover_key_pair(pair)
    return _read(pair.cert, pair.key)


def _read(cert_path: Path, key_path: Path) -> IssuedPair | None:
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        if not isinstance(key, PrivateKey):
            return None
        return issued_pair(cert_path.read_bytes(), key)
    except (OSError, ValueError, TypeError):
        return None


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
