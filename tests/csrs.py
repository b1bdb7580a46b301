"""PKCS#10 requests as a client makes them with `cryptography`, for CSR tests."""

from __future__ import annotations

import base64
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def request_pem(common_name: str, organizations: tuple[str, ...] = (), *,
                dns_names: tuple[str, ...] = (), ip_addresses: tuple[str, ...] = (),
                key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
    key = key or ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attrs))
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def request_b64(common_name: str, organizations: tuple[str, ...] = (), **kw: object) -> str:
    """spec.request as JSON carries it."""
    return base64.b64encode(request_pem(common_name, organizations, **kw)).decode()  # type: ignore[arg-type]


NODE_CLIENT_USAGES = ["digital signature", "client auth"]
KUBELET_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
