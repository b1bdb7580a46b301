"""PeerTransport on loopback with real mutual TLS: members exchange messages, a restarted
peer is redialed, strangers are refused, a slow peer stalls only its own queue, snapshots
stream in chunks and a transfer cut off part way is dropped at both ends, and close()
leaves nothing behind."""

from __future__ import annotations

import asyncio
import gc
import random
import socket
import ssl
import struct
import warnings
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from minikube_py.pki.cluster import PkiLayout, api_server_spec, ensure_cluster_pki
from minikube_py.pki.tls import client_context, server_context
from minikube_py.store.frames import (
    FrameDecoder,
    Hello,
    Refusal,
    encode_hello,
    encode_snapshot_chunk,
)
from minikube_py.store.raft import Entry, Message, MessageType, Snapshot, SnapshotMeta
from minikube_py.store.snapshot_stream import split_snapshot
from minikube_py.store.transport import Address, PeerTransport
from tests.certs import TrialPki, make_test_pki
from tests.conditions import until

CLUSTER = 0xC1
LOOPBACK = "127.0.0.1"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TrialPki:
    return make_test_pki(tmp_path_factory.mktemp("peer-pki"))


def heartbeat(frm: int, to: int, term: int = 1) -> Message:
    return Message(MessageType.HEARTBEAT, to=to, frm=frm, term=term)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


class Members:
    """Builds transports for a test, records what each receives, closes them all."""

    def __init__(self, pki: TrialPki) -> None:
        self.pki = pki
        self.inbox: dict[int, list[Message]] = {}
        self.open: list[PeerTransport] = []

    def server_ssl(self, member: int, cluster: int = CLUSTER) -> ssl.SSLContext:
        return self.pki.member_server(cluster, member)

    def client_ssl(self, member: int, cluster: int = CLUSTER) -> ssl.SSLContext:
        """A client context with member `member`'s peer certificate."""
        return self.pki.member_client(cluster, member)

    async def start(self, member: int, peers: Mapping[int, Address], *, port: int = 0,
                    cluster: int = CLUSTER, client_ssl: ssl.SSLContext | None = None,
                    server_ssl: ssl.SSLContext | None = None, **options: object,
                    ) -> PeerTransport:
        inbox = self.inbox.setdefault(member, [])
        options.setdefault("backoff_cap", 0.2)
        t = PeerTransport(member, cluster, LOOPBACK, port,
                          server_ssl or self.server_ssl(member, cluster),
                          client_ssl or self.client_ssl(member, cluster), peers, inbox.append,
                          **options)  # type: ignore[arg-type]
        await t.start()
        self.open.append(t)
        return t

    async def mesh(self, ids: tuple[int, ...]) -> dict[int, PeerTransport]:
        """Every member listening first (on ports the OS picks), then told the others."""
        ts = {i: await self.start(i, {}) for i in ids}
        for i, t in ts.items():
            t.update_peers({j: (LOOPBACK, ts[j].port) for j in ids if j != i})
        return ts

    async def close(self) -> None:
        for t in self.open:
            await t.close()


@pytest.fixture
async def members(pki: TrialPki) -> AsyncIterator[Members]:
    m = Members(pki)
    yield m
    await m.close()


def received(members: Members, member: int) -> Callable[[], bool]:
    return lambda: bool(members.inbox.get(member))


async def test_two_members_exchange_messages(members: Members) -> None:
    ts = await members.mesh((1, 2))
    ts[1].send([heartbeat(1, 2, term=1), heartbeat(1, 2, term=2)])
    ts[2].send([heartbeat(2, 1)])
    await until(lambda: len(members.inbox[2]) == 2 and len(members.inbox[1]) == 1,
                "both members to receive")
    assert members.inbox[2] == [heartbeat(1, 2, term=1), heartbeat(1, 2, term=2)]
    assert members.inbox[1] == [heartbeat(2, 1)]
    s = ts[1].stats()[2]
    assert (s.connected, s.sent, s.dropped, s.reconnects) == (True, 2, 0, 0)
    assert ts[2].stats()[1].received == 2


async def test_three_members_exchange_messages_between_every_pair(members: Members) -> None:
    ids = (1, 2, 3)
    ts = await members.mesh(ids)
    append = Message(MessageType.APP, to=0, frm=0, term=2, index=4,
                     entries=(Entry(2, 5, b"put /a"),), commit=4)
    for i in ids:
        ts[i].send([Message(append.type, to=j, frm=i, term=2, index=4,
                            entries=append.entries, commit=4) for j in ids if j != i])
    await until(lambda: all(len(members.inbox[i]) == 2 for i in ids), "every member's two")
    for i in ids:
        assert sorted(m.frm for m in members.inbox[i]) == [j for j in ids if j != i]
        assert all(m.entries == append.entries for m in members.inbox[i])


