"""The server side of HTTP/2 (RFC 9113) as far as gRPC uses it, without IO.

`ServerConnection` is fed the bytes a client sent (`receive`) and returns what happened as
events (a request's headers, its body, its end, a reset, the client going away); the gRPC
layer answers through `send_headers`/`send_data`/`send_trailers` and writes out what
`take_output` returns. Flow control both ways is kept here: the client's windows bound what
we send (data waits per stream until a WINDOW_UPDATE opens them), and ours are credited back
as data arrives (the gRPC layer bounds what it buffers per message).

What gRPC never uses is refused the way RFC 9113 says: server push is never sent, a
PUSH_PROMISE from a client is a PROTOCOL_ERROR; PRIORITY is read and ignored (as most
servers do). Header blocks are decoded with HPACK (RFC 7541) including the dynamic table;
ours are encoded without it (literals that are never indexed), so a client's table never
depends on us.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# frame types
DATA = 0x0
HEADERS = 0x1
PRIORITY = 0x2
RST_STREAM = 0x3
SETTINGS = 0x4
PUSH_PROMISE = 0x5
PING = 0x6
GOAWAY = 0x7
WINDOW_UPDATE = 0x8
CONTINUATION = 0x9

# flags
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

# error codes
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
INTERNAL_ERROR = 0x2
FLOW_CONTROL_ERROR = 0x3
STREAM_CLOSED = 0x5
FRAME_SIZE_ERROR = 0x6
REFUSED_STREAM = 0x7
CANCEL = 0x8
COMPRESSION_ERROR = 0x9
ENHANCE_YOUR_CALM = 0xB

# settings
HEADER_TABLE_SIZE = 0x1
ENABLE_PUSH = 0x2
MAX_CONCURRENT_STREAMS = 0x3
INITIAL_WINDOW_SIZE = 0x4
MAX_FRAME_SIZE = 0x5
MAX_HEADER_LIST_SIZE = 0x6

DEFAULT_WINDOW = 65_535
MAX_WINDOW = 2**31 - 1
MIN_FRAME_SIZE = 16_384  # also the default, and the largest frame we accept
MAX_FRAME_SIZE_LIMIT = 2**24 - 1

# Ours: every stream and the connection may have this much in flight towards us; we credit
# it back as it arrives, so only a client that ignores windows is ever stopped.
RECEIVE_WINDOW = 1 << 24
MAX_HEADER_BLOCK = 1 << 20  # a header block larger than this (before decoding) is refused
MAX_HEADER_FIELDS = 1000  # fields in one block (gRPC requests carry about ten)

_FRAME_HEADER = struct.Struct(">BHBBL")  # length (24 bits as 8+16), type, flags, stream id
_U32 = struct.Struct(">L")
_SETTING = struct.Struct(">HL")


class H2Error(Exception):
    """The client broke the protocol: the connection ends with GOAWAY(`code`)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ---- events ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestReceived:
    stream_id: int
    headers: list[tuple[str, str]]
    end_stream: bool


@dataclass(frozen=True, slots=True)
class DataReceived:
    stream_id: int
    data: bytes
    end_stream: bool


@dataclass(frozen=True, slots=True)
class StreamReset:
    """The client reset the stream (or sent something on it that made us reset it)."""

    stream_id: int
    code: int


@dataclass(frozen=True, slots=True)
class ClientGoingAway:
    last_stream_id: int
    code: int


Event = RequestReceived | DataReceived | StreamReset | ClientGoingAway


# ---- HPACK -------------------------------------------------------------------------------

_STATIC = [("", "")] + [(n.decode("latin-1"), v.decode("latin-1"))
                        for n, v in HeaderTable.STATIC_TABLE]
_STATIC_COUNT = len(_STATIC) - 1  # 61


