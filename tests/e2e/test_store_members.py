"""Three control-plane members on loopback, each its own `serve` process with its own data
dir and ports: the store is one Raft group. A write load through the Kubernetes API spread
over all three; the leader killed with SIGKILL, then (later) stopped with SIGSTOP, as a
partition: a new leader takes over, the API answers again, every acknowledged write is on
every member, and the member that was gone catches up. Then a member is removed and its data
dir refused."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cluster import ServeProcess, free_port, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="serve needs root")

SLOT = 53  # pod ranges 10.244.253-255.0/24 (slots 53-55), services 10.112.53.0/24
BRIDGE = "mkpym53"  # holds the first member's node address (no pods: --no-node)
NODE_IP = "10.251.53.1"
NAMES = ("a", "b", "c")
# Short Raft timeouts (etcd's flags), so a leader's loss costs about half a second.
# MINIKUBE_PY_E2E_ELECTION_MS measures failover with another (e.g. 1000: issue 9's goal of
# the API answering again within 2 s of losing the leader is stated for a 1 s timeout).
ELECTION_MS = int(os.environ.get("MINIKUBE_PY_E2E_ELECTION_MS", "500"))
TIMING = ("--heartbeat-interval", str(max(ELECTION_MS // 10, 10)),
          "--election-timeout", str(ELECTION_MS))
LOAD_LIMIT = 3000  # writes per writer at most; each writer also stops when told


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], capture_output=True, timeout=10, check=False)


@pytest.fixture(scope="module")
def node_address() -> Iterator[str]:
    """An address of this machine that is not loopback (a node's address cannot be), on a
    bridge of the test's own with nothing attached."""
    _ip("link", "del", BRIDGE)
    subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True, timeout=10)
    try:
        subprocess.run(["ip", "addr", "add", f"{NODE_IP}/32", "dev", BRIDGE], check=True,
                       timeout=10)
        subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True, timeout=10)
        yield NODE_IP
    finally:
        _ip("link", "del", BRIDGE)


class Member(ServeProcess):
    def __init__(self, root: Path, index: int, first: Member | None) -> None:
        super().__init__(root / NAMES[index], pod_cidr=f"10.244.{253 + index}.0/24",
                         bridge=f"mkpyt{SLOT + index}", service_cidr=f"10.112.{SLOT}.0/24")
        self.name = NAMES[index]
        self.first = first
        self.peer_port = 12380 + 10 * SLOT + index
        self.etcd_port = 12380 + 10 * SLOT + 7 + index
        self.state = "stopped"

    @property
    def flags(self) -> list[str]:
        own = [*super().flags, "--no-node", "--node-name", self.name,
               "--peer-port", str(self.peer_port), "--etcd-port", str(self.etcd_port),
               *TIMING]
        if self.first is None:
            return [*own, "--cluster-init", "--node-ip", NODE_IP]
        token = (self.first.data_dir / "server-token").read_text().strip()
        return [*own, "--server", self.first.api_url, "--token", token]

    @property
    def peer_url(self) -> str:
        """Where the others reach it: the first member advertises its node address."""
        return f"https://{NODE_IP if self.first is None else '127.0.0.1'}:{self.peer_port}"

    def start(self, timeout: float = 120, *, flags: bool = True) -> float:
        took = super().start(timeout, flags=flags)
        self.state = "running"
        return took

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        if sig is signal.SIGKILL:
            self.proc.wait(30)
            self.state = "killed"
        elif sig is signal.SIGSTOP:
            self.state = "stopped-signal"
        elif sig is signal.SIGCONT:
            self.state = "running"

    def admin_tls(self) -> ssl.SSLContext:
        return self.tls(self.pki.admin)

    def request(self, method: str, path: str, body: Any = None,
                timeout: float = 10) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.api_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout,  # this member, on loopback
                                        context=self.admin_tls()) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def members(self) -> dict[str, Any]:
        status, body = self.request("GET", "/v1-minikube-py/members")
        assert status == 200, body
        return body

    def config_maps(self) -> set[str] | None:
        """The load's ConfigMaps as this member lists them; None while it answers 503 (a
        member just back, before it hears its leader)."""
        status, body = self.request("GET", "/api/v1/namespaces/default/configmaps"
                                    "?labelSelector=load%3Dyes", timeout=30)
        if status == 503:
            return None
        assert status == 200, body
        return {item["metadata"]["name"] for item in body["items"]}

    def lacks(self, names: set[str]) -> set[str] | None:
        """Which of `names` this member does not list (None: it cannot answer yet)."""
        listed = self.config_maps()
        return None if listed is None else names - listed


