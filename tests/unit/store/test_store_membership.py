"""Membership changes through RaftStore members over the in-process transport: a learner
joins, catches up (from the log or from a snapshot), is promoted; voters and the leader
leave; a restarted member rebuilds the membership from its snapshot and log; and each
refused change says why, as an error of its own kind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from minikube_py.store.node import (
    LearnerNotReadyError,
    MemberExistsError,
    MemberProgress,
    MembershipChangePendingError,
    RaftStore,
    UnknownMemberError,
)
from minikube_py.store.raft import ConfState
from minikube_py.store.types import NotLeaderError

from .test_store_cluster import IDS, Cluster, count_is, put, until


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    c = await Cluster(tmp_path).start()
    yield c
    await c.close()


async def join(c: Cluster, leader: RaftStore, i: int) -> RaftStore:
    """Start member `i` as a learner knowing the founders, and add it."""
    new = c.member(i, learners=(i,))
    await new.start()
    conf = await leader.add_learner(i)
    assert i in conf.learners and i not in conf.voters
    return new


async def test_a_learner_catches_up_is_promoted_and_then_counts(cluster: Cluster) -> None:
    leader = await cluster.leader()
    for i in range(10):
        await put(leader, b"k%03d" % i)
    learner = await join(cluster, leader, 4)
    await until(lambda: count_is(learner, 10), "the learner to catch up")
    assert not learner.is_leader and learner.members().learners == (4,)
    with pytest.raises(ValueError, match="not another voter"):
        await leader.transfer_leadership(4)  # a learner cannot lead

    assert await leader.promote(4) == ConfState((1, 2, 3, 4))
    members = leader.members()
    assert members.voters == (1, 2, 3, 4) and members.learners == ()
    assert members.leader == leader._id and set(members.progress) == {1, 2, 3, 4}
    assert members.progress[leader._id].lag == 0
    # a voter now: it can take the lead, and the cluster of four commits through it
    assert await leader.transfer_leadership(4)
    await until(lambda: learner.is_leader, "member 4 to lead")
    await put(learner, b"k010")
    for s in cluster.net.members.values():
        await until(lambda s=s: count_is(s, 11), f"member {s._id} to apply the write")
        # the transport hook heard every step once, in order, on every member
        steps = [ConfState(IDS), ConfState(IDS, (4,)), ConfState((1, 2, 3, 4))]
        assert cluster.memberships[s._id] == (steps if s._id in IDS else steps[1:])


async def test_the_voters_left_after_a_removal_commit_without_it(cluster: Cluster) -> None:
    leader = await cluster.leader()
    await join(cluster, leader, 4)
    await until(lambda: leader.members().progress[4].lag == 0, "the learner to catch up")
    await leader.promote(4)
    gone = cluster.followers(leader)[0]
    assert await leader.remove_member(gone._id) == ConfState(
        tuple(i for i in (1, 2, 3, 4) if i != gone._id))
    await cluster.net.members.pop(gone._id).close()
    left = list(cluster.net.members.values())
    # three voters: a quorum is two, so one more member down still leaves a quorum
    other = next(s for s in left if s is not leader)
    cluster.net.cut.add(other._id)
    await put(leader, b"k1")
    cluster.net.cut.clear()
    for s in left:
        await until(lambda s=s: count_is(s, 1), f"member {s._id} to apply the write")
        assert gone._id not in s.members().voters


async def test_removing_the_leader_lets_the_others_elect_one_and_take_writes(
        cluster: Cluster) -> None:
    leader = await cluster.leader()
    await put(leader, b"k1")
    others = tuple(i for i in IDS if i != leader._id)
    assert await leader.remove_member(leader._id) == ConfState(others)
    assert not leader.is_leader  # it stepped down as it applied its removal
    await cluster.net.members.pop(leader._id).close()
    new = await cluster.leader()
    await put(new, b"k2")
    for s in cluster.net.members.values():
        await until(lambda s=s: count_is(s, 2), f"member {s._id} to apply the write")
        assert s.members().voters == others


@pytest.mark.parametrize("stop", ["abort", "close"], ids=["log replayed", "from snapshot"])
async def test_a_member_restarted_after_changes_knows_the_membership(
        tmp_path: Path, stop: str) -> None:
    # abort: no snapshot (too few entries), so the restart replays the changes from the
    # log; close: the closing snapshot holds the membership (and the log after it is
    # empty). Either way, a member that did not rebuild it would never learn it again:
    # the leader sends only entries it lacks, and a change is applied only once.
    c = await Cluster(tmp_path, snapshot_entries=10_000).start()
    try:
        leader = await c.leader()
        await join(c, leader, 4)
        await until(lambda: leader.members().progress[4].lag == 0, "member 4 to catch up")
        await leader.promote(4)
        await join(c, leader, 5)  # stays a learner
        gone = c.followers(leader)[0]._id
        await leader.remove_member(gone)
        await c.net.members.pop(gone).close()
        want = ConfState(tuple(i for i in (1, 2, 3, 4) if i != gone), (5,))
        for i in (4, 5):  # the joined ones, restarted with what they started with
            s = c.net.members.pop(i)
            await (s.abort() if stop == "abort" else s.close())
            restarted = c.member(i, learners=(i,))
            await restarted.start()
            # it replays what it knows committed; a commit index is not fsynced on its
            # own, so the last change may wait for the leader to say it is committed
            await until(lambda r=restarted: r.members().voters == want.voters
                        and r.members().learners == want.learners,
                        f"member {i} to know the membership")
            # the transport hook hears it with the next Ready
            await until(lambda i=i: c.memberships[i][-1] == want, f"member {i}'s hook")
            if stop == "close":
                assert restarted._snapshot_index > 0
        await put(await c.leader(), b"k1")
        for s in c.net.members.values():
            await until(lambda s=s: count_is(s, 1), f"member {s._id} to apply the write")
    finally:
        await c.close()


async def test_a_learner_joining_after_a_snapshot_installs_it(cluster: Cluster) -> None:
    leader = await cluster.leader()
    for i in range(200):  # several snapshots: the log's first entries are gone
        await put(leader, b"k%03d" % i)
    assert leader._raft is not None and leader._raft.log.snap_index > 50
    learner = await join(cluster, leader, 4)
    await until(lambda: count_is(learner, 200), "the learner to catch up")
    assert learner._snapshot_index > 0  # from the leader's snapshot, not the log
    assert learner.members().learners == (4,) and learner.members().voters == IDS
    await leader.promote(4)
    await put(leader, b"k200")
    await until(lambda: count_is(learner, 201), "the promoted member to apply the write")


# ---- refusals -----------------------------------------------------------------------------


async def test_each_refused_change_says_why(cluster: Cluster) -> None:
    leader = await cluster.leader()
    follower = cluster.followers(leader)[0]
    await until(lambda: follower.members().leader == leader._id, "the follower to know it")
    with pytest.raises(NotLeaderError, match=f"leader: {leader._id}"):
        await follower.add_learner(4)
    with pytest.raises(MemberExistsError, match="already a voter"):
        await leader.add_learner(follower._id)
    with pytest.raises(UnknownMemberError, match="not a learner"):
        await leader.promote(7)
    with pytest.raises(UnknownMemberError, match="not in the cluster"):
        await leader.remove_member(7)
    with pytest.raises(ValueError, match="positive"):
        await leader.remove_member(0)
    assert leader.members().voters == IDS  # nothing was proposed


async def test_a_second_change_while_one_is_pending_is_refused(cluster: Cluster) -> None:
    leader = await cluster.leader()
    await put(leader, b"k1")  # its own first entry is applied: no change of its is pending
    cluster.net.cut.update(s._id for s in cluster.followers(leader))  # nothing commits
    first = asyncio.create_task(leader.add_learner(4))
    raft = leader._raft
    assert raft is not None
    await until(lambda: raft.pending_conf_index > raft.applied, "the first change proposed")
    with pytest.raises(MembershipChangePendingError, match="one change at a time"):
        await leader.add_learner(5)
    cluster.net.cut.clear()
    assert await first == ConfState(IDS, (4,))
    assert await leader.add_learner(5) == ConfState(IDS, (4, 5))


async def test_promoting_a_learner_that_never_catches_up_fails_after_the_bound(
        cluster: Cluster) -> None:
    leader = await cluster.leader()
    await put(leader, b"k1")
    assert await leader.add_learner(4) == ConfState(IDS, (4,))  # never started: no entries
    assert leader.members().progress[4] == MemberProgress(0, leader.members().progress[
        leader._id].match)
    with pytest.raises(LearnerNotReadyError, match=r"too far behind.*after 0.2 s"):
        await leader.promote(4, timeout=0.2)
    assert leader.members().learners == (4,)
