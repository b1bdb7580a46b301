"""The peer transport's wire format, sans-IO: length-prefixed, versioned msgpack frames.

A frame is a 4-byte big-endian body length, then the body: a version byte, a kind byte and
a msgpack payload. A connection opens with a hello from the dialer (its cluster id, its own
member id and the member id it means to reach), answered by the acceptor's hello (naming
itself) or by a refusal with a reason a person can read; after that the dialer sends only
Raft messages (`Message.pack()`), and the acceptor sends nothing. A SNAP message travels as chunk frames instead (see
`snapshot_stream`), so that no frame holds a whole snapshot.

The size limit is checked on the header, before the body is buffered, so a peer cannot make
us hold more than `max_frame` bytes by announcing a huge frame.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Any

import msgpack

from minikube_py.store.raft import Message
from minikube_py.store.snapshot_stream import SnapshotChunk

VERSION = 1
# etcd's request limit is 1.5 MiB; an append carries up to the Raft core's max_size_per_msg
# (1 MiB) of entries but always at least one, and a snapshot chunk 1 MiB: room to spare.
DEFAULT_MAX_FRAME = 16 * 1024 * 1024
# What a snapshot chunk's frame holds besides its data (the SNAP message's header, with its
# member lists, on the first chunk), at most: the chunk size must leave this much room.
CHUNK_OVERHEAD = 1024
_HEADER = struct.Struct(">I")
_PREFIX = 2  # version byte + kind byte


class FrameKind(enum.IntEnum):
    HELLO = 1
    REFUSE = 2
    MESSAGE = 3
    SNAP_CHUNK = 4


class ProtocolError(Exception):
    """The peer sent something this end cannot accept; the connection must be closed."""


class FrameTooLargeError(ValueError):
    """This end was asked to send a frame larger than the limit (a caller's problem)."""


@dataclass(frozen=True, slots=True)
class Hello:
    """Who speaks on a connection: `member` of `cluster`, addressing member `to`."""

    cluster: int
    member: int
    to: int


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str


Frame = Hello | Refusal | Message | SnapshotChunk


def _frame(kind: FrameKind, payload: Any, max_frame: int) -> bytes:
    body: bytes = msgpack.packb(payload, use_bin_type=True)
    size = _PREFIX + len(body)
    if size > max_frame:
        raise FrameTooLargeError(
            f"a {kind.name.lower()} frame of {size} bytes is over the {max_frame}-byte limit")
    return _HEADER.pack(size) + bytes((VERSION, kind)) + body


def encode_hello(hello: Hello, max_frame: int = DEFAULT_MAX_FRAME) -> bytes:
    return _frame(FrameKind.HELLO, (hello.cluster, hello.member, hello.to), max_frame)


def encode_refusal(reason: str, max_frame: int = DEFAULT_MAX_FRAME) -> bytes:
    return _frame(FrameKind.REFUSE, reason, max_frame)


def encode_message(message: Message, max_frame: int = DEFAULT_MAX_FRAME) -> bytes:
    return _frame(FrameKind.MESSAGE, message.pack(), max_frame)


def encode_snapshot_chunk(chunk: SnapshotChunk, max_frame: int = DEFAULT_MAX_FRAME) -> bytes:
    return _frame(FrameKind.SNAP_CHUNK, chunk.pack(), max_frame)


def _decode_body(kind: int, payload: Any) -> Frame:
    try:
        if kind == FrameKind.MESSAGE:
            return Message.unpack(payload)
        if kind == FrameKind.SNAP_CHUNK:
            return SnapshotChunk.unpack(payload)
        if kind == FrameKind.HELLO:
            cluster, member, to = payload
            if not all(type(v) is int for v in (cluster, member, to)):
                raise TypeError("ids must be integers")
            return Hello(cluster, member, to)
        if kind == FrameKind.REFUSE:
            if not isinstance(payload, str):
                raise TypeError("the reason must be a string")
            return Refusal(payload)
    except (TypeError, ValueError, IndexError, KeyError) as e:
        raise ProtocolError(f"malformed {FrameKind(kind).name.lower()} frame: {e}") from e
    raise ProtocolError(f"unknown frame kind {kind}")


class FrameDecoder:
    """Bytes in, frames out. Raises `ProtocolError` for anything malformed; after that the
    decoder's state is undefined and the connection must be dropped."""

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buf)
            if size > self.max_frame:
                raise ProtocolError(
                    f"peer announced a {size}-byte frame, over the {self.max_frame}-byte limit")
            if size < _PREFIX:
                raise ProtocolError(f"peer sent a {size}-byte frame, too short for its header")
            end = _HEADER.size + size
            if len(self._buf) < end:
                break
            version, kind = self._buf[_HEADER.size], self._buf[_HEADER.size + 1]
            body = bytes(self._buf[_HEADER.size + _PREFIX:end])
            del self._buf[:end]
            if version != VERSION:
                raise ProtocolError(f"peer speaks frame version {version}, this end {VERSION}")
            try:
                payload = msgpack.unpackb(body, use_list=True, raw=False)
            except (ValueError, msgpack.UnpackException) as e:
                raise ProtocolError(f"undecodable frame payload: {e}") from e
            frames.append(_decode_body(kind, payload))
        return frames

    @property
    def buffered(self) -> int:
        return len(self._buf)


def check_hello(hello: Hello, *, cluster: int, me: int, members: set[int] | frozenset[int],
                ) -> str | None:
    """Why an acceptor refuses a dialer's hello, or None to accept it."""
    if hello.cluster != cluster:
        return f"member {hello.member} is of cluster {hello.cluster:#x}, this is {cluster:#x}"
    if hello.to != me:
        return f"member {hello.member} meant to reach member {hello.to}, this is member {me}"
    if hello.member not in members:
        return f"member {hello.member} is not a known member of cluster {cluster:#x}"
    return None


def check_reply(reply: Frame, *, cluster: int, peer: int) -> str | None:
    """Why a dialer gives up on the acceptor's answer, or None if it is the peer it meant."""
    if isinstance(reply, Refusal):
        return f"member {peer} refused the connection: {reply.reason}"
    if not isinstance(reply, Hello):
        return f"member {peer} answered the hello with a {type(reply).__name__}"
    if reply.cluster != cluster:
        return f"the peer at member {peer}'s address is of cluster {reply.cluster:#x}"
    if reply.member != peer:
        return f"the peer at member {peer}'s address is member {reply.member}"
    return None
