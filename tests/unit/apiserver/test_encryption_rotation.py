"""The encryption config on disk and key rotation, over the real embedded store in a temp
data dir: what a copied data dir holds before and after a rotation."""

from __future__ import annotations

import asyncio
import base64
import itertools
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from minikube_py.api.resources import SECRETS
from minikube_py.apiserver.encryption import (
    AesKey,
    DecryptionError,
    EncryptionConfig,
    EncryptionConfigError,
    ValueTransformer,
)
from minikube_py.apiserver.encryptionkeys import (
    SecretsEncryption,
    config_path,
    open_encryption,
    read_config,
    write_config,
)
from minikube_py.apiserver.service import ApiService
from minikube_py.apiserver.storage import encode
from minikube_py.encryption_commands import ROTATE_KEY, STATUS, CommandFailed, run_command
from minikube_py.store.node import RaftStore
from minikube_py.store.types import PutOp

PASSWORD = "correct horse battery staple"
NOW = 1_700_000_000.0


def b64(text: str) -> bytes:
    return base64.b64encode(text.encode())


def files_holding(path: Path, needle: bytes) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")
                  if p.is_file() and needle in p.read_bytes())


def secret(name: str, password: str = PASSWORD) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "stringData": {"password": password}}


def plain_secret(name: str, password: str) -> bytes:
    """A Secret as an older data dir stored it."""
    return encode({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                                "creationTimestamp": "2024-01-01T00:00:00Z"},
                   "type": "Opaque", "data": {"password": b64(password).decode()}})


@dataclass
class Node:
    """A data dir with its store, encryption and API service, as serve wires them."""

    data: Path
    store: RaftStore
    encryption: SecretsEncryption
    api: ApiService
    notes: list[str]

    @classmethod
    async def start(cls, data: Path, clock: float = NOW) -> Node:
        store = RaftStore(data / "store")
        await store.start()
        ticks = itertools.count()
        encryption, notes = await open_encryption(
            data, store, clock=lambda: clock + next(ticks), purge=store.purge_history)
        api = ApiService(encryption.kv)
        await api.start()
        return cls(data, store, encryption, api, notes)

    async def stop(self) -> None:
        await self.api.stop()
        await self.store.close()

    async def stored(self, name: str) -> bytes:
        key = f"/registry/secrets/default/{name}".encode()
        return (await self.store.range(key)).kvs[0].value


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await Node.start(tmp_path / "data")
    yield n
    await n.stop()


