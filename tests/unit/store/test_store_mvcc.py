"""Specification of the MVCC state machine (etcd v3 semantics)."""

from __future__ import annotations

import pytest

from minikube_py.store.mvcc import INITIAL_REVISION, DuplicateKeyError, MVCCStore, snapshot_equal
from minikube_py.store.types import (
    CompactedError,
    Compare,
    CompareOp,
    CompareTarget,
    DeleteOp,
    DeleteResult,
    EventType,
    FutureRevisionError,
    LeaseNotFoundError,
    PutOp,
    PutResult,
    RangeOp,
    RangeResult,
    prefix_end,
)


def put(s: MVCCStore, key: bytes, value: bytes = b"v", lease: int = 0) -> int:
    result, _ = s.put(key, value, lease)
    return result.revision


def test_each_write_increments_the_revision_once() -> None:
    s = MVCCStore()
    assert s.revision == INITIAL_REVISION
    assert put(s, b"a") == INITIAL_REVISION + 1
    assert put(s, b"b") == INITIAL_REVISION + 2


def test_a_txn_with_several_puts_gets_one_revision() -> None:
    s = MVCCStore()
    result, events = s.txn([], [PutOp(b"a", b"1"), PutOp(b"b", b"2")], [])
    assert result.revision == INITIAL_REVISION + 1
    assert [e.kv.mod_revision for e in events] == [result.revision] * 2


def test_version_and_create_revision_track_a_key_lifetime() -> None:
    s = MVCCStore()
    r1 = put(s, b"a")
    r2 = put(s, b"a")
    kv = s.get(b"a")
    assert kv is not None and (kv.create_revision, kv.mod_revision, kv.version) == (r1, r2, 2)
    s.delete_range(b"a")
    r4 = put(s, b"a")
    kv = s.get(b"a")
    assert kv is not None and (kv.create_revision, kv.version) == (r4, 1)


def test_range_at_a_past_revision_sees_the_old_values() -> None:
    s = MVCCStore()
    r1 = put(s, b"a", b"old")
    put(s, b"a", b"new")
    s.delete_range(b"a")
    assert s.range(b"a").kvs == []
    assert [kv.value for kv in s.range(b"a", revision=r1).kvs] == [b"old"]
    assert s.range(b"a", revision=r1 - 1).kvs == []


def test_range_of_a_future_revision_fails() -> None:
    s = MVCCStore()
    with pytest.raises(FutureRevisionError):
        s.range(b"a", revision=s.revision + 1)


def test_prefix_range_returns_sorted_keys_of_that_prefix_only() -> None:
    s = MVCCStore()
    for k in [b"/p/c", b"/p/a", b"/q/a", b"/p/b", b"/o"]:
        put(s, k)
    got = s.range(b"/p/", prefix_end(b"/p/"))
    assert [kv.key for kv in got.kvs] == [b"/p/a", b"/p/b", b"/p/c"]
    assert [kv.key for kv in s.range(b"/p/b", b"\x00").kvs] == [b"/p/b", b"/p/c", b"/q/a"]


def test_limit_reports_more_and_the_total_count() -> None:
    s = MVCCStore()
    for i in range(5):
        put(s, b"k%d" % i)
    got = s.range(b"k", prefix_end(b"k"), limit=2)
    assert ([kv.key for kv in got.kvs], got.count, got.more) == ([b"k0", b"k1"], 5, True)
    got = s.range(b"k", prefix_end(b"k"), limit=5)
    assert (got.count, got.more) == (5, False)
    got = s.range(b"k", prefix_end(b"k"), count_only=True)
    assert (got.kvs, got.count) == ([], 5)


def test_txn_runs_success_branch_when_all_compares_hold() -> None:
    s = MVCCStore()
    r = put(s, b"a", b"1")
    cmp = [Compare(b"a", CompareTarget.MOD, CompareOp.EQUAL, r)]
    result, _ = s.txn(cmp, [PutOp(b"a", b"2", prev_kv=True)], [RangeOp(b"a")])
    assert result.succeeded
    assert isinstance(result.responses[0], PutResult)
    assert result.responses[0].prev_kv is not None and result.responses[0].prev_kv.value == b"1"


def test_txn_runs_failure_branch_and_keeps_revision_when_a_compare_fails() -> None:
    s = MVCCStore()
    put(s, b"a", b"1")
    before = s.revision
    cmp = [Compare(b"a", CompareTarget.VALUE, CompareOp.EQUAL, b"other")]
    result, events = s.txn(cmp, [PutOp(b"a", b"2")], [RangeOp(b"a")])
    assert not result.succeeded and events == []
    assert result.revision == before == s.revision
    assert isinstance(result.responses[0], RangeResult)
    assert result.responses[0].kvs[0].value == b"1"


def test_missing_key_compares_as_zero_and_empty() -> None:
    s = MVCCStore()
    create_if_absent = [Compare(b"a", CompareTarget.CREATE, CompareOp.EQUAL, 0)]
    assert s.txn(create_if_absent, [PutOp(b"a", b"1")], [])[0].succeeded
    assert not s.txn(create_if_absent, [PutOp(b"a", b"2")], [])[0].succeeded
    for target, value in [(CompareTarget.VERSION, 0), (CompareTarget.VALUE, b"")]:
        assert s.txn([Compare(b"zz", target, CompareOp.EQUAL, value)], [], [])[0].succeeded
    assert s.txn([Compare(b"a", CompareTarget.VERSION, CompareOp.GREATER, 0)], [], [])[0].succeeded
    assert s.txn([Compare(b"a", CompareTarget.MOD, CompareOp.LESS, 99)], [], [])[0].succeeded
    assert s.txn([Compare(b"a", CompareTarget.VALUE, CompareOp.NOT_EQUAL, b"x")], [], [])[
        0
    ].succeeded


