"""Secrets at rest in a cluster: the encryption config in DATA/pki (made on first start,
checked against the store on every start) and key rotation.

A rotation follows kube's recipe in one process: a new key is added in front (written to
the file first, so no value is ever under a key that is not on disk), every Secret is
rewritten under it, the store forgets older revisions (compaction, then a snapshot that
replaces every older snapshot and log segment), and only then do the old keys leave the
file. Interrupted at any point, the file still holds every key a stored value needs, and
running the rotation again finishes the job.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minikube_py.api.timefmt import rfc3339
from minikube_py.apiserver.encryptedkv import EncryptingKV, secrets_census
from minikube_py.apiserver.encryption import (
    KEY_SIZE,
    AesKey,
    EncryptionConfig,
    EncryptionConfigError,
    ValueTransformer,
    new_key_name,
    parse_config,
    render_config,
)
from minikube_py.pki.cluster import PkiLayout
from minikube_py.store.types import KV, PutOp

# Outside /registry/: the API never sees it. What the last rotation did, and when.
ROTATION_RECORD = b"/minikube-py/encryption/last-rotation"
PLAIN_TEXT = "identity"  # how the status names plain-text values: by their provider


def config_path(data_dir: Path) -> Path:
    """Where the keys live: DATA/pki, next to the cluster's other keys."""
    return PkiLayout(data_dir / "pki").encryption_config


def read_config(path: Path) -> EncryptionConfig | None:
    """The config in `path`, None if there is none. Like ssh with its keys, a file others
    may read is refused."""
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise EncryptionConfigError(f"cannot read {path}: {e.strerror}") from None
    if mode & 0o077:
        raise EncryptionConfigError(f"{path} holds the keys of the cluster's Secrets but "
                                    f"others may access it (mode {mode & 0o777:o}): "
                                    f"chmod 600 {path}")
    return parse_config(text, str(path))


def write_config(path: Path, config: EncryptionConfig) -> None:
    """Replace the file atomically (mode 0600, in a 0700 directory), durable once this
    returns."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a leftover temporary file keeps its mode through O_TRUNC
        os.write(fd, render_config(config).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass(frozen=True, slots=True)
class Rotation:
    """What a rotation did."""

    key: str  # the key that now encrypts every Secret
    reencrypted: int  # Secrets rewritten under it
    removed: tuple[str, ...]  # keys no longer in the config

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "reencrypted": self.reencrypted,
                "removed": list(self.removed)}


class SecretsEncryption:
    """The cluster's encryption at rest: the KV the API server is given (`kv`), the config
    file, and key rotation. `purge` makes the store's files forget compacted revisions
    (the embedded store's `purge_history`; None for a store that cannot)."""

    def __init__(self, kv: EncryptingKV, path: Path, *, clock: Callable[[], float],
                 random_bytes: Callable[[int], bytes],
                 purge: Callable[[], Awaitable[None]] | None) -> None:
        self.kv = kv
        self.path = path
        self._clock = clock
        self._random_bytes = random_bytes
        self._purge = purge
        self._rotating = asyncio.Lock()

    @property
    def config(self) -> EncryptionConfig:
        return self.kv.transformer.config

    async def rotate_key(self) -> Rotation:
        """Make a new key, re-encrypt every Secret with it and drop the other keys."""
        async with self._rotating:
            before = self.config
            key = AesKey(new_key_name(before, self._clock()), self._random_bytes(KEY_SIZE))
            rotating = before.with_new_key(key)
            await self._save(rotating)  # on disk before any value is under it
            self.kv.use(ValueTransformer(rotating, self._random_bytes))
            rewritten = await self.kv.reencrypt()
            rotation = Rotation(key.name, rewritten, before.key_names)
            await self._forget_history(rotation)
            after = rotating.only_write_key()
            await self._save(after)
            self.kv.use(ValueTransformer(after, self._random_bytes))
            return rotation

    async def status(self) -> dict[str, Any]:
        counts = await secrets_census(self.kv.inner)
        write = self.config.write_key
        last = (await self.kv.inner.range(ROTATION_RECORD)).kvs
        return {"config": str(self.path), "writeKey": write.name if write else PLAIN_TEXT,
                "keys": list(self.config.key_names),
                "secrets": {PLAIN_TEXT if k is None else k: n
                            for k, n in sorted(counts.items(), key=lambda kv: str(kv[0]))},
                "lastRotation": json.loads(last[0].value) if last else None}

    async def _save(self, config: EncryptionConfig) -> None:
        await asyncio.get_running_loop().run_in_executor(None, write_config, self.path, config)

    async def _forget_history(self, rotation: Rotation) -> None:
        """No revision from before the rewrite stays: not in the store, not in its files.
        The store keeps the previous value of the change at its compaction revision (for
        a watch from there): recording the rotation makes that change one of no Secret."""
        record = json.dumps({**rotation.to_json(), "at": rfc3339(self._clock())}).encode()
        res = await self.kv.inner.txn([], [PutOp(ROTATION_RECORD, record)], [])
        await self.kv.compact(res.revision)
        if self._purge is not None:
            await self._purge()


async def open_encryption(data_dir: Path, store: KV, *, clock: Callable[[], float] = time.time,
                          random_bytes: Callable[[int], bytes] = os.urandom,
                          purge: Callable[[], Awaitable[None]] | None = None,
                          ) -> tuple[SecretsEncryption, list[str]]:
    """Read the config (on first start: make one, with a new key), after checking that it
    holds every key the store's Secrets are under; raises EncryptionConfigError if not,
    writing nothing (a new key cannot read them; the file that can must be restored).
    Returns the encryption and notes for the person starting the cluster.

    The file sits with the PKI's keys, but is made here rather than by the step that makes
    the certificates: whether a missing file may be made depends on what the store holds
    (an older data dir's plain-text Secrets: yes; Secrets under a lost key: no), so it
    waits for the store to be open."""
    path = config_path(data_dir)
    config = read_config(path)
    counts = await secrets_census(store)
    known = set(config.key_names) if config is not None else set()
    missing = sorted(str(k) for k in counts if k is not None and k not in known)
    if missing:
        where = f"{path} is missing" if config is None else f"{path} does not hold them"
        raise EncryptionConfigError(
            f"the store holds Secrets encrypted with {', '.join(missing)}, but {where}: "
            "restore the file from the copy of the data dir it came with")
    notes = []
    if config is None:
        key = AesKey(new_key_name(EncryptionConfig(), clock()), random_bytes(KEY_SIZE))
        config = EncryptionConfig().with_new_key(key)
        await asyncio.get_running_loop().run_in_executor(None, write_config, path, config)
        notes.append(f"made the key that encrypts Secrets in the store: {path}")
    plain = counts.get(None, 0)
    if plain and config.write_key is not None:
        notes.append(f"{_secrets(plain)} stored in plain text (written before encryption): "
                     "`minikube-py encryption rotate-key` encrypts them")
    if len(config.keys) > 1:
        notes.append(f"{path} holds {len(config.keys)} keys (a key rotation did not finish): "
                     "`minikube-py encryption rotate-key` finishes it")
    transformer = ValueTransformer(config, random_bytes)
    return SecretsEncryption(EncryptingKV(store, transformer), path, clock=clock,
                             random_bytes=random_bytes, purge=purge), notes


def _secrets(n: int) -> str:
    return "1 Secret is" if n == 1 else f"{n} Secrets are"
