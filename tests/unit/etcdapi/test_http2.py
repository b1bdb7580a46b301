"""The sans-IO HTTP/2 server connection: frames a client would send in, events and frames out.

HPACK decoding is checked against python-hyper's `hpack.Encoder`, an independent encoder
that uses the dynamic table and Huffman coding as real clients do."""

from __future__ import annotations

import struct

import hpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minikube_py.etcdapi import http2
from minikube_py.etcdapi.http2 import (
    DataReceived,
    H2Error,
    HpackDecoder,
    RequestReceived,
    ServerConnection,
    StreamReset,
)

REQUEST = [(":method", "POST"), (":scheme", "http"), (":path", "/etcdserverpb.KV/Put"),
           (":authority", "127.0.0.1:2379"), ("content-type", "application/grpc"),
           ("te", "trailers"), ("grpc-timeout", "9999m")]


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    n = len(payload)
    return struct.pack(">BHBBL", n >> 16, n & 0xFFFF, kind, flags, stream_id) + payload


def frames(data: bytes) -> list[tuple[int, int, int, bytes]]:
    out, pos = [], 0
    while pos < len(data):
        hi, lo, kind, flags, sid = struct.unpack_from(">BHBBL", data, pos)
        n = (hi << 16) | lo
        out.append((kind, flags, sid, data[pos + 9:pos + 9 + n]))
        pos += 9 + n
    return out


def connected(*client_settings: tuple[int, int]) -> tuple[ServerConnection, hpack.Encoder]:
    conn = ServerConnection()
    payload = b"".join(struct.pack(">HL", k, v) for k, v in client_settings)
    assert conn.receive(http2.PREFACE + frame(http2.SETTINGS, 0, 0, payload)) == []
    out = frames(conn.take_output())
    # ours first (with the push refusal and our window), the window opening, then the ACK
    assert out[0][0] == http2.SETTINGS and not out[0][1]
    assert out[1][0] == http2.WINDOW_UPDATE
    assert (out[-1][0], out[-1][1]) == (http2.SETTINGS, http2.ACK)
    return conn, hpack.Encoder()


def open_stream(conn: ServerConnection, encoder: hpack.Encoder, sid: int,
                end: bool = False) -> RequestReceived:
    flags = http2.END_HEADERS | (http2.END_STREAM if end else 0)
    [event] = conn.receive(frame(http2.HEADERS, flags, sid, encoder.encode(REQUEST)))
    assert isinstance(event, RequestReceived)
    return event


# ---- HPACK -----------------------------------------------------------------------------

header_name = st.text("abcdefghijklmnopqrstuvwxyz-0123456789", min_size=1, max_size=20)
header_value = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)


@settings(max_examples=200, deadline=None)
@given(blocks=st.lists(st.lists(st.tuples(header_name, header_value), max_size=12),
                       min_size=1, max_size=8),
       huffman=st.booleans(), table_size=st.sampled_from([0, 256, 4096]))
def test_hpack_decodes_what_an_independent_encoder_wrote(
        blocks: list[list[tuple[str, str]]], huffman: bool, table_size: int) -> None:
    encoder = hpack.Encoder()
    encoder.header_table_size = table_size  # emits a size update in the next block
    decoder = HpackDecoder()
    for headers in blocks:
        block = encoder.encode(headers, huffman=huffman)
        assert decoder.decode(block) == headers


def test_hpack_sensitive_fields_and_repeated_blocks_keep_the_table_in_step() -> None:
    encoder, decoder = hpack.Encoder(), HpackDecoder()
    sensitive = [("authorization", "Bearer x"), ("x-a", "1")]
    block = encoder.encode([hpack.NeverIndexedHeaderTuple("authorization", "Bearer x"),
                            ("x-a", "1")])
    assert decoder.decode(block) == sensitive
    for _ in range(3):  # now mostly indexed from the dynamic table
        assert decoder.decode(encoder.encode(REQUEST)) == REQUEST


