"""SPDY/3.1 frames and header compression: what the encoder writes the decoder reads back,
whole or in pieces, and a peer that is not speaking SPDY/3 is named an error."""

from __future__ import annotations

import struct
import zlib

import pytest

from minikube_py.streaming.spdy import (
    HEADER_DICTIONARY,
    MAX_HEADER_BLOCK,
    DataFrame,
    FrameDecoder,
    FrameEncoder,
    GoAway,
    Ignored,
    Ping,
    RstStream,
    SpdyProtocolError,
    SynReply,
    SynStream,
    decode_header_block,
    encode_header_block,
)


def test_dictionary_is_spdy3s_whose_id_go_peers_check() -> None:
    # 1423 bytes; zlib puts the Adler-32 in the stream header and Go's reader refuses a
    # stream whose dictionary id differs, so this is the value containerd's spdystream has.
    assert len(HEADER_DICTIONARY) == 1423
    assert zlib.adler32(HEADER_DICTIONARY) == 0xE3C6A7C2
    assert HEADER_DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert HEADER_DICTIONARY.endswith(b"utf-,*,enq=0.")


def test_header_block_round_trips_with_lowercase_names() -> None:
    block = encode_header_block((("StreamType", "error"), ("port", "8080")))
    assert block.startswith(struct.pack(">I", 2))
    assert decode_header_block(block) == (("streamtype", "error"), ("port", "8080"))


def test_header_block_that_claims_more_than_it_holds_is_an_error() -> None:
    block = encode_header_block((("a", "b"),))
    with pytest.raises(SpdyProtocolError, match="truncated"):
        decode_header_block(struct.pack(">I", 5) + block[4:])
    with pytest.raises(SpdyProtocolError, match="truncated"):
        decode_header_block(block[:-1])


def test_every_frame_round_trips_through_one_connections_zlib_streams() -> None:
    enc, dec = FrameEncoder(), FrameDecoder()
    wire = (enc.syn_stream(1, (("streamtype", "error"),))
            + enc.syn_stream(3, (("streamtype", "stdin"),), fin=True)
            + enc.syn_reply(2, (("a", "b"),))
            + enc.data(3, b"hello") + enc.data(3, b"", fin=True)
            + enc.rst_stream(5, 5) + enc.ping(7) + enc.goaway(9, 1))
    assert dec.feed(wire) == [
        SynStream(1, (("streamtype", "error"),)), SynStream(3, (("streamtype", "stdin"),), True),
        SynReply(2, (("a", "b"),)), DataFrame(3, b"hello"), DataFrame(3, b"", True),
        RstStream(5, 5), Ping(7), GoAway(9, 1)]


def test_frames_split_anywhere_come_out_whole_and_in_order() -> None:
    enc = FrameEncoder()
    wire = enc.syn_stream(1, (("streamtype", "stdout"),)) + enc.data(1, b"x" * 1000, fin=True)
    dec = FrameDecoder()
    frames = [f for i in range(len(wire)) for f in dec.feed(wire[i:i + 1])]
    assert frames == [SynStream(1, (("streamtype", "stdout"),)), DataFrame(1, b"x" * 1000, True)]


def test_data_over_a_frames_limit_is_split_and_only_the_last_part_ends_the_stream() -> None:
    data = b"y" * (0xFFFFFF + 10)
    frames = FrameDecoder().feed(FrameEncoder().data(1, data, fin=True))
    assert [(len(f.data), f.fin) for f in frames if isinstance(f, DataFrame)] == [
        (0xFFFFFF, False), (10, True)]


def test_settings_and_window_updates_are_read_and_set_aside() -> None:
    settings = struct.pack(">HHI", 0x8003, 4, 12) + struct.pack(">III", 1, 0x07, 65536)
    window = struct.pack(">HHI", 0x8003, 9, 8) + struct.pack(">II", 1, 1024)
    assert FrameDecoder().feed(settings + window) == [Ignored(4), Ignored(9)]


def test_another_spdy_version_is_an_error() -> None:
    frame = struct.pack(">HHI", 0x8002, 6, 4) + struct.pack(">I", 1)
    with pytest.raises(SpdyProtocolError, match="version 2"):
        FrameDecoder().feed(frame)


def test_headers_compressed_without_the_dictionary_are_an_error() -> None:
    z = zlib.compressobj(zdict=b"not spdy's")
    block = z.compress(encode_header_block((("a", "b"),))) + z.flush(zlib.Z_SYNC_FLUSH)
    frame = struct.pack(">HHI", 0x8003, 2, 4 + len(block)) + struct.pack(">I", 1) + block
    with pytest.raises(SpdyProtocolError, match="compression"):
        FrameDecoder().feed(frame)


def test_a_header_block_inflating_past_the_limit_is_an_error() -> None:
    z = zlib.compressobj(zdict=HEADER_DICTIONARY)
    raw = encode_header_block((("big", "z" * (MAX_HEADER_BLOCK + 1)),))
    block = z.compress(raw) + z.flush(zlib.Z_SYNC_FLUSH)
    frame = struct.pack(">HHI", 0x8003, 2, 4 + len(block)) + struct.pack(">I", 1) + block
    with pytest.raises(SpdyProtocolError, match="over"):
        FrameDecoder().feed(frame)


def test_a_control_frame_too_short_for_its_type_is_an_error() -> None:
    with pytest.raises(SpdyProtocolError, match="too short"):
        FrameDecoder().feed(struct.pack(">HHI", 0x8003, 3, 4) + b"\0\0\0\1")
