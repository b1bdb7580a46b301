"""`minikube-py delete`: remove a stopped cluster's containers, bridge and data dir."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from minikube_py.config import SERVICE_CIDR
from minikube_py.kubelet.cri import CriClient
from minikube_py.proxy.iptables import cleanup as cleanup_proxy_rules
from minikube_py.proxy.rules import settings_for_bridge
from minikube_py.runtime.bridge import delete_bridge
from minikube_py.runtime.containerd import ContainerdConfig, ContainerdProcess, cri_version

NODE_FILE = "node.json"


def write_node_file(data_dir: Path, *, bridge_name: str, pod_cidr: str,
                    service_cidr: str) -> None:
    """What `delete` needs to know about the host network this cluster set up."""
    (data_dir / NODE_FILE).write_text(json.dumps(
        {"bridge": bridge_name, "podCIDR": pod_cidr, "serviceCIDR": service_cidr}))


class ClusterRunning(Exception):
    pass


async def delete_cluster(data_dir: Path) -> list[str]:
    """Remove every pod sandbox of the cluster's containerd, the pod bridge and the data
    dir; returns what was removed. Refuses while the cluster's containerd answers."""
    removed: list[str] = []
    node_file = data_dir / NODE_FILE
    node = json.loads(node_file.read_text()) if node_file.exists() else {}
    config = ContainerdConfig(data_dir=data_dir, **(
        {"bridge_name": node["bridge"], "pod_subnet": node["podCIDR"]} if node else {}))
    if config.socket_path.exists():
        try:
            await cri_version(config.socket_path, timeout=0.5)
        except Exception:
            pass
        else:
            raise ClusterRunning(f"the cluster in {data_dir} is running: stop `serve` first")
    if config.config_path.exists():
        containerd = ContainerdProcess(config)
        await containerd.start()
        try:
            async with CriClient(containerd.socket) as cri:
                for sandbox in await cri.list_pod_sandboxes():
                    # Stop first: runc refuses to remove a running sandbox.
                    await cri.stop_pod_sandbox(sandbox.id)
                    await cri.remove_pod_sandbox(sandbox.id)
                    removed.append(f"pod {sandbox.metadata.namespace}/{sandbox.metadata.name}")
        finally:
            await containerd.stop()
    if node:
        await cleanup_proxy_rules(settings_for_bridge(node["bridge"],
                                                      node.get("serviceCIDR", SERVICE_CIDR)))
        removed.append("service rules (iptables)")
        await delete_bridge(node["bridge"])
        removed.append(f"bridge {node['bridge']}")
    await asyncio.to_thread(shutil.rmtree, data_dir, ignore_errors=True)
    removed.append(f"data dir {data_dir}")
    return removed