@pytest.mark.parametrize("block, why", [
    (b"\xff", "truncated"),  # an integer that never ends
    (b"\xbf\x7f", "not in the table"),  # dynamic index 62+ with an empty table
    (b"\x40\x05ab", "truncated"),  # a literal name shorter than its length
    (b"\x82\x3f\xe1\x1f", "after a field"),  # a size update after a field
    (b"\x3f\xe1\x3f", "above"),  # a size update beyond the 4096 allowed
    (b"\x40\x81\xff\x01a", "Huffman"),  # EOS inside a Huffman string
], ids=["integer", "index", "string", "late-update", "big-update", "huffman"])
def test_hpack_refuses_a_malformed_block(block: bytes, why: str) -> None:
    with pytest.raises(H2Error, match=why) as e:
        HpackDecoder().decode(block)
    assert e.value.code == http2.COMPRESSION_ERROR


# ---- the connection --------------------------------------------------------------------


def test_a_bad_preface_is_refused_at_once() -> None:
    with pytest.raises(H2Error, match="preface"):
        ServerConnection().receive(b"GET / HTTP/1.1\r\n")


def test_a_request_split_across_reads_and_continuation_frames() -> None:
    conn, encoder = connected()
    block = encoder.encode(REQUEST)
    wire = (frame(http2.HEADERS, 0, 1, block[:5]) + frame(http2.CONTINUATION, 0, 1, block[5:9])
            + frame(http2.CONTINUATION, http2.END_HEADERS, 1, block[9:])
            + frame(http2.DATA, http2.END_STREAM | http2.PADDED, 1, b"\x03hello\0\0\0"))
    events = []
    for i in range(0, len(wire), 7):  # arriving a few bytes at a time
        events += conn.receive(wire[i:i + 7])
    assert events == [RequestReceived(1, REQUEST, False), DataReceived(1, b"hello", True)]


def test_pings_are_answered_and_settings_acknowledged() -> None:
    conn, _ = connected()
    conn.receive(frame(http2.PING, 0, 0, b"12345678") + frame(http2.SETTINGS, 0, 0))
    assert frames(conn.take_output()) == [(http2.PING, http2.ACK, 0, b"12345678"),
                                          (http2.SETTINGS, http2.ACK, 0, b"")]


def test_data_waits_for_the_clients_window_and_goes_out_in_order() -> None:
    conn, encoder = connected((http2.INITIAL_WINDOW_SIZE, 10))
    open_stream(conn, encoder, 1, end=True)
    conn.send_headers(1, b"\x88")
    conn.send_data(1, b"a" * 25)
    conn.send_trailers(1, b"\x10\x01x\x010")
    out = frames(conn.take_output())
    assert [(k, len(p)) for k, _, _, p in out] == [(http2.HEADERS, 1), (http2.DATA, 10)]
    assert conn.has_pending(1)
    conn.receive(frame(http2.WINDOW_UPDATE, 0, 1, struct.pack(">L", 12)))
    out = frames(conn.take_output())
    assert [(k, p) for k, _, _, p in out] == [(http2.DATA, b"a" * 12)]
    # a larger initial window opens every stream by the difference
    conn.receive(frame(http2.SETTINGS, 0, 0, struct.pack(">HL", http2.INITIAL_WINDOW_SIZE, 100)))
    out = frames(conn.take_output())
    assert [(k, f, p) for k, f, _, p in out] == [
        (http2.SETTINGS, http2.ACK, b""), (http2.DATA, 0, b"aaa"),
        (http2.HEADERS, http2.END_HEADERS | http2.END_STREAM, b"\x10\x01x\x010")]
    assert not conn.has_pending(1)


def test_data_is_split_at_the_clients_frame_size() -> None:
    conn, encoder = connected((http2.INITIAL_WINDOW_SIZE, 1 << 20))
    open_stream(conn, encoder, 1, end=True)
    conn.receive(frame(http2.WINDOW_UPDATE, 0, 0, struct.pack(">L", 1 << 20)))
    conn.send_data(1, b"x" * 40_000, end_stream=True)
    out = frames(conn.take_output())
    assert [(len(p), f) for _, f, _, p in out] == [(16_384, 0), (16_384, 0),
                                                   (40_000 - 32_768, http2.END_STREAM)]


