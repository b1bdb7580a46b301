#!/usr/bin/env python3
"""Benchmark server-side apply against its anchor, a merge patch of the same change, through
the same HTTP client on the same API server (in-process, memory store, plain HTTP on
loopback): what field management (managedFields, structured merge, conflict checks) costs a
write. Both phases change the same Deployments' replicas and image, one request per object
at a time per client, and print rate, p50/p99 latency and the apply/merge ratio.

Usage: scripts/bench_apply.py [--objects 200] [--rounds 5] [--clients 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.service import ApiService
from minikube_py.store.memory import MemoryKV

NS = "default"


def deployment(name: str, replicas: int, image: str) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "web", "image": image,
                          "ports": [{"containerPort": 8080, "protocol": "TCP"}]}]}}}}


async def phase(session: aiohttp.ClientSession, base: str, names: list[str], rounds: int,
                clients: int, *, apply: bool) -> list[float]:
    """Every object changed `rounds` times, by `clients` workers; the latencies."""
    latencies: list[float] = []
    queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
    for r in range(rounds):
        for name in names:
            queue.put_nowait((name, r))

    async def worker() -> None:
        while not queue.empty():
            name, r = queue.get_nowait()
            body = deployment(name, 2 + r % 3, f"busybox:{r}")
            url = f"{base}/apis/apps/v1/namespaces/{NS}/deployments/{name}"
            if apply:
                headers = {"Content-Type": "application/apply-patch+yaml"}
                params = {"fieldManager": "bench", "force": "true"}
                data = json.dumps(body)
            else:
                headers = {"Content-Type": "application/merge-patch+json"}
                params = {"fieldManager": "bench"}
                data = json.dumps({"spec": body["spec"]})
            started = time.perf_counter()
            async with session.patch(url, data=data, headers=headers, params=params) as resp:
                await resp.read()
                if resp.status != 200:
                    raise SystemExit(f"{'apply' if apply else 'merge'} {name}: {resp.status}")
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies


def report(label: str, latencies: list[float], seconds: float) -> float:
    rate = len(latencies) / seconds
    q = statistics.quantiles(latencies, n=100)
    print(f"{label:>12}: {rate:8.0f}/s  p50 {q[49] * 1000:6.2f} ms  p99 {q[98] * 1000:6.2f} ms")
    return rate


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    kv = MemoryKV()
    svc = ApiService(kv)
    await svc.start()
    server = TestServer(build_app(svc), host="127.0.0.1")
    await server.start_server()
    base = f"http://127.0.0.1:{server.port}"
    try:
        async with aiohttp.ClientSession() as session:
            names = [f"web-{i}" for i in range(args.objects)]
            for name in names:
                async with session.post(f"{base}/apis/apps/v1/namespaces/{NS}/deployments",
                                        json=deployment(name, 1, "busybox:start")) as resp:
                    if resp.status != 201:
                        raise SystemExit(f"create {name}: {resp.status}")
            rates = {}
            for label, apply in (("merge patch", False), ("apply", True)):
                started = time.perf_counter()
                latencies = await phase(session, base, names, args.rounds, args.clients,
                                        apply=apply)
                rates[label] = report(label, latencies, time.perf_counter() - started)
            print(f"{'ratio':>12}: apply {rates['apply'] / rates['merge patch']:.2f}x "
                  "the rate of a merge patch of the same change")
    finally:
        await server.close()
        await svc.stop()
        await kv.close()


if __name__ == "__main__":
    asyncio.run(main())
