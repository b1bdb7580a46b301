#!/usr/bin/env python3
"""Our store against etcd 3.4, both driven through etcd's v3 gRPC API by the same client.

Both stores run side by side in this one run, each a process of its own listening on
loopback: ours is `minikube-py store-serve` (one RaftStore member and its etcd API,
minikube_py/etcdapi/standalone.py), etcd is the `etcd` binary (Debian's etcd-server 3.4)
with a temp data dir. Both fsync their WAL on every commit (etcd's default; RaftStore's
only mode). One client code path drives both: grpc.aio channels with the etcd stubs the
`aetcd` package ships (KV, Watch), 256-byte values, a fresh key prefix per row.

Rows (each: ours, etcd, ours/etcd; a ratio > 1 is better for ours on throughput, < 1 on
latency): sequential put latency p50/p99 (1 writer, which is also the 1-writer throughput);
put throughput with 16 and 64 concurrent writers; compare-and-swap txn throughput (16
writers, each on its own key: compare mod_revision, put on success); linearizable range of
one key (16 readers); watch delivery latency (put sent -> event seen on a watch stream
opened beforehand, one at a time). Then the same for 3 members (etcd: 3 processes on
loopback; ours: three `serve` members, --no-node, with --etcd-port). Last, ours in-process: RaftStore called
directly by many writers (no gRPC), the number the API server pays.

Every loop stops at its count or its time limit, whichever comes first (the row says how
many it did). Children run in their own session and are stopped, and the temp dirs
removed, on any exit, Ctrl-C included. "client CPU" is this process's CPU time over the
row's wall time: near 100% means the Python client, not the store, set the pace.

Usage: scripts/bench_etcd.py [-n 3000] [--seconds 10] [--etcd etcd] [--members 1,3]
       scripts/bench_etcd.py --in-process-only [--inproc-writers 256] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # not grpc's GOAWAY notes as stores stop

import grpc
import uvloop
from aetcd.rpc import kv_pb2, rpc_pb2, rpc_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minikube_py.etcdapi.grpcserver import GrpcServer  # noqa: E402
from minikube_py.gcsettings import settle_garbage_collector  # noqa: E402
from minikube_py.store.node import RaftStore  # noqa: E402
from minikube_py.store.types import PutOp  # noqa: E402

VALUE = os.urandom(256)
START_TIMEOUT = 20.0  # seconds for a store process to answer
RPC_TIMEOUT = 10.0
INSTALL_HINT = "apt-get install -y etcd-server"
NOT_WIRED = "n/a (3 members need root: serve does)"


# ---- child processes ------------------------------------------------------------------


class Children:
    """The processes this run started: each in its own session (a Ctrl-C reaches us, not
    them), all stopped by `stop_all` (SIGTERM, then SIGKILL after a grace period)."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []

    def spawn(self, argv: list[str], log_path: Path, env: dict[str, str] | None = None
              ) -> subprocess.Popen[bytes]:
        with log_path.open("wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with contextlib.suppress(ValueError):
            self._procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self._procs):
            self.stop(proc)


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:]


@dataclass
class Store:
    """A store under test: the gRPC endpoint (host:port) clients talk to, and a label."""

    label: str
    endpoint: str
    version: str = ""


async def wait_answering(endpoint: str, procs: list[subprocess.Popen[bytes]],
                         logs: list[Path]) -> str:
    """Until `endpoint` answers a linearizable Range and Status (its version), or a process
    exits, or START_TIMEOUT passes."""
    deadline = time.monotonic() + START_TIMEOUT
    async with grpc.aio.insecure_channel(endpoint) as channel:
        kv, maintenance = rpc_pb2_grpc.KVStub(channel), rpc_pb2_grpc.MaintenanceStub(channel)
        while True:
            for proc, log in zip(procs, logs, strict=True):
                if proc.poll() is not None:
                    raise RuntimeError(f"{log.stem} exited with {proc.returncode}:\n"
                                       f"{tail(log)}")
            try:
                await kv.Range(rpc_pb2.RangeRequest(key=b"/"), timeout=1.0)
                status = await maintenance.Status(rpc_pb2.StatusRequest(), timeout=1.0)
                return str(status.version)
            except grpc.aio.AioRpcError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{endpoint} did not answer within {START_TIMEOUT:.0f} s:\n"
                                   f"{tail(logs[0])}")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def ours_one(children: Children, directory: Path) -> AsyncIterator[Store]:
    """`minikube-py store-serve` on a free loopback port, with a temp data dir."""
    data_dir, log = directory / "ours", directory / "ours.log"
    argv = [sys.executable, "-m", "minikube_py", "store-serve", f"--data-dir={data_dir}",
            "--etcd-port=0"]
    try:
        async with spawn_listening(children, argv, log, "store-serve") as (proc, endpoint):
            version = await wait_answering(endpoint, [proc], [log])
            yield Store("ours", endpoint, version)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


