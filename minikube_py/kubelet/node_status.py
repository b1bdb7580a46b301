"""The Node object this kubelet registers: machine facts (read once) and the pure builder."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minikube_py.api.storage import LOCAL_PATH_DIR_ANNOTATION
from minikube_py.api.timefmt import rfc3339
from minikube_py.kubelet.config import KubeletConfig

KUBE_PROXY_VERSION = "v1.32.0"


@dataclass(frozen=True, slots=True)
class MachineInfo:
    hostname: str
    cpus: int
    memory_ki: int
    ephemeral_storage_ki: int
    os_image: str
    kernel_version: str
    architecture: str
    machine_id: str
    system_uuid: str
    boot_id: str


def _read(path: str, default: str = "") -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return default


def _meminfo_total_ki(text: str) -> int:
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def _os_pretty_name(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return "Linux"


def go_arch(machine: str) -> str:
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)


def collect_machine_info(data_dir: Path) -> MachineInfo:
    st = os.statvfs(data_dir)
    machine_id = _read("/etc/machine-id") or _read("/var/lib/dbus/machine-id")
    return MachineInfo(
        hostname=platform.node(),
        cpus=os.cpu_count() or 1,
        memory_ki=_meminfo_total_ki(_read("/proc/meminfo")),
        ephemeral_storage_ki=st.f_blocks * st.f_frsize // 1024,
        os_image=_os_pretty_name(_read("/etc/os-release")),
        kernel_version=platform.release(),
        architecture=go_arch(platform.machine()),
        machine_id=machine_id,
        system_uuid=_read("/sys/class/dmi/id/product_uuid") or machine_id,
        boot_id=_read("/proc/sys/kernel/random/boot_id"),
    )


def node_labels(config: KubeletConfig, machine: MachineInfo) -> dict[str, str]:
    return {
        "kubernetes.io/hostname": config.node_name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": machine.architecture,
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": machine.architecture,
        **config.labels,
    }


def node_annotations(config: KubeletConfig) -> dict[str, str]:
    """What the kubelet tells about itself on its Node: where the local-path provisioner
    makes this node's volumes."""
    return {LOCAL_PATH_DIR_ANNOTATION: str(config.local_path_dir)}


def node_spec(config: KubeletConfig) -> dict[str, Any]:
    return {"podCIDR": config.pod_cidr, "podCIDRs": [config.pod_cidr]} if config.pod_cidr else {}


def _condition(ctype: str, status: str, reason: str, message: str, now: float,
               previous: dict[str, dict[str, Any]]) -> dict[str, Any]:
    before = previous.get(ctype)
    transition = (before or {}).get("lastTransitionTime") if (before or {}).get(
        "status") == status else None
    return {"type": ctype, "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": rfc3339(now), "lastTransitionTime": transition or rfc3339(now)}


def node_status(config: KubeletConfig, machine: MachineInfo, *, runtime_version: str,
                kubelet_port: int, now: float, previous: dict[str, Any] | None = None,
                ) -> dict[str, Any]:
    prev = {c.get("type", ""): c for c in (previous or {}).get("conditions") or []}
    capacity = {"cpu": str(machine.cpus), "memory": f"{machine.memory_ki}Ki",
                "pods": str(config.max_pods),
                "ephemeral-storage": f"{machine.ephemeral_storage_ki}Ki"}
    # Keep a little back for the system, as a real kubelet's eviction threshold does.
    allocatable = {**capacity,
                   "memory": f"{max(0, machine.memory_ki - 100 * 1024)}Ki",
                   "ephemeral-storage": f"{machine.ephemeral_storage_ki * 9 // 10}Ki"}
    return {
        "capacity": capacity,
        "allocatable": allocatable,
        "conditions": [
            _condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                       "kubelet has sufficient memory available", now, prev),
            _condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                       "kubelet has no disk pressure", now, prev),
            _condition("PIDPressure", "False", "KubeletHasSufficientPID",
                       "kubelet has sufficient PID available", now, prev),
            _condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", now,
                       prev),
        ],
        "addresses": [{"type": "InternalIP", "address": config.node_ip},
                      {"type": "Hostname", "address": config.node_name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
        "nodeInfo": {
            "machineID": machine.machine_id, "systemUUID": machine.system_uuid,
            "bootID": machine.boot_id, "kernelVersion": machine.kernel_version,
            "osImage": machine.os_image, "containerRuntimeVersion": f"containerd://{runtime_version}",
            "kubeletVersion": config.kubelet_version, "kubeProxyVersion": KUBE_PROXY_VERSION,
            "operatingSystem": "linux", "architecture": machine.architecture,
        },
    }


def _without_heartbeats(status: dict[str, Any]) -> dict[str, Any]:
    conditions = [{k: v for k, v in c.items() if k != "lastHeartbeatTime"}
                  for c in status.get("conditions") or []]
    return {**status, "conditions": conditions}


def node_status_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether `new` says something `old` does not: anything but the conditions' heartbeat
    times (kube's nodeStatusHasChanged), so an unchanged node is written only at the report
    interval."""
    return _without_heartbeats(old) != _without_heartbeats(new)


def lease_body(node_name: str, node_uid: str, duration: int, now_micro: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": node_name, "namespace": "kube-node-lease"}
    if node_uid:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node_name,
                                    "uid": node_uid}]
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
            "spec": {"holderIdentity": node_name, "leaseDurationSeconds": duration,
                     "renewTime": now_micro}}
