"""What `minikube-py token create|list|delete` does, and the join token `serve` keeps in
DATA/token: bootstrap-token Secrets written and read through the API (the commands as the
admin of DATA/kubeconfig; serve in-process). The formats are minikube_py/pki/jointoken.py.

serve's token never expires, as k3s's server token: DATA/token is the standing way to join
this cluster, and a restart reuses it; a 24h one (kubeadm's default) would leave a stale
file after a day. Revoking it is `token delete`; the next start of serve then makes a new
one (it never brings back a token someone deleted)."""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import aiohttp

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import SECRETS
from minikube_py.client.http import ApiUnreachable, HttpClient
from minikube_py.client.interface import ApiClient
from minikube_py.datalock import DataDirLock
from minikube_py.kubeconfig import KubeconfigCredentials, KubeconfigError, read_kubeconfig
from minikube_py.pki.jointoken import (
    NODE_TOKEN_GROUP,
    SECRET_NAMESPACE,
    SECRET_PREFIX,
    BootstrapToken,
    JoinToken,
    RandBelow,
    TokenFormatError,
    TokenInfo,
    is_token_id,
    token_from_secret,
    token_secret,
)
from minikube_py.pki.tls import MINIMUM_TLS

T = TypeVar("T")
TOKEN_FILE = "token"
# A new token's id colliding with an existing one is a 1 in 36^6 event: try again a few times.
ATTEMPTS = 5


class TokenCommandFailed(Exception):
    """The command did not run; the message (one line) says why."""


# --- the commands, over any ApiClient --------------------------------------------------

async def create_token(client: ApiClient, ca_pem: bytes, *, now: float, randbelow: RandBelow,
                       ttl: float | None, description: str = "",
                       extra_groups: tuple[str, ...] = (NODE_TOKEN_GROUP,)) -> JoinToken:
    """A new bootstrap token (its Secret created), as the join token that names `ca_pem`."""
    attempt = 0
    while True:
        attempt += 1
        token = BootstrapToken.generate(randbelow)
        secret = token_secret(token, now=now, ttl=ttl, description=description,
                              extra_groups=extra_groups)
        try:
            await client.create(SECRETS, secret, namespace=SECRET_NAMESPACE)
        except ApiError as e:
            if e.code != 409 or attempt == ATTEMPTS:
                raise
        else:
            return JoinToken.make(ca_pem, token)


async def list_tokens(client: ApiClient) -> list[TokenInfo]:
    """Every bootstrap token, by id."""
    secrets = await client.list(SECRETS, namespace=SECRET_NAMESPACE)
    infos = (token_from_secret(s) for s in secrets.get("items") or ())
    return sorted((i for i in infos if i is not None), key=lambda i: i.token.id)


def token_id_of(ref: str) -> str:
    """The token id `token delete` is given: the id, the `<id>.<secret>` or the K10 token."""
    ref = ref.strip()
    if is_token_id(ref):
        return ref
    if ref.startswith("K10"):
        return JoinToken.parse(ref).credentials.id
    if "." in ref:
        return BootstrapToken.parse(ref).id
    raise TokenFormatError(f"{ref!r} is neither a token id ([a-z0-9]{{6}}) nor a token")


async def delete_token(client: ApiClient, ref: str) -> str:
    """Delete the token `ref` names; its id."""
    token_id = token_id_of(ref)
    try:
        await client.delete(SECRETS, SECRET_PREFIX + token_id, namespace=SECRET_NAMESPACE)
    except ApiError as e:
        if e.code == 404:
            raise TokenCommandFailed(f'bootstrap token "{token_id}" not found') from None
        raise
    return token_id


# --- serve's token ---------------------------------------------------------------------

