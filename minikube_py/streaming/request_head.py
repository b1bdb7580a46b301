"""The request head one hop of an upgrade proxy sends to the next, and the response head it
reads back (sans-IO)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


def render_request_head(method: str, target: str, raw_headers: Iterable[tuple[bytes, bytes]],
                        host: str, *, drop: Iterable[str] = ()) -> bytes:
    """The client's headers, in order and with repeats kept (kubectl sends one
    X-Stream-Protocol-Version per protocol it speaks), under a new request line and Host.
    `drop` names headers that must not travel further, such as the client's credentials."""
    if any(c in target for c in "\r\n ") or any(c in host for c in "\r\n "):
        raise ValueError(f"unsafe request target or host: {target!r} {host!r}")
    dropped = {b"host", *(name.lower().encode() for name in drop)}
    lines = [f"{method} {target} HTTP/1.1".encode(), b"Host: " + host.encode()]
    lines += [name + b": " + value for name, value in raw_headers
              if name.lower() not in dropped]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def is_upgrade_request(headers: Mapping[str, str]) -> bool:
    """True when the request asks to switch protocols (Connection: Upgrade plus Upgrade)."""
    tokens = {t.strip().lower() for t in headers.get("Connection", "").split(",")}
    return "upgrade" in tokens and bool(headers.get("Upgrade"))


@dataclass(frozen=True)
class ResponseHead:
    status: int
    headers: dict[str, str]  # lowercase names; a repeated header keeps its last value


def parse_response_head(head: bytes) -> ResponseHead:
    """An HTTP/1.1 status line and headers up to the blank line; ValueError if it is not."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP response: {lines[0][:80]!r}")
    headers = {}
    for line in filter(None, lines[1:]):
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"bad response header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return ResponseHead(int(parts[1]), headers)
