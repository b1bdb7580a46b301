"""Pure builders of the CRI sandbox and container configs for a pod (no IO, no clock)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cri_api.v1 import api_pb2 as cri

from minikube_py.api.quantity import bytes_value, milli_cpu
from minikube_py.kubelet.dns import DnsSettings
from minikube_py.kubelet.envvars import expand_command
from minikube_py.kubelet.etc_hosts import pod_domain, pod_hostname
from minikube_py.kubelet.pod_objects import ConfigError
from minikube_py.kubelet.security_context import container_security_context

POD_NAME_LABEL = "io.kubernetes.pod.name"
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
POD_UID_LABEL = "io.kubernetes.pod.uid"
CONTAINER_NAME_LABEL = "io.kubernetes.container.name"
NODE_LABEL = "minikube-py.io/node"  # which kubelet owns a sandbox (orphan cleanup is per node)
INIT_LABEL = "minikube-py.io/init-container"
RESTART_COUNT_ANNOTATION = "io.kubernetes.container.restartCount"
TERMINATION_GRACE_ANNOTATION = "io.kubernetes.pod.terminationGracePeriod"
CONTAINER_HASH_ANNOTATION = "io.kubernetes.container.hash"

_PROTOCOLS = {"TCP": cri.TCP, "UDP": cri.UDP, "SCTP": cri.SCTP}


def pod_log_dir(pods_dir: Path, pod: dict[str, Any]) -> Path:
    meta = pod["metadata"]
    return pods_dir / f"{meta.get('namespace', 'default')}_{meta['name']}_{meta['uid']}"


def _namespace_options(spec: dict[str, Any]) -> cri.NamespaceOption:
    return cri.NamespaceOption(
        network=cri.NODE if spec.get("hostNetwork") else cri.POD,
        pid=cri.POD if spec.get("shareProcessNamespace") else (
            cri.NODE if spec.get("hostPID") else cri.CONTAINER),
        ipc=cri.NODE if spec.get("hostIPC") else cri.POD,
    )


def port_mappings(spec: dict[str, Any]) -> list[cri.PortMapping]:
    mappings = []
    for c in spec.get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                mappings.append(cri.PortMapping(
                    protocol=_PROTOCOLS.get(p.get("protocol", "TCP"), cri.TCP),
                    container_port=int(p["containerPort"]), host_port=int(p["hostPort"]),
                    host_ip=p.get("hostIP", "")))
    return mappings


def sandbox_labels(pod: dict[str, Any], node_name: str) -> dict[str, str]:
    meta = pod["metadata"]
    return {**(meta.get("labels") or {}),
            POD_NAME_LABEL: meta["name"], POD_NAMESPACE_LABEL: meta.get("namespace", "default"),
            POD_UID_LABEL: meta["uid"], NODE_LABEL: node_name}


FQDN_MAX = 64


def sandbox_hostname(pod: dict[str, Any], cluster_domain: str) -> str:
    """The pod's hostname; its FQDN with setHostnameAsFQDN (raises ConfigError, kube's words,
    when that is too long for a hostname). Host-network pods keep the node's."""
    spec = pod.get("spec") or {}
    if spec.get("hostNetwork"):
        return ""
    hostname = pod_hostname(pod)
    domain = pod_domain(pod, cluster_domain)
    if spec.get("setHostnameAsFQDN") and domain:
        fqdn = f"{hostname}.{domain}"
        if len(fqdn) > FQDN_MAX:
            raise ConfigError("failed to construct FQDN from pod hostname and cluster domain, "
                              f"FQDN {fqdn} is too long ({FQDN_MAX} characters is the max, "
                              f"{len(fqdn)} characters requested)")
        return fqdn
    return hostname


def sandbox_config(pod: dict[str, Any], *, log_dir: Path, dns: DnsSettings, attempt: int,
                   node_name: str, cluster_domain: str = "cluster.local",
                   ) -> cri.PodSandboxConfig:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    sysctls = {str(s.get("name")): str(s.get("value", ""))
               for s in (spec.get("securityContext") or {}).get("sysctls") or []}
    return cri.PodSandboxConfig(
        metadata=cri.PodSandboxMetadata(name=meta["name"], namespace=meta.get("namespace", "default"),
                                        uid=meta["uid"], attempt=attempt),
        hostname=sandbox_hostname(pod, cluster_domain),
        log_directory=str(log_dir),
        dns_config=cri.DNSConfig(servers=list(dns.servers), searches=list(dns.searches),
                                 options=list(dns.options)),
        port_mappings=port_mappings(spec),
        labels=sandbox_labels(pod, node_name),
        annotations={k: str(v) for k, v in (meta.get("annotations") or {}).items()},
        linux=cri.LinuxPodSandboxConfig(sysctls=sysctls,
                                        security_context=cri.LinuxSandboxSecurityContext(
            namespace_options=_namespace_options(spec),
            privileged=any(((c.get("securityContext") or {}).get("privileged"))
                           for c in all_containers(spec)))),
    )


def all_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or []),
            *(spec.get("ephemeralContainers") or [])]


