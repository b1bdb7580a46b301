"""Specification of pre-vote, check-quorum and leader transfer in the Raft core."""

from __future__ import annotations

import random

import pytest

from minikube_py.store.raft import (
    CAMPAIGN_TRANSFER,
    LeaderTransferError,
    Message,
    MessageType,
    ProposalDroppedError,
    Raft,
    RaftConfig,
    Role,
)

from .raft_network import Network


def lone_follower(*, pre_vote: bool = True) -> Raft:
    return Raft(RaftConfig(1, (1, 2, 3), pre_vote=pre_vote), random.Random(0))


def tick_until_it_campaigns(r: Raft) -> list[Message]:
    while r.role is Role.FOLLOWER:
        r.tick()
    return r.ready().messages


# ---- pre-vote ------------------------------------------------------------------


def test_a_pre_candidate_asks_for_the_next_term_without_taking_it() -> None:
    r = lone_follower()
    msgs = tick_until_it_campaigns(r)
    assert r.role is Role.PRE_CANDIDATE and r.term == 0 and r.vote == 0
    assert {(m.type, m.to, m.term) for m in msgs} == {
        (MessageType.PRE_VOTE, 2, 1),
        (MessageType.PRE_VOTE, 3, 1),
    }


def test_a_pre_vote_majority_starts_a_real_election() -> None:
    r = lone_follower()
    tick_until_it_campaigns(r)
    r.step(Message(MessageType.PRE_VOTE_RESP, 1, 2, term=1))
    assert r.role is Role.CANDIDATE and r.term == 1 and r.vote == 1
    assert {m.type for m in r.ready().messages} == {MessageType.VOTE}


def test_a_lost_pre_election_leaves_term_and_vote_alone() -> None:
    r = lone_follower()
    tick_until_it_campaigns(r)
    r.step(Message(MessageType.PRE_VOTE_RESP, 1, 2, term=0, reject=True))
    r.step(Message(MessageType.PRE_VOTE_RESP, 1, 3, term=0, reject=True))
    assert r.role is Role.FOLLOWER and r.term == 0 and r.vote == 0


def test_without_pre_vote_a_campaign_bumps_the_term_at_once() -> None:
    r = lone_follower(pre_vote=False)
    msgs = tick_until_it_campaigns(r)
    assert r.role is Role.CANDIDATE and r.term == 1
    assert {m.type for m in msgs} == {MessageType.VOTE}


def test_granting_a_pre_vote_changes_neither_term_nor_vote() -> None:
    r = lone_follower()
    r.step(Message(MessageType.PRE_VOTE, 1, 2, term=1))
    (resp,) = r.ready().messages
    assert (resp.type, resp.reject, resp.term) == (MessageType.PRE_VOTE_RESP, False, 1)
    assert r.term == 0 and r.vote == 0


@pytest.mark.parametrize(
    ("pre_vote", "check_quorum", "disrupted"),
    [(True, True, False), (True, False, False), (False, True, True), (False, False, True)],
)
def test_a_member_back_from_a_partition_does_not_disrupt_a_healthy_leader(
    pre_vote: bool, check_quorum: bool, disrupted: bool
) -> None:
    """Without pre-vote (the control rows) the comeback does force a new term."""
    net = Network(3, pre_vote=pre_vote, check_quorum=check_quorum)
    leader = net.elect(1)
    term = leader.term
    net.isolate(3)
    net.tick(20 * 10)
    net.heal()
    net.tick(5 * 10)
    if disrupted:
        assert leader.term > term
    else:
        assert net.leaders() == [1] and leader.term == term
        assert net.rafts[3].term == term and net.rafts[3].lead == 1


# ---- check-quorum --------------------------------------------------------------


def test_a_leader_cut_off_from_a_quorum_steps_down_after_a_whole_timeout_unheard() -> None:
    """Followers heard from in the current check period still count, so it takes at
    most two election timeouts (as in etcd)."""
    net = Network(3)
    leader = net.elect(1)
    net.isolate(1)
    net.tick(2 * 10)
    assert leader.role is Role.FOLLOWER and leader.lead == 0


