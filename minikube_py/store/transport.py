"""How Raft members reach each other (etcd's rafthttp role, simpler): mutual TLS over TCP.

Each member dials every peer once and streams its Raft messages to it over that connection;
what a peer sends arrives on the connection the peer dialed. Raft tolerates lost,
duplicated and reordered messages, and a leader must never wait on one slow follower, so:

- `send()` only encodes and appends to the target's bounded queue: it never blocks and
  never raises because a peer is slow, dead or unknown.
- A full queue drops its oldest message (counted): the newest carry the latest term and
  commit index, and whatever an old append said is re-sent by the leader when the follower
  rejects the gap.
- Every peer has its own writer task, so a peer that stops reading (a stopped process)
  stalls only its own queue; the writer reconnects with jittered exponential backoff.
- A SNAP message is not queued with the rest: each peer has one snapshot slot, written out
  in chunks (`snapshot_stream`) one at a time between batches of the queue, so a large
  snapshot never holds up heartbeats nor makes a frame over the limit. How each one ended
  goes to `on_snapshot_status(peer, ok)` (for `Raft.report_snapshot`): ok once its last
  chunk is handed to the socket; not ok if its connection breaks part way (the receiver
  drops the partial transfer with the connection), a newer snapshot for the peer replaces
  it, or the peer is unknown or removed. A receiver assembles one transfer per sender and
  hands `on_message` the whole SNAP message.

Who may connect (the identity check): both ends verify the other's certificate against the
cluster CA (the dialer also checks that the certificate names the address it dialed, as any
TLS client does); the acceptor refuses a connection without a client certificate. Then the
hello exchange (see `frames`): the acceptor refuses a dialer of another cluster, one that
meant another member, or a member id it does not know; the dialer drops a connection whose
acceptor is not the member it meant. Each end also holds the other to the member its
certificate names (`peer_identity`): a hello claiming another member is refused, so no other
certificate of the cluster CA can pass for a member.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from minikube_py.store.frames import (
    CHUNK_OVERHEAD,
    DEFAULT_MAX_FRAME,
    Frame,
    FrameDecoder,
    FrameTooLargeError,
    Hello,
    ProtocolError,
    check_hello,
    check_reply,
    encode_hello,
    encode_message,
    encode_refusal,
    encode_snapshot_chunk,
)
from minikube_py.store.peer_identity import check_certified
from minikube_py.store.raft import Message, MessageType
from minikube_py.store.snapshot_stream import (
    DEFAULT_CHUNK_SIZE,
    SnapshotAssembler,
    SnapshotChunk,
    SnapshotStreamError,
    chunk_count,
    split_snapshot,
)
from minikube_py.tasks import TaskSet

log = logging.getLogger(__name__)

Address = tuple[str, int]
_READ_SIZE = 64 * 1024
_WRITE_BATCH = 64  # messages per write: a few syscalls for a burst, yet a prompt drain()


@dataclass(slots=True)
class PeerStats:
    """One peer's link, as counters (`sent` counts messages handed to the socket)."""

    connected: bool = False
    queued: int = 0
    sent: int = 0
    dropped: int = 0  # pushed out of a full queue
    too_large: int = 0  # refused by send(): over the frame limit
    reconnects: int = 0  # connections made after the first one
    received: int = 0  # messages that arrived from this peer
    last_error: str | None = None
    snapshots_sent: int = 0  # snapshots whose every chunk was handed to the socket
    snapshots_failed: int = 0  # broken off, replaced, or refused by send()
    snapshot_chunks_sent: int = 0
    snapshots_received: int = 0  # assembled and handed to on_message


class PeerUnreachableError(Exception):
    """A dial that did not end with the peer we meant, ready to take messages."""


def backoff_delay(attempt: int, rng: random.Random, *, base: float, cap: float) -> float:
    """The wait before redial number `attempt` (0-based): exponential up to `cap`, half of it
    random so that members that lost a peer together do not redial it in step."""
    ceiling = min(cap, base * 2.0 ** min(attempt, 32))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


class _OutgoingSnapshot:
    """A SNAP message being written to a peer, chunk by chunk."""

    def __init__(self, message: Message, transfer: int, chunk_size: int) -> None:
        self.message = message
        self.chunks = split_snapshot(message, transfer, chunk_size)
        self.remaining = chunk_count(message, chunk_size)
        self.started = False  # a chunk went out: the rest must follow on that connection