class HpackDecoder:
    """RFC 7541's decoder: indexed fields, literals with and without indexing, dynamic
    table size updates, Huffman-coded strings. Names and values decode as latin-1 (gRPC
    metadata is ASCII; `-bin` values are base64). Any malformed block is a
    COMPRESSION_ERROR, which ends the connection (the table can no longer be trusted)."""

    def __init__(self, max_table_size: int = 4096) -> None:
        self._limit = max_table_size  # what we advertised: the encoder may use up to this
        self._max = max_table_size
        self._table: deque[tuple[str, str]] = deque()  # newest first
        self._size = 0

    def decode(self, block: bytes) -> list[tuple[str, str]]:
        try:
            return self._decode(block)
        except IndexError:
            raise H2Error(COMPRESSION_ERROR, "truncated header block") from None

    def _decode(self, block: bytes) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        i, n = 0, len(block)
        seen_field = False
        while i < n:
            if len(out) > MAX_HEADER_FIELDS:  # a small block of indexes can name millions
                raise H2Error(ENHANCE_YOUR_CALM,
                              f"more than {MAX_HEADER_FIELDS} header fields in one block")
            b = block[i]
            if b & 0x80:  # indexed field
                index, i = _integer(block, i, 7)
                out.append(self._entry(index))
                seen_field = True
            elif b & 0x40:  # literal with incremental indexing
                index, i = _integer(block, i, 6)
                name, i = (self._entry(index)[0], i) if index else _string(block, i)
                value, i = _string(block, i)
                out.append((name, value))
                self._add(name, value)
                seen_field = True
            elif b & 0x20:  # dynamic table size update: only before the first field
                if seen_field:
                    raise H2Error(COMPRESSION_ERROR, "a table size update after a field")
                size, i = _integer(block, i, 5)
                if size > self._limit:
                    raise H2Error(COMPRESSION_ERROR,
                                  f"table size {size} above the {self._limit} allowed")
                self._max = size
                self._evict()
            else:  # literal without indexing (0000) or never indexed (0001)
                index, i = _integer(block, i, 4)
                name, i = (self._entry(index)[0], i) if index else _string(block, i)
                value, i = _string(block, i)
                out.append((name, value))
                seen_field = True
        return out

    def _entry(self, index: int) -> tuple[str, str]:
        if 0 < index <= _STATIC_COUNT:
            return _STATIC[index]
        at = index - _STATIC_COUNT - 1
        if index == 0 or at >= len(self._table):
            raise H2Error(COMPRESSION_ERROR, f"header index {index} is not in the table")
        return self._table[at]

    def _add(self, name: str, value: str) -> None:
        size = len(name) + len(value) + 32
        if size > self._max:  # larger than the table: it empties the table, and is not kept
            self._table.clear()
            self._size = 0
            return
        self._table.appendleft((name, value))
        self._size += size
        self._evict()

    def _evict(self) -> None:
        while self._size > self._max:
            name, value = self._table.pop()
            self._size -= len(name) + len(value) + 32