async def test_a_restarted_peer_is_redialed(members: Members) -> None:
    ts = await members.mesh((1, 2))
    port = ts[2].port
    ts[1].send([heartbeat(1, 2, term=1)])
    await until(received(members, 2), "the first heartbeat")
    await ts[2].close()
    await members.start(2, {1: (LOOPBACK, ts[1].port)}, port=port)
    await until(lambda: ts[1].stats()[2].reconnects == 1 and ts[1].stats()[2].connected,
                "member 1 to redial member 2")
    ts[1].send([heartbeat(1, 2, term=2)])
    await until(lambda: members.inbox[2][-1].term == 2, "the heartbeat after the restart")


async def test_a_peer_with_a_certificate_of_another_ca_is_refused(members: Members) -> None:
    b = await members.start(2, {3: (LOOPBACK, 1)})
    stranger = client_context(members.pki.layout.ca.cert, members.pki.stranger)
    x = await members.start(3, {2: (LOOPBACK, b.port)}, client_ssl=stranger)
    x.send([heartbeat(3, 2)])
    await until(lambda: x.stats()[2].last_error is not None, "the stranger's dial to fail")
    error = x.stats()[2].last_error or ""
    # Under TLS 1.3 the client's side of the handshake ends before the server checks the
    # client's certificate, so the dialer sees the server's alert or just the close.
    assert "SSL" in error or "refuses our certificate" in error, error
    assert not x.stats()[2].connected
    assert members.inbox[2] == []


async def test_a_server_with_a_certificate_of_another_ca_is_not_trusted(
        members: Members, tmp_path: Path) -> None:
    other = PkiLayout(tmp_path / "other")
    ensure_cluster_pki(other, [(other.api_server, api_server_spec(
        node_ip=LOOPBACK, service_cidr="10.96.0.0/12"))], datetime.now(UTC))
    impostor = await members.start(2, {1: (LOOPBACK, 1)},
                                   server_ssl=server_context(other.api_server, other.ca.cert))
    a = await members.start(1, {2: (LOOPBACK, impostor.port)})
    a.send([heartbeat(1, 2)])
    await until(lambda: a.stats()[2].last_error is not None, "the dial to fail")
    assert "certificate verify failed" in (a.stats()[2].last_error or "")
    assert members.inbox[2] == []


async def test_a_peer_claiming_a_member_its_certificate_does_not_name_is_refused(
        members: Members) -> None:
    """Member 3's certificate says member 3: its hello as member 1 (known to b) is refused,
    and so is a certificate of the cluster CA that names no member (a kubelet's)."""
    b = await members.start(2, {1: (LOOPBACK, 1), 3: (LOOPBACK, 1)})
    for claimed, certificate, said in (
            (1, members.client_ssl(3), "its certificate: member 3 of cluster 0xc1"),
            (1, members.pki.client(members.pki.layout.kubelet_client),
             "its certificate names no store member")):
        reader, writer = await asyncio.open_connection(LOOPBACK, b.port, ssl=certificate)
        try:
            writer.write(encode_hello(Hello(CLUSTER, claimed, 2)))
            decoder = FrameDecoder()
            reply: list[object] = []
            while not reply:
                reply = list(decoder.feed(await reader.read(4096)))
            assert isinstance(reply[0], Refusal), reply
            assert f"it says it is member {claimed} of cluster 0xc1" in reply[0].reason
            assert said in reply[0].reason, reply[0].reason
        finally:
            writer.transport.abort()
    assert members.inbox[2] == []


async def test_a_dialer_drops_an_acceptor_whose_certificate_names_another_member(
        members: Members) -> None:
    """A process at member 2's address answering as member 2, with member 3's certificate."""
    impostor = await members.start(2, {1: (LOOPBACK, 1)},
                                   server_ssl=members.server_ssl(3))
    a = await members.start(1, {2: (LOOPBACK, impostor.port)})
    a.send([heartbeat(1, 2)])
    await until(lambda: a.stats()[2].last_error is not None, "the dial to be dropped")
    assert "its certificate: member 3 of cluster 0xc1" in (a.stats()[2].last_error or "")
    assert not a.stats()[2].connected and members.inbox[2] == []