class _Link:
    """The outgoing half towards one peer: its address, queue, snapshot slot and counters."""

    def __init__(self, address: Address, max_queue: int) -> None:
        self.address = address
        self.queue: deque[bytes] = deque()
        self.snapshot: _OutgoingSnapshot | None = None
        self.max_queue = max_queue
        self.wakeup = asyncio.Event()
        self.stats = PeerStats()
        self.task: asyncio.Task[None] | None = None
        self.ever_connected = False

    def enqueue(self, frame: bytes) -> None:
        if len(self.queue) >= self.max_queue:
            self.queue.popleft()
            self.stats.dropped += 1
        self.queue.append(frame)
        self.wakeup.set()

    @property
    def idle(self) -> bool:
        return not self.queue and self.snapshot is None

    def take_batch(self) -> list[bytes]:
        n = min(len(self.queue), _WRITE_BATCH)
        return [self.queue.popleft() for _ in range(n)]


class PeerTransport:
    """A member's connections to its peers. `start()` listens, `send()` queues, incoming
    messages go to `on_message` (on the event loop), `close()` ends every task."""

    def __init__(
        self,
        member_id: int,
        cluster_id: int,
        host: str,
        port: int,
        server_ssl: ssl.SSLContext,
        client_ssl: ssl.SSLContext,
        peers: Mapping[int, Address],
        on_message: Callable[[Message], None],
        *,
        on_snapshot_status: Callable[[int, bool], None] | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
        snapshot_chunk_size: int | None = None,
        max_queue: int = 1024,
        backoff_base: float = 0.05,
        backoff_cap: float = 2.0,
        hello_timeout: float = 5.0,
        rng: random.Random | None = None,
        members_loaded: bool = True,
    ) -> None:
        if member_id <= 0:
            raise ValueError(f"member ids are positive, not {member_id}")
        if snapshot_chunk_size is None:  # 1 MiB, or what fits a smaller frame limit
            snapshot_chunk_size = max(1, min(DEFAULT_CHUNK_SIZE, max_frame - CHUNK_OVERHEAD))
        if not 0 < snapshot_chunk_size <= max_frame - CHUNK_OVERHEAD:
            raise ValueError(
                f"a snapshot chunk of {snapshot_chunk_size} bytes does not fit a frame of "
                f"{max_frame} bytes (it needs {CHUNK_OVERHEAD} bytes besides the chunk)")
        self.member_id = member_id
        self.cluster_id = cluster_id
        self._host = host
        self._port = port
        self._server_ssl = server_ssl
        self._client_ssl = client_ssl
        self._on_message = on_message
        self._on_snapshot_status = on_snapshot_status
        self._max_frame = max_frame
        self._chunk_size = snapshot_chunk_size
        self._transfers = 0  # numbers this member's snapshot transfers
        self._assemblers: dict[int, SnapshotAssembler] = {}  # by sender: its one partial
        self._max_queue = max_queue
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._hello_timeout = hello_timeout
        self._rng = rng or random.Random()
        self._inbound: dict[int, asyncio.StreamWriter] = {}
        self._tasks = TaskSet(f"peer-transport[{member_id}]", logger=log)
        self._server: asyncio.Server | None = None
        self._closed = False
        # False while the owner has not told us every member yet (a store member replaying
        # its log): refusals of unknown dialers then say so instead of "not a known member".
        self.members_loaded = members_loaded
        # Messages for members this transport has no address of, or sent after close().
        self.unknown_dropped = 0
        self._links = {i: _Link(address, max_queue)
                       for i, address in self._peer_addresses(peers).items()}

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen for peers and start dialing them."""
        self._server = await asyncio.start_server(
            self._accept, self._host, self._port, ssl=self._server_ssl,
            ssl_handshake_timeout=self._hello_timeout)
        for peer_id, link in self._links.items():
            self._start_link(peer_id, link)

    @property
    def port(self) -> int:
        """The port listened on (useful when started with port 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the peer transport is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening, drop every connection and wait for every task to end."""
        self._closed = True
        if self._server is not None:
            self._server.close()
        inbound = list(self._inbound.values())
        for writer in inbound:
            writer.transport.abort()
        await self._tasks.close()
        # An aborted connection is closed with its connection_lost callback: wait for it, so
        # that nothing of this transport is left when close() returns.
        await asyncio.gather(*(w.wait_closed() for w in inbound), return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        for link in self._links.values():
            link.stats.connected = False

    # ---- sending ---------------------------------------------------------------------------

    def send(self, messages: Iterable[Message]) -> None:
        """Queue each message for its target; never blocks, never raises for a peer."""
        for m in messages:
            link = self._links.get(m.to)
            if link is None or self._closed:
                self.unknown_dropped += 1
                if m.type is MessageType.SNAP and not self._closed:
                    self._report_snapshot(m.to, ok=False)
                continue
            if m.type is MessageType.SNAP:
                self._start_snapshot(m.to, link, m)
                continue
            try:
                frame = encode_message(m, self._max_frame)
            except FrameTooLargeError as e:
                link.stats.too_large += 1
                log.error("member %d: not sending a %s message to member %d: %s",
                          self.member_id, m.type.name, m.to, e)
                continue
            link.enqueue(frame)

    def _start_snapshot(self, peer_id: int, link: _Link, message: Message) -> None:
        if message.snapshot is None:
            raise ValueError("a SNAP message without a snapshot")
        if link.snapshot is not None:
            # Replaced, not failed: the core sent a newer snapshot to the same member, and a
            # failure reported now would be taken for the new transfer's (the report names
            # no snapshot), sending it again and replacing it at every heartbeat answer.
            log.info("member %d: a newer snapshot for member %d replaces the one being sent",
                     self.member_id, peer_id)
            link.snapshot = None
        self._transfers += 1
        link.snapshot = _OutgoingSnapshot(message, self._transfers, self._chunk_size)
        link.wakeup.set()

    def _fail_snapshot(self, peer_id: int, link: _Link, why: str) -> None:
        if link.snapshot is None:
            return
        link.snapshot = None
        link.stats.snapshots_failed += 1
        log.warning("member %d: sending a snapshot to member %d failed: %s", self.member_id,
                    peer_id, why)
        self._report_snapshot(peer_id, ok=False)

    def _report_snapshot(self, peer_id: int, *, ok: bool) -> None:
        if self._on_snapshot_status is not None:
            self._on_snapshot_status(peer_id, ok)

    def partial_snapshots(self) -> dict[int, int]:
        """The bytes held of each sender's snapshot transfer under way (one per sender)."""
        return {i: a.partial_bytes for i, a in self._assemblers.items() if a.partial_bytes}

    def stats(self) -> dict[int, PeerStats]:
        """A copy of every peer's counters."""
        return {i: replace(link.stats, queued=len(link.queue)) for i, link in self._links.items()}

    # ---- membership ------------------------------------------------------------------------

    def update_peers(self, peers: Mapping[int, Address]) -> None:
        """Take a new member list: dial new members, redial moved ones (keeping their
        queues and counters), forget removed ones and drop their connections."""
        wanted = self._peer_addresses(peers)
        for peer_id in set(self._links) - set(wanted):
            gone = self._links.pop(peer_id)
            if gone.task is not None:
                gone.task.cancel()
            self._fail_snapshot(peer_id, gone, "the member was removed")
            writer = self._inbound.pop(peer_id, None)
            if writer is not None:
                writer.transport.abort()
        for peer_id, address in wanted.items():
            link = self._links.get(peer_id)
            if link is None:
                link = self._links[peer_id] = _Link(address, self._max_queue)
            elif link.address == address:
                continue
            else:
                link.address = address
                if link.task is not None:
                    link.task.cancel()
            if self._server is not None and not self._closed:
                self._start_link(peer_id, link)

    def _peer_addresses(self, peers: Mapping[int, Address]) -> dict[int, Address]:
        """The member list without this member (a list naming every member is fine)."""
        for peer_id in peers:
            if peer_id <= 0:
                raise ValueError(f"member ids are positive, not {peer_id}")
        return {i: (host, port) for i, (host, port) in peers.items() if i != self.member_id}

    def _start_link(self, peer_id: int, link: _Link) -> None:
        link.task = self._tasks.spawn(f"to-{peer_id}", self._run_link(peer_id, link))

    # ---- the outgoing side -----------------------------------------------------------------

    def _current(self, link: _Link) -> bool:
        """Whether the running task still owns `link` (a moved peer gets a new task)."""
        return link.task is asyncio.current_task()

    async def _run_link(self, peer_id: int, link: _Link) -> None:
        attempt = 0
        while True:
            try:
                reader, writer = await self._dial(peer_id, link.address)
            except (OSError, ssl.SSLError, TimeoutError, ProtocolError,
                    PeerUnreachableError) as e:
                self._note_error(peer_id, link, f"dialing {_show(link.address)}: {_why(e)}")
                await asyncio.sleep(self._backoff(attempt))
                attempt += 1
                continue
            attempt = 0
            if link.ever_connected:
                link.stats.reconnects += 1
            link.ever_connected = True
            link.stats.connected = True
            link.stats.last_error = None
            log.info("member %d: connected to member %d at %s", self.member_id, peer_id,
                     _show(link.address))
            try:
                await self._stream(peer_id, link, reader, writer)
            except (OSError, ssl.SSLError, ProtocolError) as e:
                self._note_error(peer_id, link, f"connection lost: {_why(e)}")
            finally:
                writer.transport.abort()
                if self._current(link):
                    link.stats.connected = False
                # the receiver drops a partial transfer with the connection: start over
                if link.snapshot is not None and link.snapshot.started and not self._closed:
                    self._fail_snapshot(peer_id, link, "the connection broke part way")
            await asyncio.sleep(self._backoff(0))

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, self._rng, base=self._backoff_base, cap=self._backoff_cap)

    def _note_error(self, peer_id: int, link: _Link, error: str) -> None:
        if error != link.stats.last_error:  # a dead peer is logged once, not every redial
            log.warning("member %d: member %d: %s", self.member_id, peer_id, error)
        link.stats.last_error = error

    async def _dial(self, peer_id: int, address: Address,
                    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with asyncio.timeout(self._hello_timeout):
            reader, writer = await asyncio.open_connection(*address, ssl=self._client_ssl)
            try:
                writer.write(encode_hello(Hello(self.cluster_id, self.member_id, peer_id)))
                reply = await _first_frame(reader, FrameDecoder(self._max_frame))
                why = check_reply(reply, cluster=self.cluster_id, peer=peer_id)
                if why is None and (refused := check_certified(
                        writer.get_extra_info("peercert"), cluster=self.cluster_id,
                        member=peer_id)) is not None:
                    why = f"the peer at member {peer_id}'s address: {refused}"
                if why is not None:
                    raise PeerUnreachableError(why)
            except BaseException:
                writer.transport.abort()
                raise
        return reader, writer

    async def _stream(self, peer_id: int, link: _Link, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        """Write the queue out until the connection fails or the peer closes it (the
        acceptor never speaks after its hello, so anything read means the end)."""
        pump = asyncio.ensure_future(self._pump(peer_id, link, writer))
        hangup = asyncio.ensure_future(reader.read(1))
        try:
            await asyncio.wait((pump, hangup), return_when=asyncio.FIRST_COMPLETED)
        finally:
            pump.cancel()
            hangup.cancel()
            await asyncio.gather(pump, hangup, return_exceptions=True)
        if pump.done() and not pump.cancelled():
            failure = pump.exception()
            if failure is not None:
                raise failure
        raise ConnectionResetError("the peer closed the connection")

    async def _pump(self, peer_id: int, link: _Link, writer: asyncio.StreamWriter) -> None:
        """Alternate a batch of the queue with one snapshot chunk, while there are either."""
        while True:
            while link.idle:
                link.wakeup.clear()
                await link.wakeup.wait()
            if link.queue:
                batch = link.take_batch()
                writer.writelines(batch)
                await writer.drain()
                link.stats.sent += len(batch)
            if link.snapshot is not None:
                await self._write_chunk(peer_id, link, link.snapshot, writer)

    async def _write_chunk(self, peer_id: int, link: _Link, out: _OutgoingSnapshot,
                           writer: asyncio.StreamWriter) -> None:
        try:
            frame = encode_snapshot_chunk(next(out.chunks), self._max_frame)
        except FrameTooLargeError as e:  # the header alone outgrew CHUNK_OVERHEAD
            link.stats.too_large += 1
            self._fail_snapshot(peer_id, link, str(e))
            return
        out.started = True
        writer.write(frame)
        await writer.drain()
        out.remaining -= 1
        link.stats.snapshot_chunks_sent += 1
        if out.remaining == 0 and link.snapshot is out:  # not replaced while it drained
            link.snapshot = None
            link.stats.snapshots_sent += 1
            self._report_snapshot(peer_id, ok=True)

    # ---- the incoming side -----------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._closed:
            writer.transport.abort()
            return
        self._tasks.spawn(f"from-{_show(writer.get_extra_info('peername'))}",
                          self._serve_peer(reader, writer))

    async def _serve_peer(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        peer = _show(writer.get_extra_info("peername"))
        member: int | None = None
        try:
            member = await self._greet(reader, writer, peer)
            if member is None:
                return
            assembler = SnapshotAssembler()
            old = self._assemblers.get(member)
            if old is not None:  # its connection is aborted: never two partials of one sender
                old.discard()
            self._assemblers[member] = assembler
            try:
                await self._receive(reader, member, peer, assembler)
            finally:
                assembler.discard()
                if self._assemblers.get(member) is assembler:
                    del self._assemblers[member]
        except ProtocolError as e:
            log.warning("member %d: dropping the connection from %s: %s", self.member_id,
                        peer, e)
        except (OSError, ssl.SSLError, TimeoutError) as e:
            log.debug("member %d: connection from %s ended: %s", self.member_id, peer, _why(e))
        finally:
            writer.transport.abort()
            if member is not None and self._inbound.get(member) is writer:
                del self._inbound[member]

    async def _greet(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     peer: str) -> int | None:
        """The hello exchange; the dialer's member id, or None once it has been refused."""
        decoder = FrameDecoder(self._max_frame)
        hello: Hello | None = None
        if not writer.get_extra_info("peercert"):
            why = "a peer must present a client certificate of the cluster CA"
        else:
            async with asyncio.timeout(self._hello_timeout):
                frame = await _first_frame(reader, decoder)
            if not isinstance(frame, Hello):
                raise ProtocolError(f"expected a hello, got a {type(frame).__name__}")
            hello = frame
            why = check_hello(hello, cluster=self.cluster_id, me=self.member_id,
                              members=frozenset(self._links)) or ""
            if why and not self.members_loaded and hello.cluster == self.cluster_id:
                # Still replaying its log: not knowing the dialer proves nothing yet (a
                # dialer that hears "not a known member" from everyone takes itself for
                # removed).
                why = (f"member {self.member_id} is starting: it does not know its members "
                       "yet")
            why = why or check_certified(writer.get_extra_info("peercert"),
                                         cluster=hello.cluster, member=hello.member) or ""
        if hello is None or why:
            log.warning("member %d: refusing the connection from %s: %s", self.member_id,
                        peer, why)
            writer.write(encode_refusal(why, self._max_frame))
            async with asyncio.timeout(self._hello_timeout):
                writer.close()  # flushes the refusal, then TLS close_notify
                await writer.wait_closed()
            return None
        if decoder.buffered:
            raise ProtocolError("the peer sent messages before the hello was answered")
        writer.write(encode_hello(Hello(self.cluster_id, self.member_id, hello.member)))
        old = self._inbound.get(hello.member)
        if old is not None:  # the peer restarted or redialed: its old stream is dead
            old.transport.abort()
        self._inbound[hello.member] = writer
        return hello.member

    async def _receive(self, reader: asyncio.StreamReader, member: int, peer: str,
                       assembler: SnapshotAssembler) -> None:
        decoder = FrameDecoder(self._max_frame)
        while data := await reader.read(_READ_SIZE):
            for frame in decoder.feed(data):
                message = self._take_frame(frame, member, assembler)
                if message is None:
                    continue
                link = self._links.get(member)
                if link is None:  # removed while connected
                    return
                link.stats.received += 1
                if message.type is MessageType.SNAP:
                    link.stats.snapshots_received += 1
                self._on_message(message)

    def _take_frame(self, frame: Frame, member: int, assembler: SnapshotAssembler,
                    ) -> Message | None:
        """The Raft message a frame from `member` completes, if any."""
        if isinstance(frame, SnapshotChunk):
            if frame.header is not None:  # checked before any of its data is held
                self._check_sender(frame.header, member)
            try:
                return assembler.feed(frame)
            except SnapshotStreamError as e:
                raise ProtocolError(f"member {member}'s snapshot stream broke: {e}") from e
        if not isinstance(frame, Message):
            raise ProtocolError(f"expected a Raft message, got a {type(frame).__name__}")
        self._check_sender(frame, member)  # a whole SNAP here is a peer of before chunking
        return frame

    def _check_sender(self, message: Message, member: int) -> None:
        if message.frm != member or message.to != self.member_id:
            raise ProtocolError(
                f"member {member} sent a message from {message.frm} to {message.to}")


async def _first_frame(reader: asyncio.StreamReader, decoder: FrameDecoder) -> Frame:
    while True:
        data = await reader.read(_READ_SIZE)
        if not data:
            raise ConnectionResetError("the peer closed the connection during the hello (a TLS "
                                       "peer does so when it refuses our certificate)")
        frames = decoder.feed(data)
        if frames:
            if len(frames) > 1:
                raise ProtocolError("the peer sent more than its hello before the answer")
            return frames[0]


def _show(address: object) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


def _why(e: BaseException) -> str:
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
