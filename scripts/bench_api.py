#!/usr/bin/env python3
"""Benchmark the API server's front door: a real `serve` driven over HTTPS by concurrent
keep-alive clients (as the cluster admin, with the admin certificate serve made), with
etcd 3.4 driven by the same client (over plain HTTP, etcd's own) in the same run as the
anchor.

Phases (each prints rate, p50/p99 latency, and the ratio to its anchor where there is one):
- ConfigMap creates and Pod creates (pods no scheduler serves, so only the API works);
  anchor: etcd's v3 JSON gateway `kv/put` of the same bytes, fsynced, same client.
- GETs of single pods.
- LIST of 1,000 and 10,000 pods, whole and with limit=500; anchor: etcd `kv/range`.
- Watch fan-out: W watchers on a namespace while P pods are created there: events/s
  delivered and the p99 lag from the create request to each watcher's event.
- Create-then-bind: pods for the simulated nodes (N of them), created by the clients while
  the scheduler binds them: pods/s from the first create to the last bind.
- Memory: serve's RSS idle, after 32,000 1-KiB ConfigMaps, and after compacting.
- Secrets (`--only secrets`): Secret creates and GETs with Secrets encrypted at rest;
  anchor: a second serve (10.244.251.0/24, bridge mkpybench2) storing them in plain text.

The cluster is `serve --simulated-nodes N` on its own data dir, ports, bridge and ranges
(10.244.250.0/24, 10.112.250.0/24), deleted at the end. Needs root (serve starts
containerd); without `etcd` on PATH the anchors are skipped.

With `--authorization-mode AlwaysAllow` serve skips RBAC (to measure what authorization
costs); with `--identity user` the clients are not the cluster admin (system:masters, which
is allowed before RBAC is asked) but a user of a certificate made for the run, bound to
cluster-admin through RBAC, so every request is decided by RBAC (and its cache).

Usage: scripts/bench_api.py [--clients 32] [--creates 5000] [--nodes 1000] [--quick]
       [--authorization-mode Node,RBAC|AlwaysAllow] [--identity admin|user]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
SIMULATED = "minikube-py.dev/simulated"
KIB = "x" * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        text = (f"{self.what:<34} {self.per_second:8.0f}/s  p50 {quantile(self.latencies, 50)*1e3:6.1f} ms"
                f"  p99 {quantile(self.latencies, 99)*1e3:6.1f} ms")
        if anchor is not None:
            text += f"  ({self.per_second / anchor.per_second:.2f}x {anchor.what})"
        return text


async def drive(n: int, clients: int, request: Callable[[int], Awaitable[None]],
                what: str) -> Rate:
    """n requests from `clients` concurrent workers; each request timed."""
    latencies: list[float] = []
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            t0 = time.perf_counter()
            await request(i)
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return Rate(what, n, time.perf_counter() - start, latencies)


async def expect(resp: aiohttp.ClientResponse, status: int) -> bytes:
    body = await resp.read()
    if resp.status != status:
        raise RuntimeError(f"{resp.method} {resp.url}: {resp.status} {body[:300]!r}")
    return body


# --- the cluster under test ----------------------------------------------------------------

BENCH_USER, BENCH_GROUP = "bench-user", "bench-users"
# kube's way of turning encryption at rest off: the identity provider first.
PLAIN_SECRETS = """\
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - identity: {}
"""


class Serve:
    def __init__(self, nodes: int, authorization_mode: str = "Node,RBAC", *,
                 subnet: int = 250, bridge: str = "mkpybench",
                 plain_secrets: bool = False) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-api-"))
        self.port = free_port()
        self.nodes = nodes
        self.authorization_mode = authorization_mode
        self.subnet = subnet
        self.bridge = bridge
        self.plain_secrets = plain_secrets
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.dir / "serve.log"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def tls(self, identity: str = "admin") -> ssl.SSLContext:
        """The admin's credentials, from the PKI serve made in its data dir; or, for
        `identity` "user", those of a certificate for BENCH_USER made from the same CA."""
        pki = self.dir / "data" / "pki"
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        if identity == "user":
            cert, key = self.user_certificate()
            ctx.load_cert_chain(str(cert), str(key))
        else:
            ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return ctx

    def user_certificate(self) -> tuple[Path, Path]:
        from datetime import UTC, datetime

        from minikube_py.pki.certs import CertSpec
        from minikube_py.pki.cluster import KeyPair, PkiLayout, ensure_cluster_pki

        layout = PkiLayout(self.dir / "data" / "pki")
        pair = KeyPair(layout.root / "bench-user.crt", layout.root / "bench-user.key")
        ensure_cluster_pki(layout,
                           [(pair, CertSpec(BENCH_USER, (BENCH_GROUP,), client=True))],
                           datetime.now(UTC))
        return pair.cert, pair.key

    def start(self) -> None:
        if self.plain_secrets:  # before the first start, which would make a key
            pki = self.dir / "data" / "pki"
            pki.mkdir(mode=0o700, parents=True)
            config = pki / "encryption-config.yaml"
            config.write_text(PLAIN_SECRETS)
            config.chmod(0o600)
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "minikube_py", "serve", "--data-dir",
                 str(self.dir / "data"), "--api-port", str(self.port), "--kubelet-port", "0",
                 "--pod-cidr", f"10.244.{self.subnet}.0/24", "--bridge", self.bridge,
                 "--service-cidr", f"10.112.{self.subnet}.0/24",
                 "--simulated-nodes", str(self.nodes),
                 "--authorization-mode", self.authorization_mode, "--no-kubeconfig-merge"],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while "cluster ready" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"serve did not start:\n{self.log.read_text()}")
            time.sleep(0.1)

    def rss_mb(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        subprocess.run([sys.executable, "-m", "minikube_py", "delete", "--data-dir",
                        str(self.dir / "data")], cwd=ROOT, capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


class Etcd:
    """A one-member etcd on loopback, for the anchors."""

    def __init__(self, binary: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-etcd-"))
        self.port, peer = free_port(), free_port()
        self.proc = subprocess.Popen(
            [binary, "--data-dir", str(self.dir), "--listen-client-urls",
             f"http://127.0.0.1:{self.port}", "--advertise-client-urls",
             f"http://127.0.0.1:{self.port}", "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"default=http://127.0.0.1:{peer}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self, http: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{self.url}/health") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise SystemExit("etcd did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- objects -------------------------------------------------------------------------------

def pod(name: str, *, scheduler: str = "default-scheduler", simulated: bool = False,
        annotations: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"schedulerName": scheduler,
                            "containers": [{"name": "app", "image": "busybox",
                                            "command": ["sh", "-c", "sleep 3600"],
                                            "resources": {"requests": {"cpu": "10m",
                                                                       "memory": "16Mi"}}}]}
    if simulated:
        spec["nodeSelector"] = {SIMULATED: "true"}
        spec["tolerations"] = [{"key": SIMULATED, "operator": "Exists",
                                "effect": "NoSchedule"}]
    meta: dict[str, Any] = {"name": name, "labels": {"app": "bench", "i": name[-1]}}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"payload": KIB}}


async def create_namespace(http: aiohttp.ClientSession, url: str, name: str) -> None:
    async with http.post(f"{url}/api/v1/namespaces",
                         json={"metadata": {"name": name}}) as resp:
        await expect(resp, 201)


async def bind_bench_user(serve: Serve) -> None:
    """As the admin: bind cluster-admin to the bench user's group, through RBAC."""
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "bench-users"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": "cluster-admin"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                             "name": BENCH_GROUP}]}
    connector = aiohttp.TCPConnector(ssl=serve.tls())
    async with aiohttp.ClientSession(connector=connector) as admin:
        async with admin.post(f"{serve.url}/apis/rbac.authorization.k8s.io/v1/"
                              "clusterrolebindings", json=binding) as resp:
            await expect(resp, 201)


