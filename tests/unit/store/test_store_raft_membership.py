"""Specification of single-member membership changes with learners in the Raft core."""

from __future__ import annotations

import random

import msgpack
import pytest

from minikube_py.store.raft import (
    ConfChange,
    ConfChangeError,
    ConfChangeType,
    ConfState,
    EntryType,
    HardState,
    Message,
    MessageType,
    ProposalDroppedError,
    Raft,
    RaftConfig,
    Role,
    Snapshot,
    SnapshotMeta,
)

from .raft_network import Network

ADD, PROMOTE, REMOVE = ConfChangeType.ADD_LEARNER, ConfChangeType.PROMOTE, ConfChangeType.REMOVE


class MemberNetwork(Network):
    """The lockstep network, with the app's part of a membership change: applying a
    CONF_CHANGE entry calls `apply_conf_change`; `conf_states` records each Ready's."""

    def __init__(self, size: int, **kw: bool) -> None:
        super().__init__(size, **kw)
        self.conf_states: dict[int, list[ConfState]] = {i: [] for i in self.ids}

    def join(self, i: int) -> Raft:
        """Start a blank member that knows the founding voters; it learns the rest
        (itself included) from the log it is sent."""
        r = Raft(RaftConfig(i, self.ids), random.Random(i))
        self.rafts[i] = r
        self.read_states[i] = []
        self.conf_states[i] = []
        return r

    def flush(self) -> None:
        busy = True
        while busy:
            busy = False
            for i, r in list(self.rafts.items()):
                while r.has_ready():
                    busy = True
                    rd = r.ready()
                    self.read_states[i].extend(rd.read_states)
                    if rd.conf_state is not None:
                        self.conf_states[i].append(rd.conf_state)
                    for e in rd.committed_entries:
                        if e.type is EntryType.CONF_CHANGE:
                            r.apply_conf_change(ConfChange.unpack(e.data))
                    r.advance(rd)
                    for m in rd.messages:
                        if m.to not in self.isolated and m.frm not in self.isolated:
                            self.sent.append(m)
                            self.rafts[m.to].step(m)

    def change(self, leader: Raft, cc: ConfChange) -> None:
        leader.propose_conf_change(cc)
        self.flush()


def with_learner() -> tuple[MemberNetwork, Raft]:
    """Voters 1-3 led by 1, and member 4 added as a learner and caught up."""
    net = MemberNetwork(3)
    leader = net.elect(1)
    net.join(4)
    net.change(leader, ConfChange(ADD, 4))
    return net, leader


def test_an_added_learner_receives_the_log_and_knows_it_is_a_learner() -> None:
    net, leader = with_learner()
    leader.propose(b"w")
    net.flush()
    learner = net.rafts[4]
    assert learner.log.last_index == leader.log.last_index and learner.commit == leader.commit
    for r in net.rafts.values():
        assert r.conf_state == ConfState((1, 2, 3), (4,))
    assert net.conf_states[1] == [ConfState((1, 2, 3), (4,))]  # reported once, when it changed


def test_commits_do_not_wait_for_a_learner() -> None:
    net = MemberNetwork(1)
    leader = net.elect(1)
    net.join(2)
    net.change(leader, ConfChange(ADD, 2))
    net.isolate(2)
    _, index = leader.propose(b"w")
    net.flush()
    assert leader.commit == index


def test_a_learner_never_campaigns() -> None:
    net, _ = with_learner()
    net.isolate(4)
    learner = net.rafts[4]
    net.tick(10 * 10, only=(4,))
    learner.campaign()  # not even when asked
    assert learner.role is Role.FOLLOWER and learner.ready().messages == []


def test_a_learners_vote_does_not_count() -> None:
    r = Raft(RaftConfig(1, (1, 2, 3), learners=(4,), pre_vote=False), random.Random(0))
    r.campaign()
    r.step(Message(MessageType.VOTE_RESP, 1, 4, term=r.term))
    assert [r.role] == [Role.CANDIDATE]
    r.step(Message(MessageType.VOTE_RESP, 1, 2, term=r.term))
    assert r.role is Role.LEADER


def test_a_learner_does_not_keep_a_leader_in_power() -> None:
    """Check-quorum counts voters only: a leader that hears only from a learner steps down."""
    net, leader = with_learner()
    net.isolate(2)
    net.isolate(3)
    net.tick(2 * 10, only=(1, 4))
    assert leader.role is Role.FOLLOWER


def test_a_learners_heartbeat_ack_does_not_confirm_a_read() -> None:
    net, leader = with_learner()
    net.isolate(2)
    net.isolate(3)
    leader.read_index(b"r1")
    net.flush()
    assert net.read_states[1] == []
    net.heal()
    net.tick()
    assert [rs.ctx for rs in net.read_states[1]] == [b"r1"]


