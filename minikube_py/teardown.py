"""`minikube-py delete`: remove a stopped cluster's containers, what it owns on the host
(bridge, routes, iptables rules: only what carries this data dir's owner marks), what serve
merged into the user's kubeconfig, and its data dir."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from minikube_py.clustersettings import NOTHING_REMEMBERED, SettingsFileError, load_remembered
from minikube_py.datalock import DataDirBusy, DataDirLock
from minikube_py.hostnetwork import release_host_network, release_orphaned_network
from minikube_py.kubeconfigmerge import MergeRefused
from minikube_py.kubelet.cri import CriClient
from minikube_py.kubelet.mounts import unmount_under
from minikube_py.merged_kubeconfig import unmerge_kubeconfig
from minikube_py.runtime.containerd import ContainerdConfig, ContainerdProcess, cri_version


class ClusterRunning(Exception):
    pass


class NoCluster(Exception):
    pass


async def delete_cluster(data_dir: Path) -> list[str]:
    """Remove every pod sandbox of the cluster's containerd, what the cluster owns on the
    host and the data dir; returns what was done, one line each. Refuses while a `serve`
    holds the data dir or the cluster's containerd answers. When the data dir is gone, what
    its cluster still holds on the host (a bridge that names it) is released."""
    if not await asyncio.to_thread(data_dir.exists):
        done = await release_orphaned_network(data_dir)
        if not done:
            raise NoCluster(f"no cluster in {data_dir}, and nothing on the host names it")
        return done
    lock = DataDirLock(data_dir)
    try:
        lock.acquire()
    except DataDirBusy as e:
        raise ClusterRunning(f"the cluster in {data_dir} is running: stop `serve` (or `join`) first "
                             f"({e})") from e
    try:
        return await _delete(data_dir)
    finally:
        lock.release()


async def _delete(data_dir: Path) -> list[str]:
    done: list[str] = []
    try:
        remembered = load_remembered(data_dir)
    except SettingsFileError as e:
        remembered = NOTHING_REMEMBERED
        done.append(f"left the host network alone: {e}")
    network = remembered.settings
    config = ContainerdConfig(data_dir=data_dir, **(
        {"bridge_name": network["bridge"], "pod_subnet": network["pod_cidr"]}
        if "bridge" in network and "pod_cidr" in network else {}))
    if config.socket_path.exists():
        try:
            await cri_version(config.socket_path, timeout=0.5)
        except Exception:
            pass
        else:
            raise ClusterRunning(f"the cluster in {data_dir} is running: stop `serve` (or `join`) first")
    if config.config_path.exists():
        containerd = ContainerdProcess(config)
        await containerd.start()
        try:
            async with CriClient(containerd.socket) as cri:
                for sandbox in await cri.list_pod_sandboxes():
                    # Stop first: runc refuses to remove a running sandbox.
                    await cri.stop_pod_sandbox(sandbox.id)
                    await cri.remove_pod_sandbox(sandbox.id)
                    done.append(f"removed pod {sandbox.metadata.namespace}/"
                                f"{sandbox.metadata.name}")
        finally:
            await containerd.stop()
    done += await release_host_network(remembered)
    # The tmpfs of pods' Secret and projected volumes: the directory cannot go while mounted.
    unmounted = await asyncio.to_thread(unmount_under, data_dir)
    if unmounted:
        done.append(f"unmounted {len(unmounted)} pod volume(s)")
    try:
        unmerged = await asyncio.to_thread(unmerge_kubeconfig, data_dir)
    except (MergeRefused, OSError, ValueError) as e:  # ValueError: YAML we cannot splice
        done.append(f"left the merged kubeconfig alone: {e}")
    else:
        if unmerged:
            done.append(unmerged)
    await asyncio.to_thread(shutil.rmtree, data_dir, ignore_errors=True)
    done.append(f"removed data dir {data_dir}")
    return done