# --- phases --------------------------------------------------------------------------------

async def phase_creates(http: aiohttp.ClientSession, url: str, n: int, clients: int,
                        etcd: Etcd | None) -> tuple[Rate, Rate, Rate | None]:
    await create_namespace(http, url, "bench-cm")
    await create_namespace(http, url, "bench-pods")
    cm_path = f"{url}/api/v1/namespaces/bench-cm/configmaps"
    pod_path = f"{url}/api/v1/namespaces/bench-pods/pods"

    async def create_cm(i: int) -> None:
        async with http.post(cm_path, json=configmap(f"cm-{i}")) as resp:
            await expect(resp, 201)

    async def create_pod(i: int) -> None:
        async with http.post(pod_path, json=pod(f"p-{i}", scheduler="bench-none")) as resp:
            await expect(resp, 201)

    cms = await drive(n, clients, create_cm, "ConfigMap creates")
    pods = await drive(n, clients, create_pod, "Pod creates (unscheduled)")
    anchor = None
    if etcd is not None:
        value = base64.b64encode(json.dumps(pod("p-x")).encode()).decode()

        async def put(i: int) -> None:
            key = base64.b64encode(f"/registry/pods/bench/p-{i}".encode()).decode()
            async with http.post(f"{etcd.url}/v3/kv/put",
                                 json={"key": key, "value": value}) as resp:
                await expect(resp, 200)

        anchor = await drive(n, clients, put, "etcd kv/put")
    return cms, pods, anchor