class NoopKV(rpc_pb2_grpc.KVServicer):  # type: ignore[misc]
    """Answers Put and Range at once with empty responses, on the gRPC server ours uses
    (etcdapi/grpcserver.py): what serving etcd's API costs with no store behind it."""

    async def Put(self, request: Any, context: Any) -> Any:
        return rpc_pb2.PutResponse()

    async def Range(self, request: Any, context: Any) -> Any:
        return rpc_pb2.RangeResponse(kvs=[kv_pb2.KeyValue(key=request.key)])


async def serve_noop() -> None:
    """The child process behind the floor column: run until SIGTERM."""
    server = GrpcServer()
    rpc_pb2_grpc.add_KVServicer_to_server(NoopKV(), server)
    port = await server.start("127.0.0.1", 0)
    print(f"etcd API listening on http://127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop(None)


@contextlib.asynccontextmanager
async def spawn_listening(children: Children, argv: list[str], log: Path, label: str
                          ) -> AsyncIterator[tuple[subprocess.Popen[bytes], str]]:
    """A child that prints `etcd API listening on http://HOST:PORT` once it serves."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = children.spawn(argv, log, env)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (found := re.search(r"etcd API listening on http://(\S+)",
                                      await asyncio.to_thread(log.read_text))):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{label} did not start (exit {proc.poll()}):\n{tail(log)}")
            await asyncio.sleep(0.05)
        yield proc, found.group(1)
    finally:
        children.stop(proc)


@contextlib.asynccontextmanager
async def noop_floor(children: Children, directory: Path) -> AsyncIterator[Store]:
    async with spawn_listening(children, [sys.executable, __file__, "--serve-noop"],
                               directory / "noop.log", "the no-op server") as (_, endpoint):
        yield Store("floor", endpoint)


BENCH_BRIDGE, BENCH_NODE_IP = "mkpybench0", "10.251.99.1"  # a test-only bridge address


@contextlib.asynccontextmanager
async def ours_three(children: Children, directory: Path) -> AsyncIterator[Store | None]:
    """Three control-plane members on loopback (`serve --cluster-init` and two `serve
    --server`, all --no-node, each with its etcd API), the way a user runs them; clients talk
    to the first, as to etcd's. Needs root (serve does); the first member's node address is
    on a bridge of this script's own, with nothing attached, removed afterwards."""
    if os.geteuid() != 0:
        yield None
        return
    await asyncio.to_thread(bench_bridge, up=True)
    dirs = [directory / f"member-{name}" for name in "abc"]
    procs, logs = [], []
    try:
        etcd_ports, api_ports = [], []
        for i, name in enumerate("abc"):
            etcd_port, api_port = free_loopback_port(), free_loopback_port()
            etcd_ports.append(etcd_port)
            api_ports.append(api_port)
            argv = [sys.executable, "-m", "minikube_py", "serve", f"--data-dir={dirs[i]}",
                    "--no-node", f"--node-name={name}", f"--api-port={api_port}",
                    f"--peer-port={free_loopback_port()}", f"--etcd-port={etcd_port}",
                    f"--pod-cidr=10.244.{240 + i}.0/24", f"--bridge=mkpyb{i}",
                    "--service-cidr=10.112.99.0/24", "--kubelet-port=0",
                    "--no-kubeconfig-merge"]
            if i == 0:
                argv += ["--cluster-init", f"--node-ip={BENCH_NODE_IP}"]
            else:
                token = (dirs[0] / "server-token").read_text().strip()
                argv += [f"--server=https://127.0.0.1:{api_ports[0]}", f"--token={token}"]
            log = directory / f"member-{name}.log"
            procs.append(children.spawn(argv, log, {**os.environ, "PYTHONPATH": str(ROOT)}))
            logs.append(log)
            deadline = time.monotonic() + 60
            while "cluster ready" not in await asyncio.to_thread(log.read_text):
                if procs[-1].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"member {name} did not start:\n{tail(log)}")
                await asyncio.sleep(0.1)
        endpoint = f"127.0.0.1:{etcd_ports[0]}"
        version = await wait_answering(endpoint, procs, logs)
        yield Store("ours", endpoint, version)
    finally:
        for proc in procs:
            children.stop(proc)
        await asyncio.to_thread(delete_members, dirs)
        await asyncio.to_thread(bench_bridge, up=False)