@dataclass
class Load:
    """One writer per member, each creating ConfigMaps through its member's API; what was
    acknowledged (201) is recorded, with when each writer last succeeded."""

    members: list[Member]
    acked: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    last_ok: dict[str, float] = field(default_factory=dict)
    acked_at: list[float] = field(default_factory=list)  # when each write was acknowledged
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _seq: int = 0

    def start(self, tag: str) -> None:
        self.stop.clear()
        self._threads = [threading.Thread(target=self._write, args=(m, tag), daemon=True)
                         for m in self.members]
        for t in self._threads:
            t.start()

    def end(self) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(60)
            assert not t.is_alive(), "a writer did not stop"

    def _write(self, member: Member, tag: str) -> None:
        for i in range(LOAD_LIMIT):
            if self.stop.is_set():
                return
            if member.state != "running":
                self.stop.wait(0.05)  # until it runs again, or the load ends
                continue
            name = f"{tag}-{member.name}-{i}"
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": name, "labels": {"load": "yes"}},
                    "data": {"i": str(i)}}
            try:
                status, answer = member.request("POST", "/api/v1/namespaces/default/configmaps",
                                                body, timeout=10)
            except (OSError, ValueError) as e:
                status, answer = 0, {"message": str(e)}
            with self._lock:
                if status == 201:
                    self.acked.add(name)
                    self.last_ok[member.name] = time.monotonic()
                    self.acked_at.append(self.last_ok[member.name])
                else:
                    self.failures.append(f"{name}: {status} {answer.get('message', '')}")
            if status != 201:
                self.stop.wait(0.05)  # a pause before the next try, unless the load ends

    def wrote_after(self, t: float, survivors: list[Member]) -> bool:
        with self._lock:
            return any(self.last_ok.get(m.name, 0) > t for m in survivors)

    def count(self) -> int:
        with self._lock:
            return len(self.acked)

    def longest_gap(self, start: float, end: float) -> float:
        """The longest time without an acknowledged write between `start` and `end`."""
        with self._lock:
            times = sorted(t for t in self.acked_at if start <= t <= end)
        points = [start, *times, end]
        return max(b - a for a, b in itertools.pairwise(points))


def leader_of(members: list[Member]) -> Member:
    def found() -> Member | None:
        for m in members:
            if m.state != "running":
                continue
            try:
                body = m.members()
            except (OSError, AssertionError):
                continue
            leaders = [r["name"] for r in body["members"] if r["role"] == "leader"]
            if leaders:
                return next(x for x in members if x.name == leaders[0])
        return None
    return wait_for(found, timeout=30, what="a leader")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory,
            node_address: str) -> Iterator[list[Member]]:
    root = tmp_path_factory.mktemp("members")
    first = Member(root, 0, None)
    members = [first, Member(root, 1, first), Member(root, 2, first)]
    try:
        for m in members:
            m.start()
        yield members
    finally:
        for m in members:
            if m.state == "stopped-signal" and m.proc is not None:
                m.proc.send_signal(signal.SIGCONT)
        for m in members:
            if m.proc is not None and m.proc.poll() is None:
                m.proc.kill()
                m.proc.wait(30)
        for m in members:
            m.delete()


def voters(member: Member) -> list[str]:
    return sorted(r["name"] for r in member.members()["members"] if r["role"] != "learner")


def test_three_members_each_serve_the_api(cluster: list[Member]) -> None:
    a, b, _ = cluster
    wait_for(lambda: voters(a) == ["a", "b", "c"], timeout=30, what="three voters")
    assert "store member a ready" in a.log and "added to the store's cluster as member b" \
        in b.log
    # a write through one member is read through every other (linearizable reads)
    status, _ = b.request("POST", "/api/v1/namespaces/default/configmaps",
                          {"metadata": {"name": "through-b"}, "data": {"k": "v"}})
    assert status == 201
    for m in cluster:
        code, got = m.request("GET", "/api/v1/namespaces/default/configmaps/through-b")
        assert code == 200 and got["data"] == {"k": "v"}, (m.name, got)
    for m in cluster:  # each member wrote a kubeconfig for its own API
        assert f"server: {m.api_url}" in (m.data_dir / "kubeconfig").read_text()


def etcdctl(member: Member, *args: str) -> str:
    return subprocess.run(["etcdctl", "--endpoints", f"127.0.0.1:{member.etcd_port}",
                           "--command-timeout=5s", *args], capture_output=True, text=True,
                          timeout=20, check=True, env={**os.environ, "ETCDCTL_API": "3"}).stdout


