"""The kubeconfig that points kubectl (and client libraries) at this cluster: the API's
HTTPS URL, the cluster CA to trust and the admin's client certificate, all embedded, so
that it works on its own, with no flags and no other file."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from minikube_py.kubeconfigmerge import Entries
from minikube_py.pki.cluster import KeyPair

CONTEXT_NAME = "minikube-py"


@dataclass(frozen=True, slots=True)
class KubeconfigCredentials:
    """What the kubeconfig embeds, as PEM."""

    ca_cert: bytes
    client_cert: bytes
    client_key: bytes

    @classmethod
    def read(cls, ca_cert: Path, client: KeyPair) -> KubeconfigCredentials:
        return cls(ca_cert.read_bytes(), client.cert.read_bytes(), client.key.read_bytes())


def _data(pem: bytes) -> str:
    return base64.b64encode(pem).decode()


def render_kubeconfig(server_url: str, credentials: KubeconfigCredentials, *,
                      context: str = CONTEXT_NAME) -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {
            "server": server_url,
            "certificate-authority-data": _data(credentials.ca_cert)}}],
        "users": [{"name": context, "user": {
            "client-certificate-data": _data(credentials.client_cert),
            "client-key-data": _data(credentials.client_key)}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context,
                                                   "namespace": "default"}}],
        "current-context": context,
        "preferences": {},
    }
    return str(yaml.safe_dump(doc, sort_keys=False))


def merge_entries(server_url: str, credentials: KubeconfigCredentials) -> Entries:
    """What a merge into the user's kubeconfig adds: the same cluster and user as ours."""
    return Entries(
        cluster={"server": server_url,
                 "certificate-authority-data": _data(credentials.ca_cert)},
        user={"client-certificate-data": _data(credentials.client_cert),
              "client-key-data": _data(credentials.client_key)})


def write_kubeconfig(path: Path, server_url: str, credentials: KubeconfigCredentials) -> None:
    """Atomically, so a kubectl reading it never sees half a file; created 0600, since it
    holds the admin's private key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(render_kubeconfig(server_url, credentials))
    os.replace(tmp, path)


class KubeconfigError(Exception):
    """A kubeconfig this module did not write, or one damaged; the message says what."""


def read_kubeconfig(text: str) -> tuple[str, KubeconfigCredentials]:
    """The server URL and credentials of a kubeconfig as render_kubeconfig writes it (its
    current context's cluster and user, everything embedded)."""
    try:
        doc = yaml.safe_load(text)
        name = doc["current-context"]
        context = next(c["context"] for c in doc["contexts"] if c["name"] == name)
        cluster = next(c["cluster"] for c in doc["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in doc["users"] if u["name"] == context["user"])
        return str(cluster["server"]), KubeconfigCredentials(
            base64.b64decode(cluster["certificate-authority-data"]),
            base64.b64decode(user["client-certificate-data"]),
            base64.b64decode(user["client-key-data"]))
    except (yaml.YAMLError, KeyError, TypeError, StopIteration, ValueError) as e:
        raise KubeconfigError(f"not a kubeconfig with embedded credentials ({e!r})") from None
