"""EtcdKV's pure half: our requests become etcd's messages, etcd's answers and statuses
become our results and store errors; read against the serving direction (what our own
etcd API sends, EtcdKV reads back the same)."""

from __future__ import annotations

import grpc
import pytest
from aetcd.rpc import rpc_pb2

from minikube_py.etcdapi import convert
from minikube_py.etcdapi.convert import RequestContext
from minikube_py.etcdapi.etcdkv import EndpointError, EtcdTLS, check_endpoints, grpc_target
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
    PutOp,
    PutResult,
    RangeOp,
    RangeResult,
    RequestTimeoutError,
    StoreError,
    StoreUnavailableError,
    TxnResult,
)

KV1 = KeyValue(b"/registry/pods/default/a", b"{}", 5, 9, 3, lease=0x1234)
KV2 = KeyValue(b"/registry/pods/default/b", b"\x00\xff", 7, 7, 1)
AT = RequestContext("http://127.0.0.1:2379", revision=4, current=20, compacted=8,
                    lease_id=0x42)


@pytest.mark.parametrize("target", list(CompareTarget))
@pytest.mark.parametrize("op", list(CompareOp))
def test_a_compare_reaches_etcd_as_itself(target: CompareTarget, op: CompareOp) -> None:
    value: int | bytes = b"v" if target is CompareTarget.VALUE else 17
    compare = Compare(b"/k", target, op, value)
    assert convert.compare_from_pb(convert.compare_to_pb(compare)) == compare


@pytest.mark.parametrize("op", [
    RangeOp(b"/a", b"/b", limit=3), RangeOp(b"/a"),
    PutOp(b"/a", b"v", lease=9, prev_kv=True), PutOp(b"/a", b""),
    DeleteOp(b"/a", b"/b", prev_kv=True), DeleteOp(b"/a"),
])
def test_an_operation_reaches_etcd_as_itself(op: Op) -> None:
    assert convert.op_from_pb(convert.op_to_pb(op)) == op


def test_a_key_value_comes_back_whole() -> None:
    for kv in (KV1, KV2):
        assert convert.kv_from_pb(convert.kv_to_pb(kv)) == kv


@pytest.mark.parametrize("event", [
    Event(EventType.PUT, KV1), Event(EventType.PUT, KV1, prev_kv=KV2),
    Event(EventType.DELETE, KeyValue(KV1.key, b"", 0, 12, 0), prev_kv=KV1),
    Event(EventType.DELETE, KeyValue(KV1.key, b"", 0, 12, 0)),
])
def test_an_event_comes_back_whole(event: Event) -> None:
    assert convert.event_from_pb(convert.event_to_pb(event)) == event


def test_a_txn_answer_comes_back_with_the_revision_of_its_header() -> None:
    result = TxnResult(True, 30, [RangeResult([KV1, KV2], 5, True, 30), PutResult(30, KV2),
                                  PutResult(30), DeleteResult(30, 2, [KV1, KV2]),
                                  DeleteResult(30, 0)])
    ops = [convert.op_to_pb(op) for op in (RangeOp(b"/a", b"/b", limit=2), PutOp(b"/b", b"",
           prev_kv=True), PutOp(b"/c", b""), DeleteOp(b"/a", b"/c", prev_kv=True),
           DeleteOp(b"/z"))]
    header = rpc_pb2.ResponseHeader(revision=30)
    response = rpc_pb2.TxnResponse(header=header, succeeded=True, responses=[
        convert.op_result_to_pb(header, r, op) for r, op in zip(result.responses, ops,
                                                                strict=True)])
    assert convert.txn_result_from_pb(response) == result


def test_a_failed_txn_is_not_taken_for_a_success() -> None:
    response = rpc_pb2.TxnResponse(header=rpc_pb2.ResponseHeader(revision=3), succeeded=False)
    assert convert.txn_result_from_pb(response) == TxnResult(False, 3, [])


@pytest.mark.parametrize(("error", "back"), [
    (CompactedError(4, 8), CompactedError), (FutureRevisionError(30, 20), FutureRevisionError),
    (LeaseNotFoundError(0x42), LeaseNotFoundError), (DuplicateKeyError("twice"),
                                                      DuplicateKeyError),
    (NotLeaderError("no"), NotLeaderError),
])
def test_what_our_etcd_api_answers_comes_back_as_the_same_store_error(
        error: StoreError, back: type[StoreError]) -> None:
    status = convert.from_store_error(error)
    assert type(convert.to_store_error(status.code, status.message, AT)) is back