def bench_bridge(*, up: bool) -> None:
    """The bridge holding the first member's node address: made anew, or removed."""
    subprocess.run(["ip", "link", "del", BENCH_BRIDGE], capture_output=True, check=False)
    if up:
        for cmd in (["link", "add", BENCH_BRIDGE, "type", "bridge"],
                    ["addr", "add", f"{BENCH_NODE_IP}/32", "dev", BENCH_BRIDGE],
                    ["link", "set", BENCH_BRIDGE, "up"]):
            subprocess.run(["ip", *cmd], check=True, capture_output=True)


def delete_members(dirs: list[Path]) -> None:
    for d in dirs:
        subprocess.run([sys.executable, "-m", "minikube_py", "delete", f"--data-dir={d}"],
                       capture_output=True, check=False, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})


@contextlib.asynccontextmanager
async def etcd_cluster(children: Children, directory: Path, binary: str,
                       members: int) -> AsyncIterator[Store]:
    """`members` etcd processes on free loopback ports, temp data dirs; clients talk to the
    first (a follower forwards writes to the leader, as a clientv3 pinned to it would)."""
    names = [f"m{i}" for i in range(members)]
    clients = {n: f"127.0.0.1:{free_loopback_port()}" for n in names}
    peers = {n: f"http://127.0.0.1:{free_loopback_port()}" for n in names}
    initial = ",".join(f"{n}={peers[n]}" for n in names)
    procs, logs = [], []
    try:
        for n in names:
            log = directory / f"etcd-{members}-{n}.log"
            procs.append(children.spawn([
                binary, f"--name={n}", f"--data-dir={directory / f'etcd-{members}-{n}'}",
                f"--listen-client-urls=http://{clients[n]}",
                f"--advertise-client-urls=http://{clients[n]}",
                f"--listen-peer-urls={peers[n]}", f"--initial-advertise-peer-urls={peers[n]}",
                f"--initial-cluster={initial}", "--initial-cluster-state=new",
                f"--initial-cluster-token=bench-{os.getpid()}",
            ], log))
            logs.append(log)
        version = await wait_answering(clients[names[0]], procs, logs)
        yield Store("etcd", clients[names[0]], version)
    finally:
        for proc in procs:
            children.stop(proc)
        for n in names:
            shutil.rmtree(directory / f"etcd-{members}-{n}", ignore_errors=True)


# ---- the one client and the workloads ----------------------------------------------------


@dataclass
class Run:
    done: int
    elapsed: float
    cpu: float
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed else 0.0

    def ms(self, q: int) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1e3


async def drive(workers: int, count: int, seconds: float,
                op: Callable[[int, int], Awaitable[None]]) -> Run:
    """op(worker, i) for i = 0.. from `workers` concurrent tasks, until `count` calls were
    started or `seconds` passed; each call timed."""
    latencies: list[float] = []
    started = 0
    deadline = time.monotonic() + seconds

    async def worker(w: int) -> None:
        nonlocal started
        while started < count and time.monotonic() < deadline:
            i = started
            started += 1
            t0 = time.perf_counter()
            await op(w, i)
            latencies.append(time.perf_counter() - t0)

    c0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    return Run(len(latencies), time.perf_counter() - t0, time.process_time() - c0, latencies)


