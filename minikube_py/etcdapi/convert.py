"""Pure mapping between etcd's v3 protobufs and the store's types, and etcd's errors.

No IO here: every function takes a message or a store value and returns the other. Serving
(our store behind etcd's API), errors raise `EtcdError` carrying the gRPC status code and
the message etcd itself would send, so clients that match on etcd's strings (etcdctl,
clientv3's error table) behave the same. As a client (`EtcdKV`, an external etcd behind
our `KV`), the same tables are read the other way and etcd's statuses become store errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from aetcd.rpc import kv_pb2, rpc_pb2

from minikube_py.store.mvcc import DuplicateKeyError
from minikube_py.store.types import (
    CompactedError,
    Compare,
    CompareOp,
    CompareTarget,
    DeleteOp,
    DeleteResult,
    Event,
    EventType,
    FutureRevisionError,
    KeyValue,
    LeaseNotFoundError,
    NoLeaderError,
    NotLeaderError,
    Op,
    OpResult,
    PutOp,
    PutResult,
    RangeOp,
    RangeResult,
    RequestTimeoutError,
    StoreClosedError,
    StoreError,
    StoreFailedError,
    StoreUnavailableError,
    TxnResult,
)

# etcd's own messages (api/v3rpc/rpctypes); clients compare these strings.
COMPACTED = "etcdserver: mvcc: required revision has been compacted"
FUTURE_REV = "etcdserver: mvcc: required revision is a future revision"
LEASE_NOT_FOUND = "etcdserver: requested lease not found"
KEY_NOT_FOUND = "etcdserver: key not found"
EMPTY_KEY = "etcdserver: key is not provided"
DUPLICATE_KEY = "etcdserver: duplicate key given in txn request"
NOT_LEADER = "etcdserver: not leader"
STOPPED = "etcdserver: server stopped"


class EtcdError(Exception):
    """An error to answer with: a gRPC status code and etcd's message for it."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def unsupported(what: str) -> EtcdError:
    """A request field we cannot honour: refused out loud rather than silently ignored."""
    return EtcdError(grpc.StatusCode.UNIMPLEMENTED, f"minikube-py etcd API: {what} is not supported")


def from_store_error(error: StoreError) -> EtcdError:
    """The status etcd answers for the store condition behind `error`."""
    if isinstance(error, CompactedError):
        return EtcdError(grpc.StatusCode.OUT_OF_RANGE, COMPACTED)
    if isinstance(error, FutureRevisionError):
        return EtcdError(grpc.StatusCode.OUT_OF_RANGE, FUTURE_REV)
    if isinstance(error, LeaseNotFoundError):
        return EtcdError(grpc.StatusCode.NOT_FOUND, LEASE_NOT_FOUND)
    if isinstance(error, DuplicateKeyError):
        return EtcdError(grpc.StatusCode.INVALID_ARGUMENT, DUPLICATE_KEY)
    if isinstance(error, NotLeaderError):
        return EtcdError(grpc.StatusCode.FAILED_PRECONDITION, NOT_LEADER)
    if isinstance(error, StoreClosedError):
        return EtcdError(grpc.StatusCode.UNAVAILABLE, STOPPED)
    if isinstance(error, StoreFailedError):
        return EtcdError(grpc.StatusCode.UNAVAILABLE, f"{STOPPED}: {error}")
    return EtcdError(grpc.StatusCode.UNKNOWN, f"etcdserver: {error}")


def require_key(key: bytes) -> None:
    if not key:
        raise EtcdError(grpc.StatusCode.INVALID_ARGUMENT, EMPTY_KEY)


# ---- store -> protobuf -------------------------------------------------------------------


def kv_to_pb(kv: KeyValue, *, keys_only: bool = False) -> Any:
    return kv_pb2.KeyValue(
        key=kv.key,
        value=b"" if keys_only else kv.value,
        create_revision=kv.create_revision,
        mod_revision=kv.mod_revision,
        version=kv.version,
        lease=kv.lease,
    )


def event_to_pb(event: Event) -> Any:
    """A DELETE carries only the key and the deleting revision, as etcd's does."""
    if event.type is EventType.PUT:
        kv = kv_to_pb(event.kv)
        kind = kv_pb2.Event.PUT
    else:
        kv = kv_pb2.KeyValue(key=event.kv.key, mod_revision=event.kv.mod_revision)
        kind = kv_pb2.Event.DELETE
    pb = kv_pb2.Event(type=kind, kv=kv)
    if event.prev_kv is not None:
        pb.prev_kv.CopyFrom(kv_to_pb(event.prev_kv))
    return pb


def range_response(header: Any, result: RangeResult, request: Any) -> Any:
    """RangeResponse from a store result, applying what the store leaves to us: keys_only,
    count_only, the min/max revision filters and sorting (all on the limited page when no
    sort or filter was asked; otherwise the caller fetched unlimited, and we limit here)."""
    kvs = list(result.kvs)
    more = result.more
    if _needs_post_processing(request):
        kvs = [kv for kv in kvs if _passes_filters(kv, request)]
        kvs = _sorted(kvs, request)
        if request.limit and len(kvs) > request.limit:
            kvs, more = kvs[: request.limit], True
    response = rpc_pb2.RangeResponse(header=header, count=result.count, more=more)
    if not request.count_only:
        response.kvs.extend(kv_to_pb(kv, keys_only=request.keys_only) for kv in kvs)
    return response


