"""SPDY/3.1 framing and header compression (sans-IO), as much of it as a client of a container
runtime's streaming server needs: kubectl's SPDY executor and port-forwarder speak it to the
kubelet, and containerd 1.6 speaks only it for what newer WebSocket clients ask."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

VERSION = 3
FLAG_FIN = 0x01

SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS = 1, 2, 3, 4
PING, GOAWAY, HEADERS, WINDOW_UPDATE = 6, 7, 8, 9

RST_PROTOCOL_ERROR, RST_REFUSED_STREAM, RST_CANCEL = 1, 3, 5

MAX_HEADER_BLOCK = 256 * 1024  # decompressed; a peer's bigger block is an error, not memory
_HEADER_LEN = 8


def _length_prefixed(*words: str) -> bytes:
    return b"".join(struct.pack(">I", len(w)) + w.encode() for w in words)


# SPDY/3's zlib dictionary (draft 3, section 2.6.10.1): common header names and values, each
# with its 4-byte length, then a run of status lines, dates and media types. Both ends seed
# their zlib streams with it; its Adler-32 in every peer's zlib header proves it is the same.
HEADER_DICTIONARY = _length_prefixed(
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
    "accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
    "cache-control", "connection", "content-base", "content-encoding", "content-language",
    "content-length", "content-location", "content-md5", "content-range", "content-type",
    "date", "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since",
    "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
    "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
    "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent",
    "vary", "via", "warning", "www-authenticate", "method", "get", "status", "200 OK",
    "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin",
) + (
    b"100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    b"203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
    b"401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
    b"503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
    b"Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    b"application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    b"gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)

Headers = tuple[tuple[str, str], ...]


class SpdyProtocolError(Exception):
    """The peer sent something that is not SPDY/3.1."""


@dataclass(frozen=True)
class DataFrame:
    stream_id: int
    data: bytes
    fin: bool = False


@dataclass(frozen=True)
class SynStream:
    stream_id: int
    headers: Headers
    fin: bool = False


@dataclass(frozen=True)
class SynReply:
    stream_id: int
    headers: Headers
    fin: bool = False


@dataclass(frozen=True)
class HeadersFrame:
    stream_id: int
    headers: Headers
    fin: bool = False


@dataclass(frozen=True)
class RstStream:
    stream_id: int
    status: int


@dataclass(frozen=True)
class Ping:
    ping_id: int


@dataclass(frozen=True)
class GoAway:
    last_stream_id: int
    status: int


@dataclass(frozen=True)
class Ignored:
    """SETTINGS and WINDOW_UPDATE: spdystream, the runtime's side, does no flow control, and
    nothing here depends on a setting."""
    frame_type: int


Frame = DataFrame | SynStream | SynReply | HeadersFrame | RstStream | Ping | GoAway | Ignored


def encode_header_block(headers: Headers) -> bytes:
    """Name/value pairs as SPDY/3 lays them out before compression (names lowercase, as the
    protocol requires)."""
    out = [struct.pack(">I", len(headers))]
    for name, value in headers:
        n, v = name.lower().encode(), value.encode()
        out += [struct.pack(">I", len(n)), n, struct.pack(">I", len(v)), v]
    return b"".join(out)


def decode_header_block(block: bytes) -> Headers:
    def take(at: int) -> tuple[bytes, int]:
        if at + 4 > len(block):
            raise SpdyProtocolError("truncated header block")
        (size,) = struct.unpack_from(">I", block, at)
        if at + 4 + size > len(block):
            raise SpdyProtocolError("truncated header block")
        return block[at + 4:at + 4 + size], at + 4 + size

    if len(block) < 4:
        raise SpdyProtocolError("truncated header block")
    (count,) = struct.unpack_from(">I", block, 0)
    at, pairs = 4, []
    for _ in range(min(count, len(block))):  # each pair takes at least 8 bytes: bounded
        name, at = take(at)
        value, at = take(at)
        pairs.append((name.decode("latin-1"), value.decode("latin-1")))
    if len(pairs) != count:
        raise SpdyProtocolError("truncated header block")
    return tuple(pairs)


class FrameEncoder:
    """One direction's frames; owns that direction's zlib stream (one per connection)."""

    def __init__(self) -> None:
        self._zlib = zlib.compressobj(zdict=HEADER_DICTIONARY)

    def _headers(self, headers: Headers) -> bytes:
        return self._zlib.compress(encode_header_block(headers)) + self._zlib.flush(
            zlib.Z_SYNC_FLUSH)

    def syn_stream(self, stream_id: int, headers: Headers, *, fin: bool = False) -> bytes:
        body = struct.pack(">IIBB", stream_id, 0, 0, 0) + self._headers(headers)
        return _control(SYN_STREAM, FLAG_FIN if fin else 0, body)

    def syn_reply(self, stream_id: int, headers: Headers, *, fin: bool = False) -> bytes:
        return _control(SYN_REPLY, FLAG_FIN if fin else 0,
                        struct.pack(">I", stream_id) + self._headers(headers))

    def data(self, stream_id: int, data: bytes, *, fin: bool = False) -> bytes:
        """One or more DATA frames (a frame carries at most 2^24-1 bytes)."""
        limit = 0xFFFFFF
        chunks = [data[i:i + limit] for i in range(0, len(data), limit)] or [b""]
        return b"".join(
            struct.pack(">II", stream_id & 0x7FFFFFFF,
                        ((FLAG_FIN if fin and i == len(chunks) - 1 else 0) << 24) | len(c)) + c
            for i, c in enumerate(chunks))

    def rst_stream(self, stream_id: int, status: int) -> bytes:
        return _control(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    def ping(self, ping_id: int) -> bytes:
        return _control(PING, 0, struct.pack(">I", ping_id))

    def goaway(self, last_stream_id: int, status: int = 0) -> bytes:
        return _control(GOAWAY, 0, struct.pack(">II", last_stream_id, status))


def _control(frame_type: int, flags: int, body: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, frame_type, (flags << 24) | len(body)) + body


class FrameDecoder:
    """Feed bytes as they arrive, get whole frames; owns the peer's zlib stream."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._zlib = zlib.decompressobj(zdict=HEADER_DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= _HEADER_LEN:
            (word, flags_length) = struct.unpack_from(">II", self._buffer, 0)
            length = flags_length & 0xFFFFFF
            if len(self._buffer) < _HEADER_LEN + length:
                break
            body = bytes(self._buffer[_HEADER_LEN:_HEADER_LEN + length])
            del self._buffer[:_HEADER_LEN + length]
            flags = flags_length >> 24
            if word & 0x80000000:
                frames.append(self._control(word, flags, body))
            else:
                frames.append(DataFrame(word & 0x7FFFFFFF, body, bool(flags & FLAG_FIN)))
        return frames

    def _headers(self, block: bytes) -> Headers:
        try:
            raw = self._zlib.decompress(block, MAX_HEADER_BLOCK)
        except zlib.error as e:
            raise SpdyProtocolError(f"bad header compression: {e}") from None
        if self._zlib.unconsumed_tail:
            raise SpdyProtocolError(f"header block over {MAX_HEADER_BLOCK} bytes")
        return decode_header_block(raw)

    def _control(self, word: int, flags: int, body: bytes) -> Frame:
        version, frame_type = (word >> 16) & 0x7FFF, word & 0xFFFF
        if version != VERSION:
            raise SpdyProtocolError(f"SPDY version {version}, want {VERSION}")
        fin = bool(flags & FLAG_FIN)
        need = {SYN_STREAM: 10, SYN_REPLY: 4, HEADERS: 4, RST_STREAM: 8, PING: 4, GOAWAY: 4}
        if len(body) < need.get(frame_type, 0):
            raise SpdyProtocolError(f"control frame {frame_type} too short")
        stream_id = struct.unpack_from(">I", body, 0)[0] & 0x7FFFFFFF if body else 0
        if frame_type == SYN_STREAM:
            return SynStream(stream_id, self._headers(body[10:]), fin)
        if frame_type == SYN_REPLY:
            return SynReply(stream_id, self._headers(body[4:]), fin)
        if frame_type == HEADERS:
            return HeadersFrame(stream_id, self._headers(body[4:]), fin)
        if frame_type == RST_STREAM:
            return RstStream(stream_id, struct.unpack_from(">I", body, 4)[0])
        if frame_type == PING:
            return Ping(struct.unpack_from(">I", body, 0)[0])
        if frame_type == GOAWAY:
            status = struct.unpack_from(">I", body, 4)[0] if len(body) >= 8 else 0
            return GoAway(stream_id, status)
        return Ignored(frame_type)
