"""MVCC history against a record of what each write answered: seeded, replayable.

Random writes (puts, multi-key txns, deletes of keys and ranges, leases and their
revocation) are applied to an MVCCStore. After each one the test records the state
and the events the write itself returned. Then the history paths, which rebuild the
past from the retained versions, must agree with that record: ranges at every retained
revision, watch catch-up from every retained revision, and the same again after
compactions, snapshot round trips and snapshot views taken before later writes.
"""

from __future__ import annotations

import random

import msgpack
import pytest

from minikube_py.store.mvcc import DuplicateKeyError, MVCCStore, snapshot_equal
from minikube_py.store.types import (
    CompactedError,
    DeleteOp,
    Event,
    KeyValue,
    Op,
    PutOp,
    prefix_end,
)

EVERYTHING = (b"\x00", b"\x00")


class Recorded:
    """What the store answered at each revision."""

    def __init__(self) -> None:
        self.states: dict[int, list[KeyValue]] = {}
        self.batches: dict[int, list[Event]] = {}

    def write(self, store: MVCCStore, events: list[Event]) -> None:
        if events:
            self.batches[store.revision] = events
        self.states[store.revision] = store.range(*EVERYTHING).kvs

    def check(self, store: MVCCStore) -> None:
        for rev, kvs in self.states.items():
            if rev < store.compact_revision:
                with pytest.raises(CompactedError):
                    store.range(*EVERYTHING, revision=rev)
                continue
            assert store.range(*EVERYTHING, revision=rev).kvs == kvs, f"state at {rev}"
        first = max(store.compact_revision, min(self.batches, default=0))
        for rev in range(first, store.revision + 2):
            want = [self.batches[r] for r in sorted(self.batches) if r >= rev]
            assert store.events_since(rev) == want, f"events since {rev}"


def random_ops(rng: random.Random, store: MVCCStore) -> list[Op]:
    key = b"k%d" % rng.randrange(8)
    roll = rng.random()
    if roll < 0.5:
        leases = [lease.id for lease in store.leases()]
        lease = rng.choice(leases) if leases and rng.random() < 0.3 else 0
        return [PutOp(key, b"v%d" % rng.randrange(1000), lease)]
    if roll < 0.65:
        keys = rng.sample([b"k%d" % i for i in range(8)], rng.randrange(2, 4))
        return [PutOp(k, b"m%d" % rng.randrange(1000)) for k in keys]
    if roll < 0.8:
        return [DeleteOp(key)]
    lo = rng.randrange(8)
    return [DeleteOp(b"k%d" % lo, b"k%d" % rng.randrange(lo, 9))]


@pytest.mark.parametrize("seed", range(40))
def test_history_agrees_with_what_each_write_answered(seed: int) -> None:
    rng = random.Random(seed)
    store, record = MVCCStore(), Recorded()
    record.write(store, [])
    views = []
    next_lease = 1
    for step in range(300):
        roll = rng.random()
        if roll < 0.05:
            store.lease_grant(next_lease, ttl=10)
            next_lease += 1
        elif roll < 0.08 and store.leases():
            record.write(store, store.lease_revoke(rng.choice(store.leases()).id))
        elif roll < 0.10 and store.revision > store.compact_revision + 1:
            store.compact(rng.randrange(store.compact_revision + 1, store.revision + 1))
        elif roll < 0.12:
            views.append((store.to_snapshot(), store.snapshot_view()))
        elif roll < 0.14:
            copy = MVCCStore.from_snapshot(store.to_snapshot())
            assert snapshot_equal(store, copy)
            store = copy
        else:
            _, events = store.txn([], random_ops(rng, store), [])
            record.write(store, events)
        if step % 25 == 0:
            record.check(store)
    record.check(store)
    for frozen, view in views:
        # serialised after all the later writes and compactions: still the old state
        assert b"".join(view.chunks()) == frozen
        store.release_view(view)


def test_a_txn_may_not_put_a_key_it_also_deletes() -> None:
    store = MVCCStore()
    store.put(b"a", b"1")
    for ops in ([PutOp(b"a", b"2"), DeleteOp(b"a")], [DeleteOp(b"", b"\x00"), PutOp(b"a", b"2")],
                [PutOp(b"a/x", b"2"), DeleteOp(b"a/", prefix_end(b"a/"))]):
        with pytest.raises(DuplicateKeyError):
            store.txn([], ops, [])
    assert store.get(b"a") == KeyValue(b"a", b"1", 2, 2, 1)


def test_a_snapshot_in_the_first_format_still_loads() -> None:
    # v1: (1, revision, compact revision, [(key, [(rev, sub, value, create, version,
    # lease) | (rev, sub) for a deletion])], [(lease, ttl)]), as the old store wrote it
    v1 = msgpack.packb((1, 5, 3, [
        (b"a", [(2, 0, b"1", 2, 1, 0), (4, 1, b"2", 2, 2, 7)]),
        (b"b", [(3, 0, b"x", 3, 1, 0), (4, 0, b"y", 3, 2, 0), (5, 0)]),
    ], [(7, 30)]), use_bin_type=True)
    store = MVCCStore.from_snapshot(v1)
    assert (store.revision, store.compact_revision) == (5, 3)
    assert store.range(*EVERYTHING).kvs == [KeyValue(b"a", b"2", 2, 4, 2, 7)]
    assert store.range(*EVERYTHING, revision=3).kvs == [
        KeyValue(b"a", b"1", 2, 2, 1), KeyValue(b"b", b"x", 3, 3, 1)]
    assert [[(e.type.value, e.kv.key) for e in batch] for batch in store.events_since(3)] == [
        [("PUT", b"b")], [("PUT", b"b"), ("PUT", b"a")], [("DELETE", b"b")]]
    assert [sorted(lease.keys) for lease in store.leases()] == [[b"a"]]
