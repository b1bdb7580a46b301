"""The API server over the encrypting KV: Secrets are ciphertext in the store and plain
JSON through every read path (get, the spliced JSON, list, watch); other kinds pass."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CONFIGMAPS, SECRETS
from minikube_py.apiserver.encryptedkv import EncryptingKV, touches_secrets
from minikube_py.apiserver.encryption import AesKey, EncryptionConfig, ValueTransformer
from minikube_py.apiserver.service import ApiService
from minikube_py.apiserver.storage import encode
from minikube_py.store.memory import MemoryKV
from minikube_py.store.types import (
    Compare,
    CompareOp,
    CompareTarget,
    DeleteOp,
    DeleteResult,
    EventType,
    Op,
    PutOp,
    TxnResult,
    prefix_end,
)

PASSWORD = "correct horse battery staple"
KEY = b"/registry/secrets/default/db"
K1 = AesKey("key1", bytes(range(32)))
K2 = AesKey("key2", bytes(range(1, 33)))


def transformer(*keys: AesKey) -> ValueTransformer:
    counter = itertools.count(1)
    return ValueTransformer(EncryptionConfig(keys), lambda n: next(counter).to_bytes(n, "big"))


@dataclass
class Cluster:
    raw: MemoryKV  # the store, as a copied WAL or snapshot would show it
    kv: EncryptingKV
    api: ApiService

    async def stored(self, key: bytes = KEY) -> bytes:
        return (await self.raw.range(key)).kvs[0].value


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    raw = MemoryKV()
    kv = EncryptingKV(raw, transformer(K1))
    api = ApiService(kv, bookmark_interval=0.05)
    await api.start()
    yield Cluster(raw, kv, api)
    await api.stop()
    await raw.close()


def secret(name: str = "db", password: str = PASSWORD) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "stringData": {"password": password}}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_a_secret_is_stored_encrypted_under_the_write_key(cluster: Cluster) -> None:
    await cluster.api.create(SECRETS, secret(), namespace="default")
    stored = await cluster.stored()
    assert stored.startswith(b"k8s:enc:aesgcm:v1:key1:")
    assert PASSWORD.encode() not in stored
    assert b64(PASSWORD).encode() not in stored


async def test_get_and_the_spliced_json_show_the_plain_secret(cluster: Cluster) -> None:
    created = await cluster.api.create(SECRETS, secret(), namespace="default")
    got = await cluster.api.get(SECRETS, "db", namespace="default")
    assert got["data"] == {"password": b64(PASSWORD)}
    assert got["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    spliced = json.loads(await cluster.api.get_json(SECRETS, "db", "default"))
    assert spliced == got


async def test_a_list_shows_every_secret_plain(cluster: Cluster) -> None:
    for i in range(5):
        await cluster.api.create(SECRETS, secret(f"s{i}", f"pw{i}"), namespace="default")
    listed = await cluster.api.list(SECRETS, namespace="default")
    assert [s["data"]["password"] for s in listed["items"]] == [b64(f"pw{i}") for i in range(5)]
    paged = await cluster.api.list(SECRETS, limit=2)
    assert [s["metadata"]["name"] for s in paged["items"]] == ["s0", "s1"]


async def test_a_watch_sees_plain_secrets_added_modified_and_deleted(cluster: Cluster) -> None:
    events = cluster.api.watch(SECRETS, namespace="default",
                               resource_version=str(cluster.kv.revision))
    await cluster.api.create(SECRETS, secret(), namespace="default")
    await cluster.api.patch(SECRETS, "db", {"stringData": {"password": "new"}},
                            namespace="default")
    await cluster.api.delete(SECRETS, "db", namespace="default")
    seen = [await asyncio.wait_for(events.__anext__(), 2) for _ in range(3)]
    await events.aclose()  # type: ignore[attr-defined]
    assert [(e.type, e.object["data"]["password"]) for e in seen] == [
        ("ADDED", b64(PASSWORD)), ("MODIFIED", b64("new")), ("DELETED", b64("new"))]


async def test_a_store_watch_through_it_decrypts_values_and_previous_values(
        cluster: Cluster) -> None:
    stream = cluster.kv.watch(b"/registry/", prefix_end(b"/registry/"),
                              start_revision=cluster.kv.revision + 1, prev_kv=True)
    await cluster.api.create(SECRETS, secret(), namespace="default")
    await cluster.api.delete(SECRETS, "db", namespace="default")
    batches = aiter(stream)
    put = (await asyncio.wait_for(anext(batches), 2))[0]
    deleted = (await asyncio.wait_for(anext(batches), 2))[0]
    stream.close()
    assert put.type is EventType.PUT and b64(PASSWORD).encode() in put.kv.value
    assert deleted.type is EventType.DELETE and deleted.prev_kv is not None
    assert b64(PASSWORD).encode() in deleted.prev_kv.value


async def test_other_kinds_are_stored_as_they_were(cluster: Cluster) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
          "data": {"k": "visible"}}
    await cluster.api.create(CONFIGMAPS, cm, namespace="default")
    stored = await cluster.stored(b"/registry/configmaps/default/c")
    assert json.loads(stored)["data"] == {"k": "visible"}


async def test_a_plain_text_secret_from_before_reads_and_is_encrypted_on_its_next_write(
        cluster: Cluster) -> None:
    old = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db",
           "namespace": "default", "uid": "u1", "creationTimestamp": "2024-01-01T00:00:00Z"},
           "type": "Opaque", "data": {"password": b64(PASSWORD)}}
    await cluster.raw.txn([], [PutOp(KEY, encode(old))], [])
    got = await cluster.api.get(SECRETS, "db", namespace="default")
    assert got["data"] == {"password": b64(PASSWORD)}
    await cluster.api.patch(SECRETS, "db", {"metadata": {"labels": {"a": "b"}}},
                            namespace="default")
    assert (await cluster.stored()).startswith(b"k8s:enc:aesgcm:v1:key1:")


async def test_an_unchanged_update_rewrites_a_stale_secret_as_kube_does(
        cluster: Cluster) -> None:
    await cluster.api.create(SECRETS, secret(), namespace="default")
    cluster.kv.use(transformer(K2, K1))
    before = await cluster.api.get(SECRETS, "db", namespace="default")
    after = await cluster.api.update(SECRETS, before, namespace="default")  # kubectl replace
    assert after["metadata"]["resourceVersion"] != before["metadata"]["resourceVersion"]
    assert (await cluster.stored()).startswith(b"k8s:enc:aesgcm:v1:key2:")


async def test_an_unchanged_update_of_a_current_secret_writes_nothing(cluster: Cluster) -> None:
    await cluster.api.create(SECRETS, secret(), namespace="default")
    before = await cluster.api.get(SECRETS, "db", namespace="default")
    after = await cluster.api.update(SECRETS, before, namespace="default")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


async def test_a_secret_under_a_key_it_lacks_is_a_500_naming_the_key(cluster: Cluster) -> None:
    await cluster.api.create(SECRETS, secret(), namespace="default")
    cluster.kv.use(transformer(K2))
    for read in (cluster.api.get(SECRETS, "db", namespace="default"),
                 cluster.api.list(SECRETS, namespace="default")):
        with pytest.raises(ApiError) as e:
            await read
        assert (e.value.code, e.value.reason) == (500, "InternalError")
        assert e.value.message == (
            'Internal error occurred: unable to transform key "/registry/secrets/default/db": '
            'it is encrypted with the key "key1", which is not in the encryption config')


async def test_a_watch_event_no_key_reads_is_dropped_with_an_error_and_the_watch_goes_on(
        cluster: Cluster, caplog: pytest.LogCaptureFixture) -> None:
    events = cluster.api.watch(SECRETS, namespace="default",
                               resource_version=str(cluster.kv.revision))
    foreign = transformer(AesKey("elsewhere", bytes(32)))
    await cluster.raw.txn([], [PutOp(KEY, foreign.to_storage(KEY, encode(secret())))], [])
    await cluster.api.create(SECRETS, secret("next"), namespace="default")
    with caplog.at_level(logging.ERROR):
        ev = await asyncio.wait_for(events.__anext__(), 2)
    await events.aclose()  # type: ignore[attr-defined]
    assert ev.object["metadata"]["name"] == "next"
    assert "/registry/secrets/default/db" in caplog.text and "elsewhere" in caplog.text


async def test_a_deletion_answers_the_plain_previous_values(cluster: Cluster) -> None:
    await cluster.api.create(SECRETS, secret(), namespace="default")
    res = await cluster.kv.txn([], [DeleteOp(KEY, prefix_end(KEY), prev_kv=True)], [])
    deleted = res.responses[0]
    assert isinstance(deleted, DeleteResult)
    assert b64(PASSWORD).encode() in deleted.prev_kvs[0].value


async def test_comparing_an_encrypted_value_is_refused(cluster: Cluster) -> None:
    with pytest.raises(ValueError, match="stored encrypted"):
        await cluster.kv.txn([Compare(KEY, CompareTarget.VALUE, CompareOp.EQUAL, b"x")],
                             [PutOp(KEY, b"{}")], [])


@pytest.mark.parametrize(("key", "range_end", "touches"), [
    (KEY, b"", True),
    (b"/registry/configmaps/default/c", b"", False),
    (b"/registry/", prefix_end(b"/registry/"), True),
    (b"/registry/secrets/", prefix_end(b"/registry/secrets/"), True),
    (b"/registry/secrets/default/", prefix_end(b"/registry/secrets/default/"), True),
    (b"/registry/pods/", prefix_end(b"/registry/pods/"), False),
    (b"/registry/serviceaccounts/", prefix_end(b"/registry/serviceaccounts/"), False),
    (b"/registry/a", b"/registry/secrets/", False),
    (b"\x00", b"\x00", True),
])
def test_which_ranges_reach_into_the_secrets(key: bytes, range_end: bytes,
                                             touches: bool) -> None:
    assert touches_secrets(key, range_end) is touches


class HeldWrites(MemoryKV):
    """A store whose writes wait at a gate, so a test can hold one in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.holding = asyncio.Event()

    async def txn(self, compares: list[Compare], success: list[Op],
                  failure: list[Op]) -> TxnResult:
        self.holding.set()
        await self.gate.wait()
        return await super().txn(compares, success, failure)


async def test_reencrypt_waits_for_writes_encrypted_under_the_previous_key() -> None:
    raw = HeldWrites()
    kv = EncryptingKV(raw, transformer(K1))
    create = asyncio.create_task(kv.txn([Compare(KEY, CompareTarget.CREATE, CompareOp.EQUAL, 0)],
                                        [PutOp(KEY, b"{}")], []))
    await raw.holding.wait()  # encrypted under key1, not yet in the store
    kv.use(transformer(K2, K1))
    rewrite = asyncio.create_task(kv.reencrypt())
    for _ in range(10):  # let the rewrite run as far as it can
        await asyncio.sleep(0)
    raw.gate.set()
    await create
    assert await rewrite == 1
    assert (await raw.range(KEY)).kvs[0].value.startswith(b"k8s:enc:aesgcm:v1:key2:")
    await raw.close()
