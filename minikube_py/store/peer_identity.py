"""Which store member a peer certificate names (pure): a member's peer certificate holds the
URI `urn:minikube-py:member:CLUSTER:MEMBER` (both ids in hex), issued once the member's id is
known, so a peer may claim in its hello only the member its certificate names. Without it,
any certificate of the cluster CA (an admin's, a kubelet's) could claim any member id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MEMBER_URI_PREFIX = "urn:minikube-py:member:"


def member_uri(cluster_id: int, member_id: int) -> str:
    if cluster_id <= 0 or member_id <= 0:
        raise ValueError(f"cluster and member ids are positive, not {cluster_id}, {member_id}")
    return f"{MEMBER_URI_PREFIX}{cluster_id:x}:{member_id:x}"


def parse_member_uri(uri: str) -> tuple[int, int] | None:
    """(cluster id, member id) of a member URI; None for any other URI."""
    if not uri.startswith(MEMBER_URI_PREFIX):
        return None
    parts = uri[len(MEMBER_URI_PREFIX):].split(":")
    try:
        cluster_id, member_id = (int(p, 16) for p in parts)
    except ValueError:
        return None
    if cluster_id <= 0 or member_id <= 0 or uri != member_uri(cluster_id, member_id):
        return None  # one spelling only: no leading zeros, no upper case, no sign
    return cluster_id, member_id


def certified_members(peercert: Mapping[str, Any] | None) -> set[tuple[int, int]]:
    """The members a verified peer certificate names, from `SSLObject.getpeercert()`'s
    subjectAltName (('URI', text) entries)."""
    found = set()
    for kind, value in (peercert or {}).get("subjectAltName", ()):
        if kind == "URI" and (member := parse_member_uri(str(value))) is not None:
            found.add(member)
    return found


def check_certified(peercert: Mapping[str, Any] | None, *, cluster: int, member: int
                    ) -> str | None:
    """Why a peer that says it is `member` of `cluster` is not the one its certificate names
    (None: it is)."""
    named = certified_members(peercert)
    if named == {(cluster, member)}:
        return None
    claim = f"it says it is member {member} of cluster {cluster:#x}"
    if not named:
        return (f"{claim}, but its certificate names no store member (a member's peer "
                f"certificate holds {member_uri(cluster, member)})")
    shown = ", ".join(f"member {m} of cluster {c:#x}" for c, m in sorted(named))
    return f"{claim}, its certificate: {shown}"
