"""Parse CRI container log files (`<RFC3339Nano> <stdout|stderr> <F|P> <text>`) into what
`kubectl logs` shows: partial lines joined, optional timestamps, tail, since and byte limits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class LogLine:
    timestamp: str  # as written by the runtime (RFC3339Nano)
    stream: str  # stdout | stderr
    text: str  # without the trailing newline

    def render(self, timestamps: bool) -> str:
        return f"{self.timestamp} {self.text}\n" if timestamps else f"{self.text}\n"


@dataclass(frozen=True, slots=True)
class LogOptions:
    timestamps: bool = False
    tail_lines: int | None = None
    since_time: float | None = None  # unix seconds; lines older than this are dropped
    limit_bytes: int | None = None


def parse_cri_record(raw: str) -> tuple[str, str, bool, str] | None:
    """(timestamp, stream, is_full, text) of one record, or None for a malformed one."""
    parts = raw.split(" ", 3)
    if len(parts) < 3:
        return None
    ts, stream, tag = parts[0], parts[1], parts[2]
    text = parts[3] if len(parts) == 4 else ""
    if stream not in ("stdout", "stderr"):
        return None
    return ts, stream, not tag.startswith("P"), text


class LogAssembler:
    """Feeds raw records (one per line of the file) and yields whole log lines; a P record is
    held until the F record of the same stream completes it."""

    def __init__(self) -> None:
        self._partial: dict[str, tuple[str, list[str]]] = {}

    def feed(self, raw: str) -> LogLine | None:
        record = parse_cri_record(raw.rstrip("\n"))
        if record is None:
            return None
        ts, stream, full, text = record
        pending = self._partial.get(stream)
        if not full:
            if pending is None:
                self._partial[stream] = (ts, [text])
            else:
                pending[1].append(text)
            return None
        if pending is not None:
            del self._partial[stream]
            return LogLine(pending[0], stream, "".join([*pending[1], text]))
        return LogLine(ts, stream, text)


def parse_log_lines(raw_lines: Iterable[str]) -> Iterator[LogLine]:
    assembler = LogAssembler()
    for raw in raw_lines:
        line = assembler.feed(raw)
        if line is not None:
            yield line


def parse_timestamp(ts: str) -> float:
    """RFC3339Nano to unix seconds (fraction truncated to microseconds)."""
    main, _, frac = ts.rstrip("Z").partition(".")
    base = datetime.fromisoformat(main + "+00:00").timestamp()
    return base + (float("0." + frac[:6]) if frac else 0.0)


def select_lines(lines: Iterable[LogLine], opts: LogOptions) -> list[LogLine]:
    """Apply sinceTime then tailLines (the order kubectl documents)."""
    selected = [ln for ln in lines
                if opts.since_time is None or parse_timestamp(ln.timestamp) >= opts.since_time]
    if opts.tail_lines is not None:
        selected = selected[-opts.tail_lines:] if opts.tail_lines > 0 else []
    return selected


def render_lines(lines: Iterable[LogLine], opts: LogOptions) -> bytes:
    data = "".join(ln.render(opts.timestamps) for ln in lines).encode()
    if opts.limit_bytes is not None:
        data = data[: opts.limit_bytes]
    return data
