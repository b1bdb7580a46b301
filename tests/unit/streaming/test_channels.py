"""v5.channel.k8s.io to the runtime's SPDY streams: the translator wired to a runtime made of
the same SPDY codec, no sockets."""

from __future__ import annotations

from minikube_py.streaming.channels import (
    CLOSE,
    ERROR,
    RESIZE,
    STDERR,
    STDIN,
    STDOUT,
    ExecStreams,
    ExecTranslator,
    offered_protocols,
)
from minikube_py.streaming.spdy import (
    RST_REFUSED_STREAM,
    DataFrame,
    FrameDecoder,
    FrameEncoder,
    Ping,
    RstStream,
    SynStream,
)

ALL = ExecStreams(stdin=True, stdout=True, stderr=True, tty=False)
STATUS = b'{"metadata":{},"status":"Failure","reason":"NonZeroExitCode"}'


class Runtime:
    """The runtime's end: reads what the translator sends, writes what a test makes it."""

    def __init__(self) -> None:
        self.decoder, self.encoder = FrameDecoder(), FrameEncoder()
        self.stream_ids: dict[str, int] = {}

    def read(self, wire: bytes) -> list[object]:
        frames: list[object] = list(self.decoder.feed(wire))
        for f in frames:
            if isinstance(f, SynStream):
                self.stream_ids[dict(f.headers)["streamtype"]] = f.stream_id
        return frames

    def write(self, stream_type: str, data: bytes, *, fin: bool = False) -> bytes:
        return self.encoder.data(self.stream_ids[stream_type], data, fin=fin)


def started(streams: ExecStreams = ALL) -> tuple[ExecTranslator, Runtime]:
    translator, runtime = ExecTranslator(streams), Runtime()
    runtime.read(translator.open())
    return translator, runtime


def test_streams_opened_are_those_the_runtime_expects_error_first() -> None:
    frames = Runtime().read(ExecTranslator(ALL).open())
    assert [(f.stream_id, dict(f.headers)) for f in frames if isinstance(f, SynStream)] == [
        (1, {"streamtype": "error"}), (3, {"streamtype": "stdin"}),
        (5, {"streamtype": "stdout"}), (7, {"streamtype": "stderr"})]


def test_a_tty_session_opens_resize_and_no_stream_not_asked_for() -> None:
    _, runtime = started(ExecStreams(stdin=True, stdout=True, stderr=False, tty=True))
    assert set(runtime.stream_ids) == {"error", "stdin", "stdout", "resize"}


def test_stdin_and_resize_messages_become_data_on_their_streams() -> None:
    translator, runtime = started(ExecStreams(stdin=True, stdout=True, stderr=False, tty=True))
    size = b'{"Width":80,"Height":24}'
    wire = translator.from_client(bytes([STDIN]) + b"ls\n")
    wire += translator.from_client(bytes([RESIZE]) + size)
    assert runtime.read(wire) == [DataFrame(runtime.stream_ids["stdin"], b"ls\n"),
                                  DataFrame(runtime.stream_ids["resize"], size)]


def test_close_signal_for_stdin_ends_the_stdin_stream_once() -> None:
    translator, runtime = started()
    assert runtime.read(translator.from_client(bytes([CLOSE, STDIN]))) == [
        DataFrame(runtime.stream_ids["stdin"], b"", fin=True)]
    assert translator.from_client(bytes([CLOSE, STDIN])) == b""
    assert translator.from_client(bytes([STDIN]) + b"late") == b""


def test_messages_for_channels_the_runtime_does_not_read_are_dropped() -> None:
    translator, _ = started(ExecStreams(stdin=False, stdout=True, stderr=True, tty=False))
    for message in (bytes([STDIN]) + b"x", bytes([STDOUT]) + b"x", bytes([RESIZE]) + b"{}",
                    bytes([9]) + b"x", bytes([CLOSE, STDOUT]), bytes([CLOSE]), b""):
        assert translator.from_client(message) == b""


def test_runtime_output_and_status_become_channel_messages_in_order() -> None:
    translator, runtime = started()
    out = translator.from_runtime(runtime.write("stdout", b"out") + runtime.write("stderr", b"e")
                                  + runtime.write("error", STATUS))
    assert out.messages == [bytes([STDOUT]) + b"out", bytes([STDERR]) + b"e",
                            bytes([ERROR]) + STATUS]
    assert not out.finished


def test_session_is_over_once_every_output_stream_ended() -> None:
    translator, runtime = started()
    assert not translator.from_runtime(runtime.write("stdout", b"", fin=True)).finished
    assert not translator.from_runtime(runtime.write("error", STATUS, fin=True)).finished
    out = translator.from_runtime(runtime.encoder.rst_stream(runtime.stream_ids["stderr"], 5))
    assert out.finished and out.messages == []


def test_goaway_ends_the_session() -> None:
    translator, runtime = started()
    assert translator.from_runtime(runtime.encoder.goaway(0)).finished


def test_runtime_pings_are_answered_and_its_pushed_streams_refused() -> None:
    translator, runtime = started()
    out = translator.from_runtime(runtime.encoder.ping(2) + runtime.encoder.syn_stream(
        2, (("streamtype", "data"),)))
    assert runtime.read(out.reply) == [Ping(2), RstStream(2, RST_REFUSED_STREAM)]


def test_offered_protocols_keep_the_clients_order() -> None:
    assert offered_protocols(" v5.channel.k8s.io, v4.channel.k8s.io,,") == [
        "v5.channel.k8s.io", "v4.channel.k8s.io"]
    assert offered_protocols("") == []
