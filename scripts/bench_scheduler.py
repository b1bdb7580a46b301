#!/usr/bin/env python3
"""Scheduler benchmark: N simulated nodes, M pods with requests; prints pods/s to bound
and p50/p99 scheduling latency (queued -> bound).

Anchors: kube-scheduler's CI floor (about 270 pods/s at 5000 nodes / 10k pods, from the
upstream scheduler_perf thresholds), and, measured in the same run, how fast the same API
server accepts pod creations at all (the ceiling any scheduler here could reach).
Usage: scripts/bench_scheduler.py --nodes 5000 --pods 10000 [--store raft|memory]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minikube_py.api.resources import NODES, PODS
from minikube_py.apiserver.service import ApiService
from minikube_py.client.events import EventRecorder
from minikube_py.client.informer import InformerFactory
from minikube_py.scheduler.scheduler import Scheduler
from minikube_py.simnode.simnode import (
    SIMULATED_TOLERATION,
    SimulatedNodeSpec,
    node_object,
)

KUBE_SCHEDULER_FLOOR = 270.0  # pods/s, 5000 nodes / 10k pods


def pod(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"bench-{i}", "namespace": "default"},
        "spec": {
            "tolerations": [SIMULATED_TOLERATION],
            "containers": [{"name": "c", "image": "busybox",
                            "resources": {"requests": {"cpu": "100m", "memory": "100Mi"}}}],
        },
    }


async def open_store(kind: str, tmp: Path) -> Any:
    if kind == "memory":
        from minikube_py.store.memory import MemoryKV

        return MemoryKV()
    from minikube_py.store.node import RaftStore

    store = RaftStore(tmp / "store")
    await store.start()
    return store


async def create_all(api: ApiService, bodies: list[dict[str, Any]], concurrency: int) -> float:
    sem = asyncio.Semaphore(concurrency)

    async def one(body: dict[str, Any]) -> None:
        async with sem:
            await api.create(PODS, body, namespace="default")

    t0 = time.perf_counter()
    await asyncio.gather(*(one(b) for b in bodies))
    return time.perf_counter() - t0


async def run(nodes: int, pods: int, store_kind: str) -> None:
    with tempfile.TemporaryDirectory(prefix="mkpy-sched-") as tmp:
        kv = await open_store(store_kind, Path(tmp))
        api = ApiService(kv)
        await api.start()
        spec = SimulatedNodeSpec()
        t0 = time.perf_counter()
        sem = asyncio.Semaphore(64)

        async def register(i: int) -> None:
            async with sem:
                await api.create(NODES, node_object(f"sim-{i}", i, spec, time.time()))

        await asyncio.gather(*(register(i) for i in range(nodes)))
        print(f"registered {nodes} nodes in {time.perf_counter() - t0:.1f} s")

        # In-run anchor: raw pod creation throughput of this API server and store.
        probe = min(2000, pods)
        create_s = await create_all(api, [pod(-1 - i) for i in range(probe)], 64)
        for i in range(probe):
            await api.delete(PODS, f"bench-{-1 - i}", namespace="default",
                             grace_period_seconds=0)
        create_rate = probe / create_s

        latencies: list[float] = []
        all_bound = asyncio.Event()

        def on_bound(_pod: Any, _node: str, latency: float) -> None:
            latencies.append(latency)
            if len(latencies) >= pods:
                all_bound.set()

        informers = InformerFactory(api)
        scheduler = Scheduler(api, informers, EventRecorder(api, "default-scheduler"),
                              on_bound=on_bound)
        tasks = [asyncio.create_task(informers.run()), asyncio.create_task(scheduler.run())]
        t0 = time.perf_counter()
        await create_all(api, [pod(i) for i in range(pods)], 64)
        created_at = time.perf_counter() - t0
        await asyncio.wait_for(all_bound.wait(), timeout=max(120.0, pods / 20))
        elapsed = time.perf_counter() - t0
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await api.stop()
        await kv.close()

    rate = pods / elapsed
    lat = sorted(latencies)
    p50 = statistics.median(lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"nodes={nodes} pods={pods} store={store_kind}")
    print(f"  all pods created after {created_at:.1f} s, all bound after {elapsed:.1f} s")
    print(f"  throughput          {rate:8.1f} pods/s bound")
    print(f"  latency p50 / p99   {p50 * 1000:8.1f} / {p99 * 1000:.1f} ms (queued -> bound)")
    print(f"  API create ceiling  {create_rate:8.1f} pods/s (same run)")
    print(f"  ratio vs kube-scheduler floor ({KUBE_SCHEDULER_FLOOR:.0f} pods/s): "
          f"{rate / KUBE_SCHEDULER_FLOOR:.2f}x")
    print(f"  ratio vs API create ceiling: {rate / create_rate:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=3000)
    parser.add_argument("--store", choices=("raft", "memory"), default="raft")
    args = parser.parse_args()
    import uvloop

    uvloop.run(run(args.nodes, args.pods, args.store))


if __name__ == "__main__":
    main()