class EtcdClient:
    """The same etcd v3 gRPC calls for every store: one HTTP/2 channel, as clientv3 uses."""

    def __init__(self, endpoint: str) -> None:
        self._channel = grpc.aio.insecure_channel(endpoint)
        self._kv = rpc_pb2_grpc.KVStub(self._channel)
        self._watch = rpc_pb2_grpc.WatchStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    async def put(self, key: bytes, value: bytes) -> int:
        response = await self._kv.Put(rpc_pb2.PutRequest(key=key, value=value),
                                      timeout=RPC_TIMEOUT)
        return int(response.header.revision)

    async def get(self, key: bytes) -> Any:
        response = await self._kv.Range(rpc_pb2.RangeRequest(key=key), timeout=RPC_TIMEOUT)
        return response.kvs[0] if response.kvs else None

    async def cas(self, key: bytes, mod_revision: int, value: bytes) -> tuple[bool, int]:
        """Put `value` if `key` is still at `mod_revision`; (succeeded, its mod revision)."""
        request = rpc_pb2.TxnRequest(
            compare=[rpc_pb2.Compare(key=key, target=rpc_pb2.Compare.MOD,
                                     result=rpc_pb2.Compare.EQUAL, mod_revision=mod_revision)],
            success=[rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=key, value=value))],
            failure=[rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=key))])
        response = await self._kv.Txn(request, timeout=RPC_TIMEOUT)
        if response.succeeded:
            return True, int(response.header.revision)
        return False, int(response.responses[0].response_range.kvs[0].mod_revision)

    @contextlib.asynccontextmanager
    async def watch(self, prefix: bytes) -> AsyncIterator[asyncio.Queue[Any]]:
        """A watch of `prefix`, created on entry; its events arrive in the queue."""
        requests: asyncio.Queue[Any] = asyncio.Queue()
        events: asyncio.Queue[Any] = asyncio.Queue()
        created = asyncio.get_running_loop().create_future()

        async def request_stream() -> AsyncIterator[Any]:
            while (request := await requests.get()) is not None:
                yield request

        call = self._watch.Watch(request_stream())

        async def read() -> None:
            async for response in call:
                if response.created and not created.done():
                    created.set_result(None)
                for event in response.events:
                    events.put_nowait(event)

        reader = asyncio.ensure_future(read())
        requests.put_nowait(rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(
            key=prefix, range_end=prefix[:-1] + bytes([prefix[-1] + 1]))))
        try:
            await asyncio.wait_for(created, RPC_TIMEOUT)
            yield events
        finally:
            requests.put_nowait(None)
            call.cancel()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
                await reader


@dataclass
class Row:
    name: str
    unit: str
    higher_is_better: bool
    value: Callable[[Run], float]


ROWS = {
    "put p50": Row("put latency p50, 1 writer", "ms", False, lambda r: r.ms(50)),
    "put p99": Row("put latency p99, 1 writer", "ms", False, lambda r: r.ms(99)),
    "put 1": Row("put throughput, 1 writer", "/s", True, lambda r: r.rate),
    "put 16": Row("put throughput, 16 writers", "/s", True, lambda r: r.rate),
    "put 64": Row("put throughput, 64 writers", "/s", True, lambda r: r.rate),
    "cas 16": Row("CAS txn throughput, 16 writers", "/s", True, lambda r: r.rate),
    "range 16": Row("linearizable range, 16 readers", "/s", True, lambda r: r.rate),
    "watch p50": Row("watch delivery p50 (put->event)", "ms", False, lambda r: r.ms(50)),
    "watch p99": Row("watch delivery p99 (put->event)", "ms", False, lambda r: r.ms(99)),
}
# which run each row reads
RUN_OF = {"put p50": "put 1", "put p99": "put 1", "put 1": "put 1", "put 16": "put 16",
          "put 64": "put 64", "cas 16": "cas 16", "range 16": "range 16",
          "watch p50": "watch", "watch p99": "watch"}


