#!/usr/bin/env python3
"""Benchmark RaftStore against etcd 3.4 with the same workload, in the same run.

Workload, for both stores: N sequential 1 KiB puts, N 1 KiB puts with --inflight (64) in
flight, and sequential ranges over a prefix of --list-keys (1000) keys. Our numbers also
include fsyncs per write (fdatasyncs of the WAL, counted by wrapping the injected fsync)
and restart times (WAL replay, snapshot load).

The anchor: a one-member etcd (the `etcd` binary, e.g. Debian's etcd-server 3.4) on
loopback ports with a temporary data dir, driven from Python through its v3 gRPC-gateway
JSON API (`POST /v3/kv/put`, `/v3/kv/range`, base64 keys and values) over one keep-alive
aiohttp session. So the etcd rows measure etcd plus HTTP/JSON: what our API server would
pay calling an external etcd. Ours is called in-process, which is what it actually pays.
etcd's fsyncs per write are its WAL fsyncs, read from its /metrics.
If `etcd` is not installed the anchor is skipped and only our numbers are printed.

Two more modes measure the store alone (no etcd), each in a process of its own:
--memory: the process's RSS with --keys (32,000) 1 KiB keys, after --seconds (60) of
overwrites by 32 clients, after compacting to the current revision, and after the same
load and compaction once more (does the second round reuse what the first freed?).
--snapshot-stall: the worst event-loop stall while a snapshot of --keys 1 KiB keys is taken
under a write load, seen by a task that sleeps 1 ms at a time (what a /readyz probe waits).

Usage: scripts/bench_store.py [-n 2000] [--inflight 64] [--list-keys 1000] [--etcd PATH]
       scripts/bench_store.py --memory [--keys 32000] [--seconds 60]
       scripts/bench_store.py --snapshot-stall [--keys 32000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minikube_py.store.node import RaftStore
from minikube_py.store.types import PutOp

VALUE = os.urandom(1024)
VALUE_B64 = base64.b64encode(VALUE).decode()
LIST_REPEATS = 50
INSTALL_HINT = "apt-get install -y etcd-server etcd-client"


@dataclass
class Result:
    store: str
    mode: str
    n: int
    elapsed: float
    latencies: list[float]
    cpu: float  # CPU seconds this Python process used (for etcd: the client side)
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


# ---- etcd -------------------------------------------------------------------------


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn_etcd(binary: str, data_dir: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start a one-member etcd listening on free loopback ports only; returns its client URL."""
    client = f"http://127.0.0.1:{free_loopback_port()}"
    peer = f"http://127.0.0.1:{free_loopback_port()}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                binary,
                "--name=default",
                f"--data-dir={data_dir}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=default={peer}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return proc, client


def stop_etcd(proc: subprocess.Popen[bytes], data_dir: Path) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def etcd_server(binary: str, directory: Path) -> AsyncIterator[str]:
    """A one-member etcd with a temp data dir, healthy on entry; killed and removed on exit."""
    data_dir, log_path = directory / "etcd", directory / "etcd.log"
    proc, client = spawn_etcd(binary, data_dir, log_path)
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 15
            while True:
                if proc.poll() is not None:
                    tail = log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"etcd exited with {proc.returncode}:\n{tail}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{client}/health") as r:
                        if r.status == 200 and '"health":"true"' in await r.text():
                            break
                if time.monotonic() > deadline:
                    raise RuntimeError("etcd did not become healthy within 15 s")
                await asyncio.sleep(0.1)
        yield client
    finally:
        stop_etcd(proc, data_dir)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


async def bench_etcd(
    binary: str, directory: Path, n: int, inflight: int, list_keys: int
) -> tuple[list[Result], str]:
    async with etcd_server(binary, directory) as url:
        connector = aiohttp.TCPConnector(limit=inflight)  # 64 by default
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

            async def post(path: str, body: dict[str, str]) -> dict[str, object]:
                async with http.post(url + path, data=json.dumps(body)) as r:
                    r.raise_for_status()
                    body_out: dict[str, object] = await r.json(content_type=None)
                    return body_out

            async def get(path: str) -> str:
                async with http.get(url + path) as r:
                    return await r.text()

            version = json.loads(await get("/version")).get("etcdserver", "?")

            async def wal_fsyncs() -> int:
                for line in (await get("/metrics")).splitlines():
                    if line.startswith("etcd_disk_wal_fsync_duration_seconds_count "):
                        return int(float(line.split()[1]))
                raise RuntimeError("etcd /metrics has no WAL fsync count")

            def put(prefix: bytes) -> Callable[[int], Awaitable[object]]:
                return lambda i: post(
                    "/v3/kv/put", {"key": b64(b"%s%08d" % (prefix, i)), "value": VALUE_B64}
                )

            async def list_prefix(_: int) -> dict[str, object]:
                return await post(
                    "/v3/kv/range", {"key": b64(b"/list/"), "range_end": b64(b"/list0")}
                )

            results = [
                await run_mode("etcd", "put sequential", put(b"/seq/"), n, 1, wal_fsyncs),
                await run_mode(
                    "etcd", f"put {inflight} in flight", put(b"/conc/"), n, inflight, wal_fsyncs
                ),
            ]
            await run_mode("etcd", "fill", put(b"/list/"), list_keys, inflight)
            results.append(
                await run_mode("etcd", f"range {list_keys} keys", list_prefix, LIST_REPEATS, 1)
            )
            got = await list_prefix(0)
            assert int(str(got["count"])) == list_keys, got["count"]
            return results, version


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
    etcd = {r.mode: r for r in results if r.store == "etcd"}
    for r in results:
        if r.store == "ours" and r.mode in etcd:
            e = etcd[r.mode]
            print(
                f"ours/etcd  {r.mode:<18} ops/s x{r.rate / e.rate:.3g}  "
                f"p50 x{r.quantile(50) / e.quantile(50):.3g}  "
                f"p99 x{r.quantile(99) / e.quantile(99):.3g}"
            )


async def bench(args: argparse.Namespace, directory: Path) -> None:
    results = await bench_ours(directory, args.n, args.inflight, args.list_keys)
    binary = shutil.which(args.etcd)
    note = ""
    if binary is None:
        note = f"etcd anchor skipped: {args.etcd!r} not found (install: {INSTALL_HINT})"
    else:
        etcd_results, version = await bench_etcd(
            binary, directory, args.n, args.inflight, args.list_keys
        )
        results += etcd_results
        note = (
            f"etcd {version}, one member on loopback, via the v3 JSON gateway over one "
            "keep-alive aiohttp session: etcd + HTTP/JSON, what our API server would pay "
            "calling an external etcd; ours is in-process. etcd fsyncs = WAL fsyncs (/metrics). "
            "py CPU = this process's CPU time / wall time (for etcd rows: the client's share)."
        )
    print(f"1 KiB values, n={args.n}, {LIST_REPEATS} ranges; CPUs: {os.cpu_count()}")
    print_table(results)
    print(note)
    await bench_restart(directory, args.restart_keys, args.inflight)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=2000, help="puts per write mode")
    parser.add_argument("--inflight", type=int, default=64)
    parser.add_argument("--list-keys", type=int, default=1000, help="keys under the ranged prefix")
    parser.add_argument("--restart-keys", type=int, default=10_000)
    parser.add_argument("--etcd", default="etcd", help="etcd binary (name on PATH or path)")
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
