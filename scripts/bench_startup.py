#!/usr/bin/env python3
"""Startup benchmark: time from `serve` to node Ready and to the first pod Running, and
the idle RSS of the serve process (containerd counted separately), split into anonymous
memory (the interpreter's heap: code objects, caches, the store) and file-backed pages
(shared libraries such as grpc's and cryptography's, shared with any other process mapping
them).

Anchors measured in the same run: the private containerd's own start (the floor `serve`
cannot beat), and the goals of issues 2 and 11 (Ready in ~1 s, serve RSS ≤ 80 MB).
Usage: scripts/bench_startup.py [--runs N]   (root; uses a temp data dir; cleans up)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from minikube_py.api.resources import PODS
from minikube_py.client.http import HttpClient
from tests.e2e.cluster import ServeProcess

POD = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"first"},
"spec":{"containers":[{"name":"c","image":"busybox","command":["sleep","3600"]}]}}"""


async def create_and_wait_running(serve: ServeProcess) -> None:
    """Through the API directly (not kubectl, whose own start-up would be measured too)."""
    client = HttpClient(serve.api_url, tls=serve.tls(serve.pki.admin))
    try:
        created = await client.create(PODS, json.loads(POD), namespace="default")
        stream = client.watch(PODS, namespace="default", field_selector="metadata.name=first",
                              resource_version=created["metadata"]["resourceVersion"],
                              timeout_seconds=60)
        async for event in stream:
            if event.object.get("status", {}).get("phase") == "Running":
                break
        await stream.aclose()  # type: ignore[attr-defined]
    finally:
        await client.close()


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """One of /proc/PID/status's resident-memory lines (VmRSS, RssAnon, RssFile), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"{field}:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


def containerd_pids(data_dir: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if cmd.startswith("containerd --config") and str(data_dir) in cmd:
                pids.append(int(proc.name))
    return pids


def one_run(base: Path, index: int) -> dict[str, float]:
    serve = ServeProcess(base / f"run{index}", pod_cidr="10.244.210.0/24", bridge="mkpyb0",
                         service_cidr="10.112.10.0/24")
    try:
        t0 = time.monotonic()
        cold = serve.start()
        ready_line = re.findall(r"cluster ready in ([0-9.]+) s", serve.log)
        containerd_line = re.findall(r"\[\s*(\d+) ms\] containerd .* ready", serve.log)
        asyncio.run(create_and_wait_running(serve))
        first_pod = time.monotonic() - t0
        time.sleep(2)  # idle: let start-up garbage settle before reading RSS
        assert serve.proc is not None
        serve_rss = rss_mb(serve.proc.pid)
        serve_anon, serve_file = (rss_mb(serve.proc.pid, f) for f in ("RssAnon", "RssFile"))
        ctr_rss = sum(rss_mb(p) for p in containerd_pids(serve.data_dir))
        serve.kubectl("delete", "pod", "first", "--grace-period=1")
        serve.stop()
        warm = serve.start()
        warm_ready = re.findall(r"cluster ready in ([0-9.]+) s", serve.log)
        return {
            "cold_ready_s": float(ready_line[0]) if ready_line else cold,
            "cold_ready_wall_s": cold,  # from exec, with Python's own start-up and imports
            "warm_ready_s": float(warm_ready[-1]) if warm_ready else warm,
            "first_pod_running_s": first_pod,
            "containerd_start_s": int(containerd_line[0]) / 1000 if containerd_line else 0.0,
            "serve_rss_mb": serve_rss,
            "serve_rss_anon_mb": serve_anon,
            "serve_rss_file_mb": serve_file,
            "containerd_rss_mb": ctr_rss,
        }
    finally:
        serve.stop()
        serve.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mkpy-bench-") as tmp:
        runs = [one_run(Path(tmp), i) for i in range(args.runs)]
    print(f"{'metric':24} {'median':>10} {'min':>10} {'max':>10}")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"{key:24} {statistics.median(values):10.3f} {min(values):10.3f} "
              f"{max(values):10.3f}")
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"\nready / 1 s goal:               {med['cold_ready_s'] / 1.0:.2f}x")
    print(f"ready / containerd start alone: {med['cold_ready_s'] / max(med['containerd_start_s'], 1e-3):.2f}x")
    print(f"serve RSS / 80 MB goal:         {med['serve_rss_mb'] / 80:.2f}x")
    print(json.dumps(med))


if __name__ == "__main__":
    main()
