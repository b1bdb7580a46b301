"""The real `etcdctl` (v3 API) against our server on loopback: the tool people reach for."""

from __future__ import annotations

import asyncio
import json
import os
import shutil

import pytest

from minikube_py.store.types import prefix_end
from tests.unit.etcdapi.conftest import Etcd

ETCDCTL = shutil.which("etcdctl")
pytestmark = pytest.mark.skipif(
    ETCDCTL is None, reason="etcdctl not installed (apt-get install etcd-client, or "
                            "scripts/setup.sh --test)")


async def etcdctl(etcd: Etcd, *args: str, stdin: bytes = b"", ok: bool = True,
                  merged: bool = False) -> str:
    """Run one etcdctl command with a deadline; its stdout (or stderr if it failed; both
    if `merged`: etcdctl 3.4 prints some results, as `endpoint health`'s, on stderr)."""
    assert ETCDCTL is not None
    proc = await asyncio.create_subprocess_exec(
        ETCDCTL, "--endpoints", etcd.endpoint, "--command-timeout=5s", "--dial-timeout=5s",
        *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "ETCDCTL_API": "3"})
    out, err = await asyncio.wait_for(proc.communicate(stdin), 15)
    assert (proc.returncode == 0) is ok, (args, proc.returncode, out, err)
    return (out + err if merged else out if ok else err).decode()


async def test_put_get_prefix_del(etcd: Etcd) -> None:
    assert await etcdctl(etcd, "put", "/a/1", "one") == "OK\n"
    await etcdctl(etcd, "put", "/a/2", "two")
    await etcdctl(etcd, "put", "/b", "other")
    assert await etcdctl(etcd, "get", "--prefix", "/a/") == "/a/1\none\n/a/2\ntwo\n"
    as_json = json.loads(await etcdctl(etcd, "get", "/a/1", "-w", "json"))
    assert as_json["count"] == 1 and as_json["header"]["revision"] == etcd.store.revision
    newest = await etcdctl(etcd, "get", "--from-key", "", "--sort-by=MODIFY", "--order=DESCEND",
                           "--limit=2", "--keys-only")
    assert newest.split() == ["/b", "/a/2"]
    assert await etcdctl(etcd, "del", "--prefix", "/a/") == "2\n"
    assert await etcdctl(etcd, "get", "--prefix", "/") == "/b\nother\n"


async def test_txn(etcd: Etcd) -> None:
    await etcdctl(etcd, "put", "k", "v1")
    script = b'value("k") = "v1"\n\nput k v2\n\nput k never\n\n'
    assert (await etcdctl(etcd, "txn", stdin=script)).startswith("SUCCESS")
    assert (await etcdctl(etcd, "txn", stdin=script)).startswith("FAILURE")
    assert await etcdctl(etcd, "get", "k", "--print-value-only") == "never\n"


async def test_watch_from_a_revision(etcd: Etcd) -> None:
    start = etcd.store.revision + 1
    await etcdctl(etcd, "put", "/w/x", "1")
    await etcdctl(etcd, "del", "/w/x")
    assert ETCDCTL is not None
    proc = await asyncio.create_subprocess_exec(
        ETCDCTL, "--endpoints", etcd.endpoint, "watch", "--prefix", "/w/", "--rev", str(start),
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "ETCDCTL_API": "3"})
    assert proc.stdout is not None
    try:
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 10)).decode() for _ in range(5)]
    finally:
        proc.kill()
        await proc.wait()
    assert lines == ["PUT\n", "/w/x\n", "1\n", "DELETE\n", "/w/x\n"]


async def test_compaction_and_compacted_errors(etcd: Etcd) -> None:
    await etcdctl(etcd, "put", "k", "1")
    old = etcd.store.revision
    await etcdctl(etcd, "put", "k", "2")
    assert await etcdctl(etcd, "compaction", str(old + 1)) == f"compacted revision {old + 1}\n"
    err = await etcdctl(etcd, "get", "k", "--rev", str(old), ok=False)
    assert "etcdserver: mvcc: required revision has been compacted" in err
    err = await etcdctl(etcd, "watch", "k", "--rev", str(old), ok=False)
    assert "required revision has been compacted" in err


async def test_member_list_and_endpoint_status(etcd: Etcd) -> None:
    members = await etcdctl(etcd, "member", "list")
    assert members == f"1, started, test-member, http://127.0.0.1:2380, http://{etcd.endpoint}, false\n"
    [status] = json.loads(await etcdctl(etcd, "endpoint", "status", "-w", "json"))
    assert status["Status"]["version"].startswith("3.4.")
    assert status["Status"]["leader"] == status["Status"]["header"]["member_id"] == 1
    assert "is healthy" in await etcdctl(etcd, "endpoint", "health", merged=True)


async def test_leases(etcd: Etcd) -> None:
    granted = await etcdctl(etcd, "lease", "grant", "60")
    lease = granted.split()[1]
    await etcdctl(etcd, "put", "--lease", lease, "/l", "v")
    assert "attached keys([/l])" in await etcdctl(etcd, "lease", "timetolive", lease, "--keys")
    assert "keepalived with TTL(60)" in await etcdctl(etcd, "lease", "keep-alive", "--once", lease)
    assert "revoked" in await etcdctl(etcd, "lease", "revoke", lease)
    assert (await etcd.store.range(b"/l", prefix_end(b"/l"))).kvs == []
