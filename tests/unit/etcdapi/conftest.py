"""A RaftStore in a temp dir behind an EtcdServer on a loopback port, and raw etcd stubs."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from aetcd.rpc import rpc_pb2_grpc

from minikube_py.etcdapi.server import EtcdServer
from minikube_py.store.node import RaftStore


@dataclass
class Etcd:
    store: RaftStore
    server: EtcdServer
    kv: Any
    watch: Any
    lease: Any
    cluster: Any
    maintenance: Any

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.server.port}"


@pytest.fixture
async def etcd(tmp_path: Path) -> AsyncIterator[Etcd]:
    store = RaftStore(tmp_path / "store", rng=random.Random(7))
    await store.start()
    server = EtcdServer(store, "127.0.0.1", 0, name="test-member",
                        peer_urls=["http://127.0.0.1:2380"], data_dir=tmp_path / "store",
                        progress_interval=0.2)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield Etcd(store, server,
                   rpc_pb2_grpc.KVStub(channel), rpc_pb2_grpc.WatchStub(channel),
                   rpc_pb2_grpc.LeaseStub(channel), rpc_pb2_grpc.ClusterStub(channel),
                   rpc_pb2_grpc.MaintenanceStub(channel))
    finally:
        await channel.close()
        await server.stop(None)
        await store.close()
