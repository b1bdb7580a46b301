"""PKCS#10 requests as a node makes them (pki.certmanager.make_request), for CSR tests."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric import ec

from minikube_py.pki.certmanager import make_request


def request_pem(common_name: str, organizations: tuple[str, ...] = (), *,
                dns_names: tuple[str, ...] = (), ip_addresses: tuple[str, ...] = (),
                key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
    return make_request(key or ec.generate_private_key(ec.SECP256R1()), common_name,
                        organizations, dns_names, ip_addresses)


def request_b64(common_name: str, organizations: tuple[str, ...] = (), **kw: object) -> str:
    """spec.request as JSON carries it."""
    return base64.b64encode(request_pem(common_name, organizations, **kw)).decode()  # type: ignore[arg-type]


NODE_CLIENT_USAGES = ["digital signature", "client auth"]
KUBELET_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