@pytest.mark.skipif(shutil.which("etcdctl") is None, reason="etcdctl not installed")
def test_etcdctl_lists_the_members(cluster: list[Member]) -> None:
    """Each member's etcd API lists every member: its name, peer URL and etcd client URL as
    the registry has them, none a learner once all three vote."""
    wanted = {m.name: (m.peer_url, f"http://127.0.0.1:{m.etcd_port}") for m in cluster}
    for member in cluster:
        listed = json.loads(etcdctl(member, "-w", "json", "member", "list"))["members"]
        assert {m["name"]: (*m["peerURLs"], *m["clientURLs"]) for m in listed} == wanted
        assert not any(m.get("isLearner") for m in listed)
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for line in etcdctl(cluster[1], "-w", "table", "member", "list").splitlines()
            if line.startswith("|")]
    assert rows[0] == ["ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER"]
    assert sorted((r[1], r[2], r[3], r[4], r[5]) for r in rows[1:]) == \
        [("started", name, *urls, "false") for name, urls in sorted(wanted.items())]


def test_only_the_server_token_makes_a_member(cluster: list[Member]) -> None:
    """DATA/token joins nodes: with it, a would-be member gets no keys of the cluster."""
    first = cluster[0]
    node_token = (first.data_dir / "token").read_text().strip()
    data_dir = first.data_dir.parent / "intruder"
    result = subprocess.run(
        [sys.executable, "-m", "minikube_py", "serve", "--data-dir", str(data_dir), "--server",
         first.api_url, "--token", node_token, "--no-node", "--node-name", "intruder",
         "--api-port", str(free_port()), "--peer-port", str(first.peer_port + 5)],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert "only the cluster's server token" in said, said
    assert not (data_dir / "pki" / "ca.key").exists()
    assert sorted(r["name"] for r in first.members()["members"]) == ["a", "b", "c"]


def test_members_command_lists_roles_and_lag(cluster: list[Member]) -> None:
    a = cluster[0]
    out = subprocess.run([sys.executable, "-m", "minikube_py", "members", "--data-dir",
                          str(cluster[1].data_dir)], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["NAME", "ID", "ROLE"]
    rows = {line.split()[0]: line.split() for line in lines[1:4]}
    assert set(rows) == {"a", "b", "c"}
    assert sorted(r[2] for r in rows.values()).count("leader") == 1
    assert "leader: " in out
    assert a.members()["members"]


def _lose_the_leader(cluster: list[Member], how: signal.Signals, tag: str) -> dict[str, Any]:
    load = Load(cluster)
    load.start(tag)
    try:
        wait_for(lambda: load.count() >= 30, timeout=60, what="writes before the loss")
        leader = leader_of(cluster)
        survivors = [m for m in cluster if m is not leader]
        lost_at = time.monotonic()
        leader.signal(how)
        wait_for(lambda: load.wrote_after(lost_at + 0.01, survivors), timeout=30,
                 what="a write acknowledged after the leader's loss")
        answered_after = min(load.last_ok[m.name] for m in survivors
                             if load.last_ok.get(m.name, 0) > lost_at) - lost_at
        before = load.count()
        wait_for(lambda: load.count() >= before + 30, timeout=60,
                 what="writes under the new leader")
    finally:
        load.end()
    new_leader = leader_of(survivors)
    assert new_leader is not leader
    for m in survivors:
        missing = m.lacks(load.acked)
        assert missing == set(), f"{m.name} lacks acknowledged writes: {missing}"
    return {"leader": leader, "load": load, "answered_after": answered_after}


def caught_up(member: Member, load: Load, cluster: list[Member]) -> None:
    """Wait until `member` serves every acknowledged write; fail with every member's view
    of the Raft log."""
    try:
        wait_for(lambda: member.lacks(load.acked) == set(), timeout=60,
                 what=f"{member.name} to catch up")
    except AssertionError as e:
        views = {m.name: m.members() for m in cluster if m.state == "running"}
        raise AssertionError(f"{e}\nmissing: {member.lacks(load.acked)}"
                             f"\nviews: {json.dumps(views)}\nlog of {member.name}:\n"
                             f"{member.log[-4000:]}") from None


def test_kill_9_of_the_leader_loses_no_acknowledged_write(cluster: list[Member]) -> None:
    lost = _lose_the_leader(cluster, signal.SIGKILL, "kill")
    leader: Member = lost["leader"]
    load: Load = lost["load"]
    print(f"API answered again {lost['answered_after']:.2f} s after kill -9 of the leader "
          f"{leader.name}; {load.count()} writes acknowledged, {len(load.failures)} refused")
    leader.start()  # the same command line, on its data dir: the same member again
    caught_up(leader, load, cluster)
    wait_for(lambda: voters(leader) == ["a", "b", "c"], timeout=30, what="three voters again")


def test_a_stopped_leader_returns_as_a_follower(cluster: list[Member]) -> None:
    lost = _lose_the_leader(cluster, signal.SIGSTOP, "stop")
    leader: Member = lost["leader"]
    load: Load = lost["load"]
    print(f"API answered again {lost['answered_after']:.2f} s after SIGSTOP of the leader "
          f"{leader.name}")
    leader.signal(signal.SIGCONT)
    caught_up(leader, load, cluster)


def test_the_controllers_move_with_their_lease(cluster: list[Member]) -> None:
    """One member runs the scheduler and the controllers: the holder of their Lease. Killed,
    another takes the Lease over once it runs out, and a Deployment gets its ReplicaSet."""
    path = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager"

    def holder() -> str | None:
        for m in cluster:
            if m.state == "running":
                code, lease = m.request("GET", path)
                if code == 200:
                    return str(lease["spec"]["holderIdentity"]).split("_")[0]
        return None

    running = wait_for(holder, timeout=60, what="the controllers' Lease")
    held_by = next(m for m in cluster if m.name == running)
    held_by.signal(signal.SIGKILL)
    other = next(m for m in cluster if m is not held_by)
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "moved"},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "moved"}},
                           "template": {"metadata": {"labels": {"app": "moved"}},
                                        "spec": {"containers": [{"name": "c",
                                                                 "image": "pause"}]}}}}

    def created() -> bool:
        code, _ = other.request("POST", "/apis/apps/v1/namespaces/default/deployments",
                                deployment)
        return code in (201, 409)

    wait_for(created, timeout=30, what="the Deployment to be created")

    def replica_sets() -> list[Any]:
        code, body = other.request("GET", "/apis/apps/v1/namespaces/default/replicasets"
                                   "?labelSelector=app%3Dmoved")
        return body.get("items", []) if code == 200 else []

    wait_for(replica_sets, timeout=90, what="a ReplicaSet from the controllers' new holder")
    assert holder() != held_by.name
    held_by.start()
    wait_for(lambda: voters(held_by) == sorted(m.name for m in cluster), timeout=30,
             what="the killed member back as a voter")