async def phase_gets(http: aiohttp.ClientSession, url: str, n: int, pods: int,
                     clients: int) -> Rate:
    rng = random.Random(1)
    path = f"{url}/api/v1/namespaces/bench-pods/pods"

    async def get(_i: int) -> None:
        async with http.get(f"{path}/p-{rng.randrange(pods)}") as resp:
            await expect(resp, 200)

    return await drive(n, clients, get, "Pod GETs")


async def phase_secrets(serve: Serve, n: int, clients: int) -> list[str]:
    """What encryption at rest costs a client: Secret creates and GETs on `serve` (Secrets
    encrypted) against a second serve started here whose Secrets are stored in plain text
    (the identity provider), in halves run ABBA so neither side is always second and a
    neighbour's load on the machine weighs on both alike. Also serve's CPU per request,
    which such load disturbs less. Both as the admin, whatever --identity says."""
    plain = Serve(serve.nodes, serve.authorization_mode, subnet=251, bridge="mkpybench2",
                  plain_secrets=True)
    plain.start()
    payload = base64.b64encode(KIB.encode()).decode()
    rng = random.Random(1)
    try:
        timeout = aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=clients * 2, ssl=serve.tls()),
                timeout=timeout) as http, aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=clients * 2, ssl=plain.tls()),
                timeout=timeout) as plain_http:
            sides = {"encrypted": (http, serve), "plain": (plain_http, plain)}
            for session, side in sides.values():
                await create_namespace(session, side.url, "bench-secrets")

            def creates(session: aiohttp.ClientSession, side: Serve, first: int,
                        ) -> Callable[[int], Awaitable[None]]:
                path = f"{side.url}/api/v1/namespaces/bench-secrets/secrets"

                async def create(i: int) -> None:
                    body = {"apiVersion": "v1", "kind": "Secret",
                            "metadata": {"name": f"s-{first + i}"}, "data": {"payload": payload}}
                    async with session.post(path, json=body) as resp:
                        await expect(resp, 201)
                return create

            def gets(session: aiohttp.ClientSession, side: Serve, _first: int,
                     ) -> Callable[[int], Awaitable[None]]:
                path = f"{side.url}/api/v1/namespaces/bench-secrets/secrets"

                async def get(_i: int) -> None:
                    async with session.get(f"{path}/s-{rng.randrange(n)}") as resp:
                        await expect(resp, 200)
                return get

            rates: dict[str, list[Rate]] = {}
            cpu: dict[str, float] = {}
            half = n // 2
            for verb, make, counts in (("creates", creates, (half, n - half)),
                                       ("GETs", gets, (n * 2, n * 2))):
                first = 0
                # the order flips between halves (ABBA): whichever goes second after the
                # other's burst of fsyncs is measured slower
                for half_no, count in enumerate(counts):
                    order = list(sides.items())
                    for label, (session, side) in order if half_no == 0 else order[::-1]:
                        what = f"Secret {verb} ({label})"
                        cpu0 = side.cpu_seconds()
                        rates.setdefault(what, []).append(
                            await drive(count, clients, make(session, side, first), what))
                        cpu[what] = cpu.get(what, 0.0) + side.cpu_seconds() - cpu0
                    first += count
    finally:
        plain.stop()
    out = []
    for verb in ("creates", "GETs"):
        both = {}
        for label in ("plain", "encrypted"):
            what = f"Secret {verb} ({label})"
            rs = rates[what]
            both[label] = Rate(what, sum(r.n for r in rs), sum(r.seconds for r in rs),
                               [lat for r in rs for lat in r.latencies])
        for label, anchor in (("plain", None), ("encrypted", both["plain"])):
            rate = both[label]
            out.append(rate.line(anchor))
            out.append(f"    serve CPU {cpu[rate.what] / rate.n * 1e6:.0f} us/request")
    return out