async def test_a_peer_without_a_client_certificate_is_refused(members: Members) -> None:
    b = await members.start(2, {3: (LOOPBACK, 1)})
    anonymous = client_context(members.pki.layout.ca.cert)
    x = await members.start(3, {2: (LOOPBACK, b.port)}, client_ssl=anonymous)
    await until(lambda: x.stats()[2].last_error is not None, "the dial to be refused")
    assert "must present a client certificate" in (x.stats()[2].last_error or "")
    assert not x.stats()[2].connected


async def test_a_peer_of_another_cluster_is_refused(members: Members) -> None:
    b = await members.start(2, {1: (LOOPBACK, 1)})
    a = await members.start(1, {2: (LOOPBACK, b.port)}, cluster=CLUSTER + 1)
    a.send([heartbeat(1, 2)])
    await until(lambda: a.stats()[2].last_error is not None, "the dial to be refused")
    assert f"is of cluster {CLUSTER + 1:#x}, this is {CLUSTER:#x}" in (
        a.stats()[2].last_error or "")
    assert members.inbox[2] == []


async def test_an_unknown_member_is_refused(members: Members) -> None:
    b = await members.start(2, {1: (LOOPBACK, 1)})
    x = await members.start(9, {2: (LOOPBACK, b.port)})
    x.send([heartbeat(9, 2)])
    await until(lambda: x.stats()[2].last_error is not None, "the dial to be refused")
    assert "member 9 is not a known member" in (x.stats()[2].last_error or "")
    assert members.inbox[2] == []


async def test_the_dialer_drops_an_acceptor_that_is_not_the_member_it_meant(
        members: Members) -> None:
    c = await members.start(3, {1: (LOOPBACK, 1)})
    a = await members.start(1, {2: (LOOPBACK, c.port)})  # member 2's address is wrong
    await until(lambda: a.stats()[2].last_error is not None, "the dial to be refused")
    assert "meant to reach member 2, this is member 3" in (a.stats()[2].last_error or "")


async def test_an_oversized_message_is_not_sent_and_is_counted(
        members: Members, caplog: pytest.LogCaptureFixture) -> None:
    ts = {2: await members.start(2, {1: (LOOPBACK, 1)})}
    a = await members.start(1, {2: (LOOPBACK, ts[2].port)}, max_frame=4096)
    big = Message(MessageType.APP, to=2, frm=1, term=1, entries=(Entry(1, 1, b"x" * 8192),))
    a.send([big, heartbeat(1, 2)])
    await until(received(members, 2), "the heartbeat after the oversized message")
    assert members.inbox[2] == [heartbeat(1, 2)]
    assert a.stats()[2].too_large == 1
    assert "not sending a APP message to member 2" in caplog.text
    assert "over the 4096-byte limit" in caplog.text


async def test_an_oversized_frame_from_a_peer_drops_its_connection(
        members: Members, caplog: pytest.LogCaptureFixture) -> None:
    b = await members.start(2, {1: (LOOPBACK, 1)}, max_frame=4096)
    reader, writer = await asyncio.open_connection(LOOPBACK, b.port, ssl=members.client_ssl(1))
    try:
        writer.write(encode_hello(Hello(CLUSTER, 1, 2)))
        decoder = FrameDecoder()
        reply: list[object] = []
        while not reply:
            reply = list(decoder.feed(await reader.read(4096)))
        assert reply == [Hello(CLUSTER, 2, 1)]
        writer.write(struct.pack(">I", 4097) + b"\x01\x03")
        with pytest.raises((ConnectionError, ssl.SSLError)):
            while await reader.read(4096):
                pass
            raise ConnectionResetError("closed")
    finally:
        writer.transport.abort()
    assert "4097-byte frame, over the 4096-byte limit" in caplog.text
    assert members.inbox[2] == []


async def test_a_full_queue_drops_its_oldest_messages_and_counts_them(
        members: Members) -> None:
    port = free_port()  # nobody listens there yet: member 2 is down
    a = await members.start(1, {2: (LOOPBACK, port)}, max_queue=4)
    a.send([heartbeat(1, 2, term=t) for t in range(1, 11)])
    s = a.stats()[2]
    assert (s.queued, s.dropped, s.connected) == (4, 6, False)
    await until(lambda: a.stats()[2].last_error is not None, "the first dial to fail")
    assert f"dialing {LOOPBACK}:{port}: ConnectionRefusedError" in (
        a.stats()[2].last_error or "")
    await members.start(2, {1: (LOOPBACK, a.port)}, port=port)
    await until(lambda: len(members.inbox[2]) == 4, "the four queued heartbeats")
    assert [m.term for m in members.inbox[2]] == [7, 8, 9, 10]
    assert (a.stats()[2].sent, a.stats()[2].queued) == (4, 0)