def test_a_compacted_revision_names_the_request_and_the_compaction() -> None:
    error = convert.to_store_error(grpc.StatusCode.OUT_OF_RANGE, convert.COMPACTED, AT)
    assert isinstance(error, CompactedError)
    assert (error.requested, error.compact_revision) == (4, 8)


def test_a_future_revision_names_the_request_and_the_current_one() -> None:
    error = convert.to_store_error(grpc.StatusCode.OUT_OF_RANGE, convert.FUTURE_REV, AT)
    assert isinstance(error, FutureRevisionError)
    assert (error.requested, error.current) == (4, 20)


def test_a_missing_lease_names_the_lease() -> None:
    error = convert.to_store_error(grpc.StatusCode.NOT_FOUND, convert.LEASE_NOT_FOUND, AT)
    assert isinstance(error, LeaseNotFoundError) and error.lease_id == 0x42


@pytest.mark.parametrize(("code", "details", "kind"), [
    (grpc.StatusCode.UNAVAILABLE, "etcdserver: no leader", NoLeaderError),
    (grpc.StatusCode.UNAVAILABLE, "etcdserver: leader changed", NoLeaderError),
    (grpc.StatusCode.UNAVAILABLE, "etcdserver: request timed out", RequestTimeoutError),
    (grpc.StatusCode.UNAVAILABLE,
     "etcdserver: request timed out, possibly due to previous leader failure",
     RequestTimeoutError),
    (grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded", RequestTimeoutError),
    (grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses", StoreUnavailableError),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, "etcdserver: too many requests",
     StoreUnavailableError),
])
def test_what_a_client_retries_is_a_store_error_the_api_answers_503_for(
        code: grpc.StatusCode, details: str, kind: type[StoreError]) -> None:
    error = convert.to_store_error(code, details, AT)
    assert type(error) is kind and AT.endpoint in str(error)


def test_anything_else_is_a_plain_store_error_naming_etcd_and_its_words() -> None:
    error = convert.to_store_error(grpc.StatusCode.INVALID_ARGUMENT,
                                   "etcdserver: request is too large", AT)
    assert type(error) is StoreError
    assert str(error) == ("etcd at http://127.0.0.1:2379: INVALID_ARGUMENT: etcdserver: "
                          "request is too large")


@pytest.mark.parametrize(("endpoint", "target"), [
    ("http://127.0.0.1:2379", "127.0.0.1:2379"), ("http://127.0.0.1", "127.0.0.1:2379"),
    ("127.0.0.1:12379", "127.0.0.1:12379"), ("http://[::1]:2379/", "[::1]:2379"),
    ("http://etcd.example:4001", "etcd.example:4001"),
    ("https://127.0.0.1:2379", "127.0.0.1:2379"),
])
def test_an_endpoint_url_is_a_grpc_target(endpoint: str, target: str) -> None:
    assert grpc_target(endpoint) == target


@pytest.mark.parametrize(("endpoint", "why"), [
    ("unix:///run/etcd.sock", "http:// or https://"),
    ("http://127.0.0.1:2379/v3", "nothing more"), ("http://user@127.0.0.1:2379", "nothing more"),
    ("http://127.0.0.1:99999", "out of range"), ("http://:2379", "no host"),
])
def test_an_endpoint_we_cannot_use_is_refused_saying_why(endpoint: str, why: str) -> None:
    with pytest.raises(EndpointError, match=why):
        grpc_target(endpoint)


def test_a_list_of_endpoints_is_each_a_target() -> None:
    assert check_endpoints(" http://127.0.0.1:1 ,127.0.0.1:2,", EtcdTLS()) == [
        "127.0.0.1:1", "127.0.0.1:2"]


@pytest.mark.parametrize(("endpoints", "tls", "why"), [
    ("", EtcdTLS(), "no endpoint"), (" , ", EtcdTLS(), "no endpoint"),
    ("http://a:1,http://a:1", EtcdTLS(), "listed twice"),
    ("http://a:1,https://b:1", EtcdTLS(), "every endpoint is http:// or every one https://"),
    ("http://a:1", EtcdTLS(cafile="/ca.crt"), "are for https:// endpoints"),
])
def test_a_list_we_cannot_use_is_refused_saying_why(endpoints: str, tls: EtcdTLS,
                                                    why: str) -> None:
    with pytest.raises(EndpointError, match=why):
        check_endpoints(endpoints, tls)


def test_a_client_certificate_goes_with_its_key() -> None:
    with pytest.raises(EndpointError, match="go together"):
        EtcdTLS(certfile="/client.crt")
