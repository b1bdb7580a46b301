"""`minikube-py status`: whether a cluster runs on a data dir and is healthy, as `minikube
status` says it. Serve answers what it knows of itself on its control socket (GET /status:
pid, start time, store, containerd); the API is asked, as DATA/kubeconfig's admin, whether
it is ready and what nodes and pods there are. The report and its exit code are pure."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from minikube_py import control
from minikube_py.api.resources import NODES, PODS
from minikube_py.clustersettings import join_data_dir
from minikube_py.datalock import DataDirLock

STATUS = "GET /status"
# How long each question (the control socket, each API read) may take.
TIMEOUT = 5.0

RUNNING, NOT_RUNNING, UNHEALTHY = 0, 1, 2


@dataclass(frozen=True, slots=True)
class ApiFacts:
    """What the API answered (None where it did not; `error` says why)."""

    ready: str | None = None  # /readyz's body ("ok") or its failure
    nodes: Sequence[Mapping[str, Any]] | None = None
    pods: int | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class StatusReport:
    lines: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    code: int = RUNNING

    def text(self) -> str:
        width = max((len(k) for k, _ in self.lines), default=0) + 1
        out = [f"{k + ':':<{width}} {v}" for k, v in self.lines]
        out += [f"problem: {p}" for p in self.problems]
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        """The lines under camelCase keys ("data dir" is dataDir), the exit code, the
        problems."""
        def key(k: str) -> str:
            first, *rest = k.split(" ")
            return first + "".join(w.capitalize() for w in rest)

        return {"code": self.code, **{key(k): v for k, v in self.lines},
                "problems": self.problems}


def not_running(data_dir: Path) -> StatusReport:
    start = f"start it with `minikube-py serve --data-dir {data_dir}`"
    if not data_dir.exists():
        return StatusReport([("minikube-py", f"not running: no cluster in {data_dir}; {start}")],
                            code=NOT_RUNNING)
    return StatusReport([("minikube-py", f"not running: {start}")], code=NOT_RUNNING)


def duration(seconds: float) -> str:
    """3s, 4m05s, 2h03m, 3d04h: as kubectl's AGE column."""
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def node_ready(node: Mapping[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in node.get("status", {}).get("conditions", []))


def store_line(store: Mapping[str, Any]) -> tuple[str, str | None]:
    """The store's line and its problem (None: it has a leader)."""
    if store.get("kind") == "external":
        return f"external etcd {store.get('endpoints', '?')}", None
    members = store.get("members") or []
    leader = store.get("leader") or ""
    what = "embedded" if len(members) <= 1 else f"embedded, {len(members)} members " \
        f"({', '.join(members)})"
    line = f"{what}, leader {leader or 'none'}, revision {store.get('revision', '?')}"
    return line, None if leader else "the store has no leader"


def assess(serve: Mapping[str, Any], api: ApiFacts, *, now: float) -> StatusReport:
    """The report of a serve that answered on its control socket, and the API's answers."""
    lines: list[tuple[str, str]] = []
    problems: list[str] = []
    up = duration(now - float(serve.get("startedAt", now)))
    lines.append(("minikube-py", f"Running (pid {serve.get('pid', '?')}, up {up}, version "
                                 f"{serve.get('version', '?')})"))
    lines.append(("data dir", str(serve.get("dataDir", ""))))
    ready = api.ready if api.ready is not None else f"not answering ({api.error})"
    lines.append(("api", f"{serve.get('apiURL', '?')} ({ready})"))
    if api.ready != "ok":
        problems.append(f"the API server is not ready: {ready}")
    store, store_problem = store_line(serve.get("store", {}))
    lines.append(("store", store))
    if store_problem:
        problems.append(store_problem)
    containerd = serve.get("containerd")
    if containerd:
        state = "Running" if containerd.get("running") else "Stopped"
        lines.append(("containerd", f"{state} (socket {containerd.get('socket', '?')})"))
        if not containerd.get("running"):
            problems.append(f"containerd does not answer on {containerd.get('socket')}")
    else:
        lines.append(("containerd", "none (--no-node: nodes join with `minikube-py join`)"))
    if api.nodes is not None:
        names = [(n.get("metadata", {}).get("name", "?"), node_ready(n)) for n in api.nodes]
        listed = ", ".join(f"{n} {'Ready' if r else 'NotReady'}" for n, r in names)
        lines.append(("nodes", listed or "none"))
        problems += [f"node {n} is not Ready" for n, r in names if not r]
    if api.pods is not None:
        lines.append(("pods", str(api.pods)))
    lines.append(("kubeconfig", str(serve.get("kubeconfig", ""))))
    merged = serve.get("merged")
    if merged:
        lines.append(("merged into", f"{merged['path']} (context {merged['name']})"))
    return StatusReport(lines, problems, UNHEALTHY if problems else RUNNING)


async def api_facts(data_dir: Path) -> ApiFacts:
    """/readyz, the nodes and the number of pods, as DATA/kubeconfig's admin."""
    from minikube_py.client.http import HttpClient
    from minikube_py.token_commands import TokenCommandFailed, admin_of, admin_tls

    try:
        admin = admin_of(data_dir)
        tls = admin_tls(admin.credentials)
    except (TokenCommandFailed, ValueError, OSError) as e:
        return ApiFacts(error=str(e))
    try:
        async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT),
                connector=aiohttp.TCPConnector(ssl=tls)) as session, \
                session.get(admin.server + "/readyz") as resp:
            body = (await resp.text()).strip()
            ready = body if resp.status == 200 else f"{resp.status}: {body[:200]}"
    except (aiohttp.ClientError, TimeoutError, OSError) as e:
        return ApiFacts(error=f"{admin.server}: {e or type(e).__name__}")
    client = HttpClient(admin.server, tls=tls)
    try:
        nodes = await asyncio.wait_for(client.list(NODES), TIMEOUT)
        pods = await asyncio.wait_for(client.list(PODS), TIMEOUT)
    except Exception as e:  # any failure is one line of the report
        return ApiFacts(ready=ready, error=str(e) or type(e).__name__)
    finally:
        await client.close()
    return ApiFacts(ready=ready, nodes=nodes.get("items", []), pods=len(pods.get("items", [])))


async def cluster_status(data_dir: Path, *, now: float) -> StatusReport:
    """Everything `status` says of the cluster in `data_dir`."""
    try:
        holder = DataDirLock(data_dir).holder()
    except OSError as e:
        return StatusReport([("minikube-py", f"cannot read {data_dir}: {e.strerror} (run "
                                             "it as the user that runs serve)")],
                            code=UNHEALTHY)
    if holder is None:
        return not_running(data_dir)
    if join_data_dir(data_dir):
        return StatusReport([("minikube-py", f"Running: a joined node (`minikube-py join`, "
                                             f"pid {holder})"), ("data dir", str(data_dir))])
    try:
        serve = await control.call(control.control_socket(data_dir), "GET", "/status",
                                   timeout=TIMEOUT)
    except control.ControlError as e:
        return StatusReport([("minikube-py", f"serve (pid {holder}) holds {data_dir} but does "
                                             f"not answer: {e}")], code=UNHEALTHY)
    return assess(serve, await api_facts(data_dir), now=now)
