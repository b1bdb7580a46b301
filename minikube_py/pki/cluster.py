"""The cluster's PKI under DATA/pki, as kubeadm lays it out: made on first start, reused on
restart, and each certificate issued again when a rule of `certs` says so (expiring, a name
missing, another CA). Private keys are 0600 from the moment they exist; every file is
replaced atomically, so a crash leaves the old file or the new one, never half of one."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from minikube_py.pki.certs import (
    CertSpec,
    PrivateKey,
    SerialNumbers,
    ca_renewal_reason,
    issue,
    issue_ca,
    leaf_renewal_reason,
    new_key,
)
from minikube_py.pki.csr import SigningCa

CA_COMMON_NAME = "minikube-py-ca"
MASTERS = "system:masters"
ADMIN_USER = "kubernetes-admin"
# The API server's identity towards kubelets: what a kubelet lets do everything.
KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client"
# The names the `kubernetes` Service is reached by from inside the cluster.
SERVICE_DNS_NAMES = ("kubernetes", "kubernetes.default", "kubernetes.default.svc",
                     "kubernetes.default.svc.cluster.local")
KEY_MODE = 0o600
CERT_MODE = 0o644

ADMIN = CertSpec(ADMIN_USER, (MASTERS,), client=True)  # kubeadm's admin.conf user
KUBELET_CLIENT = CertSpec(KUBELET_CLIENT_USER, (MASTERS,), client=True)


def api_server_spec(*, node_ip: str, service_cidr: str, api_host: str = "127.0.0.1",
                    extra_sans: Iterable[str] = ()) -> CertSpec:
    """The API server's serving certificate: loopback, the node's address, the address it
    listens on, the `kubernetes` Service (its ClusterIP, the first address of the service
    range, and its DNS names) and the --tls-san extras (addresses or names)."""
    ips = {"127.0.0.1", node_ip, str(ipaddress.ip_network(service_cidr)[1])}
    dns = {"localhost", *SERVICE_DNS_NAMES}
    for san in (api_host, *extra_sans):
        if not san or san in ("0.0.0.0", "::"):
            continue
        san = subject_alt_name(san)
        (ips if _is_ip(san) else dns).add(san)
    return CertSpec("kube-apiserver", dns_names=tuple(sorted(dns)),
                    ip_addresses=tuple(sorted(ips, key=_ip_order)), server=True)


def peer_spec(name: str, addresses: Iterable[str], member_uri: str = "") -> CertSpec:
    """A store member's certificate: it serves its peers and dials them (etcd's peer
    certificate, both usages). `member_uri` names the member's id (store.peer_identity),
    which its peers hold it to."""
    ips = {"127.0.0.1", *(subject_alt_name(a) for a in addresses if _is_ip(a))}
    return CertSpec(f"minikube-py-member:{name}", dns_names=("localhost",),
                    ip_addresses=tuple(sorted(ips, key=_ip_order)),
                    uris=(member_uri,) if member_uri else (), server=True, client=True)


def kubelet_serving_spec(node_name: str, node_ip: str) -> CertSpec:
    """A kubelet's serving certificate, named as a kubelet's serving CSR names it."""
    return CertSpec(f"system:node:{node_name}", ("system:nodes",), dns_names=(node_name,),
                    ip_addresses=(node_ip,), server=True)


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def subject_alt_name(value: str) -> str:
    """A --tls-san in its normal form: an IP address, or a DNS name (lowercase, a leading
    `*.` allowed); ValueError saying why it is neither."""
    if _is_ip(value):
        return str(ipaddress.ip_address(value))
    name = value.lower().rstrip(".")
    labels = name.split(".")
    if labels[0] == "*" and len(labels) > 1:
        labels = labels[1:]
    if len(name) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        raise ValueError(f"{value!r} is neither an IP address nor a DNS name")
    return name


def _ip_order(ip: str) -> tuple[int, int]:
    address = ipaddress.ip_address(ip)
    return address.version, int(address)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class KeyPair:
    """Where a certificate and its private key live."""

    cert: Path
    key: Path


@dataclass(frozen=True, slots=True)
class PkiLayout:
    """The files of DATA/pki (kubeadm's names where it has one)."""

    root: Path

    @property
    def ca(self) -> KeyPair:
        return self._pair("ca")

    @property
    def api_server(self) -> KeyPair:
        return self._pair("apiserver")

    @property
    def admin(self) -> KeyPair:
        return self._pair("admin")

    @property
    def peer(self) -> KeyPair:
        """A control-plane member's certificate towards the other members (server and
        client: etcd's peer certificate)."""
        return self._pair("peer")

    @property
    def kubelet_client(self) -> KeyPair:
        return self._pair("apiserver-kubelet-client")

    def kubelet(self, node_name: str) -> KeyPair:
        return self._pair(f"kubelets/{node_name}")

    @property
    def service_account_key(self) -> Path:
        return self.root / "sa.key"

    @property
    def service_account_public_key(self) -> Path:
        return self.root / "sa.pub"

    @property
    def encryption_config(self) -> Path:
        """The keys that encrypt Secrets at rest (kube's EncryptionConfiguration), made and
        rotated by apiserver/encryptionkeys.py; 0600 like every key here."""
        return self.root / "encryption-config.yaml"

    def _pair(self, name: str) -> KeyPair:
        return KeyPair(self.root / f"{name}.crt", self.root / f"{name}.key")


def ensure_cluster_pki(layout: PkiLayout, leaves: Iterable[tuple[KeyPair, CertSpec]],
                       now: datetime, *, serial: SerialNumbers = x509.random_serial_number
                       ) -> list[str]:
    """Make or renew the CA, each leaf and the service-account key, as needed; returns one
    line per file made, saying why (nothing on a restart that reuses them all)."""
    layout.root.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.root, 0o700)
    made: list[str] = []
    found_ca = _load(layout.ca)
    why = "none existed" if found_ca is None else \
        ca_renewal_reason(found_ca[0], found_ca[1], now)
    ca_key: PrivateKey
    if found_ca is None or why is not None:
        ca_key = new_key()
        ca_cert = issue_ca(ca_key, CA_COMMON_NAME, now, serial)
        _write(layout.ca, ca_cert, ca_key)
        made.append(f"made the cluster CA ({why})")
    else:
        ca_cert, ca_key = found_ca
    for pair, spec in leaves:
        found = _load(pair)
        why = "none existed" if found is None else \
            leaf_renewal_reason(found[0], found[1], spec, ca_cert, now)
        if why is None:
            continue
        key = new_key()
        _write(pair, issue(spec, key, ca_cert, ca_key, now, serial), key)
        made.append(f"made {pair.cert.relative_to(layout.root)} ({why})")
    if _ensure_service_account_key(layout):
        made.append(f"made the service-account signing key {layout.service_account_key.name}")
    return made