async def workloads(store: Store, n: int, seconds: float, *, floor: bool = False
                    ) -> dict[str, Run]:
    """Every workload against `store`, through EtcdClient; key prefixes are fresh per run.
    `floor`: only the puts and ranges (what the no-op server answers)."""
    client = EtcdClient(store.endpoint)
    runs: dict[str, Run] = {}
    try:
        for writers in (1, 16, 64):
            prefix = b"/put%d/" % writers

            async def put(_w: int, i: int, prefix: bytes = prefix) -> None:
                await client.put(b"%s%08d" % (prefix, i), VALUE)

            runs[f"put {writers}"] = await drive(writers, n, seconds, put)

        if floor:
            await client.put(b"/range/key", VALUE)

            async def get_any(_w: int, _i: int) -> None:
                await client.get(b"/range/key")

            runs["range 16"] = await drive(16, n, seconds, get_any)
            return runs

        cas_writers = 16
        revisions = [await client.put(b"/cas/%02d" % w, VALUE) for w in range(cas_writers)]
        conflicts = 0

        async def cas(w: int, _i: int) -> None:
            nonlocal conflicts
            ok, revisions[w] = await client.cas(b"/cas/%02d" % w, revisions[w], VALUE)
            conflicts += not ok

        runs["cas 16"] = await drive(cas_writers, n, seconds, cas)
        if conflicts:  # each writer owns its key: a failed compare is a store bug
            raise RuntimeError(f"{store.label}: {conflicts} CAS txns failed their compare")

        await client.put(b"/range/key", VALUE)

        async def get(_w: int, _i: int) -> None:
            if await client.get(b"/range/key") is None:
                raise RuntimeError(f"{store.label}: /range/key not found")

        runs["range 16"] = await drive(16, n, seconds, get)

        async with client.watch(b"/watch/") as events:
            async def put_then_see(_w: int, i: int) -> None:
                key = b"/watch/%08d" % i
                await client.put(key, VALUE)
                event = await asyncio.wait_for(events.get(), RPC_TIMEOUT)
                if event.kv.key != key:
                    raise RuntimeError(f"{store.label}: watch saw {event.kv.key!r}, not {key!r}")

            runs["watch"] = await drive(1, min(n, 1000), seconds, put_then_see)
    finally:
        await client.close()
    return runs


# ---- ours in-process ----------------------------------------------------------------------


async def in_process(directory: Path, writers: int, count: int, seconds: float, *,
                     default_gc: bool = False) -> tuple[Run, int]:
    """RaftStore called directly by `writers` tasks; (the run, fsync batches it took).
    With the garbage collector set as `serve` sets it (the process the API server and
    its store run in), unless `default_gc`."""
    if not default_gc:
        settle_garbage_collector()
    store = RaftStore(directory / "inproc")
    await store.start()
    try:
        batches0 = store.fsync_batches

        async def put(_w: int, i: int) -> None:
            await store.txn([], [PutOp(b"/inproc/%08d" % i, VALUE)], [])

        run = await drive(writers, count, seconds, put)
        return run, store.fsync_batches - batches0
    finally:
        await store.close()
        shutil.rmtree(directory / "inproc", ignore_errors=True)


# ---- report ---------------------------------------------------------------------------------


def fmt(value: float, unit: str) -> str:
    if value != value:  # nan
        return "-"
    return f"{value:.2f} {unit}" if unit == "ms" else f"{value:,.0f}{unit}"


def print_table(title: str, ours: dict[str, Run] | None, etcd: dict[str, Run],
                floor: dict[str, Run] | None) -> None:
    print(f"\n{title}")
    print(f"  {'row':<34} {'ours':>11} {'etcd':>11} {'ours/etcd':>9} {'floor':>9}"
          "   ops done in s, client CPU (ours | etcd)")
    for key, row in ROWS.items():
        e = etcd[RUN_OF[key]]
        ev = row.value(e)
        f = floor.get(RUN_OF[key]) if floor else None
        fv = fmt(row.value(f), row.unit) if f else "-"
        detail_e = f"{e.done} in {e.elapsed:.1f}, {e.cpu / e.elapsed:.0%}"
        if ours is None:
            print(f"  {row.name:<34} {NOT_WIRED}  etcd {fmt(ev, row.unit)}   ({detail_e})")
            continue
        o = ours[RUN_OF[key]]
        ov = row.value(o)
        ratio = ov / ev if ev else float("nan")
        detail_o = f"{o.done} in {o.elapsed:.1f}, {o.cpu / o.elapsed:.0%}"
        print(f"  {row.name:<34} {fmt(ov, row.unit):>11} {fmt(ev, row.unit):>11} "
              f"{ratio:>8.2f}x {fv:>9}   ({detail_o} | {detail_e})")


