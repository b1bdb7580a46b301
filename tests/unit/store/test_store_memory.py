"""Specification of MemoryKV: the KV protocol in memory, including watch streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from minikube_py.store.memory import MemoryKV
from minikube_py.store.types import (
    KV,
    CompactedError,
    Event,
    EventType,
    PutOp,
    WatchStream,
    prefix_end,
)


@pytest.fixture
async def kv() -> AsyncIterator[MemoryKV]:
    store = MemoryKV()
    yield store
    await store.close()


async def next_batch(stream: WatchStream, timeout: float = 2.0) -> list[Event]:
    return await asyncio.wait_for(anext(aiter(stream)), timeout)


def test_memory_kv_satisfies_the_kv_protocol() -> None:
    store: KV = MemoryKV()
    assert store.revision == 1


async def test_watch_from_now_delivers_later_writes_in_range(kv: MemoryKV) -> None:
    await kv.txn([], [PutOp(b"/p/old", b"x")], [])
    stream = kv.watch(b"/p/", prefix_end(b"/p/"))
    await kv.txn([], [PutOp(b"/q/other", b"x")], [])
    await kv.txn([], [PutOp(b"/p/a", b"1"), PutOp(b"/p/b", b"2")], [])
    batch = await next_batch(stream)
    assert [(e.type, e.kv.key) for e in batch] == [
        (EventType.PUT, b"/p/a"),
        (EventType.PUT, b"/p/b"),
    ]
    stream.close()


async def test_watch_from_a_past_revision_catches_up_first(kv: MemoryKV) -> None:
    r1 = (await kv.txn([], [PutOp(b"a", b"1")], [])).revision
    await kv.txn([], [PutOp(b"a", b"2")], [])
    stream = kv.watch(b"a", start_revision=r1, prev_kv=True)
    await kv.txn([], [PutOp(b"a", b"3")], [])
    values = [(await next_batch(stream))[0].kv.value for _ in range(3)]
    assert values == [b"1", b"2", b"3"]


async def test_watch_without_prev_kv_strips_it(kv: MemoryKV) -> None:
    await kv.txn([], [PutOp(b"a", b"1")], [])
    stream = kv.watch(b"a")
    await kv.txn([], [PutOp(b"a", b"2")], [])
    assert (await next_batch(stream))[0].prev_kv is None


async def test_watch_of_a_compacted_revision_raises_at_once(kv: MemoryKV) -> None:
    r1 = (await kv.txn([], [PutOp(b"a", b"1")], [])).revision
    r2 = (await kv.txn([], [PutOp(b"a", b"2")], [])).revision
    await kv.compact(r2)
    stream = kv.watch(b"a", start_revision=r1)
    with pytest.raises(CompactedError):
        await next_batch(stream)


async def test_closing_a_watch_ends_its_iteration(kv: MemoryKV) -> None:
    stream = kv.watch(b"a")

    async def drain() -> list[list[Event]]:
        return [batch async for batch in stream]

    task = asyncio.create_task(drain())
    await asyncio.sleep(0)
    stream.close()
    assert await asyncio.wait_for(task, 2.0) == []


async def test_expired_lease_deletes_its_keys_and_notifies_watchers() -> None:
    now = [100.0]
    kv = MemoryKV(clock=lambda: now[0])
    lease = await kv.lease_grant(10)
    await kv.txn([], [PutOp(b"a", b"1", lease=lease)], [])
    stream = kv.watch(b"a")
    now[0] += 5
    assert kv.expire_leases() == []
    await kv.lease_keepalive(lease)
    now[0] += 9
    assert kv.expire_leases() == []
    now[0] += 2
    assert kv.expire_leases() == [lease]
    assert (await next_batch(stream))[0].type is EventType.DELETE
    assert (await kv.range(b"a")).kvs == []
    await kv.close()