def _needs_post_processing(request: Any) -> bool:
    by_key_ascending = request.sort_target == rpc_pb2.RangeRequest.KEY and (
        request.sort_order in (rpc_pb2.RangeRequest.NONE, rpc_pb2.RangeRequest.ASCEND)
    )
    filtered = (request.min_mod_revision or request.max_mod_revision
                or request.min_create_revision or request.max_create_revision)
    return not by_key_ascending or bool(filtered)


def range_fetch_limit(request: Any) -> int:
    """The limit to ask the store for: none when we must filter or sort the whole range."""
    return 0 if _needs_post_processing(request) else int(request.limit)


def _passes_filters(kv: KeyValue, r: Any) -> bool:
    return not (
        (r.min_mod_revision and kv.mod_revision < r.min_mod_revision)
        or (r.max_mod_revision and kv.mod_revision > r.max_mod_revision)
        or (r.min_create_revision and kv.create_revision < r.min_create_revision)
        or (r.max_create_revision and kv.create_revision > r.max_create_revision)
    )


_SORT_KEYS = {
    rpc_pb2.RangeRequest.KEY: lambda kv: kv.key,
    rpc_pb2.RangeRequest.VERSION: lambda kv: kv.version,
    rpc_pb2.RangeRequest.CREATE: lambda kv: kv.create_revision,
    rpc_pb2.RangeRequest.MOD: lambda kv: kv.mod_revision,
    rpc_pb2.RangeRequest.VALUE: lambda kv: kv.value,
}


def _sorted(kvs: list[KeyValue], r: Any) -> list[KeyValue]:
    # etcd: a sort target other than KEY with no order means ascending
    order = r.sort_order or rpc_pb2.RangeRequest.ASCEND
    if r.sort_target == rpc_pb2.RangeRequest.KEY and order == rpc_pb2.RangeRequest.ASCEND:
        return kvs  # the store's own order
    return sorted(kvs, key=_SORT_KEYS[r.sort_target],
                  reverse=order == rpc_pb2.RangeRequest.DESCEND)


def op_result_to_pb(header: Any, result: OpResult, request_op: Any) -> Any:
    if isinstance(result, RangeResult):
        return rpc_pb2.ResponseOp(
            response_range=range_response(header, result, request_op.request_range))
    if isinstance(result, PutResult):
        put = rpc_pb2.PutResponse(header=header)
        if result.prev_kv is not None:
            put.prev_kv.CopyFrom(kv_to_pb(result.prev_kv))
        return rpc_pb2.ResponseOp(response_put=put)
    assert isinstance(result, DeleteResult)
    return rpc_pb2.ResponseOp(response_delete_range=delete_response(header, result))


def delete_response(header: Any, result: DeleteResult) -> Any:
    response = rpc_pb2.DeleteRangeResponse(header=header, deleted=result.deleted)
    response.prev_kvs.extend(kv_to_pb(kv) for kv in result.prev_kvs)
    return response


# ---- protobuf -> store -------------------------------------------------------------------


_TARGETS = {
    rpc_pb2.Compare.VERSION: (CompareTarget.VERSION, "version"),
    rpc_pb2.Compare.CREATE: (CompareTarget.CREATE, "create_revision"),
    rpc_pb2.Compare.MOD: (CompareTarget.MOD, "mod_revision"),
    rpc_pb2.Compare.VALUE: (CompareTarget.VALUE, "value"),
}
_RESULTS = {
    rpc_pb2.Compare.EQUAL: CompareOp.EQUAL,
    rpc_pb2.Compare.NOT_EQUAL: CompareOp.NOT_EQUAL,
    rpc_pb2.Compare.LESS: CompareOp.LESS,
    rpc_pb2.Compare.GREATER: CompareOp.GREATER,
}


def compare_from_pb(c: Any) -> Compare:
    if c.range_end:
        raise unsupported("a txn compare over a key range (range_end)")
    if c.target not in _TARGETS:
        raise unsupported("a txn compare on a key's lease")
    target, field = _TARGETS[c.target]
    value: int | bytes = getattr(c, field)
    return Compare(key=c.key, target=target, op=_RESULTS[c.result], value=value)


