"""Specification of the leader's flow control: appends bounded in bytes and in number in
flight per follower, and a follower being sent a snapshot is sent nothing else until the
snapshot is acknowledged or reported."""

from __future__ import annotations

import random

import pytest

from minikube_py.store.raft import Message, MessageType, Raft, RaftConfig, Role, split_for_persist
from tests.unit.store.raft_network import Network


def outbox(r: Raft, to: int) -> list[Message]:
    """Take the leader's Ready (persisting it) and return what it sends to `to`."""
    msgs: list[Message] = []
    while r.has_ready():
        rd = r.ready()
        r.advance(rd)
        msgs += [m for m in rd.messages if m.to == to]
    return msgs


def appends(msgs: list[Message]) -> list[Message]:
    return [m for m in msgs if m.type is MessageType.APP and m.entries]


def catch_up(net: Network, member: int, leader: Raft) -> None:
    for _ in range(20):
        if net.rafts[member].log.last_index == leader.log.last_index:
            return
        net.tick(only=(leader.id,))
    raise AssertionError(f"member {member} did not catch up")


def test_an_append_carries_at_most_max_size_per_msg_bytes_of_entries() -> None:
    net = Network(3, max_size_per_msg=250)
    leader = net.elect(1)
    net.isolate(3)
    for i in range(10):
        leader.propose(b"%03d" % i * 33 + b"x")  # 100 bytes
    net.flush()
    net.heal()
    start = len(net.sent)
    catch_up(net, 3, leader)
    sizes = [sum(len(e.data) for e in m.entries) for m in appends(net.sent[start:]) if m.to == 3]
    assert sizes and max(sizes) <= 250
    assert 200 in sizes, sizes  # two entries fit, not only one
    assert net.rafts[3].log.entries == leader.log.entries


def test_an_entry_larger_than_max_size_per_msg_still_goes_alone() -> None:
    net = Network(3, max_size_per_msg=10)
    leader = net.elect(1)
    net.isolate(3)
    for _ in range(4):
        leader.propose(b"y" * 100)
    net.flush()
    net.heal()
    start = len(net.sent)
    catch_up(net, 3, leader)
    counts = {len(m.entries) for m in appends(net.sent[start:]) if m.to == 3}
    assert counts == {1}
    assert net.rafts[3].log.entries == leader.log.entries


def test_a_replicating_follower_gets_at_most_max_inflight_msgs_unacknowledged_appends() -> None:
    net = Network(3, max_inflight_msgs=3)
    leader = net.elect(1)
    assert not leader.progress[2].probing  # its first ack made it replicate
    msgs = []
    for i in range(5):  # one Ready each: proposals in one Ready would share one append
        leader.propose(b"e%d" % i)
        msgs += outbox(leader, 2)
    sent = appends(msgs)
    assert len(sent) == 3
    assert [m.entries[-1].index for m in sent] == list(leader.progress[2].inflight)
    for m in msgs:
        net.rafts[2].step(m)
    net.flush()  # its acks reopen the window: the rest goes
    assert net.rafts[2].log.last_index == leader.log.last_index
    assert not leader.progress[2].inflight


def test_a_heartbeat_answer_reopens_a_window_whose_acks_were_lost() -> None:
    net = Network(2, max_inflight_msgs=2)
    leader = net.elect(1)
    leader.propose(b"a")
    lost = appends(outbox(leader, 2))
    leader.propose(b"b")
    lost += appends(outbox(leader, 2))
    assert len(lost) == 2  # both lost
    leader.propose(b"c")
    assert appends(outbox(leader, 2)) == []  # the window is full
    catch_up(net, 2, leader)  # heartbeats are answered: appends flow again
    assert net.rafts[2].log.entries == leader.log.entries


def test_max_inflight_msgs_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_inflight_msgs must be at least 1"):
        RaftConfig(1, (1,), max_inflight_msgs=0)


# ---- a follower being sent a snapshot -------------------------------------------------------


def leader_sending_a_snapshot() -> tuple[Raft, Message]:
    """Leader 1 of (1, 2, 3) with its log compacted, having just sent member 2 (cut off
    meanwhile) a snapshot; member 2's messages are only what the test steps in."""
    net = Network(3)
    leader = net.elect(1)
    net.isolate(2)
    for i in range(5):
        leader.propose(b"p%d" % i)
    net.flush()
    leader.compact_log(leader.applied, b"state")
    outbox(leader, 2)
    # member 2 lost its log: it rejects the next append down to nothing
    leader.step(Message(MessageType.APP_RESP, 1, 2, leader.term, index=leader.log.last_index,
                        reject=True, reject_hint=0))
    snaps = [m for m in outbox(leader, 2) if m.type is MessageType.SNAP]
    assert len(snaps) == 1 and snaps[0].snapshot == leader.local_snapshot
    return leader, snaps[0]