def test_the_connection_window_is_credited_back_as_data_arrives() -> None:
    conn, encoder = connected()
    open_stream(conn, encoder, 1)
    chunk = b"z" * http2.MIN_FRAME_SIZE
    sent = 0
    while sent < http2.RECEIVE_WINDOW // 2:
        conn.receive(frame(http2.DATA, 0, 1, chunk))
        sent += len(chunk)
    updates = [(sid, struct.unpack(">L", p)[0]) for k, _, sid, p in frames(conn.take_output())
               if k == http2.WINDOW_UPDATE]
    assert updates == [(0, http2.RECEIVE_WINDOW // 2), (1, http2.RECEIVE_WINDOW // 2)]


def test_a_client_reset_is_an_event_and_stops_what_waited_for_it() -> None:
    conn, encoder = connected((http2.INITIAL_WINDOW_SIZE, 0))
    open_stream(conn, encoder, 1)
    conn.send_data(1, b"held back")
    assert conn.receive(frame(http2.RST_STREAM, 0, 1, struct.pack(">L", http2.CANCEL))) \
        == [StreamReset(1, http2.CANCEL)]
    assert not conn.has_pending(1)
    conn.take_output()
    conn.receive(frame(http2.WINDOW_UPDATE, 0, 1, struct.pack(">L", 100)))
    conn.receive(frame(http2.DATA, 0, 1, b"late"))  # after a reset: dropped, not an error
    assert [k for k, *_ in frames(conn.take_output())] == []


@pytest.mark.parametrize("wire, code", [
    (frame(http2.HEADERS, http2.END_HEADERS, 2, b"\x82"), http2.PROTOCOL_ERROR),  # even id
    (frame(http2.DATA, 0, 7, b"x"), http2.PROTOCOL_ERROR),  # an idle stream
    (frame(http2.DATA, 0, 0, b"x"), http2.PROTOCOL_ERROR),  # stream 0
    (frame(http2.PING, 0, 0, b"short"), http2.FRAME_SIZE_ERROR),
    (frame(http2.WINDOW_UPDATE, 0, 0, struct.pack(">L", 2**31 - 1)), http2.FLOW_CONTROL_ERROR),
    (frame(http2.PUSH_PROMISE, http2.END_HEADERS, 1, b"\0\0\0\2"), http2.PROTOCOL_ERROR),
    (frame(http2.SETTINGS, 0, 0, struct.pack(">HL", http2.MAX_FRAME_SIZE, 10)),
     http2.PROTOCOL_ERROR),
    (frame(http2.HEADERS, 0, 1, b"\x82") + frame(http2.PING, 0, 0, b"12345678"),
     http2.PROTOCOL_ERROR),  # a frame inside a header block
    (b"\x00\x40\x01" + b"\x00" * 6, http2.FRAME_SIZE_ERROR),  # a frame over 16 KiB
], ids=["even", "idle", "zero", "ping", "window", "push", "frame-size", "interleaved",
        "oversize"])
def test_protocol_errors_end_the_connection_with_their_code(wire: bytes, code: int) -> None:
    conn, _ = connected()
    with pytest.raises(H2Error) as e:
        conn.receive(wire)
    assert e.value.code == code


def test_going_away_refuses_new_streams_and_names_the_last_one() -> None:
    conn, encoder = connected()
    open_stream(conn, encoder, 1)
    conn.close()
    assert conn.receive(frame(http2.HEADERS, http2.END_HEADERS, 3, encoder.encode(REQUEST))) \
        == []
    out = frames(conn.take_output())
    assert (out[0][0], struct.unpack(">LL", out[0][3][:8])) == (http2.GOAWAY, (1, 0))
    assert (out[1][0], out[1][2], out[1][3]) == (http2.RST_STREAM, 3,
                                                 struct.pack(">L", http2.REFUSED_STREAM))


def test_a_small_block_naming_too_many_fields_is_refused() -> None:
    with pytest.raises(H2Error, match="header fields") as e:
        HpackDecoder().decode(b"\x82" * 5000)  # 5,000 times `:method: GET`, 5 KB
    assert e.value.code == http2.ENHANCE_YOUR_CALM
