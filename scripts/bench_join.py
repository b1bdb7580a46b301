#!/usr/bin/env python3
"""Joining machines: `minikube-py join` start -> node Ready (first join, with the built-in
images' import, and a restart on the joined data dir), the idle RSS of a joined agent
(its containerd counted separately), and pod-to-pod latency across nodes against the
anchor measured in the same run: pod-to-pod on one node (busybox ping, N round trips each).

A LAN of network namespaces on this host (tests/e2e/lan.py, 10.200.70.0/24): `serve` on the
host at 10.200.70.1, two machines joined. Everything is made here and removed at the end.
Usage: scripts/bench_join.py [--pings N]   (root)
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts.bench_startup import containerd_pids, rss_mb
from tests.e2e.cluster import ServeProcess, wait_for
from tests.e2e.lan import JoinProcess, lan_up

SLOT = 70
DAEMONSET = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: bench}
spec:
  selector: {matchLabels: {app: bench}}
  template:
    metadata: {labels: {app: bench}}
    spec:
      containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
"""
NEIGHBOUR = """
apiVersion: v1
kind: Pod
metadata: {name: neighbour}
spec:
  nodeName: %s
  containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
"""
_STEP = re.compile(r"^\[\s*(\d+) ms\] (.*)$", re.M)


def step_ms(log: str, text: str, offset: int = 0) -> int | None:
    """The ms stamp of the first progress line after `offset` that holds `text`."""
    for ms, line in _STEP.findall(log[offset:]):
        if text in line:
            return int(ms)
    return None


def rss_parts_mb(pid: int) -> tuple[float, float]:
    """(anonymous, file-backed) resident MB: the heap, and the mapped code of the
    interpreter and its libraries (OpenSSL, gRPC core, ...)."""
    status = Path(f"/proc/{pid}/status").read_text()
    def kb(name: str) -> float:
        found = re.search(rf"{name}:\s+(\d+) kB", status)
        return int(found.group(1)) / 1024 if found else 0.0
    return kb("RssAnon"), kb("RssFile")


def ping_avg_ms(serve: ServeProcess, pod: str, address: str, count: int) -> float:
    out = serve.kubectl("exec", pod, "--", "ping", "-q", "-c", str(count), "-i", "0.01",
                        address).stdout
    found = re.search(r"min/avg/max = [\d.]+/([\d.]+)/", out)
    if not found:
        raise SystemExit(f"no ping summary from {pod} -> {address}: {out}")
    return float(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mkpy-bench-join-") as tmp, \
            lan_up(SLOT, 2, "10.200.70.0/24") as lan:
        root = Path(tmp)
        serve = ServeProcess(root / "server", pod_cidr="10.249.0.0/24", bridge="mkpybj0",
                             service_cidr="10.112.70.0/24", extra_args=(
                                 "--cluster-cidr", "10.249.0.0/16", "--node-ip", lan.host_ip,
                                 "--api-host", lan.host_ip, "--node-name", "bench-server"))
        serve.start()
        joins = [JoinProcess(m, f"https://{lan.host_ip}:{serve.api_port}", root / m.name,
                             bridge=f"mkpybj{i + 1}") for i, m in enumerate(lan)]
        try:
            token = (serve.data_dir / "token").read_text().strip()
            first = [j.start(token) for j in joins]
            logs = [j.log for j in joins]
            ready_first = [step_ms(log, "is Ready") for log in logs]
            imports = [(step_ms(log, "imported built-in images") or 0)
                       - (step_ms(log, "containerd") or 0) for log in logs]
            for j in joins:
                j.stop()
            offsets = [len(j.log) for j in joins]
            again = [j.start(None) for j in joins]
            ready_again = [step_ms(j.log, "is Ready", o) for j, o in zip(joins, offsets, strict=True)]

            serve.kubectl("apply", "-f", "-", input=DAEMONSET)
            serve.kubectl("apply", "-f", "-", input=NEIGHBOUR % "bench-server")
            def pods() -> dict[str, tuple[str, str]] | None:
                items = serve.kubectl_json("get", "pods")["items"]
                running = {p["metadata"]["name"]: (p["spec"]["nodeName"], p["status"]["podIP"])
                           for p in items if p["status"].get("phase") == "Running"}
                return running if len(running) == 4 else None
            running = wait_for(pods, timeout=120, what="the bench pods to run")
            time.sleep(5)  # idle after the pods started: what the agent holds at rest
            agent_rss = [rss_mb(j.proc.pid) for j in joins if j.proc is not None]
            agent_parts = [rss_parts_mb(j.proc.pid) for j in joins if j.proc is not None]
            containerd_rss = [sum(rss_mb(p) for p in containerd_pids(j.data_dir))
                              for j in joins]
            on_server = [n for n, (node, _) in running.items()
                         if node == "bench-server" and n != "neighbour"][0]
            remote = [ip for n, (node, ip) in running.items() if node == joins[0].node_name][0]
            local = running["neighbour"][1]
            same_node = ping_avg_ms(serve, on_server, local, args.pings)
            across = ping_avg_ms(serve, on_server, remote, args.pings)
        finally:
            for j in joins:
                j.stop()
                j.delete()
            serve.stop()
            serve.delete()
    print(f"join -> Ready, first join (wall, incl. bootstrap and image import): "
          f"{statistics.mean(first):.2f} s (agent's own clock: "
          f"{', '.join(f'{ms} ms' for ms in ready_first)}; image import "
          f"{', '.join(f'{ms} ms' for ms in imports)})")
    print(f"join -> Ready, restart on the joined data dir (images there, no token): "
          f"{statistics.mean(again):.2f} s wall (agent's own clock: "
          f"{', '.join(f'{ms} ms' for ms in ready_again)}); goal <= 2 s")
    print(f"joined agent RSS idle with one pod: {', '.join(f'{r:.1f}' for r in agent_rss)} MB "
          f"(goal <= 50 MB; heap + code: "
          f"{', '.join(f'{a:.1f} + {f:.1f}' for a, f in agent_parts)} MB); its containerd: "
          f"{', '.join(f'{r:.1f}' for r in containerd_rss)} MB")
    print(f"pod-to-pod ping avg over {args.pings}: across nodes {across:.3f} ms, on one node "
          f"(anchor) {same_node:.3f} ms: ratio {across / same_node:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
