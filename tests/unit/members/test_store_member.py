"""StoreMember: a store of one that grows into a cluster over the real peer transport
(mutual TLS on loopback): the first member forgot its applied log as a lone member does, so
the learner catches up from a snapshot; it is promoted once caught up; each member's
registry knows where the others are; a restarted member is that member again."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from minikube_py.members.member import MemberTiming, StoreMember
from minikube_py.members.records import MemberIdentity, MemberRecord
from minikube_py.store.types import PutOp
from tests.certs import TrialPki, make_test_pki
from tests.conditions import until

CLUSTER = 0xC2
TIMING = MemberTiming(heartbeat_ms=20, election_ms=200)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TrialPki:
    return make_test_pki(tmp_path_factory.mktemp("member-pki"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def record(member_id: int, name: str, port: int, *, etcd: bool = False) -> MemberRecord:
    """A member on loopback: its peer port, its API on the next, its etcd API on the one
    after (`etcd`)."""
    return MemberRecord(member_id, name, f"https://127.0.0.1:{port}",
                        f"https://127.0.0.1:{port + 1}",
                        f"http://127.0.0.1:{port + 2}" if etcd else "")


class Members:
    def __init__(self, pki: TrialPki, root: Path) -> None:
        self.pki, self.root = pki, root
        self.running: list[StoreMember] = []

    async def start(self, identity: MemberIdentity, port: int,
                    known: dict[int, MemberRecord] | None = None) -> StoreMember:
        member = StoreMember(
            identity, self.root / identity.name, peer_host="127.0.0.1", peer_port=port,
            server_ssl=self.pki.member_server(identity.cluster_id, identity.member_id),
            client_ssl=self.pki.member_client(identity.cluster_id, identity.member_id),
            voters=identity.voters, learners=identity.learners, known=known, timing=TIMING)
        await member.start()
        self.running.append(member)
        return member

    async def stop(self, member: StoreMember) -> None:
        self.running.remove(member)
        await member.close()

    async def join_as_voters(self, first: StoreMember, joining: list[tuple[int, str, int]]
                             ) -> list[StoreMember]:
        """Each (id, name, port) registered and added by `first` as a learner, started,
        caught up and promoted, one after the other."""
        joined = []
        for member_id, name, port in joining:
            await first.register(record(member_id, name, port))
            await first.store.add_learner(member_id)
            m = await self.start(MemberIdentity(CLUSTER, member_id, name, (11,), (member_id,)),
                                 port, known=first.records)
            await m.until_caught_up(timeout=10)
            await until(lambda m=m: first.store.members().progress[m.identity.member_id].lag
                        == 0, f"{name} to catch up")
            await first.store.promote(member_id)
            joined.append(m)
        return joined


@pytest.fixture
async def members(pki: TrialPki, tmp_path: Path) -> AsyncIterator[Members]:
    m = Members(pki, tmp_path)
    yield m
    for member in reversed(m.running):
        await member.close()


async def put(member: StoreMember, key: bytes, value: bytes = b"v") -> None:
    await member.store.txn([], [PutOp(key, value)], [])


async def test_a_lone_member_grows_into_a_cluster_through_a_snapshot(members: Members) -> None:
    a_port, b_port = free_port(), free_port()
    a_id = MemberIdentity(CLUSTER, 11, "a", (11,), (), founder=True)
    a = await members.start(a_id, a_port)
    await a.register(record(11, "a", a_port))
    for i in range(50):
        await put(a, b"/k/%03d" % i)
    assert a.store.members().voters == (11,)

    # what the leader does when a member joins: its record first, then the learner
    b_record = record(22, "b", b_port)
    await a.register(b_record)
    await a.store.add_learner(22)
    b_id = MemberIdentity(CLUSTER, 22, "b", (11,), (22,))
    b = await members.start(b_id, b_port, known=a.records)
    await b.until_caught_up(timeout=10)
    got = await b.store.range(b"/k/", b"/k0", serializable=True)
    assert got.count == 50  # from the snapshot: the lone member had forgotten its log
    assert set(b.records) == {11, 22} and b.records[22] == b_record

    promoted = asyncio.Event()
    b.promote_when_caught_up(lambda leader: a.store.promote(22), promoted.set)  # type: ignore[arg-type,return-value]
    await asyncio.wait_for(promoted.wait(), 10)
    assert a.store.members().voters == (11, 22)

    # two voters: a write commits on both, and b reads it linearizably
    await put(a, b"/k/new")
    assert (await b.store.range(b"/k/new")).count == 1
    # writes through b need the leader: b forwards them (or is refused, retryably)


async def test_a_restarted_member_is_the_same_member(members: Members) -> None:
    a_port, b_port = free_port(), free_port()
    a = await members.start(MemberIdentity(CLUSTER, 11, "a", (11,), ()), a_port)
    await a.register(record(11, "a", a_port))
    await a.register(record(22, "b", b_port))
    await a.store.add_learner(22)
    b_id = MemberIdentity(CLUSTER, 22, "b", (11,), (22,))
    b = await members.start(b_id, b_port, known=a.records)
    await b.until_caught_up(timeout=10)
    await a.store.promote(22)
    await put(a, b"/x")
    await until(lambda: b.store.raft_position().applied >= a.store.raft_position().applied,
                "b to apply the write")
    await members.stop(b)
    # a alone is not a quorum of two: nothing commits until b is back
    b = await members.start(b_id, b_port)  # no records given: its own registry has them
    assert set(b.records) == {11, 22}
    await b.until_caught_up(timeout=10)
    await put(a, b"/y")
    assert (await b.store.range(b"/y")).count == 1


async def test_a_first_member_back_from_a_crash_does_not_lead_alone(members: Members) -> None:
    """Its snapshot (made when it grew) says it was alone with a learner; the log after it
    says the cluster is three voters now. Back from a crash, it must replay that log before
    it may campaign, or it elects itself as a cluster of one and serves without the others'
    writes."""
    ports = [free_port() for _ in range(3)]
    a_id = MemberIdentity(CLUSTER, 11, "a", (11,), (), founder=True)
    a = await members.start(a_id, ports[0])
    await a.register(record(11, "a", ports[0]))
    for i in range(20):
        await put(a, b"/k/%03d" % i)
    b, c = await members.join_as_voters(a, [(22, "b", ports[1]), (33, "c", ports[2])])
    await until(lambda: b.store.members().voters == (11, 22, 33), "b to know three voters")
    # a crashes: no snapshot on the way out, its log after the growth snapshot is all it has
    members.running.remove(a)
    await a.store.abort()
    await a.close()
    await until(lambda: b.store.is_leader or c.store.is_leader, "a new leader", timeout=10)
    survivor = b if b.store.is_leader else c
    for i in range(20, 40):
        await put(survivor, b"/k/%03d" % i)
    a = await members.start(a_id, ports[0])
    await a.until_caught_up(timeout=10)
    assert not a.store.is_leader
    assert (await a.store.range(b"/k/", b"/k0")).count == 40
    assert a.store.members().voters == (11, 22, 33)


async def test_a_grown_first_member_restarted_cleanly_can_still_bring_a_member_up(
        members: Members) -> None:
    """A clean stop snapshots at the applied index; after the restart, the first member
    (made as a cluster of one) must still have the bytes of a snapshot to send."""
    ports = [free_port() for _ in range(3)]
    a_id = MemberIdentity(CLUSTER, 11, "a", (11,), (), founder=True)
    a = await members.start(a_id, ports[0])
    await a.register(record(11, "a", ports[0]))
    for i in range(10):
        await put(a, b"/k/%03d" % i)
    await a.register(record(22, "b", ports[1]))
    await a.store.add_learner(22)
    b_id = MemberIdentity(CLUSTER, 22, "b", (11,), (22,))
    b = await members.start(b_id, ports[1], known=a.records)
    await b.until_caught_up(timeout=10)
    await members.stop(b)
    await members.stop(a)
    a = await members.start(a_id, ports[0])
    b = await members.start(b_id, ports[1])
    await until(lambda: a.store.is_leader, "a to lead again (b is a learner)")
    await a.register(record(33, "c", ports[2]))
    await a.store.add_learner(33)
    c = await members.start(MemberIdentity(CLUSTER, 33, "c", (11,), (33,)), ports[2],
                            known=a.records)
    await c.until_caught_up(timeout=10)
    assert (await c.store.range(b"/k/", b"/k0", serializable=True)).count == 10


async def test_a_member_that_is_still_starting_does_not_make_others_think_they_were_removed(
        members: Members) -> None:
    a_port, b_port = free_port(), free_port()
    a = await members.start(MemberIdentity(CLUSTER, 11, "a", (11,), ()), a_port)
    await a.register(record(11, "a", a_port))
    a.transport.members_loaded = False  # as while it replays its log after a restart
    a.transport.update_peers({})
    await a.register(record(22, "b", b_port))
    b = StoreMember(MemberIdentity(CLUSTER, 22, "b", (11,), (22,)), members.root / "b",
                    peer_host="127.0.0.1", peer_port=b_port,
                    server_ssl=members.pki.member_server(CLUSTER, 22),
                    client_ssl=members.pki.member_client(CLUSTER, 22),
                    voters=(11,), learners=(22,), known=a.records, timing=TIMING)
    await b.transport.start()
    try:
        await until(lambda: any(s.last_error for s in b.transport.stats().values()),
                    "b to be refused")
        errors = [s.last_error or "" for s in b.transport.stats().values()]
        assert all("is starting" in e and "not a known member" not in e for e in errors)
    finally:
        await b.transport.close()


async def test_a_member_that_applies_its_own_removal_knows_it_was_removed(
        members: Members) -> None:
    """c replays the leader's log from the growth on, memberships from before it joined
    (without it) included: not a removal. Its own removal, applied while it still knows its
    leader (so it never campaigns, and never hears a refusal), is."""
    ports = [free_port() for _ in range(3)]
    a = await members.start(MemberIdentity(CLUSTER, 11, "a", (11,), (), founder=True), ports[0])
    await a.register(record(11, "a", ports[0]))
    b, c = await members.join_as_voters(a, [(22, "b", ports[1]), (33, "c", ports[2])])
    await put(a, b"/after-c")
    await until(lambda: c.store.members().voters == (11, 22, 33), "c to know three voters")
    assert not c.removed and not b.removed
    await a.store.remove_member(33)
    await until(lambda: c.removed, "c to know it was removed", timeout=2.0)
    assert not b.removed
