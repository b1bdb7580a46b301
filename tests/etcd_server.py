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
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from aetcd.rpc import rpc_pb2, rpc_pb2_grpc

from minikube_py.pki.certs import CertSpec
from minikube_py.pki.cluster import KeyPair, PkiLayout, ensure_cluster_pki

ETCD = Path("/usr/bin/etcd")
NEEDS_ETCD = pytest.mark.skipif(not ETCD.exists(), reason="no etcd (apt install etcd-server)")
READY_TIMEOUT = 20.0


@dataclass(frozen=True)
class EtcdCerts:
    """An https etcd's files: the CA, etcd's serving certificate (for 127.0.0.1), and a
    client certificate etcd accepts (it asks for one)."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    def credentials(self, *, client: bool = True) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            self.ca.read_bytes(), self.client_key.read_bytes() if client else None,
            self.client_cert.read_bytes() if client else None)


def make_etcd_certs(root: Path) -> EtcdCerts:
    """A CA of the test's own and etcd's certificates, made by the cluster PKI's code."""
    layout = PkiLayout(root)
    server = KeyPair(root / "etcd-server.crt", root / "etcd-server.key")
    client = KeyPair(root / "etcd-client.crt", root / "etcd-client.key")
    ensure_cluster_pki(layout, [
        (server, CertSpec("etcd", dns_names=("localhost",), ip_addresses=("127.0.0.1",),
                          server=True)),
        (client, CertSpec("minikube-py", client=True))], datetime.now(UTC))
    return EtcdCerts(layout.ca.cert, server.cert, server.key, client.cert, client.key)


@dataclass(frozen=True)
class EtcdProcess:
    endpoint: str  # http://127.0.0.1:PORT (https:// with certs)
    data_dir: Path
    certs: EtcdCerts | None = None

    @property
    def target(self) -> str:
        return self.endpoint.split("://", 1)[1]

    def wipe(self) -> None:
        """Delete every key (revisions go on counting: etcd's cannot be reset)."""
        with grpc.insecure_channel(self.target) if self.certs is None else \
                grpc.secure_channel(self.target, self.certs.credentials()) as channel:
            rpc_pb2_grpc.KVStub(channel).DeleteRange(
                rpc_pb2.DeleteRangeRequest(key=b"\x00", range_end=b"\x00"), timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_etcd(certs: EtcdCerts | None = None) -> Iterator[EtcdProcess]:
    """An etcd that answers on loopback, for the `with` block (over TLS, asking for a client
    certificate, with `certs`)."""
    shm = Path("/dev/shm")
    data_dir = Path(tempfile.mkdtemp(prefix="minikube-py-etcd-",
                                     dir=shm if shm.is_dir() else None))
    scheme = "http" if certs is None else "https"
    client, peer = f"{scheme}://127.0.0.1:{_free_port()}", f"http://127.0.0.1:{_free_port()}"
    tls = [] if certs is None else [
        "--cert-file", str(certs.server_cert), "--key-file", str(certs.server_key),
        "--trusted-ca-file", str(certs.ca), "--client-cert-auth"]
    log = (data_dir.parent / f"{data_dir.name}.log").open("wb")
    process = subprocess.Popen(
        [str(ETCD), "--name", "test", "--data-dir", str(data_dir / "data"),
         "--listen-client-urls", client, "--advertise-client-urls", client,
         "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
         "--initial-cluster", f"test={peer}", "--log-level", "warn", *tls],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ETCD_UNSUPPORTED_ARCH": ""})
    try:
        etcd = EtcdProcess(client, data_dir, certs)
        with grpc.insecure_channel(etcd.target) if certs is None else \
                grpc.secure_channel(etcd.target, certs.credentials()) as channel:
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
