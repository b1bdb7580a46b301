"""`etcdctl member list` (the real etcdctl) against a control-plane member's etcd API: every
store member with its name, peer and client URLs from the registry, and a learner shown as
one, as etcd shows its own members."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from minikube_py.composition import etcd_members
from minikube_py.etcdapi.server import EtcdServer
from minikube_py.members.member import StoreMember
from minikube_py.members.records import MemberIdentity
from tests.certs import TrialPki, make_test_pki
from tests.unit.members.test_store_member import CLUSTER, Members, free_port, record

ETCDCTL = shutil.which("etcdctl")
pytestmark = pytest.mark.skipif(
    ETCDCTL is None, reason="etcdctl not installed (apt-get install etcd-client)")

@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TrialPki:
    return make_test_pki(tmp_path_factory.mktemp("member-list-pki"))


@pytest.fixture
async def voter_and_learner(pki: TrialPki, tmp_path: Path
                            ) -> AsyncIterator[tuple[StoreMember, StoreMember]]:
    members = Members(pki, tmp_path)
    try:
        a_port, b_port = free_port(), free_port()
        a = await members.start(MemberIdentity(CLUSTER, 11, "a", (11,), (), founder=True),
                                a_port)
        await a.register(record(11, "a", a_port, etcd=True))
        await a.register(record(22, "b", b_port, etcd=True))
        await a.store.add_learner(22)
        b = await members.start(MemberIdentity(CLUSTER, 22, "b", (11,), (22,)), b_port,
                                known=a.records)
        await b.until_caught_up(timeout=10)
        yield a, b
    finally:
        for member in reversed(members.running):
            await member.close()


async def etcdctl_table(endpoint: str, *args: str) -> list[list[str]]:
    """The rows of `etcdctl -w table` output, each a list of its cells (the header first)."""
    assert ETCDCTL is not None
    proc = await asyncio.create_subprocess_exec(
        ETCDCTL, "--endpoints", endpoint, "--command-timeout=5s", "--dial-timeout=5s",
        "-w", "table", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "ETCDCTL_API": "3"})
    out, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0, err.decode()
    return [[cell.strip() for cell in line.strip("|").split("|")]
            for line in out.decode().splitlines() if line.startswith("|")]


async def test_member_list_shows_every_member_and_the_learner(
        voter_and_learner: tuple[StoreMember, StoreMember]) -> None:
    a, b = voter_and_learner
    server = EtcdServer(b.store, port=0, name="b", member_id=22, members=etcd_members(b))
    await server.start()
    try:
        header, *rows = await etcdctl_table(f"127.0.0.1:{server.port}", "member", "list")
    finally:
        await server.stop(None)
    assert header == ["ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER"]
    by_name = {row[2]: row for row in rows}
    assert set(by_name) == {"a", "b"}
    for member, learner in ((a, "false"), (b, "true")):
        mine = member.records[member.identity.member_id]
        assert by_name[mine.name] == [f"{mine.id:x}", "started", mine.name, mine.peer_url,
                                      mine.etcd_url, learner]