def continue_token(body: bytes) -> str:
    """The list's continue token, read without parsing the items (the client's parse is not
    the server's time)."""
    head = body[:600].decode(errors="replace")
    marker = '"continue":"'
    if marker not in head:
        return ""
    return head.split(marker, 1)[1].split('"', 1)[0]


async def timed_list(http: aiohttp.ClientSession, url: str, limit: int,
                     repeats: int) -> list[float]:
    """Seconds from the request to the last byte of the last page, for each repeat."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        token = ""
        while True:
            q = f"?limit={limit}" + (f"&continue={token}" if token else "") if limit else ""
            async with http.get(url + q) as resp:
                token = continue_token(await expect(resp, 200))
            if not token:
                break
        times.append(time.perf_counter() - t0)
    return times


async def phase_lists(http: aiohttp.ClientSession, url: str, clients: int,
                      etcd: Etcd | None) -> list[str]:
    lines = []
    await create_namespace(http, url, "bench-list")
    path = f"{url}/api/v1/namespaces/bench-list/pods"
    made = 0
    for size in (1000, 10_000):
        async def create(i: int, first: int = made) -> None:
            async with http.post(path, json=pod(f"l-{first + i}", scheduler="bench-none")) \
                    as resp:
                await expect(resp, 201)

        await drive(size - made, clients, create, "")
        made = size
        for limit in (0, 500):
            times = await timed_list(http, path, limit, 5)
            what = f"LIST {size} pods" + (f" (limit={limit}, all pages)" if limit else "")
            lines.append(f"{what:<34} median {statistics.median(times)*1e3:7.1f} ms  "
                         f"best {min(times)*1e3:7.1f} ms")
    if etcd is not None:
        value = base64.b64encode(json.dumps(pod("l-x")).encode()).decode()

        async def put(i: int) -> None:
            key = base64.b64encode(f"/registry/pods/bench-list/l-{i:05d}".encode()).decode()
            async with http.post(f"{etcd.url}/v3/kv/put",
                                 json={"key": key, "value": value}) as resp:
                await expect(resp, 200)

        await drive(10_000, clients, put, "")
        start = base64.b64encode(b"/registry/pods/bench-list/").decode()
        end = base64.b64encode(b"/registry/pods/bench-list0").decode()
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            async with http.post(f"{etcd.url}/v3/kv/range",
                                 json={"key": start, "range_end": end}) as resp:
                await expect(resp, 200)
            times.append(time.perf_counter() - t0)
        lines.append(f"{'etcd kv/range of 10000 (anchor)':<34} median "
                     f"{statistics.median(times)*1e3:7.1f} ms  best {min(times)*1e3:7.1f} ms")
    return lines


async def phase_watch(http: aiohttp.ClientSession, url: str, watchers: int, pods: int,
                      clients: int, tls: ssl.SSLContext) -> str:
    await create_namespace(http, url, "bench-watch")
    path = f"{url}/api/v1/namespaces/bench-watch/pods"
    async with http.get(path) as resp:
        rv = json.loads(await expect(resp, 200))["metadata"]["resourceVersion"]
    sent: dict[str, float] = {}
    lags: list[float] = []
    done = asyncio.Event()
    received = 0
    target = watchers * pods

    async def watch() -> None:
        nonlocal received
        seen = 0
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with aiohttp.ClientSession(timeout=timeout) as own, \
                own.get(f"{path}?watch=true&resourceVersion={rv}", ssl=tls) as resp:
            async for line in resp.content:
                ev = json.loads(line)
                lags.append(time.perf_counter() - sent[ev["object"]["metadata"]["name"]])
                received += 1
                seen += 1
                if received >= target:
                    done.set()
                if seen >= pods:
                    return

    tasks = [asyncio.create_task(watch()) for _ in range(watchers)]
    await asyncio.sleep(0.5)  # let every watch reach the server before the creates start

    async def create(i: int) -> None:
        name = f"w-{i}"
        sent[name] = time.perf_counter()
        async with http.post(path, json=pod(name, scheduler="bench-none")) as resp:
            await expect(resp, 201)

    t0 = time.perf_counter()
    await drive(pods, clients, create, "")
    try:
        await asyncio.wait_for(done.wait(), 120)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    seconds = time.perf_counter() - t0
    return (f"{'watch fan-out (' + str(watchers) + ' watchers)':<34} {received / seconds:8.0f} "
            f"events/s  lag p50 {quantile(lags, 50)*1e3:6.1f} ms  p99 "
            f"{quantile(lags, 99)*1e3:6.1f} ms  ({received} events)")


async def phase_bind(http: aiohttp.ClientSession, url: str, n: int, clients: int,
                     tls: ssl.SSLContext) -> str:
    await create_namespace(http, url, "bench-bind")
    path = f"{url}/api/v1/namespaces/bench-bind/pods"
    async with http.get(path) as resp:
        rv = json.loads(await expect(resp, 200))["metadata"]["resourceVersion"]
    bound: set[str] = set()
    all_bound = asyncio.Event()
    created_at: dict[str, float] = {}
    latencies: list[float] = []

    async def watch() -> None:
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with aiohttp.ClientSession(timeout=timeout) as own, \
                own.get(f"{path}?watch=true&resourceVersion={rv}", ssl=tls) as resp:
            async for line in resp.content:
                obj = json.loads(line)["object"]
                name = obj["metadata"]["name"]
                if obj["spec"].get("nodeName") and name not in bound:
                    bound.add(name)
                    latencies.append(time.perf_counter() - created_at[name])
                    if len(bound) >= n:
                        all_bound.set()
                        return

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.3)

    async def create(i: int) -> None:
        name = f"b-{i}"
        created_at[name] = time.perf_counter()
        async with http.post(path, json=pod(name, simulated=True)) as resp:
            await expect(resp, 201)

    t0 = time.perf_counter()
    creates = await drive(n, clients, create, "")
    try:
        await asyncio.wait_for(all_bound.wait(), 300)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    seconds = time.perf_counter() - t0
    return (f"{'create-then-bind':<34} {n / seconds:8.0f} pods/s  created at "
            f"{creates.per_second:.0f}/s; created->bound p50 {quantile(latencies, 50):.2f} s  "
            f"p99 {quantile(latencies, 99):.2f} s")


async def phase_memory(http: aiohttp.ClientSession, serve: Serve, url: str, n: int,
                       clients: int, churn_seconds: float) -> list[str]:
    """RSS with n 1-KiB ConfigMaps, then after churn_seconds of updates to them (history
    the store keeps until compaction, or a leak: the two numbers tell)."""
    idle = serve.rss_mb()
    await create_namespace(http, url, "bench-mem")
    path = f"{url}/api/v1/namespaces/bench-mem/configmaps"

    async def create(i: int) -> None:
        async with http.post(path, json=configmap(f"m-{i}")) as resp:
            await expect(resp, 201)

    await drive(n, clients, create, "")
    loaded = serve.rss_mb()
    rng = random.Random(2)
    deadline = time.monotonic() + churn_seconds
    updates = 0

    async def churn() -> None:
        nonlocal updates
        while time.monotonic() < deadline:
            patch = {"data": {"payload": KIB, "n": str(rng.random())}}
            async with http.patch(f"{path}/m-{rng.randrange(n)}", json=patch,
                                  headers={"Content-Type": "application/merge-patch+json"}) \
                    as resp:
                await expect(resp, 200)
            updates += 1

    await asyncio.gather(*(churn() for _ in range(clients)))
    churned = serve.rss_mb()
    return [f"serve RSS: {idle:.0f} MB idle, {loaded:.0f} MB with {n} 1-KiB ConfigMaps, "
            f"{churned:.0f} MB after {updates} updates in {churn_seconds:.0f} s"]


# --- the security chain's cost -------------------------------------------------------------

class ApiOnly:
    """The API server alone (its store, ApiService, HTTP) in a child process running this
    script with --api-only: `secure` is serve's front door (HTTPS with the cluster's
    certificates, kube's authenticators, the default authorizer chain), `open` the same
    server without any of it (plain HTTP, everyone the admin, everything allowed). Nothing
    else differs, so the difference is what the security chain costs."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.dir = Path(tempfile.mkdtemp(prefix=f"bench-api-{mode}-"))
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--api-only", mode, "--api-only-port", str(self.port),
             "--api-only-dir", str(self.dir)], cwd=ROOT, stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            raise SystemExit(f"the {mode} API server did not start: {line!r}")

    @property
    def url(self) -> str:
        return f"{'https' if self.mode == 'secure' else 'http'}://127.0.0.1:{self.port}"

    def tls(self, *, admin: bool) -> ssl.SSLContext:
        pki = self.dir / "pki"
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        if admin:
            ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return ctx

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        shutil.rmtree(self.dir, ignore_errors=True)


