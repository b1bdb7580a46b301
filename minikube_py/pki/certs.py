"""X.509 certificates: what one must say (`CertSpec`), issuing it from the cluster CA, and
the pure rule deciding when an existing certificate must be made again. No IO, no clock:
the time and serial numbers come from the caller."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = timedelta(days=3650)
LEAF_VALIDITY = timedelta(days=365)
# A leaf is made again this long before it expires, so a cluster restarted now and then
# never serves an expired certificate; a CA is made again when it could not sign a leaf
# for its full validity.
LEAF_RENEW_BEFORE = timedelta(days=30)
CA_RENEW_BEFORE = LEAF_VALIDITY
# Backdated so a client whose clock is a little behind still accepts a new certificate.
CLOCK_SKEW = timedelta(minutes=5)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
E = TypeVar("E", bound=x509.ExtensionType)
SerialNumbers = Callable[[], int]


@dataclass(frozen=True, slots=True)
class CertSpec:
    """What a certificate must say: who it names, where it serves, what it is for."""

    common_name: str
    organizations: tuple[str, ...] = ()
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    uris: tuple[str, ...] = ()  # URI subjectAltNames (a store member's id)
    server: bool = False  # serverAuth: a TLS server's certificate
    client: bool = False  # clientAuth: identifies a client (CN = user, O = groups)

    @property
    def subject(self) -> x509.Name:
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in self.organizations]
        if self.common_name:
            attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, self.common_name))
        return x509.Name(attrs)

    @property
    def sans(self) -> frozenset[str]:
        """The names, addresses and URIs the certificate must hold, as text (IPs
        normalised)."""
        ips = {str(ipaddress.ip_address(ip)) for ip in self.ip_addresses}
        return frozenset({*self.dns_names, *ips, *self.uris})


def new_key() -> ec.EllipticCurvePrivateKey:
    """ECDSA P-256: every TLS key of the cluster (a handshake costs a fraction of RSA's)."""
    return ec.generate_private_key(ec.SECP256R1())


def issue_ca(key: PrivateKey, common_name: str, now: datetime,
             serial: SerialNumbers = x509.random_serial_number) -> x509.Certificate:
    """A self-signed CA, valid CA_VALIDITY from now."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    public = key.public_key()
    builder = (x509.CertificateBuilder()
               .subject_name(name).issuer_name(name).public_key(public)
               .serial_number(serial())
               .not_valid_before(now - CLOCK_SKEW).not_valid_after(now + CA_VALIDITY)
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, key_cert_sign=True, crl_sign=True,
                   content_commitment=False, key_encipherment=False, data_encipherment=False,
                   key_agreement=False, encipher_only=False, decipher_only=False),
                   critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))
    return builder.sign(key, hashes.SHA256())


def issue(spec: CertSpec, key: PrivateKey, ca_cert: x509.Certificate, ca_key: PrivateKey,
          now: datetime, serial: SerialNumbers = x509.random_serial_number
          ) -> x509.Certificate:
    """A leaf for `spec`, signed by the CA, valid LEAF_VALIDITY (never past the CA)."""
    usages = [u for u, on in ((ExtendedKeyUsageOID.SERVER_AUTH, spec.server),
                              (ExtendedKeyUsageOID.CLIENT_AUTH, spec.client)) if on]
    if not usages:
        raise ValueError(f"certificate {spec.common_name!r} is for neither a server nor a "
                         "client")
    builder = (x509.CertificateBuilder()
               .subject_name(spec.subject).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(serial())
               .not_valid_before(now - CLOCK_SKEW)
               .not_valid_after(min(now + LEAF_VALIDITY, ca_cert.not_valid_after_utc))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, key_encipherment=isinstance(key, rsa.RSAPrivateKey),
                   content_commitment=False, data_encipherment=False, key_agreement=False,
                   key_cert_sign=False, crl_sign=False, encipher_only=False,
                   decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca_key.public_key()), critical=False))
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in spec.dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.ip_addresses]
    names += [x509.UniformResourceIdentifier(uri) for uri in spec.uris]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def ca_renewal_reason(cert: x509.Certificate, key: PrivateKey, now: datetime) -> str | None:
    """Why the CA must be made again (None: keep it)."""
    if not _same_public_key(cert, key):
        return "its key does not match"
    constraints = _extension(cert, x509.BasicConstraints)
    if constraints is None or not constraints.ca:
        return "it is not a CA"
    return _validity_reason(cert, now, CA_RENEW_BEFORE)


def leaf_renewal_reason(cert: x509.Certificate, key: PrivateKey, spec: CertSpec,
                        ca_cert: x509.Certificate, now: datetime) -> str | None:
    """Why a leaf must be issued again (None: keep it): a different CA signed it, it does
    not match its key, it names someone else, its names or addresses differ from what it
    must hold (the node's address changed, a --tls-san was added), its usages differ, or
    it has expired or soon will."""
    if cert.issuer != ca_cert.subject or not _signed_by(cert, ca_cert):
        return "the cluster CA did not sign it"
    if not _same_public_key(cert, key):
        return "its key does not match"
    if cert.subject != spec.subject:
        return f"it names {cert.subject.rfc4514_string()}, not {spec.subject.rfc4514_string()}"
    have = sans_of(cert)
    if have != spec.sans:
        missing, extra = sorted(spec.sans - have), sorted(have - spec.sans)
        if missing:
            return f"it lacks {', '.join(missing)}"
        return f"it holds {', '.join(extra)}, no longer wanted"
    eku = _extension(cert, x509.ExtendedKeyUsage)
    usages = set(eku) if eku is not None else set()
    wanted = {u for u, on in ((ExtendedKeyUsageOID.SERVER_AUTH, spec.server),
                              (ExtendedKeyUsageOID.CLIENT_AUTH, spec.client)) if on}
    if usages != wanted:
        return "its usages differ"
    return _validity_reason(cert, now, LEAF_RENEW_BEFORE)


def sans_of(cert: x509.Certificate) -> frozenset[str]:
    san = _extension(cert, x509.SubjectAlternativeName)
    if san is None:
        return frozenset()
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    return frozenset({*san.get_values_for_type(x509.DNSName), *ips,
                      *san.get_values_for_type(x509.UniformResourceIdentifier)})


def _validity_reason(cert: x509.Certificate, now: datetime, before: timedelta) -> str | None:
    if now < cert.not_valid_before_utc:
        return "it is not valid yet (the clock went back)"
    if now >= cert.not_valid_after_utc:
        return "it has expired"
    if now >= cert.not_valid_after_utc - before:
        return f"it expires on {cert.not_valid_after_utc:%Y-%m-%d}"
    return None


def _same_public_key(cert: x509.Certificate, key: PrivateKey) -> bool:
    return bool(cert.public_key() == key.public_key())


def _signed_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _extension(cert: x509.Certificate, kind: type[E]) -> E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
