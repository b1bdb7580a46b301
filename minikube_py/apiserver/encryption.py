"""Secrets at rest: kube-apiserver's `aesgcm` value transformer and the
EncryptionConfiguration that holds its keys. Pure: no IO and no clock; nonces come from
an injected source of random bytes.

A value is stored as kube stores it: `k8s:enc:aesgcm:v1:<key name>:`, a 12-byte random
nonce, then the AES-GCM ciphertext and tag, with the storage key
(`/registry/secrets/NS/NAME`) as authenticated data, so a value copied under another key
does not decrypt. A value without the `k8s:enc:` prefix is plain text (the `identity`
provider), as every value was before encryption existed.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENCRYPTED = b"k8s:enc:"
AESGCM_PREFIX = b"k8s:enc:aesgcm:v1:"
NONCE_SIZE = 12  # GCM's standard nonce; every stored value depends on it never changing
KEY_SIZE = 32  # of the keys made here; a config may hold 16-, 24- or 32-byte keys, as kube's
API_VERSION = "apiserver.config.k8s.io/v1"
KIND = "EncryptionConfiguration"
ENCRYPTED_RESOURCES = ("secrets",)


class EncryptionConfigError(ValueError):
    """The encryption config cannot be used; the message names the field and why."""


class DecryptionError(Exception):
    """A stored value cannot be read; the message says why (wrong key, unknown key...)."""


@dataclass(frozen=True, slots=True)
class AesKey:
    name: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class EncryptionConfig:
    """What the file says, reduced to what decides reading and writing: the `aesgcm` keys
    in order, whether `identity` comes first (new values are then written in plain text,
    kube's way of turning encryption off) and whether it is listed at all (plain-text
    values are then readable)."""

    keys: tuple[AesKey, ...] = ()
    write_plain_text: bool = False
    read_plain_text: bool = True

    @property
    def write_key(self) -> AesKey | None:
        """The key new values are encrypted with; None: they are written in plain text."""
        return None if self.write_plain_text or not self.keys else self.keys[0]

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)

    def with_new_key(self, key: AesKey) -> EncryptionConfig:
        """`key` writes from now on; the other keys (and plain text) still read."""
        if key.name in self.key_names:
            raise EncryptionConfigError(f'a key named "{key.name}" already exists')
        return EncryptionConfig((key, *self.keys), write_plain_text=False, read_plain_text=True)

    def only_write_key(self) -> EncryptionConfig:
        """The config once every value is under the write key: the other keys go."""
        keys = () if self.write_key is None else (self.write_key,)
        return EncryptionConfig(keys, self.write_plain_text, self.read_plain_text)


def new_key_name(config: EncryptionConfig, now: float) -> str:
    """`key-<UTC time>` (as k3s names its keys), unique in `config`: the name says when a
    key was made, and a key made after a lost config never shares a name with the lost one."""
    base = "key-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    name, n = base, 1
    while name in config.key_names:
        n += 1
        name = f"{base}-{n}"
    return name


# --- the file: kube's EncryptionConfiguration, the part of it this server implements -----

def parse_config(text: str, source: str) -> EncryptionConfig:
    """Read an EncryptionConfiguration; anything this server does not implement (other
    resources, other providers) is refused by name rather than ignored."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise EncryptionConfigError(f"{source}: not YAML: {e}") from None
    if not isinstance(doc, dict):
        raise EncryptionConfigError(f"{source}: not an {KIND}")
    if doc.get("kind") != KIND or doc.get("apiVersion") != API_VERSION:
        raise EncryptionConfigError(f"{source}: expected kind {KIND}, apiVersion {API_VERSION}")
    resources = doc.get("resources")
    if not isinstance(resources, list) or len(resources) != 1 or \
            not isinstance(resources[0], dict):
        raise EncryptionConfigError(f"{source}: resources must hold exactly one entry, "
                                    "for secrets")
    entry = resources[0]
    if entry.get("resources") != list(ENCRYPTED_RESOURCES):
        raise EncryptionConfigError(f"{source}: resources[0].resources must be [secrets]: "
                                    "only Secrets are encrypted by this server")
    providers = entry.get("providers")
    if not isinstance(providers, list) or not providers:
        raise EncryptionConfigError(f"{source}: resources[0].providers must be a non-empty list")
    keys: list[AesKey] = []
    identity_at: int | None = None
    for i, provider in enumerate(providers):
        where = f"{source}: resources[0].providers[{i}]"
        if not isinstance(provider, dict) or len(provider) != 1:
            raise EncryptionConfigError(f"{where}: must name exactly one provider")
        (kind, body), = provider.items()
        if kind == "identity":
            identity_at = i if identity_at is None else identity_at
        elif kind == "aesgcm":
            keys.extend(_parse_keys(body, where))
        else:
            raise EncryptionConfigError(f"{where}: provider {kind!r} is not supported here "
                                        "(aesgcm and identity are)")
    names = [k.name for k in keys]
    for name in names:
        if names.count(name) > 1:
            raise EncryptionConfigError(f'{source}: the key name "{name}" is used twice')
    return EncryptionConfig(tuple(keys), write_plain_text=identity_at == 0,
                            read_plain_text=identity_at is not None)


