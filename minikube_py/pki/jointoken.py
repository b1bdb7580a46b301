"""Join tokens: kube's bootstrap tokens and k3s's secure join-token format around them.

A bootstrap token is `<id>.<secret>` (`[a-z0-9]{6}.[a-z0-9]{16}`), backed by the kube-system
Secret `bootstrap-token-<id>` of type bootstrap.kubernetes.io/token, the shape kubeadm
writes (the API server's BootstrapTokens authenticator reads it). The join token a machine
is given is k3s's secure format, `K10<sha256 hex of the cluster CA certificate PEM>::<id>.
<secret>`: the joiner fetches the CA without verification, checks its hash against the token
and only then sends the credentials.

Pure: the clock and the random source are the caller's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

BOOTSTRAP_TOKEN_TYPE: Final = "bootstrap.kubernetes.io/token"
SECRET_NAMESPACE: Final = "kube-system"
SECRET_PREFIX: Final = "bootstrap-token-"
# The group kubeadm gives its default node token (kubeadm:default-node-token), ours named.
NODE_TOKEN_GROUP: Final = "system:bootstrappers:minikube-py:default-node-token"
# The server token (DATA/server-token of a cluster's first member) makes control-plane
# members (`serve --server`), as k3s's server token does; DATA/token and the tokens made
# with `minikube-py token create` join nodes only.
SERVER_TOKEN_GROUP: Final = "system:bootstrappers:minikube-py:servers"
USAGES: Final = ("authentication", "signing")
ID_LENGTH: Final = 6
SECRET_LENGTH: Final = 16
ALPHABET: Final = string.ascii_lowercase + string.digits
JOIN_PREFIX: Final = "K10"
JOIN_SEPARATOR: Final = "::"
HASH_LENGTH: Final = 64  # sha256, hex

_ID = re.compile(r"^[a-z0-9]{6}$")
_TOKEN = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|m|s)")
_UNIT_SECONDS: Final = {"h": 3600.0, "m": 60.0, "s": 1.0}
MAX_TTL: Final = 100 * 365 * 86400.0  # an expiration any RFC 3339 reader can hold
# Random integers in [0, n): secrets.randbelow in production, a seeded one in tests.
RandBelow = Callable[[int], int]


class TokenFormatError(ValueError):
    """A token (or a TTL) that is not well formed; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class BootstrapToken:
    id: str
    secret: str

    def __str__(self) -> str:
        return f"{self.id}.{self.secret}"

    @property
    def secret_name(self) -> str:
        return SECRET_PREFIX + self.id

    @classmethod
    def generate(cls, randbelow: RandBelow) -> BootstrapToken:
        def chars(n: int) -> str:
            return "".join(ALPHABET[randbelow(len(ALPHABET))] for _ in range(n))

        return cls(chars(ID_LENGTH), chars(SECRET_LENGTH))

    @classmethod
    def parse(cls, text: str) -> BootstrapToken:
        token_id, dot, secret = text.partition(".")
        if not dot:
            raise TokenFormatError(
                f"a bootstrap token is <id>.<secret>: {_shown(text)} has no '.'")
        if not _ID.match(token_id):
            raise TokenFormatError(
                f"the token id {token_id!r} is not {ID_LENGTH} characters of [a-z0-9]")
        if not re.fullmatch(r"[a-z0-9]{16}", secret):
            raise TokenFormatError(
                f"the token secret is not {SECRET_LENGTH} characters of [a-z0-9]")
        return cls(token_id, secret)


def is_token_id(text: str) -> bool:
    return bool(_ID.match(text))


@dataclass(frozen=True, slots=True)
class JoinToken:
    """`K10<ca_hash>::<credentials>`."""

    ca_hash: str  # lowercase hex
    credentials: BootstrapToken

    def __str__(self) -> str:
        return f"{JOIN_PREFIX}{self.ca_hash}{JOIN_SEPARATOR}{self.credentials}"

    def trusts(self, ca_pem: bytes) -> bool:
        """Whether `ca_pem` (the CA certificate PEM exactly as served) is the CA this token
        names."""
        return hmac.compare_digest(ca_hash(ca_pem), self.ca_hash)

    @classmethod
    def make(cls, ca_pem: bytes, credentials: BootstrapToken) -> JoinToken:
        return cls(ca_hash(ca_pem), credentials)

    @classmethod
    def parse(cls, text: str) -> JoinToken:
        text = text.strip()
        if not text.startswith(JOIN_PREFIX):
            raise TokenFormatError(
                f"a join token starts with {JOIN_PREFIX} (K10<CA hash>::<id>.<secret>); "
                f"{_shown(text)} does not")
        digest, sep, credentials = text[len(JOIN_PREFIX):].partition(JOIN_SEPARATOR)
        if not sep:
            raise TokenFormatError(
                f"a join token is K10<CA hash>::<id>.<secret>: no {JOIN_SEPARATOR!r} after "
                "the CA hash")
        if not _HEX.match(digest):
            what = "characters" if re.fullmatch("[0-9a-fA-F]*", digest) else \
                "characters, not all hex digits"
            raise TokenFormatError(
                f"the CA hash of a join token is {HASH_LENGTH} hex digits (sha256); got "
                f"{len(digest)} {what}")
        try:
            token = BootstrapToken.parse(credentials)
        except TokenFormatError as e:
            raise TokenFormatError(f"the credentials of a join token: {e}") from None
        return cls(digest.lower(), token)


