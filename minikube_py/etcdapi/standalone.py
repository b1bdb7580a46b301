"""The embedded store on its own, etcd-style: one store member and its etcd v3 API in one
process (`minikube-py store-serve`), with no Kubernetes API, containerd or host network.

What it is for: etcd tools and benchmarks against the store alone (scripts/bench_etcd.py),
and, once the store's peer transport is wired here, a store cluster of several such members.
The data dir's layout and lock are `serve`'s (the store in DIR/store, DIR/serve.lock held),
so a `serve` and a `store-serve` never share a store.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from minikube_py.datalock import DataDirBusy, DataDirLock
from minikube_py.etcdapi.server import EtcdServer
from minikube_py.gcsettings import settle_garbage_collector
from minikube_py.store.node import RaftStore
from minikube_py.store.types import StoreError
from minikube_py.store.wal import WalCorruptError
from minikube_py.supervisor import Supervisor, TaskFailed


class StandaloneStartError(Exception):
    """The member could not start; the message names the part that failed."""


@dataclass(frozen=True, slots=True)
class StandaloneConfig:
    data_dir: Path
    etcd_host: str = "127.0.0.1"
    etcd_port: int = 2379  # 0: any free port (the line printed at start says which)
    name: str = "minikube-py"
    member_id: int = 1

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"


@dataclass
class StandaloneMember:
    """Handles to a running member, for the caller that started it and for tests."""

    store: RaftStore
    etcd: EtcdServer
    supervisor: Supervisor


async def start_member(config: StandaloneConfig,
                       make_store: Callable[[Path], RaftStore] = RaftStore) -> StandaloneMember:
    """Lock the data dir, start the store, then its etcd API; on failure, stop what started
    and raise StandaloneStartError."""
    sup = Supervisor()
    try:
        return await _start(config, make_store, sup)
    except BaseException:
        await sup.shutdown()
        raise


async def _start(config: StandaloneConfig, make_store: Callable[[Path], RaftStore],
                 sup: Supervisor) -> StandaloneMember:
    if (config.data_dir / "store" / "member.json").exists():
        raise StandaloneStartError(
            f"{config.data_dir} holds a control-plane member's store (a member of a cluster "
            "of stores): run it with `minikube-py serve`, not store-serve")
    lock = DataDirLock(config.data_dir)
    try:
        lock.acquire()
    except DataDirBusy as e:
        raise StandaloneStartError(str(e)) from e

    async def unlock() -> None:
        lock.release()

    sup.on_stop("data-dir-lock", unlock)
    store = make_store(config.store_dir)
    try:  # refuses a host off loopback before anything starts
        etcd = EtcdServer(store, config.etcd_host, config.etcd_port, member_id=config.member_id,
                          name=config.name, data_dir=config.store_dir)
    except ValueError as e:
        raise StandaloneStartError(str(e)) from e
    try:
        await store.start()
    except (StoreError, WalCorruptError) as e:
        raise StandaloneStartError(f"the store failed to start: {e}") from e
    sup.on_stop("store", store.close)
    try:
        await etcd.start()
    except (OSError, RuntimeError) as e:
        await etcd.stop(None)  # never started, but grpc wants its server shut down
        raise StandaloneStartError(
            f"cannot serve etcd's API on {config.etcd_host}:{config.etcd_port}: {e}") from e
    sup.on_stop("etcd-api", etcd.stop)
    sup.start("store", store.run())  # from now on a failed store stops the member
    return StandaloneMember(store, etcd, sup)


async def serve_member(config: StandaloneConfig, out: TextIO = sys.stdout) -> int:
    """Run one member until SIGINT/SIGTERM or until a part of it fails; returns the exit
    code (0 stopped on request, 1 did not start, 2 failed while running). Once it serves,
    it prints `etcd API listening on URL` (a line a parent process may wait for)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        member = await start_member(config)
    except StandaloneStartError as e:
        print(f"error: {e}", file=out, flush=True)
        return 1
    settle_garbage_collector()  # as serve does: the store's indexes are long-lived
    print(f"store ready at revision {member.store.revision} in {config.store_dir}", file=out)
    print(f"etcd API listening on {member.etcd.url} (loopback only; etcdctl --endpoints "
          f"{member.etcd.url})", file=out, flush=True)
    why: TaskFailed | None = await member.supervisor.wait(stop)
    print("stopping (signal received)" if why is None else f"error: {why}; stopping",
          file=out, flush=True)
    await member.supervisor.shutdown()
    print("stopped", file=out, flush=True)
    return 0 if why is None else 2
