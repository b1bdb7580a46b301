#!/usr/bin/env python3
"""Pod startup latency: a Deployment of N busybox replicas on one real node, from the
Deployment's creation to each pod observed Ready (per pod: its creation observed -> Ready
observed, through a watch), p50/p99, and create -> all Ready.

Anchors: the Kubernetes SLO (stateless pod startup p99 <= 5 s), and, measured in the same
run, a single pod on the idle cluster (the floor the per-pod latency is compared with).
Usage: scripts/bench_pod_startup.py [--replicas 30]   (root; temp data dir; cleans up)
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minikube_py.api.podutil import is_ready
from minikube_py.api.resources import DEPLOYMENTS, PODS
from minikube_py.client.http import HttpClient
from tests.e2e.cluster import ServeProcess

SLO_P99_SECONDS = 5.0


def deployment(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "c", "image": "busybox",
                                "command": ["sleep", "3600"]}]}},
        },
    }


async def measure(api_url: str, tls: ssl.SSLContext, name: str,
                  replicas: int) -> tuple[list[float], float]:
    """Per-pod latencies and the time from creating the Deployment to all pods Ready; also
    prints where the time went (created -> bound -> Running -> Ready, medians)."""
    client = HttpClient(api_url, tls=tls)
    seen: dict[str, float] = {}
    bound: dict[str, float] = {}
    running: dict[str, float] = {}
    ready: dict[str, float] = {}
    try:
        start_rv = (await client.list(PODS, namespace="default"))["metadata"]["resourceVersion"]
        t0 = time.perf_counter()
        await client.create(DEPLOYMENTS, deployment(name, replicas), namespace="default")
        stream = client.watch(PODS, namespace="default", label_selector=f"app={name}",
                              resource_version=start_rv, timeout_seconds=120)
        async for event in stream:
            now = time.perf_counter()
            uid = event.object["metadata"]["uid"]
            seen.setdefault(uid, now)
            if event.object["spec"].get("nodeName"):
                bound.setdefault(uid, now)
            if event.object.get("status", {}).get("phase") == "Running":
                running.setdefault(uid, now)
            if is_ready(event.object) and uid not in ready:
                ready[uid] = now
                if len(ready) == replicas:
                    break
        await stream.aclose()  # type: ignore[attr-defined]
        total = time.perf_counter() - t0
        if replicas > 1:
            stages = (("created -> bound", seen, bound), ("bound -> Running", bound, running),
                      ("Running -> Ready", running, ready))
            for label, start, end in stages:
                med = statistics.median(end[u] - start[u] for u in ready)
                print(f"  {label:20} median {med:.3f} s")
        return [ready[u] - seen[u] for u in ready], total
    finally:
        await client.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mkpy-podstart-") as tmp:
        serve = ServeProcess(Path(tmp) / "data", pod_cidr="10.244.211.0/24", bridge="mkpyb1",
                             service_cidr="10.112.11.0/24")
        try:
            serve.start()
            admin = serve.tls(serve.pki.admin)
            single, _ = asyncio.run(measure(serve.api_url, admin, "single", 1))
            latencies, total = asyncio.run(measure(serve.api_url, admin, "burst",
                                                   args.replicas))
        finally:
            serve.stop()
            serve.delete()
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    print(f"single pod (idle cluster):      {single[0]:.3f} s created -> Ready")
    print(f"{args.replicas} replicas, per pod:         p50 {p50:.3f} s   p99 {p99:.3f} s")
    print(f"{args.replicas} replicas, create -> all Ready: {total:.3f} s")
    print(f"p99 / SLO ({SLO_P99_SECONDS:.0f} s):                {p99 / SLO_P99_SECONDS:.2f}x")
    print(f"p50 / single pod:               {p50 / single[0]:.2f}x")


if __name__ == "__main__":
    main()