def heartbeat_answer(leader: Raft) -> Message:
    return Message(MessageType.HEARTBEAT_RESP, 1, 2, leader.term)


def test_while_a_snapshot_is_sent_the_follower_gets_nothing_else() -> None:
    leader, _ = leader_sending_a_snapshot()
    leader.step(heartbeat_answer(leader))
    leader.propose(b"more")
    leader.tick()
    assert {m.type for m in outbox(leader, 2)} <= {MessageType.HEARTBEAT}


def test_a_failed_snapshot_is_sent_again_after_the_next_heartbeat_answer() -> None:
    leader, snap = leader_sending_a_snapshot()
    leader.report_snapshot(2, ok=False)
    assert outbox(leader, 2) == []  # not at once: a heartbeat round first
    leader.step(heartbeat_answer(leader))
    assert [m.snapshot for m in outbox(leader, 2)] == [snap.snapshot]


def test_a_snapshot_sent_in_full_is_followed_by_appends_once_acknowledged() -> None:
    leader, snap = leader_sending_a_snapshot()
    assert snap.snapshot is not None
    index = snap.snapshot.meta.index
    leader.report_snapshot(2, ok=True)
    pr = leader.progress[2]
    assert pr.probing and pr.pending_snapshot == 0 and pr.next == index + 1
    leader.propose(b"after")
    assert outbox(leader, 2) == []  # paused until the follower acknowledges the snapshot
    leader.step(Message(MessageType.APP_RESP, 1, 2, leader.term, index=index))
    sent = appends(outbox(leader, 2))
    assert [e.data for m in sent for e in m.entries] == [b"after"]
    assert not leader.progress[2].probing


def test_an_acknowledged_snapshot_needs_no_report() -> None:
    leader, snap = leader_sending_a_snapshot()
    assert snap.snapshot is not None
    leader.step(Message(MessageType.APP_RESP, 1, 2, leader.term, index=snap.snapshot.meta.index))
    assert leader.progress[2].pending_snapshot == 0
    leader.report_snapshot(2, ok=False)  # late: ignored
    assert not leader.progress[2].probing and not leader.progress[2].paused


def test_a_report_for_a_member_with_no_snapshot_in_flight_is_ignored() -> None:
    r = Raft(RaftConfig(1, (1, 2)), random.Random(0))
    r.report_snapshot(2, ok=False)  # not leading
    net = Network(2)
    leader = net.elect(1)
    before = (leader.progress[2].next, leader.progress[2].probing)
    leader.report_snapshot(2, ok=True)
    assert (leader.progress[2].next, leader.progress[2].probing) == before


def test_proposals_made_between_two_readies_go_out_as_one_append_per_follower() -> None:
    net = Network(3)
    leader = net.elect(1)
    for i in range(5):
        leader.propose(b"p%d" % i)
    ready = leader.ready()
    leader.advance(ready)
    sent = appends(ready.messages)
    assert sorted(m.to for m in sent) == [2, 3]
    assert all([e.data for e in m.entries] == [b"p%d" % i for i in range(5)] for m in sent)


def test_a_leader_sends_early_only_what_needs_no_fsync_and_nothing_before_a_new_term() -> None:
    net = Network(3)
    leader = net.elect(1)
    leader.propose(b"x")
    leader.step(Message(MessageType.HEARTBEAT_RESP, 1, 2, leader.term))
    messages = leader.ready().messages
    early, late = split_for_persist(Role.LEADER, messages, new_term_or_vote=False)
    assert early and all(m.type is MessageType.APP for m in early) and not late
    vote_answer = Message(MessageType.VOTE_RESP, 2, 1, leader.term)
    assert split_for_persist(Role.LEADER, [*messages, vote_answer],
                             new_term_or_vote=False) == (messages, [vote_answer])
    # a term or vote not yet on disk: nothing goes before the fsync
    assert split_for_persist(Role.LEADER, messages, new_term_or_vote=True) == ([], messages)
    assert split_for_persist(Role.FOLLOWER, messages, new_term_or_vote=False) \
        == ([], messages)