def test_a_second_change_while_one_is_pending_is_refused() -> None:
    net = MemberNetwork(3)
    leader = net.elect(1)
    leader.propose_conf_change(ConfChange(ADD, 4))
    with pytest.raises(ConfChangeError, match="one change at a time"):
        leader.propose_conf_change(ConfChange(ADD, 5))
    net.join(4)
    net.flush()
    net.join(5)
    net.change(leader, ConfChange(ADD, 5))  # applied: the next one is taken
    assert leader.learners == (4, 5)


def test_a_new_leader_takes_no_change_before_its_first_entry_is_applied() -> None:
    """A change of an earlier term may still be in the log uncommitted: it must be
    applied (or overwritten) before a new one can be proposed."""
    r = Raft(RaftConfig(1, (1, 2), pre_vote=False), random.Random(0))
    r.campaign()
    r.step(Message(MessageType.VOTE_RESP, 1, 2, term=r.term))
    assert r.role is Role.LEADER and r.applied < r.pending_conf_index
    with pytest.raises(ConfChangeError, match="pending until index 1 is applied"):
        r.propose_conf_change(ConfChange(ADD, 7))


def test_promoting_a_learner_far_behind_is_refused_until_it_catches_up() -> None:
    net, leader = with_learner()
    net.isolate(4)
    for i in range(20):
        leader.propose(b"w%d" % i)
    net.flush()
    with pytest.raises(ConfChangeError, match="too far behind"):
        leader.propose_conf_change(ConfChange(PROMOTE, 4))
    net.heal()
    net.tick()
    net.change(leader, ConfChange(PROMOTE, 4))
    assert all(r.conf_state == ConfState((1, 2, 3, 4)) for r in net.rafts.values())
    # now it counts: with two of four voters cut off, nothing commits
    net.isolate(3)
    net.isolate(4)
    _, index = leader.propose(b"needs 3 of 4")
    net.flush()
    assert leader.commit < index


@pytest.mark.parametrize(
    ("cc", "error"),
    [
        (ConfChange(ADD, 2), "already in the cluster"),
        (ConfChange(PROMOTE, 2), "not a learner"),
        (ConfChange(PROMOTE, 9), "not a learner"),
        (ConfChange(REMOVE, 9), "not in the cluster"),
    ],
)
def test_a_change_that_makes_no_sense_is_refused(cc: ConfChange, error: str) -> None:
    net = MemberNetwork(3)
    leader = net.elect(1)
    net.flush()
    with pytest.raises(ConfChangeError, match=error):
        leader.propose_conf_change(cc)


def test_the_last_voter_cannot_be_removed() -> None:
    net = MemberNetwork(1)
    leader = net.elect(1)
    with pytest.raises(ConfChangeError, match="last voter"):
        leader.propose_conf_change(ConfChange(REMOVE, 1))


def test_only_the_leader_takes_changes_and_only_through_propose_conf_change() -> None:
    net = MemberNetwork(3)
    leader = net.elect(1)
    with pytest.raises(ProposalDroppedError, match="not the leader"):
        net.rafts[2].propose_conf_change(ConfChange(ADD, 4))
    with pytest.raises(ValueError, match="propose_conf_change"):
        leader.propose(ConfChange(ADD, 4).pack(), EntryType.CONF_CHANGE)


def test_a_removed_follower_is_no_longer_sent_to_and_the_quorum_shrinks() -> None:
    net = MemberNetwork(3)
    leader = net.elect(1)
    net.change(leader, ConfChange(REMOVE, 3))
    assert leader.voters == (1, 2) and 3 not in leader.progress
    net.sent.clear()
    leader.propose(b"w")
    net.tick(3)
    assert all(m.to != 3 for m in net.sent)


def test_a_removed_member_that_missed_its_removal_does_not_disrupt() -> None:
    """Cut off while removed, it still thinks it votes and keeps campaigning; pre-vote
    and the voters' leases keep the leader in place, and nobody answers it as a peer."""
    net = MemberNetwork(3)
    leader = net.elect(1)
    term = leader.term
    net.isolate(3)
    net.change(leader, ConfChange(REMOVE, 3))
    assert net.rafts[3].voters == (1, 2, 3)
    net.tick(10 * 10, only=(3,))
    net.heal()
    net.tick(10 * 10)
    assert net.leaders() == [1] and leader.term == term
    assert net.rafts[2].term == term


def test_a_member_that_applied_its_removal_stops_campaigning() -> None:
    net = MemberNetwork(3)
    leader = net.elect(1)
    net.change(leader, ConfChange(REMOVE, 3))
    removed = net.rafts[3]
    assert removed.voters == (1, 2)
    net.sent.clear()
    net.tick(10 * 10)
    assert removed.role is Role.FOLLOWER and not [m for m in net.sent if m.frm == 3]


