"""Member identities and registry records: what they encode, and what they refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from minikube_py.members.member import MemberTiming
from minikube_py.members.records import (
    REGISTRY_PREFIX,
    MemberIdentity,
    MemberRecord,
    MemberRecordError,
    check_member_name,
    https_url,
    new_member_id,
    peer_addresses,
    read_identity,
    registry_range_end,
    url_address,
    write_identity,
)


def test_a_record_round_trips_and_lives_under_the_registry_prefix() -> None:
    record = MemberRecord(0x1234, "b", "https://127.0.0.1:2381", "https://127.0.0.1:6444",
                          "http://127.0.0.1:2379")
    assert MemberRecord.decode(record.encode()) == record
    assert record.key.startswith(REGISTRY_PREFIX)
    assert REGISTRY_PREFIX <= record.key < registry_range_end()
    assert not record.key.startswith(b"/registry/")  # no Kubernetes resource is there
    assert record.peer_address == ("127.0.0.1", 2381)


@pytest.mark.parametrize("data", [b"{}", b"not json", b'{"id": "x", "name": "b", '
                                  b'"peerURL": "", "apiURL": ""}',
                                  b'{"id": 1, "name": "Bad Name", "peerURL": "", "apiURL": ""}'])
def test_a_bad_record_is_refused(data: bytes) -> None:
    with pytest.raises(MemberRecordError):
        MemberRecord.decode(data)


def test_urls_need_https_and_a_port() -> None:
    assert url_address("https://[::1]:2380") == ("::1", 2380)
    assert https_url("::1", 2380) == "https://[::1]:2380"
    for bad in ("http://a:1", "https://a", "a:1"):
        with pytest.raises(MemberRecordError):
            url_address(bad)


def test_member_names_are_dns_like() -> None:
    assert check_member_name("cp-1.example") == "cp-1.example"
    for bad in ("", "A", "-a", "a" * 64, "a_b"):
        with pytest.raises(MemberRecordError):
            check_member_name(bad)


def test_ids_are_positive_63_bit() -> None:
    draws = iter([0, 5])
    assert new_member_id(lambda bits: next(draws)) == 5  # zero is no id: drawn again
    assert 0 < new_member_id() < 2**63


def test_the_identity_file_round_trips_and_refuses_garbage(tmp_path: Path) -> None:
    assert read_identity(tmp_path) is None
    identity = MemberIdentity(7, 9, "a", (9,), (), founder=True)
    write_identity(tmp_path, identity)
    assert read_identity(tmp_path) == identity
    (tmp_path / "member.json").write_text('{"cluster_id": 0, "member_id": 1, "name": "a"}')
    with pytest.raises(MemberRecordError, match="positive"):
        read_identity(tmp_path)
    (tmp_path / "member.json").write_text("[]")
    with pytest.raises(MemberRecordError, match="not a member identity"):
        read_identity(tmp_path)


def test_peer_addresses_leave_out_ourselves_and_members_without_a_record() -> None:
    records = {i: MemberRecord(i, f"m{i}", f"https://127.0.0.1:{2380 + i}",
                               f"https://127.0.0.1:{6443 + i}") for i in (1, 2)}
    assert peer_addresses(records, {1, 2, 3}, self_id=1) == {2: ("127.0.0.1", 2382)}


def test_timing_needs_an_election_timeout_of_five_heartbeats() -> None:
    assert MemberTiming(50, 500).election_tick == 10
    assert MemberTiming(50, 500).tick_interval == 0.05
    with pytest.raises(ValueError, match="at least 5"):
        MemberTiming(100, 400)