def ca_hash(ca_pem: bytes) -> str:
    return hashlib.sha256(ca_pem).hexdigest()


def _shown(text: str) -> str:
    """A malformed token in an error message, cut short (it may be half a secret)."""
    return repr(text if len(text) <= 12 else text[:12] + "...")


# --- the Secret ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What a bootstrap-token Secret says."""

    token: BootstrapToken
    expiration: float | None  # epoch seconds; None: it never expires
    usages: tuple[str, ...]
    description: str
    extra_groups: tuple[str, ...]

    def expired(self, now: float) -> bool:
        return self.expiration is not None and self.expiration <= now


def token_secret(token: BootstrapToken, *, now: float, ttl: float | None,
                 description: str = "", extra_groups: tuple[str, ...] = (NODE_TOKEN_GROUP,),
                 usages: tuple[str, ...] = USAGES) -> dict[str, Any]:
    """The kube-system Secret that makes `token` valid, as kubeadm writes it; `ttl` None:
    it never expires."""
    data = {"token-id": token.id, "token-secret": token.secret}
    if ttl is not None:
        data["expiration"] = rfc3339(now + ttl)
    if description:
        data["description"] = description
    for usage in usages:
        data[f"usage-bootstrap-{usage}"] = "true"
    if extra_groups:
        data["auth-extra-groups"] = ",".join(extra_groups)
    return {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": token.secret_name, "namespace": SECRET_NAMESPACE},
        "type": BOOTSTRAP_TOKEN_TYPE,
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def token_from_secret(secret: Mapping[str, Any]) -> TokenInfo | None:
    """The token a Secret holds; None when it is not a well-formed bootstrap-token Secret
    (the authenticator refuses those too)."""
    if secret.get("type") != BOOTSTRAP_TOKEN_TYPE:
        return None
    data = {k: _b64(v) for k, v in (secret.get("data") or {}).items()}
    name = (secret.get("metadata") or {}).get("name", "")
    token_id = data.get("token-id", "")
    if name != SECRET_PREFIX + token_id:
        return None
    try:
        token = BootstrapToken.parse(f"{token_id}.{data.get('token-secret', '')}")
    except TokenFormatError:
        return None
    expiration: float | None = None
    if data.get("expiration"):
        try:
            expiration = parse_rfc3339(data["expiration"])
        except ValueError:
            expiration = 0.0  # unreadable: expired, as the authenticator takes it
    usages = tuple(k.removeprefix("usage-bootstrap-") for k, v in sorted(data.items())
                   if k.startswith("usage-bootstrap-") and v == "true")
    groups = tuple(g.strip() for g in data.get("auth-extra-groups", "").split(",")
                   if g.strip())
    return TokenInfo(token, expiration, usages, data.get("description", ""), groups)


def _b64(value: Any) -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (binascii.Error, ValueError):
        return ""


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(value: str) -> float:
    """An RFC 3339 instant with its offset (Z or ±hh:mm), to epoch seconds."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return parsed.timestamp()


# --- TTLs ---------------------------------------------------------------------------------

def parse_ttl(text: str) -> float | None:
    """A Go duration of hours, minutes and seconds, as kubeadm's --ttl ("24h", "1h30m",
    "90s"); "0" (or any zero) is a token that never expires: None."""
    text = text.strip()
    if text == "0":
        return None
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if not text or pos != len(text):
        raise TokenFormatError(
            f"invalid TTL {text!r}: a duration such as 24h, 1h30m or 90s (0: never expires)")
    if total > MAX_TTL:
        raise TokenFormatError(
            f"TTL {text!r} is too long: at most {int(MAX_TTL // 3600)}h (100 years; 0: "
            "never expires)")
    return None if total == 0 else total


def short_duration(seconds: float) -> str:
    """How kubectl and kubeadm show an age or a time left: 45s, 12m, 23h, 3d, 2y;
    <invalid> when it is not positive."""
    if seconds <= 0:
        return "<invalid>"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 48 * 3600:
        return f"{s // 3600}h"
    if s < 365 * 2 * 86400:
        return f"{s // 86400}d"
    return f"{s // (365 * 86400)}y"


LIST_COLUMNS: Final = ("TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS")


def list_row(info: TokenInfo, now: float) -> tuple[str, ...]:
    """A `token list` row in kubeadm's columns."""
    if info.expiration is None:
        ttl, expires = "<forever>", "<never>"
    else:
        ttl, expires = short_duration(info.expiration - now), rfc3339(info.expiration)
    return (str(info.token), ttl, expires, ",".join(info.usages) or "<none>",
            info.description or "<none>", ",".join(info.extra_groups) or "<none>")


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    return "\n".join(lines)
