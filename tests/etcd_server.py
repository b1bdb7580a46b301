"""A real etcd (Debian's etcd-server, 3.4) for tests: one member on free loopback ports
with a data dir of its own (on tmpfs when there is one: its fsyncs are not what is
tested), stopped and removed afterwards. Tests that use it are skipped where there is no
etcd binary."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from aetcd.rpc import rpc_pb2, rpc_pb2_grpc

ETCD = Path("/usr/bin/etcd")
NEEDS_ETCD = pytest.mark.skipif(not ETCD.exists(), reason="no etcd (apt install etcd-server)")
READY_TIMEOUT = 20.0


@dataclass(frozen=True)
class EtcdProcess:
    endpoint: str  # http://127.0.0.1:PORT
    data_dir: Path

    @property
    def target(self) -> str:
        return self.endpoint.removeprefix("http://")

    def wipe(self) -> None:
        """Delete every key (revisions go on counting: etcd's cannot be reset)."""
        with grpc.insecure_channel(self.target) as channel:
            rpc_pb2_grpc.KVStub(channel).DeleteRange(
                rpc_pb2.DeleteRangeRequest(key=b"\x00", range_end=b"\x00"), timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_etcd() -> Iterator[EtcdProcess]:
    """An etcd that answers on loopback, for the `with` block."""
    shm = Path("/dev/shm")
    data_dir = Path(tempfile.mkdtemp(prefix="minikube-py-etcd-",
                                     dir=shm if shm.is_dir() else None))
    client, peer = f"http://127.0.0.1:{_free_port()}", f"http://127.0.0.1:{_free_port()}"
    log = (data_dir.parent / f"{data_dir.name}.log").open("wb")
    process = subprocess.Popen(
        [str(ETCD), "--name", "test", "--data-dir", str(data_dir / "data"),
         "--listen-client-urls", client, "--advertise-client-urls", client,
         "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
         "--initial-cluster", f"test={peer}", "--log-level", "warn"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ETCD_UNSUPPORTED_ARCH": ""})
    try:
        etcd = EtcdProcess(client, data_dir)
        with grpc.insecure_channel(etcd.target) as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=READY_TIMEOUT)
            except grpc.FutureTimeoutError:
                raise RuntimeError(f"etcd did not answer on {client} within {READY_TIMEOUT} s "
                                   f"(exit code {process.poll()}; log {log.name})") from None
        yield etcd
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)
        Path(log.name).unlink(missing_ok=True)