def load_signing_ca(layout: PkiLayout) -> SigningCa:
    """The cluster CA's certificate and key, for the CSR signer (OSError/ValueError if
    ensure_cluster_pki has not made them)."""
    found = _load(layout.ca)
    if found is None:
        raise ValueError(f"{layout.ca.cert}: no readable CA certificate and key")
    return SigningCa(*found)


# --- the service-account signing key --------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ServiceAccountKey:
    """The key pair ServiceAccount tokens are signed (RS256) and verified with."""

    private_key: rsa.RSAPrivateKey
    public_key: rsa.RSAPublicKey

    @property
    def key_id(self) -> str:
        """The JWT `kid`, as kube derives it: base64url(sha256(DER public key))."""
        der = self.public_key.public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def load_service_account_key(layout: PkiLayout) -> ServiceAccountKey:
    """The signing key ensure_cluster_pki made (raises OSError/ValueError if it is missing
    or not an RSA key)."""
    key = serialization.load_pem_private_key(layout.service_account_key.read_bytes(), None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{layout.service_account_key}: not an RSA private key")
    return ServiceAccountKey(key, key.public_key())


def _ensure_service_account_key(layout: PkiLayout) -> bool:
    """Made once and kept: a new key would invalidate every token issued. RSA, as kubeadm
    makes it: the algorithm every OIDC verifier of service-account tokens accepts."""
    try:
        load_service_account_key(layout)
        _fix_mode(layout.service_account_key, KEY_MODE)
        return False
    except (OSError, ValueError):
        pass
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_file_atomically(layout.service_account_key, key_pem(key), KEY_MODE)
    write_file_atomically(layout.service_account_public_key, key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        CERT_MODE)
    return True


# --- files ---------------------------------------------------------------------------------

def _load(pair: KeyPair) -> tuple[x509.Certificate, PrivateKey] | None:
    """The pair on disk, or None when either file is missing or unreadable (so it is made
    again). A readable key whose mode was loosened is tightened back to 0600."""
    try:
        cert = x509.load_pem_x509_certificate(pair.cert.read_bytes())
        key = serialization.load_pem_private_key(pair.key.read_bytes(), None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, PrivateKey):
        return None
    _fix_mode(pair.key, KEY_MODE)
    return cert, key


def _write(pair: KeyPair, cert: x509.Certificate, key: PrivateKey) -> None:
    # The key first: a crash between the two leaves a cert that does not match its key,
    # which the next start notices and replaces.
    write_file_atomically(pair.key, key_pem(key), KEY_MODE)
    write_file_atomically(pair.cert, cert.public_bytes(serialization.Encoding.PEM), CERT_MODE)


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_file_atomically(path: Path, data: bytes, mode: int) -> None:
    """Atomically, created with its final mode (a key is never readable by others, not even
    for a moment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.fchmod(fd, mode)  # whatever the umask
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fix_mode(path: Path, mode: int) -> None:
    if path.stat().st_mode & 0o777 != mode:
        os.chmod(path, mode)
