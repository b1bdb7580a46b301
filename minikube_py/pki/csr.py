"""CertificateSigningRequests' cryptography, as kube's certificates helpers and csrsigning
controller have it: parsing a request, the kubelet signers' rules, what a signer accepts,
and signing with the cluster CA under kube's duration rules. Pure: the time and serial
numbers come from the caller."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from minikube_py.pki.certs import LEAF_VALIDITY, PrivateKey, SerialNumbers

KUBE_APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client"
KUBE_APISERVER_CLIENT_KUBELET = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING = "kubernetes.io/kubelet-serving"
SIGNED_HERE = (KUBE_APISERVER_CLIENT, KUBE_APISERVER_CLIENT_KUBELET, KUBELET_SERVING)
NODE_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
# kube's PermissiveSigningPolicy: certificates are backdated this much, and a requested
# duration of at least SHORT loses the backdate again at its end.
BACKDATE = timedelta(minutes=5)
SHORT = timedelta(hours=8)
MIN_EXPIRATION_SECONDS = 600

_KEY_USAGES = {"signing": "digital_signature", "digital signature": "digital_signature",
               "content commitment": "content_commitment",
               "key encipherment": "key_encipherment", "key agreement": "key_agreement",
               "data encipherment": "data_encipherment", "cert sign": "key_cert_sign",
               "crl sign": "crl_sign", "encipher only": "encipher_only",
               "decipher only": "decipher_only"}
_EXT_KEY_USAGES = {
    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "server auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "s/mime": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "ipsec end system": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
    "ipsec tunnel": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
    "ipsec user": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "microsoft sgc": x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"),
    "netscape sgc": x509.ObjectIdentifier("2.16.840.1.113730.4.1"),
}
# Every usage the API accepts (kube's allValidUsages).
VALID_USAGES = tuple(sorted({*_KEY_USAGES, *_EXT_KEY_USAGES}))
_KUBELET_CLIENT_USAGES = ({"digital signature", "key encipherment", "client auth"},
                          {"digital signature", "client auth"})
_KUBELET_SERVING_USAGES = ({"digital signature", "key encipherment", "server auth"},
                           {"digital signature", "server auth"})
_API_SERVER_CLIENT_USAGES = {"digital signature", "key encipherment", "client auth"}


@dataclass(frozen=True, slots=True)
class SigningCa:
    """The CA a signer signs with: what composition hands the signing controller."""

    cert: x509.Certificate
    key: PrivateKey


def decode_bytes(value: object) -> bytes:
    """A []byte field as JSON carries it (base64); ValueError if it is not base64."""
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"illegal base64 data: {e}") from None


def parse_request(pem: bytes) -> x509.CertificateSigningRequest:
    """The PKCS#10 request in `pem`, its signature checked; ValueError with kube's words."""
    if b"-----BEGIN CERTIFICATE REQUEST-----" not in pem:
        raise ValueError("PEM block type must be CERTIFICATE REQUEST")
    try:
        csr = x509.load_pem_x509_csr(pem)
    except ValueError as e:
        raise ValueError(f"x509: malformed certificate request ({e})") from None
    if not csr.is_signature_valid:
        raise ValueError("x509: ECDSA verification failure")
    return csr


def _subject(csr: x509.CertificateSigningRequest, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in csr.subject.get_attributes_for_oid(oid)]


def organizations(csr: x509.CertificateSigningRequest) -> list[str]:
    return _subject(csr, NameOID.ORGANIZATION_NAME)


def common_name(csr: x509.CertificateSigningRequest) -> str:
    names = _subject(csr, NameOID.COMMON_NAME)
    return names[0] if names else ""


def _sans(csr: x509.CertificateSigningRequest) -> x509.SubjectAlternativeName | None:
    try:
        return csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None


def _san_count(csr: x509.CertificateSigningRequest, kind: type[x509.GeneralName]) -> int:
    sans = _sans(csr)
    return 0 if sans is None else len(sans.get_values_for_type(kind))  # type: ignore[arg-type]


