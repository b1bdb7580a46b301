"""Write requests as Raft entry payloads (msgpack), and applying them to the MVCC store."""

from __future__ import annotations

from typing import Any

import msgpack

from minikube_py.store.mvcc import MVCCStore
from minikube_py.store.types import (
    Compare,
    CompareOp,
    CompareTarget,
    DeleteOp,
    Event,
    Op,
    PutOp,
    RangeOp,
    TxnResult,
)

TXN, COMPACT, LEASE_GRANT, LEASE_REVOKE = 1, 2, 3, 4
# A request a follower forwarded to the leader: (FORWARDED, request id, the request's own
# payload). The id lets the follower recognise the entry in its log; applying it is
# applying the payload, so every member computes the same outcome. Entries written before
# forwarding existed are plain payloads and apply as before.
FORWARDED = 5
_FORWARDED_HEAD = b"\x93\x05"  # msgpack: a 3-element array whose first element is 5
_TARGETS = list(CompareTarget)
_OPS = list(CompareOp)


def _pack_op(op: Op) -> tuple[Any, ...]:
    if isinstance(op, PutOp):
        return (0, op.key, op.value, op.lease, op.prev_kv)
    if isinstance(op, DeleteOp):
        return (1, op.key, op.range_end, op.prev_kv)
    return (2, op.key, op.range_end, op.limit)


def _unpack_op(t: Any) -> Op:
    if t[0] == 0:
        return PutOp(t[1], t[2], t[3], t[4])
    if t[0] == 1:
        return DeleteOp(t[1], t[2], t[3])
    return RangeOp(t[1], t[2], t[3])


def encode_txn(compares: list[Compare], success: list[Op], failure: list[Op]) -> bytes:
    cmps = [(c.key, _TARGETS.index(c.target), _OPS.index(c.op), c.value) for c in compares]
    body = (TXN, cmps, [_pack_op(o) for o in success], [_pack_op(o) for o in failure] if failure else ())
    return msgpack.packb(body, use_bin_type=True)  # type: ignore[no-any-return]


def encode(kind: int, *args: int) -> bytes:
    return msgpack.packb((kind, *args), use_bin_type=True)  # type: ignore[no-any-return]


def encode_forwarded(request_id: bytes, payload: bytes) -> bytes:
    return msgpack.packb((FORWARDED, request_id, payload), use_bin_type=True)  # type: ignore[no-any-return]


def forwarded_request_id(data: bytes) -> bytes | None:
    """The request id of a forwarded entry; None for any other (a cheap check first: it
    runs on every entry a follower with forwarded requests in flight appends)."""
    if not data.startswith(_FORWARDED_HEAD):
        return None
    request_id = msgpack.unpackb(data, use_list=False)[1]
    return request_id if isinstance(request_id, bytes) else None


def apply_command(mvcc: MVCCStore, data: bytes) -> tuple[TxnResult | int | None, list[Event]]:
    """Apply one committed entry; raises StoreError for requests the state refuses."""
    cmd = msgpack.unpackb(data, use_list=False)
    kind = cmd[0]
    if kind == FORWARDED:
        return apply_command(mvcc, cmd[2])
    if kind == TXN:
        compares = [Compare(k, _TARGETS[t], _OPS[o], v) for k, t, o, v in cmd[1]]
        success = [_unpack_op(o) for o in cmd[2]]
        failure = [_unpack_op(o) for o in cmd[3]]
        return mvcc.txn(compares, success, failure)
    if kind == COMPACT:
        mvcc.compact(cmd[1])
        return None, []
    if kind == LEASE_GRANT:
        mvcc.lease_grant(cmd[1], cmd[2])
        return int(cmd[1]), []
    if kind == LEASE_REVOKE:
        return None, mvcc.lease_revoke(cmd[1])
    raise ValueError(f"unknown command kind {kind}")


def is_read_only(success: list[Op], failure: list[Op]) -> bool:
    for ops in (success, failure):  # (every write asks: no generator, no tuple of both)
        for op in ops:
            if not isinstance(op, RangeOp):
                return False
    return True