async def ensure_join_token(client: ApiClient, path: Path, ca_pem: bytes, *, now: float,
                            randbelow: RandBelow,
                            extra_groups: tuple[str, ...] = (NODE_TOKEN_GROUP,),
                            what: str = "join token") -> str:
    """Keep `path` a join token this cluster accepts: the one it holds while its Secret
    still matches (with the hash of `ca_pem`, should the CA have been renewed, and the
    groups `extra_groups`), else a new one that never expires. Says what it did, for serve's
    progress lines. The node join token (DATA/token) joins nodes; the server token
    (DATA/server-token, groups SERVER_TOKEN_GROUP) also makes control-plane members, as
    k3s keeps its server token apart from its agent token."""
    current = _token_in(path)
    if current is not None:
        info = await _token_info(client, current.credentials)
        if info is not None and info.token == current.credentials and not info.expired(now) \
                and "authentication" in info.usages \
                and set(info.extra_groups) == set(extra_groups):
            renewed = JoinToken.make(ca_pem, current.credentials)
            if renewed != current:
                write_token_file(path, renewed)
                return f"{what} in {path} (its CA hash updated: the CA was renewed)"
            return f"{what} in {path}"
    token = await create_token(client, ca_pem, now=now, randbelow=randbelow, ttl=None,
                               description=f"the {what} of minikube-py serve (DATA/{path.name})",
                               extra_groups=extra_groups)
    write_token_file(path, token)
    if current is None:
        return f"made a {what} in {path}"
    return f"made a new {what} in {path} (the one there no longer authenticates)"


def _token_in(path: Path) -> JoinToken | None:
    try:
        return JoinToken.parse(path.read_text())
    except (FileNotFoundError, TokenFormatError, UnicodeDecodeError):
        return None


async def _token_info(client: ApiClient, token: BootstrapToken) -> TokenInfo | None:
    try:
        secret = await client.get(SECRETS, token.secret_name, namespace=SECRET_NAMESPACE)
    except ApiError as e:
        if e.code == 404:
            return None
        raise
    return token_from_secret(secret)


def write_token_file(path: Path, token: JoinToken) -> None:
    """Atomically, created 0600: it is a credential."""
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"{token}\n")
    os.replace(tmp, path)


# --- the CLI's connection: the admin of DATA/kubeconfig ------------------------------------

@dataclass(frozen=True, slots=True)
class Admin:
    server: str
    credentials: KubeconfigCredentials


def admin_of(data_dir: Path) -> Admin:
    """The running cluster's admin, from DATA/kubeconfig; one-line errors when there is no
    cluster, it is not running, or the file cannot be read."""
    path = data_dir / "kubeconfig"
    try:
        running = DataDirLock(data_dir).holder() is not None
        text = path.read_text()
    except FileNotFoundError:
        raise TokenCommandFailed(f"no cluster in {data_dir} (no {path}): start one with "
                                 f"`minikube-py serve --data-dir {data_dir}`") from None
    except OSError as e:
        raise TokenCommandFailed(f"cannot read {path}: {e.strerror} (run it as the user "
                                 "that runs serve)") from None
    if not running:
        raise TokenCommandFailed(f"the cluster in {data_dir} is not running: start it with "
                                 f"`minikube-py serve --data-dir {data_dir}`")
    try:
        server, credentials = read_kubeconfig(text)
    except KubeconfigError as e:
        raise TokenCommandFailed(f"{path}: {e}") from None
    return Admin(server, credentials)


def admin_tls(credentials: KubeconfigCredentials) -> ssl.SSLContext:
    """A client context trusting the kubeconfig's CA and presenting its certificate (ssl
    loads a key pair only from files: a private temporary directory, removed at once)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH,
                                     cadata=credentials.ca_cert.decode())
    ctx.minimum_version = MINIMUM_TLS
    with tempfile.TemporaryDirectory(prefix="minikube-py-") as tmp:
        cert, key = Path(tmp, "client.crt"), Path(tmp, "client.key")
        cert.write_bytes(credentials.client_cert)
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(credentials.client_key)
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


async def as_admin(data_dir: Path,
                   action: Callable[[ApiClient, bytes], Awaitable[T]]) -> T:
    """Run `action(client, CA PEM)` against the cluster in `data_dir`, its failures one line."""
    admin = admin_of(data_dir)
    try:
        tls = admin_tls(admin.credentials)
    except (ssl.SSLError, ValueError) as e:
        raise TokenCommandFailed(f"{data_dir / 'kubeconfig'}: unusable credentials ({e})") \
            from None
    client = HttpClient(admin.server, tls=tls)
    try:
        return await action(client, admin.credentials.ca_cert)
    except ApiUnreachable as e:
        raise TokenCommandFailed(f"cannot reach the cluster at {admin.server}: {e.cause}") \
            from None
    except ApiError as e:
        raise TokenCommandFailed(f"the cluster refused: {e.message} ({e.code} {e.reason})") \
            from None
    except TokenFormatError as e:
        raise TokenCommandFailed(str(e)) from None
    except (aiohttp.ClientError, OSError) as e:
        raise TokenCommandFailed(f"cannot reach the cluster at {admin.server}: {e}") from None
    finally:
        await client.close()
