"""Benchmark RaftStore writes (sequential and concurrent) and restart time; prints numbers."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import uvloop

from minikube_py.store.node import RaftStore
from minikube_py.store.types import PutOp

VALUE = os.urandom(1024)


class CountingFsync:
    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, fd: int) -> None:
        with self._lock:
            self.calls += 1
        os.fdatasync(fd)


async def timed_put(store: RaftStore, key: bytes, latencies: list[float]) -> None:
    t0 = time.perf_counter()
    await store.txn([], [PutOp(key, VALUE)], [])
    latencies.append(time.perf_counter() - t0)


def report(name: str, n: int, elapsed: float, latencies: list[float], fsyncs: int) -> None:
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<22} {n / elapsed:9.0f} writes/s  p50 {q[49] * 1e3:6.2f} ms  "
        f"p99 {q[98] * 1e3:6.2f} ms  fsyncs/write {fsyncs / n:.3f}"
    )


async def bench(directory: Path, n: int, inflight: int, restart_keys: int) -> None:
    fsync = CountingFsync()
    store = RaftStore(directory / "w", fsync=fsync)
    await store.start()

    lat: list[float] = []
    f0, t0 = fsync.calls, time.perf_counter()
    for i in range(n):
        await timed_put(store, b"/seq/%08d" % i, lat)
    report("sequential", n, time.perf_counter() - t0, lat, fsync.calls - f0)

    lat = []
    sem = asyncio.Semaphore(inflight)

    async def one(i: int) -> None:
        async with sem:
            await timed_put(store, b"/conc/%08d" % i, lat)

    f0, t0 = fsync.calls, time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    report(f"concurrent ({inflight} in flight)", n, time.perf_counter() - t0, lat, fsync.calls - f0)
    await store.close()

    store = RaftStore(directory / "r", snapshot_entries=10**9)
    await store.start()
    sem = asyncio.Semaphore(256)

    async def fill(i: int) -> None:
        async with sem:
            await store.txn([], [PutOp(b"/registry/pods/default/p%06d" % i, VALUE)], [])

    await asyncio.gather(*(fill(i) for i in range(restart_keys)))
    await store.abort()  # crash: everything must come back from the WAL alone
    t0 = time.perf_counter()
    store = RaftStore(directory / "r")
    await store.start()
    print(f"restart, WAL replay of {restart_keys} keys: {time.perf_counter() - t0:.3f} s")
    await store.close()  # writes a snapshot
    t0 = time.perf_counter()
    store = RaftStore(directory / "r")
    await store.start()
    print(f"restart, from snapshot of {restart_keys} keys: {time.perf_counter() - t0:.3f} s")
    t0 = time.perf_counter()
    for _ in range(20):
        got = await store.range(b"/registry/pods/", b"/registry/pods0")
    print(f"prefix list of {got.count} keys: {(time.perf_counter() - t0) / 20 * 1e3:.2f} ms")
    await store.close()
    print(
        "etcd comparison: not measured (etcd binary not installed)"
        if not shutil.which("etcd")
        else "etcd present: comparison not implemented yet"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--inflight", type=int, default=64)
    parser.add_argument("--restart-keys", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as d:
        uvloop.run(bench(Path(d), args.n, args.inflight, args.restart_keys))


if __name__ == "__main__":
    main()
