"""kube's v5.channel.k8s.io WebSocket protocol for exec and attach, translated to and from the
SPDY streams of a runtime's streaming server (sans-IO), as kube's StreamTranslator does.

Every WebSocket message is one channel's: a first byte naming it (0 stdin, 1 stdout,
2 stderr, 3 error, 4 resize) and its bytes. v5 adds channel 255, CLOSE, whose one data byte
names a channel the client is done writing (stdin's end). The error channel carries the
metav1.Status the runtime writes on its SPDY error stream, byte for byte, so kubectl reads the
exit code as it would over SPDY; resize carries TerminalSize JSON, again byte for byte."""

from __future__ import annotations

from dataclasses import dataclass, field

from minikube_py.streaming.spdy import (
    RST_REFUSED_STREAM,
    DataFrame,
    FrameDecoder,
    FrameEncoder,
    GoAway,
    Ping,
    RstStream,
    SynStream,
)

V5_PROTOCOL = "v5.channel.k8s.io"
# What the runtime's SPDY streaming server is asked for: the newest it speaks, whose error
# stream carries a metav1.Status for every end (v4 is also what v5's status format is).
RUNTIME_EXEC_PROTOCOL = "v4.channel.k8s.io"

STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
CLOSE = 255
_STREAM_TYPES = {ERROR: "error", STDIN: "stdin", STDOUT: "stdout", STDERR: "stderr",
                 RESIZE: "resize"}
_FROM_CLIENT = frozenset({STDIN, RESIZE})
_TO_CLIENT = frozenset({STDOUT, STDERR, ERROR})


def offered_protocols(header: str) -> list[str]:
    """Sec-WebSocket-Protocol's list, in the client's order."""
    return [p.strip() for p in header.split(",") if p.strip()]


@dataclass(frozen=True)
class ExecStreams:
    """Which streams the runtime was told to expect (CRI's Exec/Attach request): it waits for
    exactly these, error first, resize only with a tty."""
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool

    def channels(self) -> list[int]:
        wanted = {ERROR: True, STDIN: self.stdin, STDOUT: self.stdout, STDERR: self.stderr,
                  RESIZE: self.tty}
        return [channel for channel, on in wanted.items() if on]


@dataclass
class RuntimeOutput:
    """What bytes from the runtime turned into: WebSocket messages for the client, SPDY bytes
    to answer the runtime with (pings, refused pushes), and whether the session is over."""
    messages: list[bytes] = field(default_factory=list)
    reply: bytes = b""
    finished: bool = False


class ExecTranslator:
    """One exec or attach session: v5 channels on the client's side, SPDY streams (client
    initiated, odd ids from 1) on the runtime's."""

    def __init__(self, streams: ExecStreams) -> None:
        self._encoder = FrameEncoder()
        self._decoder = FrameDecoder()
        self._stream_of = {ch: 1 + 2 * i for i, ch in enumerate(streams.channels())}
        self._channel_of = {sid: ch for ch, sid in self._stream_of.items()}
        self._open_from_client = {ch for ch in self._stream_of if ch in _FROM_CLIENT}
        self._open_to_client = {sid for ch, sid in self._stream_of.items() if ch in _TO_CLIENT}

    def open(self) -> bytes:
        """The SYN_STREAMs that start the session, as kubectl's SPDY executor sends them."""
        return b"".join(
            self._encoder.syn_stream(sid, (("streamtype", _STREAM_TYPES[ch]),))
            for ch, sid in self._stream_of.items())

    def from_client(self, message: bytes) -> bytes:
        """SPDY bytes for one binary WebSocket message. Data for a channel the runtime does
        not read is dropped, as kube's wsstream does with a frame for no reader."""
        if not message:
            return b""
        channel, data = message[0], message[1:]
        if channel == CLOSE:
            closing = data[0] if data else -1
            if closing in self._open_from_client:
                self._open_from_client.discard(closing)
                return self._encoder.data(self._stream_of[closing], b"", fin=True)
            return b""
        if channel in self._open_from_client and data:
            return self._encoder.data(self._stream_of[channel], data)
        return b""

    def from_runtime(self, data: bytes) -> RuntimeOutput:
        out = RuntimeOutput()
        for frame in self._decoder.feed(data):
            if isinstance(frame, DataFrame):
                channel = self._channel_of.get(frame.stream_id)
                if channel in _TO_CLIENT and frame.data:
                    out.messages.append(bytes([channel]) + frame.data)
                if frame.fin:
                    self._open_to_client.discard(frame.stream_id)
            elif isinstance(frame, RstStream):
                self._open_to_client.discard(frame.stream_id)
                channel = self._channel_of.get(frame.stream_id)
                if channel in self._open_from_client:
                    self._open_from_client.discard(channel)
            elif isinstance(frame, Ping):
                if frame.ping_id % 2 == 0:  # the runtime's own; odd ids would answer ours
                    out.reply += self._encoder.ping(frame.ping_id)
            elif isinstance(frame, SynStream):
                out.reply += self._encoder.rst_stream(frame.stream_id, RST_REFUSED_STREAM)
            elif isinstance(frame, GoAway):
                out.finished = True
        if not self._open_to_client:
            out.finished = True
        return out
