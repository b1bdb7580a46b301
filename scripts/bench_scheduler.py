#!/usr/bin/env python3
"""Scheduler benchmark: N simulated nodes, M pods with requests; prints pods/s to bound
and p50/p99 scheduling latency, for a backlog (all pods exist before the scheduler
starts: the scheduler's throughput) and for pods created while it runs.

Anchors: kube-scheduler's CI floor (about 270 pods/s at 5000 nodes / 10k pods, from the
upstream scheduler_perf thresholds), and, measured in the same run, how fast the same API
server accepts pod creations at all (the ceiling any scheduler here could reach).
Usage: scripts/bench_scheduler.py --nodes 5000 --pods 10000 [--store raft|memory] [--shapes K]
"""

from __future__ import annotations

import argparse
import asyncio
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
from minikube_py.scheduler.plugins import build_framework
from minikube_py.scheduler.scheduler import Scheduler
from minikube_py.simnode.simnode import (
    SIMULATED_LABEL,
    SIMULATED_TOLERATION,
    SimulatedNodeSpec,
    node_object,
)

KUBE_SCHEDULER_FLOOR = 270.0  # pods/s, 5000 nodes / 10k pods


def pod(i: int, shapes: int = 1) -> dict[str, Any]:
    """A pod for the simulated nodes; with several shapes, pods differ in a nodeSelector
    that every simulated node matches, so each shape has its own equivalence entry."""
    spec: dict[str, Any] = {
        "tolerations": [SIMULATED_TOLERATION],
        "containers": [{"name": "c", "image": "busybox",
                        "resources": {"requests": {"cpu": "100m", "memory": "100Mi"}}}],
    }
    if shapes > 1:
        spec["nodeSelector"] = {SIMULATED_LABEL: "true"}
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [
                {"key": "bench-shape", "operator": "NotIn", "values": [str(i % shapes)]}]}]}}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"bench-{i}", "namespace": "default"}, "spec": spec}


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


async def run(nodes: int, pods: int, store_kind: str, shapes: int) -> None:
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

        bound: list[tuple[float, float]] = []  # (queued -> bound, scheduling cycle)
        target = 0
        all_bound = asyncio.Event()

        def on_bound(_pod: Any, _node: str, queued: float, cycle: float) -> None:
            bound.append((queued, cycle))
            if len(bound) >= target:
                all_bound.set()

        async def wait_all_bound(count: int) -> None:
            nonlocal target
            target = count
            if len(bound) < count:
                all_bound.clear()
                await asyncio.wait_for(all_bound.wait(), timeout=max(120.0, pods / 20))

        # Phase 1, backlog: every pod exists before the scheduler starts, so the time to
        # bind them all is the scheduler's own throughput (kube's scheduler_perf shape).
        await create_all(api, [pod(i, shapes) for i in range(pods)], 64)
        informers = InformerFactory(api)
        framework = build_framework()
        scheduler = Scheduler(api, informers, EventRecorder(api, "default-scheduler"),
                              framework=framework, on_bound=on_bound)
        t0 = time.perf_counter()
        tasks = [asyncio.create_task(informers.run()), asyncio.create_task(scheduler.run())]
        await wait_all_bound(pods)
        backlog_s = time.perf_counter() - t0
        backlog = list(bound)

        # Phase 2, steady: half as many pods again, created while the scheduler runs (the
        # same process also serves every create: this is the whole cluster's rate).
        extra = pods // 2
        t1 = time.perf_counter()
        await create_all(api, [pod(pods + i, shapes) for i in range(extra)], 64)
        await wait_all_bound(pods + extra)
        steady_s = time.perf_counter() - t1
        steady = bound[pods:]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await api.stop()
        await kv.close()

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000

    rate = pods / backlog_s
    cycle = [c for _, c in backlog]
    queued = [q for q, _ in steady]
    print(f"nodes={nodes} pods={pods}+{extra} store={store_kind} shapes={shapes}")
    print(f"  backlog: {pods} pods bound in {backlog_s:.1f} s = {rate:.1f} pods/s; "
          f"scheduling cycle p50 {pct(cycle, 0.5):.2f} ms, p99 {pct(cycle, 0.99):.2f} ms")
    print(f"  steady:  {extra} pods created and bound in {steady_s:.1f} s = "
          f"{extra / steady_s:.1f} pods/s; created -> bound p50 {pct(queued, 0.5):.1f} ms, "
          f"p99 {pct(queued, 0.99):.1f} ms")
    print(f"  API create ceiling (same run, no scheduler): {create_rate:.1f} pods/s")
    cache = framework.equivalence
    print(f"  equivalence cache: {cache.hits} hits, {cache.misses} misses")
    print(f"  backlog throughput / kube-scheduler floor ({KUBE_SCHEDULER_FLOOR:.0f} pods/s): "
          f"{rate / KUBE_SCHEDULER_FLOOR:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=3000)
    parser.add_argument("--store", choices=("raft", "memory"), default="raft")
    parser.add_argument("--shapes", type=int, default=1,
                        help="distinct pod scheduling shapes (round robin)")
    args = parser.parse_args()
    import uvloop

    uvloop.run(run(args.nodes, args.pods, args.store, args.shapes))


if __name__ == "__main__":
    main()
