#!/usr/bin/env python3
"""Dashboard benchmark: a real `serve --simulated-nodes` holding 1,000 pods (simulated nodes
report them Running, so no container runs), `minikube-py dashboard --url`, and a real
headless Chromium driven over the DevTools protocol (tests/e2e/chromium.py).

- First paint: navigation start to the pods table filled (the page's `dashboard:filled`
  mark, set once the animation frame that put the first reset's rows in the DOM has been
  painted), for a few
  fresh loads. The first load is cold: the dashboard has just started, and the page waits
  for its first lists of everything; later loads are served from its caches.
- Update latency: a pod created through the API client (as the admin) to its row in the
  page's DOM, and to that frame painted (the page's clock, epoch-based, against the
  create's wall-clock start). Chromium runs with --disable-gpu: painting is software
  raster, the larger part of the difference.
  Anchor, the same create observed in the same run: `kubectl get pods --watch-only -o name`
  printing the pod's line. Each probe is seen by both.
- The dashboard process's RSS, after the loads and after the probes.

Goal (issue 11): first paint and update latency <= 1 s each with 1,000 pods.

The cluster uses e2e slot 74's bridge and ranges (the dashboard's e2e slot), its own data
dir, deleted at the end. Needs root (serve sets up its bridge) and chromium.

Usage: scripts/bench_dashboard.py [--pods 1000] [--nodes 10] [--loads 3] [--probes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minikube_py.api.resources import NAMESPACES, PODS  # noqa: E402
from minikube_py.client.http import HttpClient  # noqa: E402
from minikube_py.token_commands import admin_of, admin_tls  # noqa: E402
from tests.e2e.chromium import Page, headless_chromium  # noqa: E402
from tests.e2e.cluster import KUBECTL, ServeProcess, kubectl_env, slot_serve  # noqa: E402

SLOT = 74
NAMESPACE = "bench"
SIMULATED = "minikube-py.dev/simulated"
CREATE_CONCURRENCY = 32


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name,
                                                            "labels": {"app": "bench"}},
            "spec": {"nodeSelector": {SIMULATED: "true"},
                     "tolerations": [{"key": SIMULATED, "operator": "Exists",
                                      "effect": "NoSchedule"}],
                     "containers": [{"name": "app", "image": "busybox",
                                     "command": ["sleep", "3600"]}]}}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def create_pods(client: HttpClient, count: int) -> None:
    await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                     "metadata": {"name": NAMESPACE}})
    names = iter(range(count))

    async def worker() -> None:
        for i in names:
            await client.create(PODS, pod(f"pod-{i:05d}"), namespace=NAMESPACE)

    await asyncio.gather(*(worker() for _ in range(CREATE_CONCURRENCY)))
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        items = (await client.list(PODS, namespace=NAMESPACE)).get("items", [])
        if sum(1 for p in items if p.get("status", {}).get("phase") == "Running") >= count:
            return
        await asyncio.sleep(0.5)
    raise SystemExit(f"the {count} pods were not all Running within 180 s")


def start_dashboard(serve: ServeProcess) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen([sys.executable, "-m", "minikube_py", "dashboard", "--url",
                             "--data-dir", str(serve.data_dir)], cwd=ROOT,
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    if not ready:
        raise SystemExit("the dashboard printed no URL within 30 s")
    return proc, proc.stdout.readline().decode().strip()


async def first_paint(page: Page, url: str, pods: int) -> tuple[float, int]:
    """Milliseconds from navigation start to the pods table filled, and its rows then."""
    await page.navigate(url)
    await page.wait_for("performance.getEntriesByName('dashboard:filled').length > 0",
                        timeout=60, what="the pods table filled")
    filled = await page.evaluate("performance.getEntriesByName('dashboard:filled')[0]"
                                 ".startTime")
    rows = await page.evaluate("dashboard.tables.get('pods').rows.size")
    if rows < pods:
        raise SystemExit(f"the first paint showed {rows} pods, not {pods}")
    return float(filled), int(rows)


class KubectlWatch:
    """`kubectl get pods --watch-only -o name`: when each pod's first line was printed."""

    def __init__(self, serve: ServeProcess) -> None:
        self.serve = serve
        self.seen: dict[str, float] = {}
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            KUBECTL, "get", "pods", "-n", NAMESPACE, "--watch-only", "-o", "name",
            stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
            env=kubectl_env(self.serve))
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            name = line.decode().strip().removeprefix("pod/")
            self.seen.setdefault(name, time.time())

    async def seen_at(self, name: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while name not in self.seen:
            if time.monotonic() > deadline:
                raise SystemExit(f"kubectl --watch did not print {name} within {timeout} s")
            await asyncio.sleep(0.002)
        return self.seen[name]

    async def established(self, client: HttpClient, tries: int = 30) -> None:
        """Once kubectl prints a pod created now, its watch is open (--watch-only prints
        nothing of what it listed first)."""
        for i in range(tries):
            name = f"warmup-{i:02d}"
            await client.create(PODS, pod(name), namespace=NAMESPACE)
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                if name in self.seen:
                    return
                await asyncio.sleep(0.01)
        raise SystemExit(f"kubectl get --watch printed none of {tries} pods created")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()


async def probe(page: Page, client: HttpClient, watch: KubectlWatch, i: int
                ) -> tuple[float, float, float]:
    """One pod created: ms until the page's DOM has its row, until that is painted, and
    until kubectl prints it."""
    name = f"probe-{i:03d}"
    await page.evaluate(f"window.__probe = dashboard.whenRow('pods', '{NAMESPACE}/{name}')"
                        ".then(t => [t.dom, t.painted].map(x => performance.timeOrigin + x))"
                        "; true")
    t0 = time.time()
    await client.create(PODS, pod(name), namespace=NAMESPACE)
    dom, painted = (float(x) / 1000 for x in await page.evaluate("window.__probe",
                                                                 timeout=30))
    printed = await watch.seen_at(name, timeout=30)
    return (dom - t0) * 1000, (painted - t0) * 1000, (printed - t0) * 1000


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"median {statistics.median(ordered):7.1f} ms  p90 {p90:7.1f} ms  " \
           f"max {ordered[-1]:7.1f} ms"


async def bench(args: argparse.Namespace, serve: ServeProcess) -> None:
    admin = admin_of(serve.data_dir)
    client = HttpClient(admin.server, tls=admin_tls(admin.credentials))
    dashboard: subprocess.Popen[bytes] | None = None
    watch = KubectlWatch(serve)
    try:
        t = time.monotonic()
        await create_pods(client, args.pods)
        print(f"{args.pods} pods Running on {args.nodes} simulated nodes in "
              f"{time.monotonic() - t:.1f} s")
        dashboard, url = start_dashboard(serve)
        print(f"dashboard at {url} (pid {dashboard.pid})")
        async with headless_chromium() as page:
            paints = []
            for _ in range(args.loads):
                ms, rows = await first_paint(page, url, args.pods)
                paints.append(ms)
                print(f"first paint: {ms:7.1f} ms ({rows} pod rows)")
            rss_loaded = rss_mb(dashboard.pid)
            await watch.start()
            await watch.established(client)
            in_dom, shown, printed = [], [], []
            for i in range(1, args.probes + 1):
                d, s, p = await probe(page, client, watch, i)
                in_dom.append(d)
                shown.append(s)
                printed.append(p)
        print()
        print(f"first paint ({args.pods} pods): cold {paints[0]:.1f} ms; "
              f"{args.loads} loads: {summary(paints)}")
        print(f"update latency, dashboard, painted: {summary(shown)}")
        print(f"update latency, dashboard, in the DOM: {summary(in_dom)}")
        print(f"update latency, kubectl get --watch (anchor): {summary(printed)}")
        ratio = statistics.median(shown) / statistics.median(printed)
        print(f"ratio dashboard painted / kubectl (medians): {ratio:.2f}; in the DOM: "
              f"{statistics.median(in_dom) / statistics.median(printed):.2f}")
        print(f"dashboard RSS: {rss_loaded:.1f} MB after the loads, "
              f"{rss_mb(dashboard.pid):.1f} MB after the probes")
        goal = max(statistics.median(paints), statistics.median(shown)) <= 1000
        print(f"goal (<= 1 s each): {'met' if goal else 'NOT met'}")
    finally:
        await watch.stop()
        if dashboard is not None:
            dashboard.terminate()
            dashboard.wait(15)
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--probes", type=int, default=20)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root: serve sets up its pod bridge")
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        serve = slot_serve(Path(tmp) / "data", SLOT, "--simulated-nodes", str(args.nodes),
                           "--no-kubeconfig-merge")
        serve.start()
        try:
            asyncio.run(bench(args, serve))
        finally:
            serve.stop()
            serve.delete()


if __name__ == "__main__":
    main()
