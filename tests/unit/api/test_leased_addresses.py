"""Which servers a lease-kept Service leads to: the live records' addresses, given the
records and the time."""

from __future__ import annotations

import pytest

from minikube_py.api.leasedaddresses import (
    LeasedAddress,
    LeaseRecordError,
    ServedAddress,
    decode_record,
    desired_addresses,
    encode_record,
    live_addresses,
    next_expiry,
)

A = ServedAddress("10.0.0.1", 6443)
B = ServedAddress("10.0.0.2", 6443)
C = ServedAddress("10.0.0.3", 7443)


def record(holder: str, served: ServedAddress, renewed_at: float,
           ttl: float = 15.0) -> LeasedAddress:
    return LeasedAddress(holder, served, renewed_at, ttl)


def test_a_record_is_live_until_its_ttl_after_its_renewal() -> None:
    r = record("a", A, 100.0)
    assert r.live(100.0) and r.live(114.9)
    assert not r.live(115.0)


def test_the_live_addresses_are_sorted_and_the_lapsed_left_out() -> None:
    records = [record("c", C, 100.0), record("b", B, 80.0), record("a", A, 99.0)]
    assert live_addresses(records, 100.0) == [A, C]


def test_two_holders_at_one_address_are_one_endpoint() -> None:
    assert live_addresses([record("a", A, 100.0), record("a2", A, 101.0)], 102.0) == [A]


def test_a_server_that_does_not_find_its_own_renewed_record_publishes_nothing() -> None:
    # kube refuses to rewrite the endpoints from a listing that lacks its own fresh key
    assert desired_addresses([record("b", B, 100.0)], 101.0, own=A) is None
    assert desired_addresses([record("a", A, 100.0), record("b", B, 100.0)], 101.0,
                             own=A) == [A, B]


def test_a_server_pods_cannot_reach_publishes_the_others() -> None:
    assert desired_addresses([record("b", B, 100.0)], 101.0, own=None) == [B]
    assert desired_addresses([], 101.0, own=None) == []


def test_the_next_expiry_is_the_first_live_records_lapse() -> None:
    records = [record("a", A, 100.0), record("b", B, 95.0), record("c", C, 50.0)]
    assert next_expiry(records, 101.0) == 110.0
    assert next_expiry([record("c", C, 50.0)], 101.0) is None


def test_a_record_survives_encoding() -> None:
    r = record("member-b", C, 1700000000.25, 15.0)
    assert decode_record(encode_record(r)) == r


@pytest.mark.parametrize("value", [
    b"", b"[]", b"{}", b'{"holder": "a", "address": "x", "port": 0, "renewedAt": 1, '
    b'"ttlSeconds": 15}', b'{"holder": "a", "address": "x", "port": 1, "renewedAt": "nan", '
    b'"ttlSeconds": 15}', b"\xff"])
def test_what_is_not_a_record_is_refused_with_a_clear_error(value: bytes) -> None:
    with pytest.raises(LeaseRecordError, match="not a lease record"):
        decode_record(value)