def test_txn_writing_one_key_twice_is_refused_without_effect() -> None:
    s = MVCCStore()
    with pytest.raises(DuplicateKeyError):
        s.txn([], [PutOp(b"a", b"1"), PutOp(b"a", b"2")], [])
    assert s.revision == INITIAL_REVISION and s.get(b"a") is None


def test_delete_range_removes_keys_and_reports_prev_kvs() -> None:
    s = MVCCStore()
    for k in [b"a1", b"a2", b"b"]:
        put(s, k)
    result, events = s.txn([], [DeleteOp(b"a", prefix_end(b"a"), prev_kv=True)], [])
    resp = result.responses[0]
    assert isinstance(resp, DeleteResult) and resp.deleted == 2
    assert [kv.key for kv in resp.prev_kvs] == [b"a1", b"a2"]
    assert [e.type for e in events] == [EventType.DELETE] * 2
    assert events[0].kv.mod_revision == result.revision and events[0].prev_kv is not None
    assert [kv.key for kv in s.range(b"\x00", b"\x00").kvs] == [b"b"]


def test_deleting_nothing_does_not_create_a_revision() -> None:
    s = MVCCStore()
    result, events = s.delete_range(b"nope")
    assert events == [] and result.revision == s.revision == INITIAL_REVISION


def test_events_since_a_revision_replays_history_in_order() -> None:
    s = MVCCStore()
    r1 = put(s, b"a", b"1")
    put(s, b"a", b"2")
    s.delete_range(b"a")
    batches = s.events_since(r1 + 1)
    assert [[e.type for e in b] for b in batches] == [[EventType.PUT], [EventType.DELETE]]
    assert batches[0][0].prev_kv is not None and batches[0][0].prev_kv.value == b"1"
    assert s.events_since(s.revision + 1) == []


def test_compaction_makes_old_revisions_answer_compacted() -> None:
    s = MVCCStore()
    r1 = put(s, b"a", b"1")
    r2 = put(s, b"a", b"2")
    put(s, b"b", b"x")
    s.delete_range(b"b")
    s.compact(r2)
    with pytest.raises(CompactedError):
        s.range(b"a", revision=r1)
    with pytest.raises(CompactedError):
        s.events_since(r1)
    with pytest.raises(CompactedError):
        s.compact(r2)
    assert s.range(b"a", revision=r2).kvs[0].value == b"2"
    assert [kv.key for kv in s.range(b"\x00", b"\x00").kvs] == [b"a"]
    assert len(s.events_since(r2)) == 3


def test_compaction_keeps_the_latest_version_of_live_keys() -> None:
    s = MVCCStore()
    r1 = put(s, b"a", b"1")
    put(s, b"gone")
    s.delete_range(b"gone")
    r = put(s, b"c")
    s.compact(r)
    assert s.range(b"a", revision=r).kvs[0].mod_revision == r1
    assert s.range(b"gone", revision=r).kvs == []


def test_compacting_the_future_fails() -> None:
    s = MVCCStore()
    with pytest.raises(FutureRevisionError):
        s.compact(s.revision + 1)


def test_revoking_a_lease_deletes_its_keys_in_one_revision() -> None:
    s = MVCCStore()
    s.lease_grant(7, ttl=10)
    put(s, b"a", lease=7)
    put(s, b"b", lease=7)
    put(s, b"c")
    events = s.lease_revoke(7)
    assert {e.kv.key for e in events} == {b"a", b"b"}
    assert len({e.kv.mod_revision for e in events}) == 1
    assert [kv.key for kv in s.range(b"\x00", b"\x00").kvs] == [b"c"]
    with pytest.raises(LeaseNotFoundError):
        s.lease_revoke(7)


def test_a_key_rewritten_without_lease_leaves_the_lease() -> None:
    s = MVCCStore()
    s.lease_grant(7, ttl=10)
    put(s, b"a", lease=7)
    put(s, b"a")
    s.lease_revoke(7)
    assert s.get(b"a") is not None


def test_put_with_unknown_lease_fails() -> None:
    s = MVCCStore()
    with pytest.raises(LeaseNotFoundError):
        put(s, b"a", lease=99)


def test_snapshot_round_trip_keeps_state_history_and_events() -> None:
    s = MVCCStore()
    s.lease_grant(3, ttl=5)
    put(s, b"a", b"1")
    r = put(s, b"a", b"2", lease=3)
    s.txn([], [PutOp(b"b", b"x"), PutOp(b"c", b"y")], [])
    s.delete_range(b"b")
    s.compact(r)
    t = MVCCStore.from_snapshot(s.to_snapshot())
    assert snapshot_equal(s, t)
    assert t.range(b"\x00", b"\x00", revision=r).kvs == s.range(b"\x00", b"\x00", revision=r).kvs
    assert t.events_since(r) == s.events_since(r)
    with pytest.raises(CompactedError):
        t.range(b"a", revision=r - 1)