async def test_the_first_start_makes_a_private_key_file(node: Node) -> None:
    path = config_path(node.data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert node.notes == [f"made the key that encrypts Secrets in the store: {path}"]
    config = read_config(path)
    assert config is not None and config.key_names == ("key-20231114T221320Z",)


async def test_no_file_of_the_data_dir_holds_a_secrets_value(tmp_path: Path) -> None:
    node = await Node.start(tmp_path / "data")
    await node.api.create(SECRETS, secret("db"), namespace="default")
    await node.stop()  # the close writes a snapshot too
    assert files_holding(node.data, PASSWORD.encode()) == []
    assert files_holding(node.data, b64(PASSWORD)) == []


async def test_a_restart_reads_the_secrets_back(tmp_path: Path) -> None:
    first = await Node.start(tmp_path / "data")
    await first.api.create(SECRETS, secret("db"), namespace="default")
    await first.stop()
    again = await Node.start(tmp_path / "data")
    got = await again.api.get(SECRETS, "db", namespace="default")
    assert got["data"] == {"password": b64(PASSWORD).decode()}
    assert again.notes == []
    await again.stop()


async def test_rotation_reencrypts_every_secret_under_a_new_key(node: Node) -> None:
    old_key = node.encryption.config.key_names[0]
    for i in range(3):
        await node.api.create(SECRETS, secret(f"s{i}", f"pw{i}"), namespace="default")
    rotation = await node.encryption.rotate_key()
    assert rotation.reencrypted == 3 and rotation.removed == (old_key,)
    for i in range(3):
        assert (await node.stored(f"s{i}")).startswith(
            f"k8s:enc:aesgcm:v1:{rotation.key}:".encode())
        got = await node.api.get(SECRETS, f"s{i}", namespace="default")
        assert got["data"] == {"password": b64(f"pw{i}").decode()}
    config = read_config(config_path(node.data))
    assert config is not None and config.key_names == (rotation.key,)


async def test_after_a_rotation_the_old_key_decrypts_nothing_in_the_data_dir(
        tmp_path: Path) -> None:
    node = await Node.start(tmp_path / "data")
    old = node.encryption.config
    await node.api.create(SECRETS, secret("db"), namespace="default")
    await node.api.patch(SECRETS, "db", {"metadata": {"labels": {"v": "2"}}},
                         namespace="default")
    old_prefix = f"k8s:enc:aesgcm:v1:{old.key_names[0]}:".encode()
    assert files_holding(node.data / "store", old_prefix)
    await node.encryption.rotate_key()
    assert files_holding(node.data / "store", old_prefix) == []
    with pytest.raises(DecryptionError, match="not in the encryption config"):
        ValueTransformer(old, bytes).from_storage(b"/registry/secrets/default/db",
                                                  await node.stored("db"))
    await node.stop()
    assert files_holding(node.data / "store", old_prefix) == []


async def test_rotation_encrypts_plain_text_secrets_from_before_and_forgets_them(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = RaftStore(data / "store")  # an older cluster: no encryption
    await store.start()
    await store.txn([], [PutOp(b"/registry/secrets/default/old", plain_secret("old", PASSWORD))],
                    [])
    await store.close()
    node = await Node.start(data)
    assert "1 Secret is stored in plain text" in node.notes[-1]
    got = await node.api.get(SECRETS, "old", namespace="default")
    assert got["data"] == {"password": b64(PASSWORD).decode()}
    assert (await node.encryption.rotate_key()).reencrypted == 1
    assert files_holding(data, b64(PASSWORD)) == []
    assert (await node.api.get(SECRETS, "old", namespace="default"))["data"] == got["data"]
    await node.stop()


async def test_secrets_written_during_a_rotation_end_under_the_new_key(node: Node) -> None:
    for i in range(40):
        await node.api.create(SECRETS, secret(f"s{i}", "v0"), namespace="default")

    async def keep_writing() -> None:
        for round_ in range(1, 4):
            for i in range(40):
                await node.api.patch(SECRETS, f"s{i}", {"stringData": {"password": f"v{round_}"}},
                                     namespace="default")
        for i in range(40, 60):
            await node.api.create(SECRETS, secret(f"s{i}", "new"), namespace="default")

    rotation, _ = await asyncio.gather(node.encryption.rotate_key(), keep_writing())
    for i in range(60):
        assert (await node.stored(f"s{i}")).startswith(
            f"k8s:enc:aesgcm:v1:{rotation.key}:".encode())
        got = await node.api.get(SECRETS, f"s{i}", namespace="default")
        assert got["data"]["password"] == b64("v3" if i < 40 else "new").decode()


async def test_an_interrupted_rotation_leaves_every_key_a_secret_needs(tmp_path: Path) -> None:
    node = await Node.start(tmp_path / "data")
    await node.api.create(SECRETS, secret("db"), namespace="default")
    old = node.encryption.config
    both = old.with_new_key(AesKey("key-new", bytes(32)))
    write_config(config_path(node.data), both)  # the rotation's first step, then a crash
    await node.stop()
    again = await Node.start(tmp_path / "data")
    assert "holds 2 keys (a key rotation did not finish)" in again.notes[-1]
    assert (await again.api.get(SECRETS, "db", namespace="default"))["data"]
    rotation = await again.encryption.rotate_key()
    assert rotation.removed == ("key-new", old.key_names[0])
    await again.stop()


async def test_a_start_without_the_key_file_the_secrets_need_is_refused(tmp_path: Path) -> None:
    node = await Node.start(tmp_path / "data")
    await node.api.create(SECRETS, secret("db"), namespace="default")
    key_name = node.encryption.config.key_names[0]
    await node.stop()
    config_path(node.data).unlink()
    store = RaftStore(node.data / "store")
    await store.start()
    with pytest.raises(EncryptionConfigError,
                       match=f"encrypted with {key_name}, but .* is missing: restore"):
        await open_encryption(node.data, store)
    await store.close()
    assert not config_path(node.data).exists()  # nothing was made in its place


async def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    path = config_path(tmp_path)
    write_config(path, EncryptionConfig((AesKey("k", bytes(32)),)))
    path.chmod(0o644)
    with pytest.raises(EncryptionConfigError, match="chmod 600"):
        read_config(path)


async def test_the_command_rotates_a_stopped_clusters_data_dir(tmp_path: Path) -> None:
    node = await Node.start(tmp_path / "data")
    await node.api.create(SECRETS, secret("db"), namespace="default")
    old = node.encryption.config.key_names[0]
    await node.stop()
    rotated = await run_command(node.data, ROTATE_KEY)
    assert rotated["removed"] == [old] and rotated["reencrypted"] == 1
    status = await run_command(node.data, STATUS)
    assert status["keys"] == [rotated["key"]] and status["secrets"] == {rotated["key"]: 1}
    assert status["lastRotation"]["key"] == rotated["key"]
    again = await Node.start(node.data)
    assert (await again.api.get(SECRETS, "db", namespace="default"))["data"]
    await again.stop()


async def test_the_command_refuses_a_dir_with_no_cluster(tmp_path: Path) -> None:
    with pytest.raises(CommandFailed, match="no cluster in"):
        await run_command(tmp_path, ROTATE_KEY)