def _parse_keys(body: Any, where: str) -> list[AesKey]:
    if not isinstance(body, dict) or not isinstance(body.get("keys"), list) or \
            not body["keys"]:
        raise EncryptionConfigError(f"{where}.aesgcm.keys: must be a non-empty list")
    keys = []
    for j, item in enumerate(body["keys"]):
        at = f"{where}.aesgcm.keys[{j}]"
        if not isinstance(item, dict):
            raise EncryptionConfigError(f"{at}: must have a name and a secret")
        name, secret = item.get("name"), item.get("secret")
        if not isinstance(name, str) or not name or ":" in name:
            raise EncryptionConfigError(f"{at}.name: must be a non-empty string without ':'")
        if not isinstance(secret, str):
            raise EncryptionConfigError(f"{at}.secret: must be a base64 string")
        try:
            raw = base64.b64decode(secret, validate=True)
        except (binascii.Error, ValueError):
            raise EncryptionConfigError(f"{at}.secret: not valid base64") from None
        if len(raw) not in (16, 24, 32):
            raise EncryptionConfigError(f"{at}.secret: an AES-GCM key is 16, 24 or 32 bytes, "
                                        f"not {len(raw)}")
        keys.append(AesKey(name, raw))
    return keys


_HEADER = """\
# The keys that encrypt Secrets in this cluster's store (kube-apiserver's
# EncryptionConfiguration: the first aesgcm key encrypts, every key listed decrypts).
# Keep it private, and keep it with any copy of the data dir: without it, the Secrets
# in the store cannot be read. Rotate with `minikube-py encryption rotate-key`.
"""


def render_config(config: EncryptionConfig) -> str:
    providers: list[dict[str, Any]] = []
    if config.keys:
        providers.append({"aesgcm": {"keys": [
            {"name": k.name, "secret": base64.b64encode(k.secret).decode()}
            for k in config.keys]}})
    if config.read_plain_text:
        providers.insert(0 if config.write_plain_text else len(providers), {"identity": {}})
    doc = {"apiVersion": API_VERSION, "kind": KIND,
           "resources": [{"resources": list(ENCRYPTED_RESOURCES), "providers": providers}]}
    return _HEADER + yaml.safe_dump(doc, sort_keys=False)


# --- the transformer ---------------------------------------------------------------------

class Read(NamedTuple):
    value: bytes
    stale: bool  # not written as the config writes now: a write should rewrite it


def stored_under(stored: bytes) -> str | None:
    """The name of the key a stored value is encrypted with; None for plain text; for
    another provider's value (which this server cannot read), its prefix."""
    if not stored.startswith(ENCRYPTED):
        return None
    if stored.startswith(AESGCM_PREFIX):
        end = stored.find(b":", len(AESGCM_PREFIX))
        if end > 0:
            return stored[len(AESGCM_PREFIX):end].decode(errors="replace")
    end = stored.find(b":", len(ENCRYPTED))
    return stored[:end if end > 0 else 64][:64].decode(errors="replace")


def _key_and_body(stored: bytes) -> tuple[str | None, int]:
    """The key name and where the nonce starts; (None, 0) for plain text."""
    if not stored.startswith(ENCRYPTED):
        return None, 0
    if not stored.startswith(AESGCM_PREFIX):
        end = stored.find(b":", len(ENCRYPTED))
        provider = stored[len(ENCRYPTED):end if end > 0 else None][:32]
        raise DecryptionError(f"it is encrypted by a provider this server does not have "
                              f"({provider.decode(errors='replace')!r})")
    end = stored.find(b":", len(AESGCM_PREFIX))
    if end < 0:
        raise DecryptionError("the aesgcm prefix names no key")
    return stored[len(AESGCM_PREFIX):end].decode(errors="replace"), end + 1


class ValueTransformer:
    """Encrypts values with the config's write key and reads them with whichever key
    they name. `random_bytes(n)` gives the nonces (os.urandom in the server)."""

    def __init__(self, config: EncryptionConfig, random_bytes: Callable[[int], bytes]) -> None:
        self.config = config
        self._random_bytes = random_bytes
        self._ciphers = {k.name: AESGCM(k.secret) for k in config.keys}
        write = config.write_key
        self._write: tuple[bytes, AESGCM] | None = None if write is None else (
            AESGCM_PREFIX + write.name.encode() + b":", self._ciphers[write.name])

    def to_storage(self, key: bytes, value: bytes) -> bytes:
        if self._write is None:
            return value
        prefix, cipher = self._write
        nonce = self._random_bytes(NONCE_SIZE)
        return b"".join((prefix, nonce, cipher.encrypt(nonce, value, key)))

    def from_storage(self, key: bytes, stored: bytes) -> Read:
        name, at = _key_and_body(stored)
        if name is None:
            if not self.config.read_plain_text:
                raise DecryptionError("it is stored in plain text, and the identity provider "
                                      "is not in the encryption config")
            return Read(stored, self._write is not None)
        cipher = self._ciphers.get(name)
        if cipher is None:
            raise DecryptionError(f'it is encrypted with the key "{name}", which is not in '
                                  "the encryption config")
        if len(stored) < at + NONCE_SIZE:
            raise DecryptionError("the stored data was shorter than the required size")
        try:
            value = cipher.decrypt(stored[at:at + NONCE_SIZE], stored[at + NONCE_SIZE:], key)
        except InvalidTag:
            raise DecryptionError(f'the key "{name}" does not decrypt it (message '
                                  "authentication failed)") from None
        write = self.config.write_key
        return Read(value, write is None or write.name != name)
