"""The UDP front of cluster DNS refuses at once when too many queries are in flight."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from dnslib import RCODE, DNSRecord

from minikube_py.dns import server


class Stalled:
    """A resolver whose answers never come (every upstream silent)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def resolve(self, data: bytes, max_size: int | None = None) -> bytes | None:
        await self.release.wait()
        return None


class Recorder:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendto(self, data: bytes, addr: Any) -> None:
        self.sent.append(data)


async def test_queries_beyond_the_limit_get_servfail_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "MAX_QUERIES_IN_FLIGHT", 3)
    resolver = Stalled()
    udp = server._UdpServer(resolver)  # type: ignore[arg-type]
    wire = Recorder()
    udp.connection_made(wire)  # type: ignore[arg-type]
    for i in range(5):
        udp.datagram_received(DNSRecord.question(f"host{i}.example.").pack(), ("127.0.0.1", 9))
    assert len(udp.tasks) == 3
    assert [DNSRecord.parse(r).header.rcode for r in wire.sent] == [RCODE.SERVFAIL] * 2
    resolver.release.set()
    await asyncio.gather(*udp.tasks)
    assert not udp.tasks