async def test_send_never_raises_for_an_unknown_member(members: Members) -> None:
    a = await members.start(1, {})
    a.send([heartbeat(1, 5)])
    assert a.unknown_dropped == 1


class StalledPeer:
    """Member 3 as a stopped process looks: it answers the hello, then never reads again."""

    def __init__(self, pki: TrialPki) -> None:
        self.pki = pki
        self.release = asyncio.Event()
        self.server: asyncio.Server | None = None
        self.connections: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, LOOPBACK, 0,
                                                 ssl=self.pki.member_server(CLUSTER, 3))
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.append(writer)
        decoder = FrameDecoder()
        hello: list[object] = []
        while not hello:
            hello = list(decoder.feed(await reader.read(4096)))
        writer.write(encode_hello(Hello(CLUSTER, 3, 1)))
        await self.release.wait()

    async def close(self) -> None:
        self.release.set()
        for w in self.connections:
            w.transport.abort()
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def test_a_peer_that_stops_reading_stalls_only_its_own_queue(
        members: Members, pki: TrialPki) -> None:
    stalled = StalledPeer(pki)
    stalled_port = await stalled.start()
    try:
        b = await members.start(2, {1: (LOOPBACK, 1)})
        a = await members.start(1, {2: (LOOPBACK, b.port), 3: (LOOPBACK, stalled_port)},
                                max_queue=16)
        await until(lambda: a.stats()[3].connected, "member 1 to reach the stalled member")
        big = Message(MessageType.APP, to=3, frm=1, term=1,
                      entries=(Entry(1, 1, b"x" * 256 * 1024),))

        def keep_appending() -> bool:
            # Each check queues more: the socket buffers fill, then the queue, then it drops.
            a.send([big] * 4)
            return a.stats()[3].dropped > 0

        await until(keep_appending, "the stalled member's queue to overflow", timeout=30)
        a.send([heartbeat(1, 2, term=t) for t in range(1, 4)])
        await until(lambda: len(members.inbox[2]) == 3, "member 2's heartbeats")
        s3, s2 = a.stats()[3], a.stats()[2]
        assert s3.connected and s3.queued == 16
        assert (s2.sent, s2.dropped) == (3, 0)
    finally:
        await stalled.close()


async def test_update_peers_dials_new_members_and_forgets_removed_ones(
        members: Members) -> None:
    ts = await members.mesh((1, 2))
    c = await members.start(3, {1: (LOOPBACK, ts[1].port)})
    # Member 2 removed, member 3 added; a member list naming this member too is fine.
    ts[1].update_peers({1: (LOOPBACK, ts[1].port), 3: (LOOPBACK, c.port)})
    assert set(ts[1].stats()) == {3}
    ts[1].send([heartbeat(1, 3), heartbeat(1, 2)])
    await until(received(members, 3), "member 3's heartbeat")
    assert ts[1].unknown_dropped == 1
    ts[2].send([heartbeat(2, 1)])  # member 1 no longer knows member 2: refused
    await until(lambda: "not a known member" in (ts[2].stats()[1].last_error or ""),
                "member 1 to refuse member 2")
    assert members.inbox[1] == []


async def test_update_peers_redials_a_moved_member_keeping_its_queue(
        members: Members) -> None:
    a = await members.start(1, {2: (LOOPBACK, free_port())})
    a.send([heartbeat(1, 2)])
    b = await members.start(2, {1: (LOOPBACK, a.port)})
    a.update_peers({2: (LOOPBACK, b.port)})
    await until(received(members, 2), "the heartbeat queued before the move")
    assert a.stats()[2].sent == 1


async def test_close_ends_every_task_and_leaves_no_warnings(pki: TrialPki) -> None:
    members = Members(pki)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ts = await members.mesh((1, 2, 3))
        for i in ts:
            ts[i].send([heartbeat(i, j) for j in ts if j != i])
        await until(lambda: all(len(members.inbox[i]) == 2 for i in ts), "every message")
        await members.close()
        gc.collect()
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert [str(w.message) for w in caught] == []
    assert all(not s.connected for t in ts.values() for s in t.stats().values())


# ---- snapshots ------------------------------------------------------------------------------