def op_from_pb(op: Any) -> Op:
    kind = op.WhichOneof("request")
    if kind == "request_range":
        r = op.request_range
        if r.revision:
            raise unsupported("a range at a past revision inside a txn")
        if r.limit and _needs_post_processing(r):
            raise unsupported("a sorted or filtered range with a limit inside a txn")
        require_key(r.key)
        return RangeOp(key=r.key, range_end=r.range_end, limit=int(r.limit))
    if kind == "request_put":
        p = op.request_put
        if p.ignore_value or p.ignore_lease:
            raise unsupported("ignore_value/ignore_lease inside a txn")
        require_key(p.key)
        return PutOp(key=p.key, value=p.value, lease=int(p.lease), prev_kv=p.prev_kv)
    if kind == "request_delete_range":
        d = op.request_delete_range
        require_key(d.key)
        return DeleteOp(key=d.key, range_end=d.range_end, prev_kv=d.prev_kv)
    if kind == "request_txn":
        raise unsupported("a txn nested in a txn")
    raise EtcdError(grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: empty request in txn")


# ---- the client direction: store requests -> protobuf, etcd's answers -> store ----------
# (EtcdKV speaks to an external etcd; the tables above, read the other way.)

_PB_TARGETS = {target: (pb, field) for pb, (target, field) in _TARGETS.items()}
_PB_RESULTS = {op: pb for pb, op in _RESULTS.items()}


def compare_to_pb(c: Compare) -> Any:
    pb_target, field = _PB_TARGETS[c.target]
    return rpc_pb2.Compare(key=c.key, target=pb_target, result=_PB_RESULTS[c.op],
                           **{field: c.value})


def op_to_pb(op: Op) -> Any:
    if isinstance(op, RangeOp):
        return rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(
            key=op.key, range_end=op.range_end, limit=op.limit))
    if isinstance(op, PutOp):
        return rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(
            key=op.key, value=op.value, lease=op.lease, prev_kv=op.prev_kv))
    return rpc_pb2.RequestOp(request_delete_range=rpc_pb2.DeleteRangeRequest(
        key=op.key, range_end=op.range_end, prev_kv=op.prev_kv))


def kv_from_pb(pb: Any) -> KeyValue:
    return KeyValue(key=pb.key, value=pb.value, create_revision=int(pb.create_revision),
                    mod_revision=int(pb.mod_revision), version=int(pb.version),
                    lease=int(pb.lease))


def event_from_pb(pb: Any) -> Event:
    kind = EventType.PUT if pb.type == kv_pb2.Event.PUT else EventType.DELETE
    prev = kv_from_pb(pb.prev_kv) if pb.HasField("prev_kv") else None
    return Event(kind, kv_from_pb(pb.kv), prev)


def range_result_from_pb(pb: Any, revision: int) -> RangeResult:
    """`revision`: the store revision of the answer (the header of the call or txn)."""
    return RangeResult([kv_from_pb(kv) for kv in pb.kvs], int(pb.count), pb.more, revision)


def txn_result_from_pb(pb: Any) -> TxnResult:
    revision = int(pb.header.revision)
    return TxnResult(pb.succeeded, revision,
                     [_op_result_from_pb(r, revision) for r in pb.responses])


def _op_result_from_pb(pb: Any, revision: int) -> OpResult:
    kind = pb.WhichOneof("response")
    if kind == "response_range":
        return range_result_from_pb(pb.response_range, revision)
    if kind == "response_put":
        put = pb.response_put
        return PutResult(revision, kv_from_pb(put.prev_kv) if put.HasField("prev_kv") else None)
    if kind == "response_delete_range":
        d = pb.response_delete_range
        return DeleteResult(revision, int(d.deleted), [kv_from_pb(kv) for kv in d.prev_kvs])
    raise StoreError(f"etcd answered a txn operation we did not send ({kind})")


# etcd's messages for the conditions its clients retry (api/v3rpc/rpctypes)
NO_LEADER = "etcdserver: no leader"
LEADER_CHANGED = "etcdserver: leader changed"
TIMED_OUT = "etcdserver: request timed out"
TOO_MANY_REQUESTS = "etcdserver: too many requests"


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What a store error names that etcd's status does not carry."""

    endpoint: str
    revision: int = 0  # the revision the request asked for
    current: int = 0  # the store's revision, as last seen
    compacted: int = 0  # the compacted revision, as last seen
    lease_id: int = 0


def to_store_error(code: grpc.StatusCode, details: str, at: RequestContext) -> StoreError:
    """The store error for etcd's answer, so the API server answers as on its own store:
    410 for a compacted revision, 504 for a future one, 503 for what a client retries."""
    details = details or ""
    if details.startswith(COMPACTED):
        return CompactedError(at.revision, at.compacted)
    if details.startswith(FUTURE_REV):
        return FutureRevisionError(at.revision, at.current)
    if details.startswith(LEASE_NOT_FOUND):
        return LeaseNotFoundError(at.lease_id)
    if details.startswith(DUPLICATE_KEY):
        return DuplicateKeyError(details)
    if details.startswith((NO_LEADER, LEADER_CHANGED)):
        return NoLeaderError(f"etcd at {at.endpoint}: {details}")
    if details.startswith(NOT_LEADER):
        return NotLeaderError(f"etcd at {at.endpoint}: {details}")
    if details.startswith(TIMED_OUT) or code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return RequestTimeoutError(f"etcd at {at.endpoint}: {details or 'no answer in time'}")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED):
        return StoreUnavailableError(f"etcd at {at.endpoint} is unavailable: {details}")
    return StoreError(f"etcd at {at.endpoint}: {code.name}: {details}")
