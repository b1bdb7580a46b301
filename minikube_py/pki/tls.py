"""TLS contexts from the cluster's certificates, and who a verified client certificate
names. One context per server or client, made once: the handshake is the only TLS cost,
and keep-alive connections and session tickets (OpenSSL's default) spread it thin."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minikube_py.pki.cluster import KeyPair

MINIMUM_TLS = ssl.TLSVersion.TLSv1_2


def server_context(serving: KeyPair, client_ca: Path) -> ssl.SSLContext:
    """A server that asks for a client certificate and accepts a connection without one; a
    certificate given must be the CA's and meant for clients (OpenSSL checks the clientAuth
    usage), or the handshake fails. Who the client is, and what a client without a
    certificate may do, is decided per request above TLS."""
    return _serving(serving, client_ca, ssl.CERT_OPTIONAL, "http/1.1")


def grpc_server_context(serving: KeyPair, client_ca: Path) -> ssl.SSLContext:
    """A gRPC server (HTTP/2 by ALPN, as gRPC's clients require) that takes only clients
    with a certificate of the CA: what etcd's `--client-cert-auth` does."""
    return _serving(serving, client_ca, ssl.CERT_REQUIRED, "h2")


def _serving(serving: KeyPair, client_ca: Path, verify: ssl.VerifyMode, alpn: str
             ) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(client_ca))
    ctx.minimum_version = MINIMUM_TLS
    ctx.load_cert_chain(str(serving.cert), str(serving.key))
    ctx.verify_mode = verify
    ctx.set_alpn_protocols([alpn])
    return ctx


def client_context(ca: Path, identity: KeyPair | None = None) -> ssl.SSLContext:
    """A client that trusts only the cluster CA (and checks the server's name or address
    against its certificate), presenting `identity` when the server asks."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    ctx.minimum_version = MINIMUM_TLS
    if identity is not None:
        ctx.load_cert_chain(str(identity.cert), str(identity.key))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


@dataclass(frozen=True, slots=True)
class CertIdentity:
    """Whom a client certificate names, as kube reads it: CN the user, O the groups."""

    user: str
    groups: tuple[str, ...]


def cert_identity(peercert: Mapping[str, Any] | None) -> CertIdentity | None:
    """From `ssl`'s decoded peer certificate, which it gives only once the handshake has
    verified it against the CA; None when the client sent none."""
    if not peercert:
        return None
    user = ""
    groups: list[str] = []
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                user = value
            elif key == "organizationName":
                groups.append(value)
    return CertIdentity(user, tuple(groups))


def peer_identity(transport: Any) -> CertIdentity | None:
    """The verified client certificate's identity on a connection (None: no certificate,
    or not a TLS connection). asyncio and uvloop decode the certificate once, at the
    handshake, so this costs a dictionary lookup per request."""
    if transport is None:
        return None
    return cert_identity(transport.get_extra_info("peercert"))
