"""How a joining machine comes to trust the cluster and the cluster it (kubeadm's and k3s's
TLS bootstrap):

1. fetch the cluster CA from the server with verification off and sending nothing, and
   check it against the hash the join token carries (K10<sha256>::...). A different CA is
   refused before the token leaves the machine: whoever answered is not the cluster.
2. with the token (a bootstrap token: group system:bootstrappers), ask through a
   CertificateSigningRequest for the node's client certificate (CN=system:node:NAME,
   O=system:nodes; the cluster approves it for a valid bootstrap token);
3. from then on only that certificate: it is kept in DATA/pki with DATA/kubeconfig, so a
   restart needs no token, and it is renewed before it expires (kubelet/certificates.py).
"""

from __future__ import annotations

import contextlib
import random
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from minikube_py.api.errors import ApiError
from minikube_py.client.http import ApiUnreachable, HttpClient
from minikube_py.client.interface import ApiClient
from minikube_py.kubeconfig import KubeconfigCredentials, write_kubeconfig
from minikube_py.kubelet.certificates import CertificateRequestError, CertificateRotation
from minikube_py.pki.certmanager import RequestTemplate, load_key_pair
from minikube_py.pki.cluster import CERT_MODE, KeyPair, write_file_atomically
from minikube_py.pki.csr import (
    KUBE_APISERVER_CLIENT_KUBELET,
    KUBELET_SERVING,
    NODE_PREFIX,
    NODES_GROUP,
)
from minikube_py.pki.jointoken import JoinToken, TokenFormatError, ca_hash
from minikube_py.pki.tls import MINIMUM_TLS, client_context

CA_CERTS_PATH = "/cacerts"
FETCH_TIMEOUT = 10.0
# A valid bootstrap token's CSR is approved and signed within a second; this is for a
# server that is busy, not for one that will not sign.
BOOTSTRAP_TIMEOUT = 60.0


class JoinRefused(Exception):
    """Joining cannot go on; the message (one line) says why and what to do."""


@dataclass(frozen=True, slots=True)
class NodePki:
    """A joined machine's DATA/pki: the cluster CA it trusts, its client certificate (the
    kubelet's kubelet-client-current.pem) and its kubelet serving certificate."""

    root: Path

    @property
    def ca(self) -> Path:
        return self.root / "ca.crt"

    @property
    def client(self) -> KeyPair:
        return KeyPair(self.root / "kubelet-client.crt", self.root / "kubelet-client.key")

    @property
    def serving(self) -> KeyPair:
        return KeyPair(self.root / "kubelet.crt", self.root / "kubelet.key")


def client_template(node: str) -> RequestTemplate:
    """The kubelet's client certificate request (kube's kubelet asks the same)."""
    return RequestTemplate(signer=KUBE_APISERVER_CLIENT_KUBELET,
                           common_name=NODE_PREFIX + node, organizations=(NODES_GROUP,),
                           usages=("digital signature", "client auth"))


def serving_template(node: str, addresses: tuple[str, ...]) -> RequestTemplate:
    """The kubelet's serving certificate request: its name and addresses, which the API
    server checks when it connects for logs and exec."""
    return RequestTemplate(signer=KUBELET_SERVING, common_name=NODE_PREFIX + node,
                           organizations=(NODES_GROUP,),
                           usages=("digital signature", "server auth"),
                           dns_names=(node,), ip_addresses=addresses)


async def fetch_ca(server: str, *, timeout: float = FETCH_TIMEOUT) -> bytes:
    """The CA certificate the server presents at /cacerts, read without verifying the server
    and without credentials (what it says is checked against the token next)."""
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    insecure.minimum_version = MINIMUM_TLS
    try:
        async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=timeout),
                connector=aiohttp.TCPConnector(ssl=insecure)) as session, \
                session.get(server.rstrip("/") + CA_CERTS_PATH) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise JoinRefused(f"{server} answered {resp.status} for its CA certificate "
                                  f"({CA_CERTS_PATH}): is it a minikube-py server?")
    except (aiohttp.ClientError, TimeoutError) as e:
        raise JoinRefused(f"cannot reach the server at {server}: {type(e).__name__}: "
                          f"{e or 'timed out'}") from None
    if b"-----BEGIN CERTIFICATE-----" not in body:
        raise JoinRefused(f"{server} did not answer with a CA certificate at {CA_CERTS_PATH}")
    return body


def parse_token(text: str) -> JoinToken:
    try:
        return JoinToken.parse(text)
    except TokenFormatError as e:
        raise JoinRefused(f"--token: {e}") from None


def check_ca(token: JoinToken, ca_pem: bytes, server: str) -> None:
    if not token.trusts(ca_pem):
        raise JoinRefused(
            f"the CA certificate of {server} (sha256 {ca_hash(ca_pem)[:16]}...) is not the "
            f"one the token names (sha256 {token.ca_hash[:16]}...): refusing to send it "
            "the token (a wrong server, or the token of another cluster)")


