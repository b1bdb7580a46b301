#!/usr/bin/env python3
"""What encrypting Secrets at rest costs: Secret creates and GETs through the API service
in-process, over the real embedded store (fsynced WAL) in a temporary data dir, once with
the store given to the API server as it is (Secrets in plain text, as before encryption)
and once through the encryption serve uses (AES-GCM, a 32-byte key). In-process, so the
difference is not hidden behind HTTP and TLS: the ratio is an upper bound of what a client
of `serve` sees. Also the transformer alone, per value.

Each phase prints rate, p50/p99 latency, and the encrypted runs' ratio to the plain ones
(two runs of each, in the order plain, encrypted, encrypted, plain).

Usage: scripts/bench_secrets.py [--secrets 5000] [--in-flight 32] [--size 1024] [--dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minikube_py.api.resources import SECRETS  # noqa: E402
from minikube_py.apiserver.encryption import (  # noqa: E402
    KEY_SIZE,
    AesKey,
    EncryptionConfig,
    ValueTransformer,
)
from minikube_py.apiserver.encryptionkeys import open_encryption  # noqa: E402
from minikube_py.apiserver.service import ApiService  # noqa: E402
from minikube_py.store.node import RaftStore  # noqa: E402
from minikube_py.store.types import KV  # noqa: E402


def quantile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100)[q - 1]


@dataclass
class Rate:
    what: str
    n: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.n / self.seconds

    def line(self, anchor: Rate | None = None) -> str:
        text = (f"{self.what:<42} {self.per_second:8.0f}/s  "
                f"p50 {quantile(self.latencies, 50) * 1e3:7.3f} ms  "
                f"p99 {quantile(self.latencies, 99) * 1e3:7.3f} ms")
        if anchor is not None:
            text += f"  ({self.per_second / anchor.per_second:.2f}x plain)"
        return text


async def drive(what: str, n: int, in_flight: int,
                request: Callable[[int], Awaitable[Any]]) -> Rate:
    latencies: list[float] = []
    todo = iter(range(n))

    async def worker() -> None:
        for i in todo:
            t = time.perf_counter()
            await request(i)
            latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return Rate(what, n, time.perf_counter() - t0, latencies)


def secret(name: str, size: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "stringData": {"password": os.urandom(size // 2).hex()}}


async def run(data: Path, encrypted: bool, args: argparse.Namespace) -> list[Rate]:
    store = RaftStore(data / "store")
    await store.start()
    kv: KV = store
    if encrypted:
        encryption, _ = await open_encryption(data, store, purge=store.purge_history)
        kv = encryption.kv
    api = ApiService(kv)
    await api.start()
    label = "encrypted" if encrypted else "plain"
    try:
        async def create(i: int) -> None:
            await api.create(SECRETS, secret(f"s{i}", args.size), namespace="default")

        async def get(i: int) -> None:
            await api.get_json(SECRETS, f"s{i % args.secrets}", "default")

        creates = await drive(f"Secret creates ({label}, {args.in_flight} in flight)",
                              args.secrets, args.in_flight, create)
        gets = await drive(f"Secret GETs ({label}, one at a time)", args.secrets, 1, get)
        return [creates, gets]
    finally:
        await api.stop()
        await store.close()


def transformer_alone(size: int, n: int) -> list[str]:
    t = ValueTransformer(EncryptionConfig((AesKey("k", os.urandom(KEY_SIZE)),)), os.urandom)
    key, value = b"/registry/secrets/default/s", os.urandom(size)
    t0 = time.perf_counter()
    stored = b""
    for _ in range(n):
        stored = t.to_storage(key, value)
    enc = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for _ in range(n):
        t.from_storage(key, stored)
    dec = (time.perf_counter() - t0) / n
    return [f"transformer alone, {size}-byte value: encrypt {enc * 1e6:.1f} us, "
            f"decrypt {dec * 1e6:.1f} us"]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secrets", type=int, default=5000)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--size", type=int, default=1024, help="bytes of data per Secret")
    parser.add_argument("--dir", type=Path, default=None, help="where the data dirs go "
                        "(default: a temporary directory; use a real disk, fsync matters)")
    args = parser.parse_args()
    # ABBA: a run after another's burst of writes and fsyncs is slower, so each side goes
    # first once.
    runs: dict[bool, list[list[Rate]]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="bench-secrets-", dir=args.dir) as tmp:
        for i, encrypted in enumerate((False, True, True, False)):
            runs[encrypted].append(await run(Path(tmp) / str(i), encrypted, args))
    def merged(side: list[list[Rate]]) -> list[Rate]:
        return [Rate(phase[0].what, sum(r.n for r in phase), sum(r.seconds for r in phase),
                     [lat for r in phase for lat in r.latencies])
                for phase in zip(*side, strict=True)]

    plain, encrypted = merged(runs[False]), merged(runs[True])
    for p, e in zip(plain, encrypted, strict=True):
        print(p.line())
        print(e.line(p))
    for line in transformer_alone(args.size, 20_000):
        print(line)


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
