"""The peer transport's wire format without sockets: frames round-trip, whatever the byte
boundaries; malformed or oversized frames are refused with a readable reason; the hello
checks; the redial backoff."""

from __future__ import annotations

import random
import struct

import msgpack
import pytest

from minikube_py.store.frames import (
    VERSION,
    FrameDecoder,
    FrameKind,
    FrameTooLargeError,
    Hello,
    ProtocolError,
    Refusal,
    check_hello,
    check_reply,
    encode_hello,
    encode_message,
    encode_refusal,
)
from minikube_py.store.raft import Entry, EntryType, Message, MessageType, Snapshot, SnapshotMeta
from minikube_py.store.transport import backoff_delay

APPEND = Message(MessageType.APP, to=2, frm=1, term=3, log_term=2, index=7,
                 entries=(Entry(3, 8, b"put"), Entry(3, 9, b"", EntryType.CONF_CHANGE)),
                 commit=6)
SNAP = Message(MessageType.SNAP, to=3, frm=1, term=4,
               snapshot=Snapshot(SnapshotMeta(10, 4, (1, 2, 3)), b"state"))
REJECT = Message(MessageType.APP_RESP, to=1, frm=2, term=3, index=7, reject=True,
                 reject_hint=5)


def test_frames_round_trip_whatever_the_read_boundaries() -> None:
    wire = (encode_hello(Hello(0xC1, 1, 2)) + encode_message(APPEND) + encode_message(SNAP)
            + encode_message(REJECT) + encode_refusal("no"))
    want = [Hello(0xC1, 1, 2), APPEND, SNAP, REJECT, Refusal("no")]
    for step in (1, 3, 7, len(wire)):
        decoder = FrameDecoder()
        got = []
        for i in range(0, len(wire), step):
            got += decoder.feed(wire[i:i + step])
        assert got == want
        assert decoder.buffered == 0


def test_encoding_a_frame_over_the_limit_is_refused() -> None:
    big = Message(MessageType.APP, to=2, frm=1, term=1, entries=(Entry(1, 1, b"x" * 2000),))
    with pytest.raises(FrameTooLargeError, match="over the 1024-byte limit"):
        encode_message(big, 1024)
    assert len(encode_message(big, 4096)) > 2000


def test_a_frame_announced_over_the_limit_is_refused_before_its_body_arrives() -> None:
    decoder = FrameDecoder(max_frame=1024)
    with pytest.raises(ProtocolError, match="1025-byte frame, over the 1024-byte limit"):
        decoder.feed(struct.pack(">I", 1025))


def test_another_frame_version_is_refused() -> None:
    body = bytes((VERSION + 1, FrameKind.HELLO)) + msgpack.packb((1, 1, 2))
    with pytest.raises(ProtocolError, match=f"version {VERSION + 1}"):
        FrameDecoder().feed(struct.pack(">I", len(body)) + body)


@pytest.mark.parametrize(("kind", "payload", "match"), [
    (FrameKind.MESSAGE, [99, 2, 1, 1, 0, 0, [], 0, False, 0, None], "malformed message"),
    (FrameKind.MESSAGE, [1, 2], "malformed message"),
    (FrameKind.HELLO, (1, "one", 2), "malformed hello"),
    (FrameKind.REFUSE, 5, "malformed refuse"),
    (9, None, "unknown frame kind 9"),
])
def test_malformed_frames_are_protocol_errors(kind: int, payload: object, match: str) -> None:
    body = bytes((VERSION, kind)) + msgpack.packb(payload)
    with pytest.raises(ProtocolError, match=match):
        FrameDecoder().feed(struct.pack(">I", len(body)) + body)


def test_a_frame_too_short_for_its_header_is_refused() -> None:
    with pytest.raises(ProtocolError, match="too short"):
        FrameDecoder().feed(struct.pack(">I", 1) + b"\x01")


def test_an_undecodable_payload_is_refused() -> None:
    body = bytes((VERSION, FrameKind.HELLO)) + b"\xc1"  # 0xc1 is never used by msgpack
    with pytest.raises(ProtocolError, match="undecodable"):
        FrameDecoder().feed(struct.pack(">I", len(body)) + body)


def test_hello_checks() -> None:
    members = frozenset({2, 3})
    ok = Hello(cluster=7, member=2, to=1)
    assert check_hello(ok, cluster=7, me=1, members=members) is None
    assert "cluster 0x8" in str(check_hello(Hello(8, 2, 1), cluster=7, me=1, members=members))
    assert "meant to reach member 4" in str(
        check_hello(Hello(7, 2, 4), cluster=7, me=1, members=members))
    assert "member 9 is not a known member" in str(
        check_hello(Hello(7, 9, 1), cluster=7, me=1, members=members))


def test_reply_checks() -> None:
    assert check_reply(Hello(7, 2, 1), cluster=7, peer=2) is None
    assert "refused the connection: go away" in str(
        check_reply(Refusal("go away"), cluster=7, peer=2))
    assert "is member 3" in str(check_reply(Hello(7, 3, 1), cluster=7, peer=2))
    assert "of cluster 0x8" in str(check_reply(Hello(8, 2, 1), cluster=7, peer=2))
    assert "answered the hello with a Message" in str(check_reply(APPEND, cluster=7, peer=2))


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    rng = random.Random(5)
    delays = [backoff_delay(n, rng, base=0.1, cap=2.0) for n in range(12)]
    for n, d in enumerate(delays):
        ceiling = min(2.0, 0.1 * 2 ** n)
        assert ceiling / 2 <= d <= ceiling
    assert len({round(d, 6) for d in delays[6:]}) > 1  # capped, still jittered
    assert backoff_delay(10_000, rng, base=0.1, cap=2.0) <= 2.0
