"""Several machines on one host, the way the multi-node scenarios make them: a "LAN" is a
host bridge with the host's address on it, each "machine" a network namespace joined to it
by a veth pair; and `minikube-py join` driven inside such a machine (JoinProcess).

Commands run in a machine through `nsenter --net=/var/run/netns/NAME`, never `ip netns
exec`: that remounts /sys, the cgroup mounts vanish and runc fails (../shared/DESIGN.md).
No machine gets a default route, so nothing it sends can follow the host's uplink.

Everything a LAN makes is named after its bridge (`mkpylan<slot>`: the netns
`mkpylan<slot>-n2`, the host veth `mkpylan<slot>v2`), so that what a killed run left behind
is found by name and released before the next run of the same slot starts."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minikube_py.runtime.hostnet import parse_alias
from tests.e2e.cluster import run_kubectl, stop_process, wait_for_line

NETNS_DIR = Path("/var/run/netns")
# A line of the agent's progress output, as serve prints them: "[   12 ms] ...".
PROGRESS_LINE = re.compile(r"^\[\s*\d+ ms\] ")


def sh(*args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}): "
                             f"{result.stdout}{result.stderr}")
    return result


def in_netns(ns: str, *cmd: str) -> list[str]:
    """`cmd` run in machine `ns`'s network namespace (and only that: the host's mounts,
    cgroups and processes stay visible, as on a machine of its own they would be there)."""
    return ["nsenter", f"--net={NETNS_DIR / ns}", *cmd]


def run_in(ns: str, *cmd: str, check: bool = True,
           timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return sh(*in_netns(ns, *cmd), check=check, timeout=timeout)


def popen_in(ns: str, *cmd: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(in_netns(ns, *cmd), **kwargs)


def ping_command(address: str) -> list[str]:
    """One ping with a one-second wait (busybox's when the host has no ping of its own)."""
    ping = shutil.which("ping")
    return [ping, "-c1", "-W1", address] if ping else ["busybox", "ping", "-c1", "-W1", address]


@dataclass(frozen=True, slots=True)
class Machine:
    """One network namespace on the LAN; its name is also the node name it joins as."""

    name: str
    ip: str
    host_veth: str


class Lan:
    """A host bridge at the subnet's first address (.1) and `machines` namespaces at .11,
    .12, ...; `up()` releases what an earlier, killed run of the same slot left first."""

    def __init__(self, slot: int, machines: int, subnet: str = "10.200.0.0/24") -> None:
        net = ipaddress.IPv4Network(subnet)
        if net.overlaps(ipaddress.IPv4Network("192.0.2.0/24")):
            raise ValueError(f"{subnet} overlaps the machine's uplink range 192.0.2.0/24")
        self.subnet = net
        self.bridge = f"mkpylan{slot}"
        self.host_ip = str(net.network_address + 1)
        self.machines = [Machine(f"{self.bridge}-n{i + 2}", str(net.network_address + 11 + i),
                                 f"{self.bridge}v{i + 2}") for i in range(machines)]

    def __iter__(self) -> Iterator[Machine]:
        return iter(self.machines)

    def up(self) -> None:
        released = release_leftovers(self.bridge)
        if released:
            print(f"released a killed run's LAN {self.bridge}: {released}", file=sys.stderr)
        left = leftovers(self.bridge)
        if left:
            raise AssertionError(f"cannot start LAN {self.bridge}: an earlier run left {left}")
        holder = self._subnet_holder()
        if holder:
            raise AssertionError(f"cannot start LAN {self.bridge}: {holder} already has an "
                                 f"address in {self.subnet}")
        try:
            sh("ip", "link", "add", self.bridge, "type", "bridge")
            sh("ip", "addr", "add", f"{self.host_ip}/{self.subnet.prefixlen}", "dev", self.bridge)
            sh("ip", "link", "set", self.bridge, "up")
            for m in self.machines:
                self._attach(m)
        except BaseException:
            self.down()
            raise

    def _attach(self, m: Machine) -> None:
        sh("ip", "netns", "add", m.name)
        sh("ip", "link", "add", m.host_veth, "type", "veth", "peer", "name", "eth0",
           "netns", m.name)
        sh("ip", "link", "set", m.host_veth, "master", self.bridge, "up")
        run_in(m.name, "ip", "addr", "add", f"{m.ip}/{self.subnet.prefixlen}", "dev", "eth0")
        run_in(m.name, "ip", "link", "set", "eth0", "up")
        run_in(m.name, "ip", "link", "set", "lo", "up")

    def _subnet_holder(self) -> str | None:
        links = json.loads(sh("ip", "-j", "-4", "addr", "show").stdout or "[]")
        for link in links:
            for a in link.get("addr_info", []):
                if ipaddress.IPv4Address(a["local"]) in self.subnet:
                    return str(link["ifname"])
        return None

    def down(self) -> None:
        """Remove the namespaces (stopping what still runs in them), the veths and the
        bridge; the routes through the bridge go with it. Safe to call more than once."""
        release_leftovers(self.bridge)

    def leftovers(self) -> list[str]:
        return leftovers(self.bridge)


@contextmanager
def lan_up(slot: int, machines: int, subnet: str = "10.200.0.0/24") -> Iterator[Lan]:
    lan = Lan(slot, machines, subnet)
    lan.up()
    try:
        yield lan
    finally:
        lan.down()


def lans_own(bridge: str, name: str) -> bool:
    """Whether a namespace or link of this name is one LAN `bridge` makes (mkpylan6's
    are not mkpylan60's)."""
    return name == bridge or re.fullmatch(rf"{re.escape(bridge)}(-n|v)\d+", name) is not None


def leftovers(bridge: str) -> list[str]:
    """What of LAN `bridge` exists on the host: namespaces, links, routes."""
    found = [f"netns {ns}" for ns in netns_names() if lans_own(bridge, ns)]
    found += [f"link {name}" for name in link_names() if lans_own(bridge, name)]
    routes = sh("ip", "-4", "route", "show", "table", "all").stdout.splitlines()
    found += [f"route {r}" for r in routes if f"dev {bridge} " in f"{r} "]
    return found


def link_names() -> list[str]:
    return [str(ln["ifname"]) for ln in json.loads(sh("ip", "-j", "link", "show").stdout or "[]")]


def netns_names() -> list[str]:
    return [line.split()[0] for line in sh("ip", "netns", "list").stdout.splitlines() if line]


def release_leftovers(bridge: str) -> list[str]:
    """Remove every namespace and link of LAN `bridge`: first stop the minikube-py agents
    running in a namespace (SIGTERM, so they stop their containerd), then `minikube-py
    delete` (inside the namespace) each data dir they or a bridge there name, then end what
    still runs there, and delete the namespace."""
    done: list[str] = []
    for ns in netns_names():
        if lans_own(bridge, ns):
            done += _release_netns(ns)
    for name in link_names():
        if lans_own(bridge, name):
            sh("ip", "link", "del", name, check=False)
            done.append(f"link {name}")
    return done


def _release_netns(ns: str) -> list[str]:
    done: list[str] = []
    pids = _pids_in(ns)
    agents = [p for p in pids if "minikube_py" in _cmdline(p)]
    data_dirs = {d for p in agents if (d := _data_dir_flag(_cmdline(p)))}
    _end(agents, signal.SIGTERM, grace=30)
    bridges = json.loads(run_in(ns, "ip", "-j", "-d", "link", "show", check=False).stdout
                         or "[]")
    data_dirs |= {found[1] for ln in bridges
                  if (found := parse_alias(str(ln.get("ifalias") or "")))}
    for data_dir in sorted(data_dirs):
        result = run_in(ns, sys.executable, "-m", "minikube_py", "delete", "--data-dir",
                        data_dir, check=False, timeout=120)
        done.append(f"delete {data_dir} in {ns}: {result.stdout}{result.stderr}".strip())
    # Left: a killed agent's containerd shims, or a command a test started there.
    _end(_pids_in(ns), signal.SIGKILL, grace=10)
    sh("ip", "netns", "del", ns, check=False)
    done.append(f"netns {ns}")
    return done


def _pids_in(ns: str) -> list[int]:
    out = sh("ip", "netns", "pids", ns, check=False).stdout
    return [int(p) for p in out.split() if p.isdigit() and int(p) != os.getpid()]


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def _data_dir_flag(cmdline: list[str]) -> str | None:
    for i, arg in enumerate(cmdline):
        if arg == "--data-dir" and i + 1 < len(cmdline):
            return cmdline[i + 1]
        if arg.startswith("--data-dir="):
            return arg.split("=", 1)[1]
    return None


def _end(pids: list[int], sig: signal.Signals, *, grace: float) -> None:
    """Send `sig` to each process (by its id) and wait up to `grace` seconds for all to go;
    SIGKILL whatever is still there then."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


def machine_network(ns: str) -> dict[str, Any]:
    """What a machine has beyond what the LAN gave it: its links, routes and iptables
    chains and rules (an empty machine has lo and eth0, the LAN route, builtin chains)."""
    links = json.loads(run_in(ns, "ip", "-j", "link", "show").stdout or "[]")
    routes = run_in(ns, "ip", "-4", "route", "show", "table", "all").stdout.splitlines()
    builtin = {"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"}
    rules = [ln for ln in run_in(ns, "iptables-save").stdout.splitlines()
             if ln.startswith("-A ") or (ln.startswith(":") and ln[1:].split()[0] not in builtin)]
    return {"links": sorted(ln["ifname"] for ln in links),
            "routes": sorted(r for r in routes
                             if not r.startswith(("local ", "broadcast ")) and "dev lo" not in r),
            "iptables": rules}


class JoinProcess:
    """`python -m minikube_py join` in a machine of the LAN, on its own data dir and bridge,
    as ServeProcess is serve: start (and wait for its Ready line), stop, kill -9, its log."""

    def __init__(self, machine: Machine, server: str, data_dir: Path, *, bridge: str,
                 kubelet_port: int = 10250) -> None:
        self.machine = machine
        self.server = server
        self.data_dir = data_dir
        self.bridge = bridge
        self.kubelet_port = kubelet_port
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-join.log"
        self.kube_cache = data_dir.parent / f"{data_dir.name}-kubecache"

    @property
    def node_name(self) -> str:
        return self.machine.name

    @property
    def kubeconfig(self) -> Path:
        """The node's own credentials: a client certificate for system:node:NAME."""
        return self.data_dir / "kubeconfig"

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def command(self, token: str | None) -> list[str]:
        return in_netns(self.machine.name, sys.executable, "-m", "minikube_py", "join",
                        self.server, *(("--token", token) if token is not None else ()),
                        "--data-dir", str(self.data_dir), "--node-name", self.node_name,
                        "--node-ip", self.machine.ip, "--bridge", self.bridge,
                        "--kubelet-port", str(self.kubelet_port))

    def start(self, token: str | None, timeout: float = 180) -> float:
        """Start (without --token when None: a restart on a joined data dir) and wait for
        'node NAME is Ready'; returns the seconds it took."""
        t0 = time.monotonic()
        offset = len(self.log)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.command(token), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
        wait_for_line(self.proc, lambda: self.log, offset, f"node {self.node_name} is Ready",
                      timeout=timeout, what=f"join on {self.node_name}")
        return time.monotonic() - t0

    def run_to_exit(self, token: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """A join expected to give up (a bad token): its exit code and output."""
        return subprocess.run(self.command(token), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as Ctrl-C would; the exit code (0 for a clean stop)."""
        return stop_process(self.proc, timeout, what=f"join on {self.node_name}",
                            log=lambda: self.log)

    def kill(self) -> None:
        """kill -9: the machine's agent dies without a word (what becomes of its containerd
        is the agent's business: serve's dies with its parent)."""
        assert self.proc is not None and self.proc.poll() is None, "the agent is not running"
        self.proc.kill()
        self.proc.wait(30)

    def delete(self) -> subprocess.CompletedProcess[str]:
        """`minikube-py delete` on the machine: its containers, bridge, routes and rules."""
        return run_in(self.machine.name, sys.executable, "-m", "minikube_py", "delete",
                      "--data-dir", str(self.data_dir), check=False, timeout=120)

    def kubectl(self, *args: str, check: bool = False,
                input: str | None = None) -> subprocess.CompletedProcess[str]:
        """kubectl with the node's own credentials (from the host: the API is on the LAN)."""
        return run_kubectl(self.kubeconfig, self.kube_cache, *args, check=check, input=input)


class MemberProcess(JoinProcess):
    """`python -m minikube_py serve --server URL` in a machine of the LAN: a control-plane
    member there, with a node of its own unless `node` is False. Driven as JoinProcess:
    `start` waits for 'node NAME is Ready' (or 'cluster ready' without a node)."""

    def __init__(self, machine: Machine, server: str, data_dir: Path, *, bridge: str,
                 api_port: int, peer_port: int, node: bool = True,
                 extra: tuple[str, ...] = ()) -> None:
        super().__init__(machine, server, data_dir, bridge=bridge)
        self.api_port = api_port
        self.peer_port = peer_port
        self.node = node
        self.extra = extra
        self.log_path = data_dir.parent / f"{data_dir.name}-serve.log"

    @property
    def api_url(self) -> str:
        return f"https://{self.machine.ip}:{self.api_port}"

    def command(self, token: str | None) -> list[str]:
        return in_netns(self.machine.name, sys.executable, "-m", "minikube_py", "serve",
                        "--server", self.server,
                        *(("--token", token) if token is not None else ()),
                        "--data-dir", str(self.data_dir), "--node-name", self.node_name,
                        "--node-ip", self.machine.ip, "--bridge", self.bridge,
                        "--api-port", str(self.api_port), "--peer-port", str(self.peer_port),
                        *(() if self.node else ("--no-node",)), *self.extra)

    def start(self, token: str | None, timeout: float = 180) -> float:
        if self.node:
            return super().start(token, timeout)
        t0 = time.monotonic()
        offset = len(self.log)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.command(token), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
        wait_for_line(self.proc, lambda: self.log, offset, "cluster ready", timeout=timeout,
                      what=f"serve on {self.node_name}")
        return time.monotonic() - t0