def test_a_leader_that_hears_from_a_quorum_stays() -> None:
    net = Network(3)
    leader = net.elect(1)
    net.isolate(3)
    net.tick(10 * 10)
    assert leader.role is Role.LEADER


def test_without_check_quorum_a_cut_off_leader_stays() -> None:
    net = Network(3, check_quorum=False)
    leader = net.elect(1)
    net.isolate(1)
    net.tick(10 * 10)
    assert leader.role is Role.LEADER


@pytest.mark.parametrize("vote_type", [MessageType.VOTE, MessageType.PRE_VOTE])
def test_a_member_with_a_live_leader_ignores_vote_requests(vote_type: MessageType) -> None:
    net = Network(3)
    net.elect(1)
    follower = net.rafts[2]
    term = follower.term
    follower.step(Message(vote_type, 2, 3, term=term + 1, log_term=9, index=99))
    assert follower.ready().messages == [] and follower.term == term and follower.lead == 1


def test_a_forced_vote_overrides_the_lease() -> None:
    net = Network(3)
    net.elect(1)
    follower = net.rafts[2]
    last = follower.log.last_index, follower.log.last_term
    follower.step(
        Message(
            MessageType.VOTE, 2, 3, term=follower.term + 1,
            log_term=last[1], index=last[0], context=CAMPAIGN_TRANSFER,
        )
    )  # fmt: skip
    (resp,) = follower.ready().messages
    assert resp.type is MessageType.VOTE_RESP and not resp.reject and follower.vote == 3


def test_a_member_whose_term_rose_makes_a_stale_leader_learn_it() -> None:
    net = Network(3, pre_vote=False)
    net.elect(1)
    net.isolate(3)
    net.tick(3 * 10)  # 3 campaigns alone, term after term
    high = net.rafts[3].term
    net.heal()
    net.tick(3 * 10)
    assert all(r.term >= high for r in net.rafts.values()) and len(net.leaders()) == 1


# ---- leader transfer -----------------------------------------------------------


def test_transfer_hands_leadership_to_the_target() -> None:
    net = Network(3)
    old = net.elect(1)
    term = old.term
    old.transfer_leadership(2)
    net.flush()
    assert net.leaders() == [2] and net.rafts[2].term == term + 1
    timeout_now = [m for m in net.sent if m.type is MessageType.TIMEOUT_NOW]
    assert [(m.frm, m.to) for m in timeout_now] == [(1, 2)]


def test_transfer_brings_a_lagging_target_up_to_date_first() -> None:
    net = Network(3)
    old = net.elect(1)
    net.isolate(2)
    for i in range(3):
        old.propose(b"w%d" % i)
    net.flush()
    net.heal()
    old.transfer_leadership(2)
    net.flush()
    new = net.rafts[2]
    assert net.leaders() == [2]
    assert [e.data for e in new.log.entries if e.data] == [b"w0", b"w1", b"w2"]


def test_a_transferring_leader_drops_proposals() -> None:
    net = Network(3)
    leader = net.elect(1)
    net.isolate(2)
    leader.transfer_leadership(2)
    with pytest.raises(ProposalDroppedError, match="handing leadership to 2"):
        leader.propose(b"x")


def test_a_transfer_is_given_up_after_an_election_timeout() -> None:
    net = Network(3)
    leader = net.elect(1)
    net.isolate(2)
    leader.transfer_leadership(2)
    net.tick(10)
    assert leader.role is Role.LEADER and leader.lead_transferee == 0
    leader.propose(b"x")  # taken again


def test_transfer_needs_a_leader_and_a_voter() -> None:
    net = Network(3)
    leader = net.elect(1)
    with pytest.raises(LeaderTransferError, match="not a voter"):
        leader.transfer_leadership(7)
    with pytest.raises(LeaderTransferError, match="not the leader"):
        net.rafts[2].transfer_leadership(3)