def test_a_leader_that_removes_itself_steps_down_and_a_voter_takes_over() -> None:
    net = MemberNetwork(3)
    old = net.elect(1)
    net.change(old, ConfChange(REMOVE, 1))
    assert old.role is Role.FOLLOWER and old.voters == (2, 3)
    net.tick(3 * 10)
    assert net.leaders() in ([2], [3])
    new = net.rafts[net.leaders()[0]]
    _, index = new.propose(b"after")
    net.flush()
    assert new.commit == index and net.rafts[1].role is Role.FOLLOWER


def test_a_learner_gets_a_snapshot_when_the_log_it_needs_is_compacted() -> None:
    net, leader = with_learner()
    for i in range(5):
        leader.propose(b"w%d" % i)
    net.flush()
    leader.compact_log(leader.applied, b"state")
    net.join(5)
    net.change(leader, ConfChange(ADD, 5))
    snaps = [m for m in net.sent if m.type is MessageType.SNAP and m.to == 5]
    assert snaps and snaps[0].snapshot is not None
    assert snaps[0].snapshot.meta.conf_state == ConfState((1, 2, 3), (4,))  # before the add
    learner = net.rafts[5]
    assert learner.commit == leader.commit and learner.conf_state == ConfState((1, 2, 3), (4, 5))


def test_a_snapshot_carries_the_learners() -> None:
    _, leader = with_learner()
    leader.compact_log(leader.applied, b"state")
    assert leader.local_snapshot is not None
    assert leader.local_snapshot.meta.conf_state == ConfState((1, 2, 3), (4,))
    r = Raft(RaftConfig(5, (1,)), random.Random(0), snapshot=leader.local_snapshot.meta)
    assert r.conf_state == ConfState((1, 2, 3), (4,))


def test_a_snapshot_of_an_older_state_carries_the_membership_of_then() -> None:
    """The app may snapshot in the background, at an index before a change it applied since."""
    net = MemberNetwork(3)
    leader = net.elect(1)
    leader.propose(b"w")
    net.flush()
    before = leader.applied
    net.join(4)
    net.change(leader, ConfChange(ADD, 4))
    leader.compact_log(before, b"state then")
    assert leader.local_snapshot is not None
    assert leader.local_snapshot.meta.conf_state == ConfState((1, 2, 3))
    leader.compact_log(leader.applied, b"state now")
    assert leader.local_snapshot.meta.conf_state == ConfState((1, 2, 3), (4,))


def test_a_removed_learner_is_no_longer_sent_to() -> None:
    net, leader = with_learner()
    net.change(leader, ConfChange(REMOVE, 4))
    assert leader.conf_state == ConfState((1, 2, 3)) and 4 not in leader.progress
    net.sent.clear()
    leader.propose(b"w")
    net.tick(3)
    assert all(m.to != 4 for m in net.sent)


def test_snapshot_learners_round_trip_and_only_go_on_the_wire_when_there_are_any() -> None:
    m = Message(
        MessageType.SNAP, 2, 1, 3, snapshot=Snapshot(SnapshotMeta(4, 1, (1, 2), (3,)), b"s")
    )
    packed = msgpack.unpackb(msgpack.packb(m.pack(), use_bin_type=True))
    assert Message.unpack(packed) == m
    no_learners = Snapshot(SnapshotMeta(4, 1, (1, 2)), b"s")
    # without learners the snapshot is sent as before them, so older peers still read it
    assert len(Message(MessageType.SNAP, 2, 1, 3, snapshot=no_learners).pack()[10]) == 4


def test_applying_a_change_again_changes_nothing() -> None:
    r = Raft(RaftConfig(1, (1, 2, 3)), random.Random(0))
    for cc in [ConfChange(ADD, 4), ConfChange(PROMOTE, 4), ConfChange(REMOVE, 2)]:
        state = r.apply_conf_change(cc)
        assert r.apply_conf_change(cc) == state
    assert r.apply_conf_change(ConfChange(ADD, 4)) == ConfState((1, 3, 4))  # replayed add
    assert ConfChange.unpack(ConfChange(PROMOTE, 4).pack()) == ConfChange(PROMOTE, 4)


def test_a_restart_takes_back_the_conf_state_with_its_applied_index() -> None:
    net, _ = with_learner()
    r = net.rafts[2]
    restarted = Raft(
        RaftConfig(2, (1, 2, 3)), random.Random(0),
        hard_state=HardState(r.term, r.vote, r.commit), entries=list(r.log.entries),
        conf_state=r.conf_state, applied=r.applied,
    )  # fmt: skip
    assert restarted.conf_state == ConfState((1, 2, 3), (4,))
    rd = restarted.ready()
    assert rd.committed_entries == [] and rd.conf_state is None