def _clients(server: str, tls: ssl.SSLContext, token: str | None = None
             ) -> contextlib.AbstractAsyncContextManager[ApiClient]:
    @contextlib.asynccontextmanager
    async def opened() -> AsyncIterator[ApiClient]:
        client = HttpClient(server, tls=tls, token=token)
        try:
            yield client
        finally:
            await client.close()
    return opened()


async def bootstrap(server: str, token_text: str, pki: NodePki, node: str,
                    rand: random.Random) -> str:
    """Steps 1 and 2: the CA checked and saved, the client certificate obtained with the
    token and saved. Returns what was done, for a progress line."""
    token = parse_token(token_text)
    ca_pem = await fetch_ca(server)
    check_ca(token, ca_pem, server)
    pki.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_file_atomically(pki.ca, ca_pem, CERT_MODE)
    tls = client_context(pki.ca)
    rotation = CertificateRotation(
        clients=lambda: _clients(server, tls, str(token.credentials)), pair=pki.client,
        template=client_template(node), reload=lambda _pair: None, rand=rand,
        request_timeout=BOOTSTRAP_TIMEOUT)
    try:
        issued = await rotation.rotate("joining the cluster")
    except ApiUnreachable as e:
        if e.certificate_refused:
            raise JoinRefused(
                f"{server}'s certificate does not name the address joined ({e.cause}): "
                "join by a name or address it holds, or add it on the server (serve "
                "--tls-san)") from None
        raise JoinRefused(f"{server} stopped answering while the node asked for its "
                          f"certificate: {e.message}") from None
    except ApiError as e:
        if e.code == 401:
            raise JoinRefused(f"{server} refused the token (401 Unauthorized): a wrong "
                              "secret, or a token that expired or was deleted (make one "
                              "with `minikube-py token create` on the server)") from None
        if e.code == 403:
            raise JoinRefused(f"the token may not ask for a node certificate (403): "
                              f"{e.message}") from None
        raise JoinRefused(f"asking for the node's certificate failed: {e.code} {e.reason}: "
                          f"{e.message}") from None
    except CertificateRequestError as e:
        raise JoinRefused(f"no node certificate: {e}") from None
    return (f"joined with the token: client certificate CN={NODE_PREFIX}{node}, valid "
            f"until {issued.cert.not_valid_after_utc:%Y-%m-%d}")


def saved_credentials(pki: NodePki, node: str, now: datetime) -> str | None:
    """Why the saved client certificate cannot be used (None: it can)."""
    if not pki.ca.exists():
        return f"no cluster CA in {pki.ca}"
    found = load_key_pair(pki.client)
    if found is None:
        return f"no client certificate in {pki.client.cert}"
    subject = client_template(node).subject
    if found.cert.subject != subject:
        return (f"{pki.client.cert} names {found.cert.subject.rfc4514_string()}, not "
                f"{subject.rfc4514_string()} (another --node-name?)")
    if now >= found.cert.not_valid_after_utc:
        return f"{pki.client.cert} expired on {found.cert.not_valid_after_utc:%Y-%m-%d}"
    return None


async def node_credentials(server: str, token_text: str | None, pki: NodePki, node: str,
                           rand: random.Random) -> str:
    """The node's certificate, from the data dir or (when it has none that works) through
    the token. Returns a progress line."""
    why = saved_credentials(pki, node, datetime.now(UTC))
    if why is None:
        if token_text is not None and not parse_token(token_text).trusts(pki.ca.read_bytes()):
            raise JoinRefused(
                f"this machine is a node of another cluster (its CA in {pki.ca} is not the "
                "one the token names): to join the cluster the token is for, remove the node "
                f"first (minikube-py delete --data-dir {pki.root.parent})")
        return f"using the node's saved certificate ({pki.client.cert})"
    if token_text is None:
        raise JoinRefused(f"{why}: give --token (the server's DATA/token, or one from "
                          "`minikube-py token create`)")
    return await bootstrap(server, token_text, pki, node, rand)


def write_node_kubeconfig(path: Path, server: str, pki: NodePki) -> None:
    """DATA/kubeconfig with the node's own credentials: kubectl with it can do what the node
    may do, and no more."""
    write_kubeconfig(path, server, KubeconfigCredentials.read(pki.ca, pki.client))


def node_api_tls(pki: NodePki) -> ssl.SSLContext:
    return client_context(pki.ca, pki.client)


def node_clients(server: str, tls: ssl.SSLContext
                 ) -> contextlib.AbstractAsyncContextManager[ApiClient]:
    """A client presenting the node's current certificate (`tls` is reloaded on renewal)."""
    return _clients(server, tls)
