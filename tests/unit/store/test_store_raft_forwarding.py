"""Specification of forwarded proposals in the Raft core: a follower hands its proposal to
the leader (PROP); a member that cannot take one refuses it by id (PROP_RESP)."""

from __future__ import annotations

import msgpack
import pytest

from minikube_py.store.raft import (
    Entry,
    EntryType,
    Message,
    MessageType,
    ProposalDroppedError,
    Role,
)

from .raft_network import Network


def data_at(net: Network, i: int) -> list[bytes]:
    """The non-empty entries in member `i`'s log, in order."""
    return [e.data for e in net.rafts[i].log.entries if e.data]


def test_a_follower_proposal_is_appended_by_the_leader_and_committed_everywhere() -> None:
    net = Network(3)
    leader = net.elect(1)
    net.rafts[2].forward_proposal(b"w", b"req-1")
    net.flush()
    for i in net.ids:
        assert data_at(net, i) == [b"w"], f"member {i}"
        assert net.rafts[i].commit == leader.log.last_index
    (entry,) = [e for e in leader.log.entries if e.data == b"w"]
    assert entry.term == leader.term  # appended as the leader's own proposal
    assert [m for m in net.sent if m.type is MessageType.PROP_RESP] == []


def test_a_proposal_is_taken_whatever_term_its_sender_knew() -> None:
    net = Network(3)
    leader = net.elect(1)
    stale = Message(MessageType.PROP, 1, 2, term=0, entries=(Entry(0, 0, b"w"),), context=b"r")
    leader.step(stale)
    assert leader.role is Role.LEADER and data_at(net, 1) == [b"w"]


def test_a_member_that_does_not_lead_refuses_a_proposal_and_says_which() -> None:
    net = Network(3)
    net.elect(1)
    # member 3 still believes 2 leads (it missed the election), 2 knows it does not
    prop = Message(MessageType.PROP, 2, 3, term=1, entries=(Entry(0, 0, b"w"),), context=b"r3")
    net.rafts[2].step(prop)
    rd = net.rafts[2].ready()
    assert [(m.type, m.to, m.reject, m.context) for m in rd.messages] == [
        (MessageType.PROP_RESP, 3, True, b"r3")
    ]
    net.rafts[2].advance(rd)
    net.rafts[3].step(rd.messages[0])
    assert net.rafts[3].ready().dropped_proposals == [b"r3"]
    assert all(data_at(net, i) == [] for i in net.ids)


def test_a_leader_handing_over_refuses_a_forwarded_proposal() -> None:
    net = Network(3)
    leader = net.elect(1)
    net.isolate(3)
    leader.transfer_leadership(3)  # cannot finish: 3 hears nothing
    net.flush()
    net.heal()
    net.rafts[2].forward_proposal(b"w", b"r2")
    net.flush()
    assert [m.context for m in net.sent if m.type is MessageType.PROP_RESP and m.reject] == [b"r2"]
    assert data_at(net, 1) == []


def test_a_repeated_proposal_is_appended_once_and_never_refused_after() -> None:
    net = Network(3)
    leader = net.elect(1)
    prop = Message(MessageType.PROP, 1, 2, term=1, entries=(Entry(0, 0, b"w"),), context=b"r")
    leader.step(prop)
    leader.step(prop)
    net.flush()
    assert data_at(net, 1) == [b"w"]
    # leadership moves on; the old leader meets the same request again
    leader.transfer_leadership(2)
    net.flush()
    assert leader.role is Role.FOLLOWER and net.rafts[2].role is Role.LEADER
    leader.step(prop)
    assert [m for m in leader.ready().messages if m.type is MessageType.PROP_RESP] == []


def test_a_membership_change_cannot_be_forwarded() -> None:
    net = Network(3)
    leader = net.elect(1)
    cc = Entry(0, 0, b"cc", EntryType.CONF_CHANGE)
    leader.step(Message(MessageType.PROP, 1, 2, term=1, entries=(cc,), context=b"r"))
    rd = leader.ready()
    assert [(m.type, m.reject) for m in rd.messages] == [(MessageType.PROP_RESP, True)]
    assert all(e.type is EntryType.NORMAL for e in leader.log.entries)


def test_forwarding_needs_a_known_leader_and_a_request_id() -> None:
    net = Network(3)
    with pytest.raises(ProposalDroppedError, match="knows no leader"):
        net.rafts[2].forward_proposal(b"w", b"r")
    leader = net.elect(1)
    with pytest.raises(ProposalDroppedError, match="is the leader"):
        leader.forward_proposal(b"w", b"r")
    with pytest.raises(ValueError, match="request id"):
        net.rafts[2].forward_proposal(b"w", b"")


def test_a_refusal_changes_no_term() -> None:
    net = Network(3)
    net.elect(1)
    follower = net.rafts[2]
    refusal = Message(MessageType.PROP_RESP, 2, 3, term=follower.term + 5, reject=True,
                      context=b"r")  # fmt: skip
    follower.step(refusal)
    assert follower.term == net.rafts[1].term and follower.lead == 1


@pytest.mark.parametrize(
    "m",
    [
        Message(MessageType.PROP, 1, 2, 3, entries=(Entry(0, 0, b"w"),), context=b"2.n.w1"),
        Message(MessageType.PROP_RESP, 2, 1, 4, reject=True, context=b"2.n.w1"),
    ],
    ids=["prop", "prop-resp"],
)
def test_forwarding_messages_round_trip_through_msgpack(m: Message) -> None:
    packed = msgpack.unpackb(msgpack.packb(m.pack(), use_bin_type=True))
    assert Message.unpack(packed) == m


def test_a_message_from_a_peer_before_forwarding_still_parses() -> None:
    old = [int(MessageType.APP), 2, 1, 3, 1, 5, [(3, 6, b"x", 0)], 5, False, 0, None]  # 11 fields
    assert Message.unpack(old) == Message(MessageType.APP, 2, 1, 3, 1, 5, (Entry(3, 6, b"x"),), 5)