def test_a_removed_member_cannot_come_back(cluster: list[Member]) -> None:
    leader = leader_of(cluster)
    gone = next(m for m in cluster if m is not leader)
    assert gone.stop() == 0
    gone.state = "stopped"
    out = subprocess.run([sys.executable, "-m", "minikube_py", "member", "remove", gone.name,
                          "--data-dir", str(leader.data_dir)], capture_output=True,
                         text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    assert f"member {gone.name} removed" in out.stdout
    assert gone.name not in voters(leader)
    offset = len(gone.log)
    with gone.log_path.open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "minikube_py", "serve", "--data-dir",
                                 str(gone.data_dir), *gone.flags], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
    assert proc.wait(60) != 0
    assert f"member {gone.name} was removed from the cluster" in gone.log[offset:]


def test_removing_the_leader_hands_leadership_over_first(cluster: list[Member]) -> None:
    """`member remove` of the leader: it hands leadership to a caught-up voter, which then
    removes it, so the others never wait out an election timeout; writes go on meanwhile."""
    running = [m for m in cluster if m.state == "running"]
    assert len(running) >= 2
    load = Load(running)
    load.start("handover")
    try:
        wait_for(lambda: load.count() >= 30, timeout=60, what="writes before the removal")
        leader = leader_of(running)
        others = [m for m in running if m is not leader]
        leader.state = "leaving"  # its writer pauses: its API goes away with it
        asked_at = time.monotonic()
        out = subprocess.run([sys.executable, "-m", "minikube_py", "member", "remove",
                              leader.name, "--data-dir", str(others[0].data_dir)],
                             capture_output=True, text=True, timeout=30, check=False)
        removed_at = time.monotonic()
        assert out.returncode == 0, out.stdout + out.stderr
        assert f"member {leader.name} removed" in out.stdout
        before = load.count()
        wait_for(lambda: load.count() >= before + 30, timeout=60,
                 what="writes after the leader's removal")
        gap = load.longest_gap(asked_at - 1.0, removed_at + 1.0)
    finally:
        load.end()
    print(f"removing the leader {leader.name}: the longest time without an acknowledged "
          f"write was {gap:.3f} s (the removal took {removed_at - asked_at:.3f} s)")
    assert sorted(voters(others[0])) == sorted(m.name for m in others)
    assert leader_of(others) in others
    for m in others:
        assert m.lacks(load.acked) == set()
    assert leader.proc is not None and leader.proc.wait(60) != 0  # it learns it was removed
    leader.state = "stopped"
    assert f"member {leader.name} was removed from the cluster" in leader.log