def snapshot_message(frm: int, to: int, size: int, index: int = 7) -> Message:
    meta = SnapshotMeta(index, 2, (1, 2, 3))
    return Message(MessageType.SNAP, to=to, frm=frm, term=2,
                   snapshot=Snapshot(meta, random.Random(index).randbytes(size)))


class Reports:
    """What a transport says of each snapshot it sent, as (peer, ok)."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, bool]] = []

    def __call__(self, peer: int, ok: bool) -> None:
        self.seen.append((peer, ok))


async def test_a_snapshot_over_the_frame_limit_streams_in_chunks_and_arrives_whole(
        members: Members) -> None:
    reports = Reports()
    b = await members.start(2, {1: (LOOPBACK, 1)}, max_frame=8192)
    a = await members.start(1, {2: (LOOPBACK, b.port)}, max_frame=8192,
                            snapshot_chunk_size=4096, on_snapshot_status=reports)
    snap = snapshot_message(1, 2, 100_000)  # 25 chunks, twelve times the frame limit
    a.send([snap, heartbeat(1, 2)])
    await until(lambda: len(members.inbox[2]) == 2, "the snapshot and the heartbeat")
    assert members.inbox[2] == [heartbeat(1, 2), snap]  # not held up behind the snapshot
    assert reports.seen == [(2, True)]
    s = a.stats()[2]
    assert (s.snapshots_sent, s.snapshot_chunks_sent, s.snapshots_failed) == (1, 25, 0)
    assert b.stats()[1].snapshots_received == 1
    assert b.partial_snapshots() == {}


async def test_a_snapshot_whose_connection_breaks_part_way_is_reported_failed(
        members: Members, pki: TrialPki) -> None:
    stalled = StalledPeer(pki)  # member 3: it takes the first chunks, then reads no more
    port = await stalled.start()
    try:
        reports = Reports()
        a = await members.start(1, {3: (LOOPBACK, port)}, max_frame=128 * 1024,
                                snapshot_chunk_size=64 * 1024, on_snapshot_status=reports)
        await until(lambda: a.stats()[3].connected, "member 1 to reach member 3")
        # more than the socket buffers hold: it cannot all be written before the cut
        a.send([snapshot_message(1, 3, 32 * 1024 * 1024)])
        await until(lambda: a.stats()[3].snapshot_chunks_sent >= 1, "the first chunks")
        for w in stalled.connections:
            w.transport.abort()
        await until(lambda: bool(reports.seen), "the transfer's end to be reported")
        assert reports.seen == [(3, False)]
        s = a.stats()[3]
        assert (s.snapshots_failed, s.snapshots_sent) == (1, 0)
        assert s.snapshot_chunks_sent < 512
        # the next connection starts clean: a new snapshot goes out from its first chunk
        await until(lambda: a.stats()[3].connected, "member 1 to redial member 3")
        assert a.stats()[3].reconnects == 1
    finally:
        await stalled.close()


async def dial_as(member: int, t: PeerTransport, members: Members,
                  ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw connection to `t` that has said hello as `member`."""
    reader, writer = await asyncio.open_connection(LOOPBACK, t.port,
                                                   ssl=members.client_ssl(member))
    writer.write(encode_hello(Hello(CLUSTER, member, t.member_id)))
    decoder = FrameDecoder()
    reply: list[object] = []
    while not reply:
        reply = list(decoder.feed(await reader.read(4096)))
    assert reply == [Hello(CLUSTER, t.member_id, member)]
    return reader, writer


async def test_a_receiver_drops_a_partial_snapshot_with_its_connection(
        members: Members) -> None:
    b = await members.start(2, {1: (LOOPBACK, 1)}, max_frame=8192)
    cut, whole = snapshot_message(1, 2, 20_000, index=5), snapshot_message(1, 2, 20_000, index=9)
    _, writer = await dial_as(1, b, members)
    try:
        writer.write(b"".join(encode_snapshot_chunk(c, 8192)
                              for c in list(split_snapshot(cut, 1, 4096))[:3]))
        await until(lambda: b.partial_snapshots() == {1: 3 * 4096}, "three chunks held")
    finally:
        writer.transport.abort()
    await until(lambda: b.partial_snapshots() == {}, "the partial transfer to be dropped")
    _, writer = await dial_as(1, b, members)
    try:
        writer.write(b"".join(encode_snapshot_chunk(c, 8192)
                              for c in split_snapshot(whole, 2, 4096)))
        await until(received(members, 2), "the snapshot sent whole")
    finally:
        writer.transport.abort()
    assert members.inbox[2] == [whole]
