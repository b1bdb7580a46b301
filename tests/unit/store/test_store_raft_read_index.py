"""Specification of ReadIndex in the Raft core: linearizable read points confirmed by a quorum."""

from __future__ import annotations

import random

import msgpack
import pytest

from minikube_py.store.raft import (
    Message,
    MessageType,
    Raft,
    RaftConfig,
    ReadIndexDroppedError,
    ReadState,
    Role,
)

from .raft_network import Network


def new_leader_with_nothing_committed() -> Raft:
    """Member 1 of three, just elected by member 2; its empty entry is not committed yet."""
    r = Raft(RaftConfig(1, (1, 2, 3)), random.Random(0))
    r.campaign()
    r.step(Message(MessageType.PRE_VOTE_RESP, 1, 2, term=1))
    r.step(Message(MessageType.VOTE_RESP, 1, 2, term=1))
    assert r.role is Role.LEADER
    r.advance(r.ready())  # the empty entry is persisted here, not yet on a quorum
    return r


def test_a_leader_answers_a_read_once_a_quorum_confirms_it_still_leads() -> None:
    net = Network(3)
    leader = net.elect(1)
    leader.read_index(b"r1")
    rd = leader.ready()
    assert rd.read_states == []
    beats = [m for m in rd.messages if m.type is MessageType.HEARTBEAT]
    assert {(m.to, m.context) for m in beats} == {(2, b"r1"), (3, b"r1")}
    net.rafts[1].step(Message(MessageType.HEARTBEAT_RESP, 1, 2, leader.term, context=b"r1"))
    assert leader.ready().read_states == [ReadState(leader.commit, b"r1")]


def test_a_follower_read_is_answered_through_the_leader() -> None:
    net = Network(3)
    leader = net.elect(1)
    leader.propose(b"w")
    net.flush()
    net.rafts[3].read_index(b"r3")
    net.flush()
    assert net.read_states[3] == [ReadState(leader.commit, b"r3")]
    assert net.read_states[1] == []


def test_one_quorum_round_confirms_every_older_pending_read() -> None:
    net = Network(3)
    leader = net.elect(1)
    net.isolate(2)
    net.isolate(3)
    leader.read_index(b"a")
    leader.read_index(b"b")
    net.flush()
    net.heal()
    net.tick()  # the next heartbeat carries the newest ctx, "b"
    assert [rs.ctx for rs in net.read_states[1]] == [b"a", b"b"]


def test_a_deposed_leader_cut_off_from_the_rest_never_confirms_a_stale_read() -> None:
    net = Network(3)
    old = net.elect(1)
    net.isolate(1)
    net.tick(3 * 10, only=(2, 3))  # 1's clock stands still: it still believes it leads
    (new_id,) = net.leaders()[1:]
    _, index = net.rafts[new_id].propose(b"acked")
    net.flush()
    assert net.rafts[new_id].commit >= index and old.role is Role.LEADER
    old.read_index(b"stale?")
    net.flush()
    assert net.read_states[1] == []


def test_a_read_on_a_new_leader_sees_every_write_acked_under_the_old_one() -> None:
    net = Network(3)
    old = net.elect(1)
    _, index = old.propose(b"acked")
    net.flush()
    assert net.rafts[1].applied >= index
    old.transfer_leadership(2)
    net.flush()
    new = net.rafts[2]
    assert net.leaders() == [2]
    new.read_index(b"after")
    net.flush()
    (rs,) = net.read_states[2]
    assert rs.ctx == b"after" and rs.index >= index and new.log.term(rs.index) == new.term


def test_a_forwarded_read_answered_after_we_became_leader_still_counts() -> None:
    r = new_leader_with_nothing_committed()
    r.step(Message(MessageType.READ_INDEX_RESP, 1, 2, term=0, index=0, context=b"mine"))
    assert r.ready().read_states == [ReadState(0, b"mine")]


def test_a_new_leader_defers_reads_until_an_entry_of_its_term_commits() -> None:
    r = new_leader_with_nothing_committed()
    r.read_index(b"early")
    assert not [m for m in r.ready().messages if m.context == b"early"]
    r.step(Message(MessageType.APP_RESP, 1, 2, term=1, index=1))  # empty entry on a quorum
    beats = [m for m in r.ready().messages if m.type is MessageType.HEARTBEAT]
    assert {m.context for m in beats} == {b"early"}
    r.step(Message(MessageType.HEARTBEAT_RESP, 1, 2, term=1, context=b"early"))
    assert r.ready().read_states == [ReadState(1, b"early")]


def test_a_member_that_knows_no_leader_refuses_a_read() -> None:
    r = Raft(RaftConfig(1, (1, 2, 3)), random.Random(0))
    with pytest.raises(ReadIndexDroppedError, match="knows no leader"):
        r.read_index(b"r")


def test_a_read_held_by_a_leader_that_steps_down_comes_back_dropped() -> None:
    net = Network(3)
    leader = net.elect(1)
    net.isolate(1)
    leader.read_index(b"lost")
    net.tick(2 * 10)  # check-quorum makes it step down
    assert leader.role is Role.FOLLOWER
    assert net.read_states[1] == [ReadState(0, b"lost", dropped=True)]


def test_a_forwarded_read_held_by_a_leader_that_steps_down_is_refused_to_its_asker() -> None:
    r = new_leader_with_nothing_committed()
    r.step(Message(MessageType.READ_INDEX, 1, 3, term=1, context=b"from3"))
    r.step(Message(MessageType.HEARTBEAT, 1, 2, term=2))  # a later term's leader
    refusals = [m for m in r.ready().messages if m.type is MessageType.READ_INDEX_RESP]
    assert [(m.to, m.reject, m.context) for m in refusals] == [(3, True, b"from3")]


def test_a_follower_reports_a_refused_forwarded_read_as_dropped() -> None:
    r = Raft(RaftConfig(3, (1, 2, 3)), random.Random(0))
    r.step(Message(MessageType.READ_INDEX_RESP, 3, 1, 0, reject=True, context=b"x"))
    assert r.ready().read_states == [ReadState(0, b"x", dropped=True)]


def test_a_lone_member_answers_reads_once_its_term_commits() -> None:
    r = Raft(RaftConfig(1, (1,)), random.Random(0))
    r.tick()
    r.read_index(b"solo")
    rd = r.ready()
    assert rd.read_states == []
    r.advance(rd)
    assert r.ready().read_states == [ReadState(r.commit, b"solo")]


@pytest.mark.parametrize(
    "message",
    [
        Message(MessageType.PRE_VOTE, 2, 1, 4, 3, 9),
        Message(MessageType.PRE_VOTE_RESP, 1, 2, 4, reject=True),
        Message(MessageType.TIMEOUT_NOW, 2, 1, 3),
        Message(MessageType.READ_INDEX, 1, 3, 3, context=b"ctx"),
        Message(MessageType.READ_INDEX_RESP, 3, 1, 3, index=7, context=b"ctx"),
        Message(MessageType.HEARTBEAT, 2, 1, 3, commit=5, context=b"ctx"),
        Message(MessageType.VOTE, 2, 1, 3, 2, 8, context=b"transfer"),
    ],
)
def test_new_messages_round_trip_through_msgpack(message: Message) -> None:
    packed = msgpack.packb(message.pack(), use_bin_type=True)
    assert Message.unpack(msgpack.unpackb(packed)) == message


def test_a_message_from_a_peer_without_context_unpacks() -> None:
    old = Message(MessageType.HEARTBEAT, 2, 1, 3, commit=5).pack()[:11]
    assert Message.unpack(old) == Message(MessageType.HEARTBEAT, 2, 1, 3, commit=5)