async def bench(args: argparse.Namespace, directory: Path, children: Children) -> None:
    if not args.in_process_only:
        await bench_grpc(args, directory, children)
    run, batches = await in_process(directory, args.inproc_writers, args.inproc_n,
                                    args.seconds, default_gc=args.default_gc)
    gc_note = "Python's default GC" if args.default_gc else "GC as serve sets it"
    goal = "goal >= 40,000/s: " + ("met" if run.rate >= 40_000 else "MISSED")
    print(f"\nours in-process (RaftStore.txn called directly, {args.inproc_writers} writers, "
          f"1 member, {gc_note}): {run.rate:,.0f} fsynced puts/s ({run.done} in {run.elapsed:.1f} s, "
          f"{run.done / max(batches, 1):.0f} puts per fsync, p50 {run.ms(50):.2f} ms, "
          f"p99 {run.ms(99):.1f} ms, CPU {run.cpu / run.elapsed:.0%}); {goal}")


async def bench_grpc(args: argparse.Namespace, directory: Path, children: Children) -> None:
    binary = shutil.which(args.etcd)
    if binary is None:
        sys.exit(f"etcd not found ({args.etcd!r}); install: {INSTALL_HINT}")
    print(f"256-byte values; each loop: at most {args.n} ops or {args.seconds:.0f} s; "
          f"{os.cpu_count()} CPUs; both stores fsync every commit; one grpc.aio client")
    for members in args.members:
        if members == 1:
            async with ours_one(children, directory) as ours:
                ours_runs: dict[str, Run] | None = await workloads(ours, args.n, args.seconds)
            async with etcd_cluster(children, directory, binary, 1) as etcd:
                etcd_runs = await workloads(etcd, args.n, args.seconds)
            async with noop_floor(children, directory) as noop:
                floor_runs = await workloads(noop, args.n, args.seconds, floor=True)
            print_table(f"1 member (ours {ours.version}, etcd {etcd.version}; floor: a no-op "
                        "KV server on our gRPC server, no store)", ours_runs, etcd_runs,
                        floor_runs)
        else:
            async with ours_three(children, directory) as ours3:
                ours_runs = (None if ours3 is None
                             else await workloads(ours3, args.n, args.seconds))
            async with etcd_cluster(children, directory, binary, members) as etcd:
                etcd_runs = await workloads(etcd, args.n, args.seconds)
            print_table(f"{members} members on loopback (etcd {etcd.version})",
                        ours_runs, etcd_runs, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=3000, help="ops per loop (at most)")
    parser.add_argument("--seconds", type=float, default=10.0, help="time limit per loop")
    parser.add_argument("--etcd", default="etcd", help="etcd binary (name on PATH or path)")
    parser.add_argument("--members", default="1,3",
                        type=lambda s: [int(m) for m in s.split(",")],
                        help="cluster sizes to run, comma-separated")
    parser.add_argument("--inproc-writers", type=int, default=256)
    parser.add_argument("--inproc-n", type=int, default=200_000)
    parser.add_argument("--in-process-only", action="store_true",
                        help="run only the in-process row (no etcd, no gRPC)")
    parser.add_argument("--default-gc", action="store_true",
                        help="the in-process row with Python's default GC thresholds")
    parser.add_argument("--serve-noop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_noop:  # the floor's child process
        uvloop.run(serve_noop())
        return
    children = Children()
    code = 0
    with tempfile.TemporaryDirectory(prefix="bench-etcd-") as d:
        try:
            uvloop.run(bench(args, Path(d), children))
        except KeyboardInterrupt:
            print("\ninterrupted: stopping the stores", file=sys.stderr)
            code = 130
        finally:
            children.stop_all()
    sys.exit(code)


if __name__ == "__main__":
    main()