async def run_api_only(mode: str, port: int, data: Path) -> None:
    """The child of ApiOnly: serve the API until terminated."""
    from minikube_py.apiserver.authn import standard_authenticators
    from minikube_py.apiserver.authz import AlwaysAllow
    from minikube_py.apiserver.http import build_app
    from minikube_py.apiserver.satokens import TokenIssuer
    from minikube_py.apiserver.service import ApiService
    from minikube_py.pki.cluster import (
        ADMIN,
        PkiLayout,
        api_server_spec,
        ensure_cluster_pki,
        load_service_account_key,
    )
    from minikube_py.pki.tls import server_context
    from minikube_py.store.node import RaftStore

    store = RaftStore(data / "store")
    await store.start()
    tasks = [asyncio.create_task(store.run())]
    tls: ssl.SSLContext | None = None
    if mode == "secure":
        pki = PkiLayout(data / "pki")
        ensure_cluster_pki(pki, [(pki.api_server, api_server_spec(
            node_ip="127.0.0.1", service_cidr="10.96.0.0/12")), (pki.admin, ADMIN)],
            datetime.now(UTC))
        key = load_service_account_key(pki)
        api = ApiService(store, token_issuer=TokenIssuer(key.private_key, clock=time.time))
        tls = server_context(pki.api_server, pki.ca.cert)
    else:
        api = ApiService(store, authorizers=[AlwaysAllow()])
    await api.start()
    tasks.append(asyncio.create_task(api.run()))
    app = build_app(api, authenticators=standard_authenticators(api.token_authenticators())
                    ) if mode == "secure" else build_app(api)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=tls).start()
    print("ready", flush=True)
    await asyncio.gather(*tasks)