def container_hash(container: dict[str, Any]) -> str:
    """What a running container is compared with to see its spec changed. As kube, only the
    name and image count: they are the only container fields a pod update may change, and
    hashing more would restart every container after an upgrade of this kubelet."""
    picked = json.dumps({"name": container.get("name", ""), "image": container.get("image", "")},
                        sort_keys=True)
    return hashlib.sha256(picked.encode()).hexdigest()[:16]


def container_log_path(name: str, restart_count: int) -> str:
    return f"{name}/{restart_count}.log"


def container_resources(pod: dict[str, Any], container: dict[str, Any], *,
                        memory_capacity: int) -> cri.LinuxContainerResources:
    """CPU shares from the request, a CFS quota from the limit, the memory limit, and the OOM
    score of the pod's QoS class (kube's calculateLinuxResources and GetContainerOOMScoreAdjust)."""
    res = container.get("resources") or {}
    requests, limits = res.get("requests") or {}, res.get("limits") or {}
    cpu_request = requests.get("cpu", limits.get("cpu"))
    shares = cpu_shares(milli_cpu(cpu_request) if cpu_request is not None else 0)
    resources = cri.LinuxContainerResources(cpu_shares=shares, cpu_period=CFS_PERIOD_US,
                                            oom_score_adj=oom_score_adj(
                                                pod, container, memory_capacity))
    if limits.get("cpu") is not None:
        resources.cpu_quota = cpu_quota(milli_cpu(limits["cpu"]))
    if limits.get("memory") is not None and bytes_value(limits["memory"]):
        resources.memory_limit_in_bytes = bytes_value(limits["memory"])
    return resources


CFS_PERIOD_US = 100_000
MIN_SHARES, MAX_SHARES = 2, 262_144
GUARANTEED_OOM_SCORE_ADJ, BEST_EFFORT_OOM_SCORE_ADJ = -997, 1000


def cpu_shares(milli: int) -> int:
    return max(MIN_SHARES, min(MAX_SHARES, milli * 1024 // 1000)) if milli else MIN_SHARES


def cpu_quota(milli: int) -> int:
    return max(1000, milli * CFS_PERIOD_US // 1000) if milli else 0


def oom_score_adj(pod: dict[str, Any], container: dict[str, Any], memory_capacity: int) -> int:
    qos = (pod.get("status") or {}).get("qosClass") or "BestEffort"
    if qos == "Guaranteed":
        return GUARANTEED_OOM_SCORE_ADJ
    if qos == "BestEffort" or memory_capacity <= 0:
        return BEST_EFFORT_OOM_SCORE_ADJ
    request = ((container.get("resources") or {}).get("requests") or {}).get("memory")
    score = 1000 - (1000 * (bytes_value(request) if request is not None else 0)) // memory_capacity
    if score < 1000 + GUARANTEED_OOM_SCORE_ADJ:
        return 1000 + GUARANTEED_OOM_SCORE_ADJ
    return score - 1 if score == BEST_EFFORT_OOM_SCORE_ADJ else score


def container_config(pod: dict[str, Any], container: dict[str, Any], *, restart_count: int,
                     env: Mapping[str, str], mounts: list[cri.Mount], init: bool = False,
                     seccomp_root: Path = Path("/"), memory_capacity: int = 0,
                     target_id: str = "") -> cri.ContainerConfig:
    """The container as CRI creates it: its env resolved (envvars), command and args
    expanded with it, and its mounts made (volume_manager). `target_id`: the container whose
    process namespace an ephemeral container joins (its targetContainerName)."""
    meta, spec = pod["metadata"], pod.get("spec") or {}
    name = container["name"]
    labels = {CONTAINER_NAME_LABEL: name, POD_NAME_LABEL: meta["name"],
              POD_NAMESPACE_LABEL: meta.get("namespace", "default"), POD_UID_LABEL: meta["uid"]}
    if init:
        labels[INIT_LABEL] = "true"
    grace = spec.get("terminationGracePeriodSeconds", 30)
    namespaces = _namespace_options(spec)
    if target_id:
        namespaces.pid = cri.TARGET
        namespaces.target_id = target_id
    return cri.ContainerConfig(
        metadata=cri.ContainerMetadata(name=name, attempt=restart_count),
        image=cri.ImageSpec(image=container.get("image", "")),
        command=expand_command(container.get("command") or [], env),
        args=expand_command(container.get("args") or [], env),
        working_dir=container.get("workingDir", ""),
        envs=[cri.KeyValue(key=k, value=v) for k, v in env.items()],
        mounts=mounts,
        labels=labels,
        annotations={RESTART_COUNT_ANNOTATION: str(restart_count),
                     TERMINATION_GRACE_ANNOTATION: str(grace),
                     CONTAINER_HASH_ANNOTATION: container_hash(container)},
        log_path=container_log_path(name, restart_count),
        stdin=bool(container.get("stdin")),
        stdin_once=bool(container.get("stdinOnce")),
        tty=bool(container.get("tty")),
        linux=cri.LinuxContainerConfig(
            resources=container_resources(pod, container, memory_capacity=memory_capacity),
            security_context=container_security_context(
                pod, container, namespace_options=namespaces, seccomp_root=seccomp_root)),
    )