def kubelet_client_error(csr: x509.CertificateSigningRequest, usages: Iterable[str]
                         ) -> str | None:
    """Why this is not a kubelet's client request (kube's ValidateKubeletClientCSR)."""
    if _subject(csr, NameOID.ORGANIZATION_NAME) != [NODES_GROUP]:
        return "subject organization is not system:nodes"
    for kind, what in ((x509.DNSName, "DNS"), (x509.RFC822Name, "Email"),
                       (x509.IPAddress, "IP"), (x509.UniformResourceIdentifier, "URI")):
        if _san_count(csr, kind):
            return f"{what} subjectAltNames are not allowed"
    if not common_name(csr).startswith(NODE_PREFIX):
        return "subject common name does not begin with system:node:"
    if set(usages) not in _KUBELET_CLIENT_USAGES:
        return f"usages did not match {sorted(_KUBELET_CLIENT_USAGES[0])}"
    return None


def kubelet_serving_error(csr: x509.CertificateSigningRequest, usages: Iterable[str]
                          ) -> str | None:
    """Why this is not a kubelet's serving request (kube's ValidateKubeletServingCSR)."""
    if _subject(csr, NameOID.ORGANIZATION_NAME) != [NODES_GROUP]:
        return "subject organization is not system:nodes"
    if not _san_count(csr, x509.DNSName) and not _san_count(csr, x509.IPAddress):
        return "DNS or IP subjectAltName is required"
    if _san_count(csr, x509.RFC822Name):
        return "Email subjectAltNames are not allowed"
    if _san_count(csr, x509.UniformResourceIdentifier):
        return "URI subjectAltNames are not allowed"
    if set(usages) not in _KUBELET_SERVING_USAGES:
        return f"usages did not match {sorted(_KUBELET_SERVING_USAGES[0])}"
    if not common_name(csr).startswith(NODE_PREFIX):
        return "subject common name does not begin with system:node:"
    return None


def signer_refusal(signer: str, csr: x509.CertificateSigningRequest, usages: list[str]
                   ) -> str | None:
    """Why the signer `signer` will not sign this (None: it will): csrsigning's checks."""
    if signer == KUBE_APISERVER_CLIENT_KUBELET:
        return kubelet_client_error(csr, usages)
    if signer == KUBELET_SERVING:
        return kubelet_serving_error(csr, usages)
    if signer == KUBE_APISERVER_CLIENT:
        for usage in usages:
            if usage not in _API_SERVER_CLIENT_USAGES:
                return f"invalid usage for client certificate: {usage}"
        return None
    return f"the signer {signer!r} is not one this cluster signs for"


def validity(now: datetime, expiration_seconds: int | None, ca_not_after: datetime,
             max_duration: timedelta = LEAF_VALIDITY) -> tuple[datetime, datetime]:
    """(notBefore, notAfter) as kube's signer sets them: the requested duration capped by
    the cluster signing duration, backdated, and never past the CA."""
    ttl = max_duration
    if expiration_seconds is not None:
        ttl = min(ttl, timedelta(seconds=max(expiration_seconds, MIN_EXPIRATION_SECONDS)))
    not_after = now + ttl if ttl < SHORT else now + ttl - BACKDATE
    return now - BACKDATE, min(not_after, ca_not_after)


def sign(csr: x509.CertificateSigningRequest, usages: list[str], ca: SigningCa,
         now: datetime, expiration_seconds: int | None,
         serial: SerialNumbers = x509.random_serial_number,
         max_duration: timedelta = LEAF_VALIDITY) -> x509.Certificate:
    """The certificate for an approved request: its subject and names, the usages asked."""
    not_before, not_after = validity(now, expiration_seconds, ca.cert.not_valid_after_utc,
                                     max_duration)
    flags = {f: False for f in set(_KEY_USAGES.values())}
    for usage in usages:
        if usage in _KEY_USAGES:
            flags[_KEY_USAGES[usage]] = True
    ext = [_EXT_KEY_USAGES[u] for u in usages if u in _EXT_KEY_USAGES]
    public = csr.public_key()
    builder = (x509.CertificateBuilder()
               .subject_name(csr.subject).issuer_name(ca.cert.subject)
               .public_key(public).serial_number(serial())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca.key.public_key()), critical=False))
    if any(flags.values()):
        builder = builder.add_extension(x509.KeyUsage(**flags), critical=True)
    if ext:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ext), critical=False)
    sans = _sans(csr)
    if sans is not None:
        builder = builder.add_extension(sans, critical=False)
    return builder.sign(ca.key, hashes.SHA256())


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def certificate_error(pem: bytes) -> str | None:
    """Why status.certificate is not PEM CERTIFICATE blocks (kube's validateCertificate)."""
    if not pem:
        return None
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError:
        return "must contain at least one CERTIFICATE PEM block"
    return None if certs else "must contain at least one CERTIFICATE PEM block"