async def service_account_token(http: aiohttp.ClientSession, url: str, ns: str) -> str:
    """A token of a ServiceAccount bound to a Role that lets it create ConfigMaps in `ns`
    (not `edit`: an API server alone runs no aggregation controller to fill it)."""
    async with http.post(f"{url}/api/v1/namespaces/{ns}/serviceaccounts",
                         json={"metadata": {"name": "bench"}}) as resp:
        await expect(resp, 201)
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "bench-creator"},
            "rules": [{"verbs": ["create"], "apiGroups": [""], "resources": ["configmaps"]}]}
    async with http.post(f"{url}/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
                         json=role) as resp:
        await expect(resp, 201)
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "bench-creator"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                           "name": "bench-creator"},
               "subjects": [{"kind": "ServiceAccount", "name": "bench", "namespace": ns}]}
    async with http.post(
            f"{url}/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
            json=binding) as resp:
        await expect(resp, 201)
    async with http.post(f"{url}/api/v1/namespaces/{ns}/serviceaccounts/bench/token",
                         json={"spec": {"expirationSeconds": 3600}}) as resp:
        return str(json.loads(await expect(resp, 201))["status"]["token"])


async def security_creates(url: str, n: int, clients: int, what: str, *,
                           tls: ssl.SSLContext | None, token: str | None = None,
                           ns: str, prefix: str = "cm") -> Rate:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    connector = aiohttp.TCPConnector(limit=clients * 2, ssl=tls if tls is not None else False)
    async with aiohttp.ClientSession(connector=connector, headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=600)) as http:
        path = f"{url}/api/v1/namespaces/{ns}/configmaps"

        async def version(_i: int) -> None:
            async with http.get(f"{url}/version") as resp:
                await expect(resp, 200)

        async def create(i: int) -> None:
            async with http.post(path, json=configmap(f"{prefix}-{i}")) as resp:
                await expect(resp, 201)

        # Keep-alive connections, as real clients keep them: opened (and their TLS
        # handshakes done) before the clock starts; `handshakes` measures what one costs.
        await drive(clients * 4, clients, version, "warm-up")
        return await drive(n, clients, create, what)


