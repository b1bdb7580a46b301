"""What a running `serve` tells about itself beyond its progress lines: the answer to GET
/status on its control socket (for `minikube-py status`), and the merge of its context into
the user's kubeconfig once it is ready."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minikube_py import __version__
from minikube_py.clustersettings import DEFAULT_DATA_DIR, read_remembered_datastore
from minikube_py.config import ServeConfig
from minikube_py.kubeconfig import KubeconfigCredentials, merge_entries
from minikube_py.kubeconfigmerge import MergeRecord, MergeRefused, entry_name
from minikube_py.members.member import StoreMember
from minikube_py.merged_kubeconfig import merge_kubeconfig, read_record
from minikube_py.runtime.containerd import ContainerdConfig, cri_version
from minikube_py.startup import Progress
from minikube_py.store.node import RaftStore

if TYPE_CHECKING:
    from minikube_py.etcdapi.etcdkv import EtcdKV


def status_command(config: ServeConfig, store: RaftStore | EtcdKV, member: StoreMember | None,
                   *, started_at: float) -> Callable[[], Awaitable[dict[str, Any]]]:
    """GET /status on the control socket: what this serve knows of itself, for `status`."""
    socket = config.containerd_socket or ContainerdConfig(data_dir=config.data_dir).socket_path

    async def answer() -> dict[str, Any]:
        body: dict[str, Any] = {
            "pid": os.getpid(), "startedAt": started_at, "version": __version__,
            "dataDir": str(config.data_dir), "apiURL": config.api_url, "node": config.node,
            "store": store_facts(config, store, member),
            "kubeconfig": str(config.kubeconfig_path)}
        if config.run_node:
            try:
                await cri_version(socket, timeout=1.0)
                running = True
            except Exception:  # any failure: it does not answer
                running = False
            body["containerd"] = {"socket": str(socket), "running": running}
        merged = await asyncio.to_thread(_merged_record, config.data_dir)
        if merged is not None:
            body["merged"] = {"path": merged.path, "name": merged.name}
        return body

    return answer


def _merged_record(data_dir: Path) -> MergeRecord | None:
    try:
        return read_record(data_dir)
    except MergeRefused:
        return None


def store_facts(config: ServeConfig, store: RaftStore | EtcdKV,
                member: StoreMember | None) -> dict[str, Any]:
    """The store's kind, members and leader (by name), as `status` shows them."""
    if not isinstance(store, RaftStore):  # an external etcd (EtcdKV, imported when used)
        remembered = read_remembered_datastore(config.data_dir)
        return {"kind": "external", "revision": store.revision, "current": store.endpoint,
                "endpoints": remembered.endpoints if remembered else store.endpoint}
    if member is None:
        return {"kind": "embedded", "members": [config.node], "revision": store.revision,
                "leader": config.node if store.is_leader else ""}
    known = member.store.members()
    records = member.records

    def name(member_id: int) -> str:
        record = records.get(member_id)
        return record.name if record else f"{member_id:x}"

    leader = member.store.raft_position().leader
    return {"kind": "embedded", "revision": store.revision,
            "members": [name(m) for m in (*known.voters, *known.learners)],
            "leader": name(leader) if leader else ""}


def merge_user_kubeconfig(config: ServeConfig, progress: Progress) -> MergeRecord | None:
    """Our cluster, user and context into the user's kubeconfig, made current (as minikube
    and kind do); a file that cannot be edited safely is left alone, with a warning."""
    target = config.merge_kubeconfig_into
    if target is None:
        return None
    pki = config.pki
    try:
        entries = merge_entries(config.api_url, KubeconfigCredentials.read(pki.ca.cert, pki.admin))
        record = merge_kubeconfig(target, entries, config.data_dir,
                                  entry_name(config.data_dir, DEFAULT_DATA_DIR))
    except (MergeRefused, OSError, ValueError) as e:  # ValueError: YAML we cannot splice
        progress.step(f"warning: kubeconfig not merged into {target}: {e}")
        return None
    progress.step(f"kubeconfig: context {record.name} merged into {record.path} (now "
                  "kubectl's current context)")
    return record
