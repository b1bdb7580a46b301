"""CRI log parsing: partial lines, timestamps, tail, since, byte limit."""

from __future__ import annotations

import pytest

from minikube_py.kubelet.logs import LogOptions, parse_log_lines, render_lines, select_lines

RAW = [
    "2024-01-01T00:00:01.000000001Z stdout F one",
    "2024-01-01T00:00:02.000000000Z stdout P tw",
    "2024-01-01T00:00:02.500000000Z stderr F err",
    "2024-01-01T00:00:03.000000000Z stdout F o",
    "2024-01-01T00:00:04.000000000Z stdout F ",
    "garbage",
]


@pytest.mark.parametrize(("opts", "expected"), [
    (LogOptions(), b"one\nerr\ntwo\n\n"),
    (LogOptions(tail_lines=2), b"two\n\n"),
    (LogOptions(tail_lines=0), b""),
    (LogOptions(timestamps=True, tail_lines=1),
     b"2024-01-01T00:00:04.000000000Z \n"),
    (LogOptions(since_time=1704067202.4), b"err\n\n"),
    (LogOptions(limit_bytes=5), b"one\ne"),
])
def test_log_rendering(opts: LogOptions, expected: bytes) -> None:
    assert render_lines(select_lines(parse_log_lines(RAW), opts), opts) == expected


def test_partial_line_keeps_the_timestamp_of_its_first_record() -> None:
    lines = list(parse_log_lines(RAW))
    assert [(ln.stream, ln.text, ln.timestamp[:19]) for ln in lines][2] == (
        "stdout", "two", "2024-01-01T00:00:02")
