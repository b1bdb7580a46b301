#!/usr/bin/env python3
"""RaftStore in-process: write and range rates, fsyncs per write, restart, memory, stalls.

The comparison with etcd 3.4 is scripts/bench_etcd.py (both stores through etcd's v3 gRPC
API, side by side in one run); this script measures what the store itself costs when
called in-process, as the API server calls it.

Default mode: N sequential 1 KiB puts, N 1 KiB puts with --inflight (64) in flight, and
sequential ranges over a prefix of --list-keys (1000) keys, with fsyncs per write
(fdatasyncs of the WAL, counted by wrapping the injected fsync); then restart times (WAL
replay, snapshot load).

Two more modes, each in a process of its own:
--memory: the process's RSS with --keys (32,000) 1 KiB keys, after --seconds (60) of
overwrites by 32 clients, after compacting to the current revision, and after the same
load and compaction once more (does the second round reuse what the first freed?).
--snapshot-stall: the worst event-loop stall while a snapshot of --keys 1 KiB keys is taken
under a write load, seen by a task that sleeps 1 ms at a time (what a /readyz probe waits).

Usage: scripts/bench_store.py [-n 2000] [--inflight 64] [--list-keys 1000]
       scripts/bench_store.py --memory [--keys 32000] [--seconds 60]
       scripts/bench_store.py --snapshot-stall [--keys 32000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minikube_py.store.node import RaftStore
from minikube_py.store.types import PutOp

VALUE = os.urandom(1024)
LIST_REPEATS = 50


@dataclass
class Result:
    store: str
    mode: str
    n: int
    elapsed: float
    latencies: list[float]
    cpu: float  # CPU seconds this Python process used
    fsyncs: int | None = None

    @property
    def rate(self) -> float:
        return self.n / self.elapsed

    def quantile(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1e3


class CountingFsync:
    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, fd: int) -> None:
        with self._lock:
            self.calls += 1
        os.fdatasync(fd)


async def run_mode(
    store: str,
    mode: str,
    op: Callable[[int], Awaitable[object]],
    n: int,
    inflight: int,
    fsyncs: Callable[[], Awaitable[int]] | None = None,
) -> Result:
    """Run op(0..n-1) with `inflight` at a time (1: sequentially), timing each call."""
    latencies: list[float] = []
    sem = asyncio.Semaphore(inflight)

    async def one(i: int) -> None:
        async with sem:
            t0 = time.perf_counter()
            await op(i)
            latencies.append(time.perf_counter() - t0)

    f0 = await fsyncs() if fsyncs else 0
    c0, t0 = time.process_time(), time.perf_counter()
    if inflight == 1:
        for i in range(n):
            await one(i)
    else:
        await asyncio.gather(*(one(i) for i in range(n)))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    f1 = await fsyncs() if fsyncs else 0
    return Result(store, mode, n, elapsed, latencies, cpu, f1 - f0 if fsyncs else None)


# ---- ours -------------------------------------------------------------------------


async def bench_ours(directory: Path, n: int, inflight: int, list_keys: int) -> list[Result]:
    fsync = CountingFsync()
    store = RaftStore(directory / "w", fsync=fsync)
    await store.start()

    async def calls() -> int:
        return fsync.calls

    def put(prefix: bytes) -> Callable[[int], Awaitable[object]]:
        return lambda i: store.txn([], [PutOp(b"%s%08d" % (prefix, i), VALUE)], [])

    results = [
        await run_mode("ours", "put sequential", put(b"/seq/"), n, 1, calls),
        await run_mode("ours", f"put {inflight} in flight", put(b"/conc/"), n, inflight, calls),
    ]
    await run_mode("ours", "fill", put(b"/list/"), list_keys, inflight)
    results.append(
        await run_mode(
            "ours",
            f"range {list_keys} keys",
            lambda _: store.range(b"/list/", b"/list0"),
            LIST_REPEATS,
            1,
        )
    )
    got = await store.range(b"/list/", b"/list0")
    assert got.count == list_keys, got.count
    await store.close()
    return results


async def bench_restart(directory: Path, keys: int, inflight: int) -> None:
    store = RaftStore(directory / "r", snapshot_entries=10**9)
    await store.start()
    await run_mode(
        "ours",
        "fill",
        lambda i: store.txn([], [PutOp(b"/registry/pods/default/p%06d" % i, VALUE)], []),
        keys,
        inflight,
    )
    await store.abort()  # crash: everything must come back from the WAL alone
    t0 = time.perf_counter()
    store = RaftStore(directory / "r")
    await store.start()
    print(f"ours: restart, WAL replay of {keys} keys: {time.perf_counter() - t0:.3f} s")
    await store.close()  # writes a snapshot
    t0 = time.perf_counter()
    store = RaftStore(directory / "r")
    await store.start()
    print(f"ours: restart, from snapshot of {keys} keys: {time.perf_counter() - t0:.3f} s")
    await store.close()


# ---- memory and snapshot stalls (ours only) -----------------------------------------


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def key_of(i: int) -> bytes:
    return b"/registry/configmaps/default/cm-%06d" % i


async def fill(store: RaftStore, keys: int, inflight: int) -> None:
    """Put keys 0..keys-1 from `inflight` writers (not one task per key: 32,000 pending
    tasks would weigh in the RSS measured)."""
    todo = iter(range(keys))

    async def writer() -> None:
        for i in todo:
            await store.txn([], [PutOp(key_of(i), VALUE)], [])

    await asyncio.gather(*(writer() for _ in range(inflight)))


async def overwrite(store: RaftStore, keys: int, *, clients: int, seconds: float = 0.0,
                    writes: int = 0) -> int:
    """Overwrite random keys from `clients` concurrent writers, for `seconds` or `writes`."""
    rng = random.Random(1)
    deadline = time.monotonic() + seconds
    done = 0

    async def client() -> None:
        nonlocal done
        while (time.monotonic() < deadline) if seconds else (done < writes):
            done += 1
            await store.txn([], [PutOp(key_of(rng.randrange(keys)), VALUE)], [])

    await asyncio.gather(*(client() for _ in range(clients)))
    return done


async def bench_memory(directory: Path, keys: int, seconds: float, inflight: int) -> None:
    store = RaftStore(directory / "m")
    await store.start()
    gc.collect()
    print(f"RSS, one member, fsync on, {keys} keys of 1 KiB:")
    print(f"  {'started':<40} {rss_mb():6.0f} MB")
    await fill(store, keys, inflight)
    gc.collect()
    print(f"  {f'after {keys} puts':<40} {rss_mb():6.0f} MB")
    writes = await overwrite(store, keys, clients=32, seconds=seconds)
    gc.collect()
    print(f"  {f'after {seconds:.0f} s of overwrites ({writes})':<40} {rss_mb():6.0f} MB")
    await store.compact(store.revision)
    await asyncio.sleep(0.5)  # let the store return what compaction freed
    gc.collect()
    print(f"  {'after compaction':<40} {rss_mb():6.0f} MB")
    # the same load again: memory freed by compaction is reused, or the growth repeats
    writes = await overwrite(store, keys, clients=32, seconds=seconds)
    await store.compact(store.revision)
    await asyncio.sleep(0.5)
    gc.collect()
    print(f"  {f'after {seconds:.0f} s more ({writes}), compacted':<40} {rss_mb():6.0f} MB")
    await store.close()


async def bench_snapshot_stall(directory: Path, keys: int, inflight: int) -> None:
    """Fill, then overwrite under a 1 ms ticker while the store crosses one snapshot."""
    extra = keys // 8
    store = RaftStore(directory / "s", snapshot_entries=keys + extra)
    await store.start()
    await fill(store, keys, inflight)
    snaps = directory / "s" / "snap"
    before = len(list(snaps.glob("*.snap")))
    stalls: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(0.001)
            stalls.append(time.perf_counter() - t0 - 0.001)

    tick = asyncio.create_task(ticker())
    t0 = time.perf_counter()
    writes = await overwrite(store, keys, clients=32, writes=2 * extra)
    elapsed = time.perf_counter() - t0
    stop.set()
    await tick
    taken = len(list(snaps.glob("*.snap"))) - before
    stalls.sort()
    print(f"snapshot of {keys} keys of 1 KiB under {writes} overwrites from 32 clients "
          f"({writes / elapsed:.0f} writes/s), {taken} snapshot(s) taken:")
    print(f"  worst event-loop stall {stalls[-1] * 1e3:.1f} ms, "
          f"p99 {stalls[int(len(stalls) * 0.99)] * 1e3:.1f} ms over {len(stalls)} ticks")
    await store.close()


# ---- report -------------------------------------------------------------------------


def print_table(results: list[Result]) -> None:
    print(
        f"{'store':<6} {'mode':<18} {'ops/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'fsyncs/write':>12} {'py CPU':>7}"
    )
    for r in results:
        fs = "" if r.fsyncs is None else f"{r.fsyncs / r.n:.3f}"
        print(
            f"{r.store:<6} {r.mode:<18} {r.rate:8.0f} {r.quantile(50):7.2f} "
            f"{r.quantile(99):7.2f} {fs:>12} {r.cpu / r.elapsed:6.0%}"
        )


async def bench(args: argparse.Namespace, directory: Path) -> None:
    results = await bench_ours(directory, args.n, args.inflight, args.list_keys)
    print(f"1 KiB values, n={args.n}, {LIST_REPEATS} ranges; CPUs: {os.cpu_count()}")
    print_table(results)
    print("py CPU = this process's CPU time / wall time. Against etcd: scripts/bench_etcd.py")
    await bench_restart(directory, args.restart_keys, args.inflight)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=2000, help="puts per write mode")
    parser.add_argument("--inflight", type=int, default=64)
    parser.add_argument("--list-keys", type=int, default=1000, help="keys under the ranged prefix")
    parser.add_argument("--restart-keys", type=int, default=10_000)
    parser.add_argument("--memory", action="store_true", help="measure RSS only")
    parser.add_argument("--snapshot-stall", action="store_true",
                        help="measure event-loop stalls during a snapshot only")
    parser.add_argument("--keys", type=int, default=32_000, help="keys for --memory/--snapshot-stall")
    parser.add_argument("--seconds", type=float, default=60.0, help="overwrites for --memory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as d:
        if args.memory:
            uvloop.run(bench_memory(Path(d), args.keys, args.seconds, args.inflight))
        elif args.snapshot_stall:
            uvloop.run(bench_snapshot_stall(Path(d), args.keys, args.inflight))
        else:
            uvloop.run(bench(args, Path(d)))


if __name__ == "__main__":
    main()