async def security_list(url: str, tls: ssl.SSLContext | None, n: int, what: str) -> str:
    """LIST of the `n` ConfigMaps the creates made, on a warm connection: median of 5."""
    connector = aiohttp.TCPConnector(ssl=tls if tls is not None else False)
    times: list[float] = []
    async with aiohttp.ClientSession(connector=connector) as http:
        for _ in range(6):
            t0 = time.perf_counter()
            async with http.get(f"{url}/api/v1/namespaces/bench-sec/configmaps") as resp:
                body = await expect(resp, 200)
            times.append(time.perf_counter() - t0)
    return (f"LIST {n} ConfigMaps ({len(body) / 1e6:.1f} MB), {what:<20} median "
            f"{statistics.median(times[1:]) * 1e3:6.1f} ms")


async def handshakes(url: str, n: int, tls: ssl.SSLContext) -> Rate:
    """GET /version on a new connection each time: a TLS handshake with the client
    certificate, one after another."""
    async def once(_i: int) -> None:
        connector = aiohttp.TCPConnector(ssl=tls, force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http, \
                http.get(f"{url}/version") as resp:
            await expect(resp, 200)

    return await drive(n, 1, once, "new TLS connection + GET /version")


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def phase_security(n: int, clients: int, rounds: int = 5) -> list[str]:
    """ConfigMap creates over keep-alive connections: without the security chain, and
    through it as the admin (a client certificate of system:masters) and as a ServiceAccount
    (a bearer JWT, then RBAC's decision). Both servers run side by side and the three take
    turns, `rounds` times, so that drift of the machine falls on each alike; the median
    round of each is shown, with the server's CPU per create."""
    open_api, secure = ApiOnly("open"), ApiOnly("secure")
    try:
        admin_tls = secure.tls(admin=True)
        async with aiohttp.ClientSession() as http:
            await create_namespace(http, open_api.url, "bench-sec")
        async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=admin_tls)) as http:
            await create_namespace(http, secure.url, "bench-sec")
            await create_namespace(http, secure.url, "bench-sa")
            token = await service_account_token(http, secure.url, "bench-sa")
        ways: list[tuple[str, ApiOnly, dict[str, Any]]] = [
            ("creates, no security chain", open_api, {"tls": None, "ns": "bench-sec"}),
            ("creates, TLS + x509 admin", secure, {"tls": admin_tls, "ns": "bench-sec"}),
            ("creates, TLS + SA token + RBAC", secure,
             {"tls": secure.tls(admin=False), "token": token, "ns": "bench-sa"}),
        ]
        results: dict[str, list[tuple[Rate, float]]] = {what: [] for what, _, _ in ways}
        for r in range(rounds):
            for what, api, kwargs in ways:
                cpu0 = process_cpu_seconds(api.proc.pid)
                rate = await security_creates(api.url, n, clients, what, prefix=f"r{r}",
                                              **kwargs)
                per_create = (process_cpu_seconds(api.proc.pid) - cpu0) / n
                results[what].append((rate, per_create))
        handshake = await handshakes(secure.url, 200, admin_tls)
        lists = [await security_list(open_api.url, None, rounds * n, "no security chain"),
                 await security_list(secure.url, admin_tls, rounds * n, "TLS + x509 admin")]
    finally:
        open_api.stop()
        secure.stop()
    lines: list[str] = [handshake.line(), *lists]
    anchor: Rate | None = None
    for runs in results.values():
        runs.sort(key=lambda run: run[0].per_second)
        median, _ = runs[len(runs) // 2]
        cpu = sorted(c for _, c in runs)[len(runs) // 2]
        lines.append(f"{median.line(anchor)}  server CPU {cpu * 1e6:.0f} us/create "
                     f"(median of {rounds} rounds)")
        anchor = anchor or median
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--creates", type=int, default=5000)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--watch-pods", type=int, default=1000)
    parser.add_argument("--memory-objects", type=int, default=32_000)
    parser.add_argument("--churn-seconds", type=float, default=60.0)
    parser.add_argument("--etcd", default=shutil.which("etcd"))
    parser.add_argument("--quick", action="store_true", help="a tenth of every count")
    parser.add_argument("--authorization-mode", choices=["Node,RBAC", "AlwaysAllow"],
                        default="Node,RBAC", help="serve's --authorization-mode")
    parser.add_argument("--identity", choices=["admin", "user"], default="admin",
                        help="the clients' identity: the admin (system:masters) or a user "
                             "RBAC authorizes")
    parser.add_argument("--only", default="", help="comma-separated phases: "
                        "creates,gets,lists,watch,bind,memory,security,secrets")
    parser.add_argument("--api-only", choices=["open", "secure"], help=argparse.SUPPRESS)
    parser.add_argument("--api-only-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api-only-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.api_only:
        await run_api_only(args.api_only, args.api_only_port, args.api_only_dir)
        return
    scale = 10 if args.quick else 1
    only = set(args.only.split(",")) if args.only else None

    def wanted(phase: str) -> bool:
        return only is None or phase in only

    if wanted("security"):
        print("the security chain (API servers of their own, one at a time):", flush=True)
        for line in await phase_security(args.creates // scale, args.clients):
            print(line, flush=True)
        if only == {"security"}:
            return
    serve = Serve(args.nodes // scale, args.authorization_mode)
    print(f"starting serve with {serve.nodes} simulated nodes, authorization "
          f"{args.authorization_mode}, clients as {args.identity} ...", flush=True)
    serve.start()
    etcd = Etcd(args.etcd) if args.etcd else None
    if args.identity == "user":
        await bind_bench_user(serve)
    tls = serve.tls(args.identity)
    connector = aiohttp.TCPConnector(limit=args.clients * 2, ssl=tls)
    timeout = aiohttp.ClientTimeout(total=600)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            if etcd is not None:
                await etcd.ready(http)
            url = serve.url
            n = args.creates // scale
            cpu0 = serve.cpu_seconds()
            if wanted("creates"):
                cms, pods, anchor = await phase_creates(http, url, n, args.clients, etcd)
                print(cms.line(anchor))
                print(pods.line(anchor))
                if anchor is not None:
                    print(anchor.line())
            if wanted("gets") and wanted("creates"):
                print((await phase_gets(http, url, n * 4, n, args.clients)).line())
            if wanted("lists"):
                for line in await phase_lists(http, url, args.clients, etcd):
                    print(line)
            if wanted("watch"):
                print(await phase_watch(http, url, args.watchers // scale,
                                        args.watch_pods // scale, args.clients, tls))
            if wanted("bind"):
                print(await phase_bind(http, url, n, args.clients, tls))
            if wanted("secrets"):
                for line in await phase_secrets(serve, n, args.clients):
                    print(line)
            if wanted("memory"):
                for line in await phase_memory(http, serve, url, args.memory_objects // scale,
                                               args.clients, args.churn_seconds / scale):
                    print(line)
            print(f"serve used {serve.cpu_seconds() - cpu0:.1f} CPU-seconds over the run")
    finally:
        serve.stop()
        if etcd is not None:
            etcd.stop()


if __name__ == "__main__":
    import uvloop  # as serve runs

    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(main())
