#!/usr/bin/env python3
"""Benchmark streaming a snapshot between two PeerTransports over loopback mutual TLS.

Prints, for a --mib (64) MiB snapshot sent in --chunk-kib (1024) KiB chunks: the time until
the receiver holds it whole, the throughput, and the worst delay of a heartbeat sent every
10 ms during the transfer (what the chunking is for: a follower keeps hearing its leader).
The anchor, in the same run: one append message of 15 MiB (under the 16 MiB frame limit) in
a single frame, as a snapshot travelled before chunking, with the same heartbeats. Both
ends share this process's event loop, so the delays include the receiver's work.

Usage: scripts/bench_snapshot_stream.py [--mib 64] [--chunk-kib 1024]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minikube_py.store.raft import Entry, Message, MessageType, Snapshot, SnapshotMeta
from minikube_py.store.transport import PeerTransport
from tests.certs import make_test_pki

LOOPBACK = "127.0.0.1"
CLUSTER = 0xBE


async def run_one(pki_dir: Path, big: Message, chunk: int) -> tuple[float, float, float]:
    """Seconds until `big` arrived, and the median and worst heartbeat delays meanwhile."""
    pki = make_test_pki(pki_dir)
    sent_at: dict[int, float] = {}
    delays: list[float] = []
    done = asyncio.Event()

    def on_message(m: Message) -> None:
        if m.type is MessageType.HEARTBEAT:
            delays.append(time.perf_counter() - sent_at[m.term])
        else:
            done.set()

    def transport(member: int, peers: dict[int, tuple[str, int]],
                  deliver: object) -> PeerTransport:
        return PeerTransport(member, CLUSTER, LOOPBACK, 0, pki.member_server(CLUSTER, member),
                             pki.member_client(CLUSTER, member), peers,
                             deliver,  # type: ignore[arg-type]
                             snapshot_chunk_size=chunk)

    b = transport(2, {1: (LOOPBACK, 1)}, on_message)  # it only needs to know member 1
    await b.start()
    a = transport(1, {2: (LOOPBACK, b.port)}, lambda m: None)
    await a.start()
    try:
        deadline = time.monotonic() + 10
        while not a.stats()[2].connected:
            if time.monotonic() > deadline:
                raise SystemExit(f"member 1 never reached member 2: {a.stats()[2].last_error}")
            await asyncio.sleep(0.01)
        start = time.perf_counter()
        a.send([big])
        term = 0
        while not done.is_set():
            if time.perf_counter() - start > 120:
                raise SystemExit(f"no transfer after 120 s: {a.stats()[2]}")
            term += 1
            sent_at[term] = time.perf_counter()
            a.send([Message(MessageType.HEARTBEAT, to=2, frm=1, term=term)])
            try:
                await asyncio.wait_for(done.wait(), 0.01)
            except TimeoutError:
                pass
        elapsed = time.perf_counter() - start
        return elapsed, statistics.median(delays or [0.0]), max(delays, default=0.0)
    finally:
        await a.close()
        await b.close()


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mib", type=int, default=64)
    p.add_argument("--chunk-kib", type=int, default=1024)
    args = p.parse_args()
    size = args.mib * 1024 * 1024
    snap = Message(MessageType.SNAP, to=2, frm=1, term=1,
                   snapshot=Snapshot(SnapshotMeta(10, 1, (1, 2)), os.urandom(size)))
    anchor_size = 15 * 1024 * 1024
    anchor = Message(MessageType.APP, to=2, frm=1, term=1,
                     entries=(Entry(1, 1, os.urandom(anchor_size)),))
    with tempfile.TemporaryDirectory() as d:
        t_snap, med_snap, hb_snap = await run_one(Path(d) / "a", snap, args.chunk_kib * 1024)
        t_one, med_one, hb_one = await run_one(Path(d) / "b", anchor, args.chunk_kib * 1024)
    rate_snap, rate_one = args.mib / t_snap, 15 / t_one
    print(f"chunked snapshot {args.mib} MiB in {args.chunk_kib} KiB chunks: {t_snap:.3f} s, "
          f"{rate_snap:.0f} MiB/s, heartbeat delay median {med_snap * 1000:.1f} ms, "
          f"worst {hb_snap * 1000:.1f} ms")
    print(f"anchor: one 15 MiB frame: {t_one:.3f} s, {rate_one:.0f} MiB/s, "
          f"heartbeat delay median {med_one * 1000:.1f} ms, worst {hb_one * 1000:.1f} ms")
    print(f"throughput ratio chunked/anchor: {rate_snap / rate_one:.2f}; "
          f"heartbeat delay ratio: {hb_snap / hb_one if hb_one else float('nan'):.2f}")


if __name__ == "__main__":
    asyncio.run(main())
