"""Which member a peer certificate names, and when a hello's claim does not match it."""

from __future__ import annotations

from typing import Any

from minikube_py.store.peer_identity import (
    certified_members,
    check_certified,
    member_uri,
    parse_member_uri,
)


def cert(*uris: str, dns: str = "localhost") -> dict[str, Any]:
    """As `SSLObject.getpeercert()` shows a verified certificate."""
    return {"subjectAltName": (("DNS", dns), *(("URI", u) for u in uris))}


def test_a_member_uri_round_trips() -> None:
    assert member_uri(0xC1, 0x5A) == "urn:minikube-py:member:c1:5a"
    assert parse_member_uri(member_uri(2**62, 2**63 - 1)) == (2**62, 2**63 - 1)


def test_only_the_one_spelling_of_a_member_uri_counts() -> None:
    for uri in ("urn:minikube-py:member:C1:5a", "urn:minikube-py:member:c1:05a",
                "urn:minikube-py:member:c1:-5a", "urn:minikube-py:member:c1", "urn:other:c1:5a",
                "urn:minikube-py:member:c1:5a:1", "urn:minikube-py:member:0:5a"):
        assert parse_member_uri(uri) is None, uri


def test_the_certified_member_is_the_claimed_one() -> None:
    assert check_certified(cert(member_uri(0xC1, 7)), cluster=0xC1, member=7) is None


def test_a_claim_of_another_member_or_cluster_is_refused() -> None:
    mine = cert(member_uri(0xC1, 7))
    assert "its certificate: member 7 of cluster 0xc1" in (
        check_certified(mine, cluster=0xC1, member=8) or "")
    assert check_certified(mine, cluster=0xC2, member=7) is not None


def test_a_certificate_naming_no_member_or_several_is_refused() -> None:
    assert "names no store member" in (check_certified(cert(), cluster=1, member=7) or "")
    assert check_certified(None, cluster=1, member=7) is not None
    assert check_certified(cert("spiffe://x/7"), cluster=1, member=7) is not None
    both = cert(member_uri(1, 7), member_uri(1, 8))
    assert certified_members(both) == {(1, 7), (1, 8)}
    assert check_certified(both, cluster=1, member=7) is not None