def _integer(block: bytes, i: int, prefix: int) -> tuple[int, int]:
    mask = (1 << prefix) - 1
    value = block[i] & mask
    i += 1
    if value < mask:
        return value, i
    shift = 0
    while True:
        b = block[i]
        i += 1
        value += (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i
        if shift > 28:
            raise H2Error(COMPRESSION_ERROR, "an integer too large for a header block")


def _string(block: bytes, i: int) -> tuple[str, int]:
    huffman = block[i] & 0x80
    length, i = _integer(block, i, 7)
    end = i + length
    if end > len(block):
        raise H2Error(COMPRESSION_ERROR, "truncated header string")
    raw = block[i:end]
    if huffman:
        try:
            raw = decode_huffman(raw)
        except Exception as e:  # hpack's HPACKDecodingError, for a bad code or padding
            raise H2Error(COMPRESSION_ERROR, f"bad Huffman string: {e}") from None
    return raw.decode("latin-1"), end


def encode_integer(value: int, prefix: int, first: int = 0) -> bytes:
    mask = (1 << prefix) - 1
    if value < mask:
        return bytes((first | value,))
    out = bytearray((first | mask,))
    value -= mask
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_literal(name: str, value: str) -> bytes:
    """One field as a literal never indexed, with a literal name: no table state at all."""
    n, v = name.encode("latin-1"), value.encode("latin-1")
    return b"".join((b"\x10", encode_integer(len(n), 7), n, encode_integer(len(v), 7), v))


# ---- the connection -------------------------------------------------------------------------


class _Stream:
    __slots__ = (
        "id",
        "pending",
        "pending_end",
        "received",
        "remote_closed",
        "send_window",
        "trailers",
    )

    def __init__(self, stream_id: int, send_window: int) -> None:
        self.id = stream_id
        self.send_window = send_window
        self.pending: deque[memoryview] = deque()  # data waiting for window
        self.pending_end = False  # the last pending chunk ends the stream
        self.trailers: bytes | None = None  # a trailer block waiting behind `pending`
        self.remote_closed = False
        self.received = 0  # bytes not yet credited back with a WINDOW_UPDATE


class ServerConnection:
    """One client connection's HTTP/2 state. Not thread-safe; never blocks."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._preface_seen = False
        self._out: list[bytes] = []
        self._streams: dict[int, _Stream] = {}
        self._highest_stream = 0
        self._decoder = HpackDecoder()
        self._send_window = DEFAULT_WINDOW  # the connection's, towards the client
        self._peer_initial_window = DEFAULT_WINDOW
        self._peer_max_frame = MIN_FRAME_SIZE
        self._received = 0  # connection-level bytes not yet credited back
        self._headers_for: int | None = None  # a header block continues on this stream
        self._header_block = bytearray()
        self._header_flags = 0
        self._waiting: dict[int, _Stream] = {}  # streams with data held back by a window
        self.going_away = False
        # our settings first, then open our connection window beyond the default
        settings = (_SETTING.pack(ENABLE_PUSH, 0)
                    + _SETTING.pack(INITIAL_WINDOW_SIZE, RECEIVE_WINDOW)
                    + _SETTING.pack(MAX_HEADER_LIST_SIZE, MAX_HEADER_BLOCK))
        self._frame(SETTINGS, 0, 0, settings)
        self._frame(WINDOW_UPDATE, 0, 0, _U32.pack(RECEIVE_WINDOW - DEFAULT_WINDOW))

    # ---- output ----

    def take_output(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    def _frame(self, kind: int, flags: int, stream_id: int, payload: bytes | memoryview = b""
               ) -> None:
        length = len(payload)
        self._out.append(_FRAME_HEADER.pack(length >> 16, length & 0xFFFF, kind, flags,
                                            stream_id))
        if length:
            self._out.append(payload)  # type: ignore[arg-type]  # joined as bytes-like

    def send_headers(self, stream_id: int, block: bytes, end_stream: bool = False) -> None:
        """A header block we encoded; it must fit one frame (ours are small)."""
        if len(block) > self._peer_max_frame:
            raise ValueError("response header block larger than a frame")
        self._frame(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0), stream_id, block)
        if end_stream:
            self._local_end(stream_id)

    def send_data(self, stream_id: int, data: bytes, end_stream: bool = False) -> None:
        """Send now what the windows allow; the rest waits for WINDOW_UPDATEs."""
        stream = self._streams.get(stream_id)
        if stream is None:
            return  # reset meanwhile: nothing more goes out on it
        view = memoryview(data)
        if not stream.pending:
            view = self._send_allowed(stream, view, end_stream)
            if not view:  # all of it went out
                if end_stream:
                    self._local_end(stream_id)
                return
        stream.pending.append(view)
        stream.pending_end = end_stream
        self._waiting[stream_id] = stream

    def send_trailers(self, stream_id: int, block: bytes) -> None:
        """The trailer block that ends the stream, after any data still held back."""
        stream = self._streams.get(stream_id)
        if stream is None:
            return
        if stream.pending:
            stream.trailers = block
            return
        self.send_headers(stream_id, block, end_stream=True)

    def has_pending(self, stream_id: int) -> bool:
        """Whether data on this stream still waits for the client's window."""
        stream = self._streams.get(stream_id)
        return stream is not None and bool(stream.pending)

    def reset_stream(self, stream_id: int, code: int) -> None:
        if self._streams.pop(stream_id, None) is not None:
            self._waiting.pop(stream_id, None)
            self._frame(RST_STREAM, 0, stream_id, _U32.pack(code))

    def close(self, code: int = NO_ERROR, message: str = "") -> None:
        """GOAWAY: no new streams from here on; those open may still finish."""
        self.going_away = True
        self._frame(GOAWAY, 0, 0, _U32.pack(self._highest_stream) + _U32.pack(code)
                    + message.encode("utf-8", "replace")[:256])

    def _send_allowed(self, stream: _Stream, view: memoryview, end_stream: bool) -> memoryview:
        """Frame out as much of `view` as the windows allow; return the rest."""
        while True:
            allowed = min(len(view), self._send_window, stream.send_window,
                          self._peer_max_frame)
            if allowed <= 0 and view:
                return view
            chunk, view = view[:allowed], view[allowed:]
            last = not view
            self._frame(DATA, END_STREAM if (last and end_stream) else 0, stream.id, chunk)
            self._send_window -= allowed
            stream.send_window -= allowed
            if last:
                return view

    def _flush_waiting(self) -> None:
        for stream_id, stream in list(self._waiting.items()):
            if self._send_window <= 0:
                return
            while stream.pending and stream.send_window > 0 and self._send_window > 0:
                view = stream.pending.popleft()
                end = stream.pending_end and not stream.pending
                rest = self._send_allowed(stream, view, end)
                if rest:
                    stream.pending.appendleft(rest)
            if stream.pending:
                continue
            del self._waiting[stream_id]
            if stream.trailers is not None:
                block, stream.trailers = stream.trailers, None
                self.send_headers(stream_id, block, end_stream=True)
            elif stream.pending_end:
                self._local_end(stream_id)

    def _local_end(self, stream_id: int) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            self._waiting.pop(stream_id, None)
            del self._streams[stream_id]  # remote side: the gRPC layer stops reading it

    # ---- input ----

    def receive(self, data: bytes) -> list[Event]:
        """Parse what arrived; raise H2Error for a connection error (send `close` with its
        code and drop the connection)."""
        buffer = self._buffer
        buffer += data
        events: list[Event] = []
        pos = 0
        if not self._preface_seen:
            if len(buffer) < len(PREFACE):
                if not PREFACE.startswith(bytes(buffer)):
                    raise H2Error(PROTOCOL_ERROR, "not an HTTP/2 client (bad preface)")
                return events
            if not buffer.startswith(PREFACE):
                raise H2Error(PROTOCOL_ERROR, "not an HTTP/2 client (bad preface)")
            self._preface_seen = True
            pos = len(PREFACE)
        end = len(buffer)
        while end - pos >= 9:
            hi, lo, kind, flags, stream_id = _FRAME_HEADER.unpack_from(buffer, pos)
            length = (hi << 16) | lo
            if length > MIN_FRAME_SIZE:
                raise H2Error(FRAME_SIZE_ERROR, f"a {length}-byte frame (at most "
                                                f"{MIN_FRAME_SIZE})")
            if end - pos - 9 < length:
                break
            payload = bytes(buffer[pos + 9:pos + 9 + length])
            pos += 9 + length
            self._handle(kind, flags, stream_id & 0x7FFFFFFF, payload, events)
        del buffer[:pos]
        return events

    def _handle(self, kind: int, flags: int, stream_id: int, payload: bytes,
                events: list[Event]) -> None:
        if self._headers_for is not None and kind != CONTINUATION:
            raise H2Error(PROTOCOL_ERROR, "a frame inside a header block")
        if kind == DATA:
            self._on_data(flags, stream_id, payload, events)
        elif kind == HEADERS:
            self._on_headers(flags, stream_id, payload, events)
        elif kind == CONTINUATION:
            if stream_id != self._headers_for:
                raise H2Error(PROTOCOL_ERROR, "CONTINUATION without a header block")
            self._header_block += payload
            if len(self._header_block) > MAX_HEADER_BLOCK:
                raise H2Error(ENHANCE_YOUR_CALM, "header block too large")
            if flags & END_HEADERS:
                self._end_header_block(events)
        elif kind == SETTINGS:
            self._on_settings(flags, stream_id, payload)
        elif kind == WINDOW_UPDATE:
            self._on_window_update(stream_id, payload, events)
        elif kind == PING:
            if stream_id or len(payload) != 8:
                raise H2Error(PROTOCOL_ERROR if stream_id else FRAME_SIZE_ERROR, "bad PING")
            if not flags & ACK:
                self._frame(PING, ACK, 0, payload)
        elif kind == RST_STREAM:
            if not stream_id or len(payload) != 4:
                raise H2Error(PROTOCOL_ERROR, "bad RST_STREAM")
            if stream_id > self._highest_stream:
                raise H2Error(PROTOCOL_ERROR, "RST_STREAM on an idle stream")
            if self._streams.pop(stream_id, None) is not None:
                self._waiting.pop(stream_id, None)
            events.append(StreamReset(stream_id, _U32.unpack(payload)[0]))
        elif kind == GOAWAY:
            if stream_id or len(payload) < 8:
                raise H2Error(PROTOCOL_ERROR, "bad GOAWAY")
            last, code = struct.unpack_from(">LL", payload)
            events.append(ClientGoingAway(last & 0x7FFFFFFF, code))
        elif kind == PUSH_PROMISE:
            raise H2Error(PROTOCOL_ERROR, "a client may not push")
        elif kind == PRIORITY:
            if len(payload) != 5:
                raise H2Error(FRAME_SIZE_ERROR, "bad PRIORITY")
        # unknown frame types are ignored (RFC 9113 5.5)

    def _on_data(self, flags: int, stream_id: int, payload: bytes, events: list[Event]
                 ) -> None:
        if not stream_id:
            raise H2Error(PROTOCOL_ERROR, "DATA on stream 0")
        size = len(payload)
        self._received += size
        if self._received > RECEIVE_WINDOW:
            raise H2Error(FLOW_CONTROL_ERROR, "the client overran the connection window")
        if self._received >= RECEIVE_WINDOW // 2:
            self._frame(WINDOW_UPDATE, 0, 0, _U32.pack(self._received))
            self._received = 0
        if flags & PADDED:
            payload = _unpad(payload)
        stream = self._streams.get(stream_id)
        if stream is None or stream.remote_closed:
            if stream_id > self._highest_stream:
                raise H2Error(PROTOCOL_ERROR, "DATA on an idle stream")
            if stream is not None:  # the client ended it before
                self.reset_stream(stream_id, STREAM_CLOSED)
                events.append(StreamReset(stream_id, STREAM_CLOSED))
            return  # a stream we closed or reset: late data is dropped (and was credited)
        stream.received += size
        if stream.received > RECEIVE_WINDOW:
            raise H2Error(FLOW_CONTROL_ERROR, "the client overran a stream's window")
        end = bool(flags & END_STREAM)
        if end:
            stream.remote_closed = True
        elif stream.received >= RECEIVE_WINDOW // 2:
            self._frame(WINDOW_UPDATE, 0, stream_id, _U32.pack(stream.received))
            stream.received = 0
        events.append(DataReceived(stream_id, payload, end))

    def _on_headers(self, flags: int, stream_id: int, payload: bytes, events: list[Event]
                    ) -> None:
        if not stream_id:
            raise H2Error(PROTOCOL_ERROR, "HEADERS on stream 0")
        if flags & PADDED:
            payload = _unpad(payload)
        if flags & PRIORITY_FLAG:
            if len(payload) < 5:
                raise H2Error(FRAME_SIZE_ERROR, "HEADERS too short for its priority")
            payload = payload[5:]
        self._headers_for = stream_id
        self._header_flags = flags
        self._header_block = bytearray(payload)
        if flags & END_HEADERS:
            self._end_header_block(events)

    def _end_header_block(self, events: list[Event]) -> None:
        stream_id = self._headers_for
        assert stream_id is not None
        self._headers_for = None
        headers = self._decoder.decode(bytes(self._header_block))  # always: keeps the table
        end = bool(self._header_flags & END_STREAM)
        stream = self._streams.get(stream_id)
        if stream is not None:  # trailers from the client: they must end the stream
            if not end or stream.remote_closed:
                self.reset_stream(stream_id, PROTOCOL_ERROR)
                events.append(StreamReset(stream_id, PROTOCOL_ERROR))
                return
            stream.remote_closed = True
            events.append(DataReceived(stream_id, b"", True))
            return
        if stream_id <= self._highest_stream:
            if stream_id % 2:
                return  # headers for a stream already closed: nothing to answer
            raise H2Error(PROTOCOL_ERROR, "a client stream id must be odd")
        if not stream_id % 2:
            raise H2Error(PROTOCOL_ERROR, "a client stream id must be odd")
        self._highest_stream = stream_id
        if self.going_away:
            self._frame(RST_STREAM, 0, stream_id, _U32.pack(REFUSED_STREAM))
            return
        stream = _Stream(stream_id, self._peer_initial_window)
        stream.remote_closed = end
        self._streams[stream_id] = stream
        events.append(RequestReceived(stream_id, headers, end))

    def _on_settings(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id:
            raise H2Error(PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & ACK:
            if payload:
                raise H2Error(FRAME_SIZE_ERROR, "SETTINGS ACK with a payload")
            return
        if len(payload) % 6:
            raise H2Error(FRAME_SIZE_ERROR, "SETTINGS length not a multiple of 6")
        for at in range(0, len(payload), 6):
            key, value = _SETTING.unpack_from(payload, at)
            if key == INITIAL_WINDOW_SIZE:
                if value > MAX_WINDOW:
                    raise H2Error(FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE too large")
                delta = value - self._peer_initial_window
                self._peer_initial_window = value
                for stream in self._streams.values():
                    stream.send_window += delta
                    if stream.send_window > MAX_WINDOW:
                        raise H2Error(FLOW_CONTROL_ERROR, "a stream window overflowed")
            elif key == MAX_FRAME_SIZE:
                if not MIN_FRAME_SIZE <= value <= MAX_FRAME_SIZE_LIMIT:
                    raise H2Error(PROTOCOL_ERROR, f"MAX_FRAME_SIZE {value} out of range")
                self._peer_max_frame = value
            elif key == ENABLE_PUSH and value > 1:
                raise H2Error(PROTOCOL_ERROR, "ENABLE_PUSH must be 0 or 1")
            # HEADER_TABLE_SIZE: the client's decoder table; we never index, so any size
            # suits. MAX_CONCURRENT_STREAMS: we open none. Unknown settings are ignored.
        self._frame(SETTINGS, ACK, 0)
        self._flush_waiting()

    def _on_window_update(self, stream_id: int, payload: bytes, events: list[Event]) -> None:
        if len(payload) != 4:
            raise H2Error(FRAME_SIZE_ERROR, "bad WINDOW_UPDATE")
        increment = _U32.unpack(payload)[0] & 0x7FFFFFFF
        if not stream_id:
            if not increment:
                raise H2Error(PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
            self._send_window += increment
            if self._send_window > MAX_WINDOW:
                raise H2Error(FLOW_CONTROL_ERROR, "the connection window overflowed")
        else:
            stream = self._streams.get(stream_id)
            if stream is None:
                if stream_id > self._highest_stream:
                    raise H2Error(PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream")
                return
            if not increment:
                self.reset_stream(stream_id, PROTOCOL_ERROR)
                events.append(StreamReset(stream_id, PROTOCOL_ERROR))
                return
            stream.send_window += increment
            if stream.send_window > MAX_WINDOW:
                self.reset_stream(stream_id, FLOW_CONTROL_ERROR)
                events.append(StreamReset(stream_id, FLOW_CONTROL_ERROR))
                return
        if self._waiting:
            self._flush_waiting()


def _unpad(payload: bytes) -> bytes:
    if not payload:
        raise H2Error(PROTOCOL_ERROR, "a padded frame without its pad length")
    pad = payload[0]
    if pad >= len(payload):
        raise H2Error(PROTOCOL_ERROR, "padding longer than the frame")
    return payload[1:len(payload) - pad]
