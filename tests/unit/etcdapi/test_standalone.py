"""The store on its own behind etcd's API (`minikube-py store-serve`): start, refuse, stop."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import grpc
import pytest
from aetcd.rpc import rpc_pb2, rpc_pb2_grpc

from minikube_py.etcdapi.standalone import StandaloneConfig, StandaloneStartError, start_member
from tests.conditions import until

ROOT = Path(__file__).resolve().parents[3]


async def put_and_get(port: int, key: bytes, value: bytes | None) -> bytes:
    """Put `value` (unless None), then read `key` back through etcd's gRPC API."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        kv = rpc_pb2_grpc.KVStub(channel)
        if value is not None:
            await kv.Put(rpc_pb2.PutRequest(key=key, value=value), timeout=5)
        got = await kv.Range(rpc_pb2.RangeRequest(key=key), timeout=5)
        return bytes(got.kvs[0].value) if got.kvs else b""


async def test_a_member_serves_the_store_and_keeps_it_across_restarts(tmp_path: Path) -> None:
    config = StandaloneConfig(tmp_path, etcd_port=0)
    member = await start_member(config)
    try:
        assert await put_and_get(member.etcd.port, b"/k", b"v1") == b"v1"
    finally:
        await member.supervisor.shutdown()
    assert (tmp_path / "store").is_dir()  # serve's layout: the store in DIR/store

    member = await start_member(config)
    try:
        assert await put_and_get(member.etcd.port, b"/k", None) == b"v1"
    finally:
        await member.supervisor.shutdown()


async def test_a_second_member_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    member = await start_member(StandaloneConfig(tmp_path, etcd_port=0))
    try:
        with pytest.raises(StandaloneStartError, match=f"pid {os.getpid()}"):
            await start_member(StandaloneConfig(tmp_path, etcd_port=0))
    finally:
        await member.supervisor.shutdown()


async def test_a_port_in_use_is_refused_naming_it_and_leaves_the_data_dir_free(
        tmp_path: Path) -> None:
    first = await start_member(StandaloneConfig(tmp_path / "a", etcd_port=0))
    try:
        taken = first.etcd.port
        with pytest.raises(StandaloneStartError, match=f"127.0.0.1:{taken}"):
            await start_member(StandaloneConfig(tmp_path / "b", etcd_port=taken))
    finally:
        await first.supervisor.shutdown()
    again = await start_member(StandaloneConfig(tmp_path / "b", etcd_port=0))
    await again.supervisor.shutdown()


async def test_a_host_off_loopback_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StandaloneStartError, match="not a loopback address"):
        await start_member(StandaloneConfig(tmp_path, etcd_host="0.0.0.0", etcd_port=0))


async def test_store_serve_prints_where_it_listens_and_stops_on_sigterm(
        tmp_path: Path) -> None:
    log = tmp_path / "out"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "minikube_py", "store-serve", f"--data-dir={tmp_path / 'd'}",
            "--etcd-port=0", stdout=out, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        await until(lambda: "etcd API listening on" in log.read_text(), "the listening line",
                    timeout=30)
        found = re.search(r"etcd API listening on http://127\.0\.0\.1:(\d+)", log.read_text())
        assert found, log.read_text()
        assert await put_and_get(int(found.group(1)), b"/k", b"v") == b"v"
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
        assert log.read_text().rstrip().endswith("stopped")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
