"""The aetcd client library, used as an application would, against our server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aetcd
import aetcd.exceptions
import pytest

from tests.unit.etcdapi.conftest import Etcd


@pytest.fixture
async def client(etcd: Etcd) -> AsyncIterator[aetcd.Client]:
    async with aetcd.Client("127.0.0.1", etcd.server.port, timeout=5) as c:
        yield c


async def test_kv_txn_and_compaction(client: aetcd.Client, etcd: Etcd) -> None:
    await client.put(b"/app/a", b"1")
    await client.put(b"/app/b", b"2")
    got = await client.get(b"/app/a")
    assert got is not None and got.value == b"1"
    assert [kv.value for kv in await client.get_prefix(b"/app/")] == [b"1", b"2"]

    tx = client.transactions
    ok, _ = await client.transaction(compare=[tx.value(b"/app/a") == b"1"],
                                     success=[tx.put(b"/app/a", b"one")], failure=[])
    assert ok and (await client.get(b"/app/a")).value == b"one"  # type: ignore[union-attr]

    old = etcd.store.revision - 1
    await client.compact(etcd.store.revision)
    with pytest.raises(aetcd.exceptions.RevisionCompactedError) as e:
        async for _ in await client.watch(b"/app/a", start_revision=old):
            pass
    assert e.value.compacted_revision == etcd.store.revision


async def test_watch_sees_a_put(client: aetcd.Client) -> None:
    watch = await client.watch(b"/w")
    await client.put(b"/w", b"x")
    event = await asyncio.wait_for(anext(aiter(watch)), 5)
    assert (event.kind, event.kv.key, event.kv.value) == ("PUT", b"/w", b"x")
    await watch.cancel()


async def test_lease_status_members(client: aetcd.Client) -> None:
    lease = await client.lease(60)
    await client.put(b"/leased", b"v", lease=lease)
    assert await lease.granted_ttl() == 60 and 0 < await lease.remaining_ttl() <= 60
    assert list(await lease.keys()) == [b"/leased"]
    assert (await lease.refresh()).TTL == 60
    await lease.revoke()
    assert await client.get(b"/leased") is None

    status = await client.status()
    assert status.version.startswith("3.4.") and status.leader is not None
    assert [m.name async for m in client.members()] == ["test-member"]
