"""etcd's API over TLS: only certificates of the cluster CA in group system:masters are
served (what `serve --etcd-host` offers beyond loopback); grpc's client and etcdctl."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from aetcd.rpc import rpc_pb2, rpc_pb2_grpc

from minikube_py.etcdapi.server import EtcdServer, admins_only
from minikube_py.pki.cluster import KeyPair
from minikube_py.pki.tls import grpc_server_context
from minikube_py.store.node import RaftStore
from tests.certs import TrialPki, make_test_pki

ETCDCTL = shutil.which("etcdctl")


@pytest.fixture
async def tls_etcd(tmp_path: Path) -> AsyncIterator[tuple[EtcdServer, TrialPki]]:
    pki = make_test_pki(tmp_path)
    store = RaftStore(tmp_path / "store", rng=random.Random(3))
    await store.start()
    server = EtcdServer(store, "127.0.0.1", 0,
                        tls=grpc_server_context(pki.layout.api_server, pki.layout.ca.cert))
    await server.start()
    try:
        yield server, pki
    finally:
        await server.stop()
        await store.close()


def channel(server: EtcdServer, pki: TrialPki, who: KeyPair | None) -> grpc.aio.Channel:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.layout.ca.cert.read_bytes(),
        private_key=who.key.read_bytes() if who else None,
        certificate_chain=who.cert.read_bytes() if who else None)
    return grpc.aio.secure_channel(f"127.0.0.1:{server.port}", credentials)


async def test_an_admin_certificate_is_served(tls_etcd: tuple[EtcdServer, TrialPki]) -> None:
    server, pki = tls_etcd
    assert server.url.startswith("https://127.0.0.1:")
    async with channel(server, pki, pki.layout.admin) as ch:
        kv = rpc_pb2_grpc.KVStub(ch)
        await kv.Put(rpc_pb2.PutRequest(key=b"/k", value=b"v"), timeout=5)
        got = await kv.Range(rpc_pb2.RangeRequest(key=b"/k"), timeout=5)
        assert [(x.key, x.value) for x in got.kvs] == [(b"/k", b"v")]


async def test_another_certificate_of_the_ca_is_refused_with_the_reason(
        tls_etcd: tuple[EtcdServer, TrialPki]) -> None:
    server, pki = tls_etcd
    async with channel(server, pki, pki.jane) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await rpc_pb2_grpc.KVStub(ch).Range(rpc_pb2.RangeRequest(key=b"/k"), timeout=5)
    assert e.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "CN=jane, O=dev,qa" in (e.value.details() or "")
    assert "system:masters" in (e.value.details() or "")


async def test_no_certificate_or_a_strangers_never_gets_past_the_handshake(
        tls_etcd: tuple[EtcdServer, TrialPki]) -> None:
    server, pki = tls_etcd
    for who in (None, pki.stranger):  # the stranger claims system:masters, from another CA
        async with channel(server, pki, who) as ch:
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await rpc_pb2_grpc.KVStub(ch).Range(rpc_pb2.RangeRequest(key=b"/k"),
                                                    timeout=3)
        assert e.value.code() in (grpc.StatusCode.UNAVAILABLE,
                                  grpc.StatusCode.DEADLINE_EXCEEDED), who


def test_admins_only_names_who_was_refused() -> None:
    admin = {"subject": ((("commonName", "kubernetes-admin"),),
                         (("organizationName", "system:masters"),))}
    assert admins_only(admin) is None
    assert "no certificate" in (admins_only(None) or "")
    assert "CN=bob, O=-" in (admins_only({"subject": ((("commonName", "bob"),),)}) or "")


@pytest.mark.skipif(ETCDCTL is None, reason="etcdctl not installed (scripts/setup.sh --test)")
async def test_etcdctl_with_the_admin_certificate(
        tls_etcd: tuple[EtcdServer, TrialPki]) -> None:
    server, pki = tls_etcd
    assert ETCDCTL is not None

    async def etcdctl(*args: str, who: KeyPair | None) -> tuple[int, str]:
        auth = ["--cacert", str(pki.layout.ca.cert)]
        if who is not None:
            auth += ["--cert", str(who.cert), "--key", str(who.key)]
        proc = await asyncio.create_subprocess_exec(
            ETCDCTL, "--endpoints", server.url, "--command-timeout=5s", "--dial-timeout=5s",
            *auth, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "ETCDCTL_API": "3"})
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
        return proc.returncode or 0, out.decode()

    assert await etcdctl("put", "/tls", "yes", who=pki.layout.admin) == (0, "OK\n")
    assert await etcdctl("get", "/tls", "--print-value-only", who=pki.layout.admin) \
        == (0, "yes\n")
    code, out = await etcdctl("get", "/tls", who=pki.jane)
    assert code != 0 and "permission denied" in out
