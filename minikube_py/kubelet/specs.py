"""Pure builders of the CRI sandbox and container configs for a pod (no IO, no clock)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cri_api.v1 import api_pb2 as cri

from minikube_py.kubelet.dns import DnsSettings

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


@dataclass(frozen=True, slots=True)
class FieldContext:
    """Values a container's env may reference through fieldRef."""

    pod_ip: str = ""
    host_ip: str = ""
    node_name: str = ""


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


def sandbox_config(pod: dict[str, Any], *, log_dir: Path, dns: DnsSettings, attempt: int,
                   node_name: str) -> cri.PodSandboxConfig:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    hostname = "" if spec.get("hostNetwork") else (spec.get("hostname") or meta["name"])[:63]
    return cri.PodSandboxConfig(
        metadata=cri.PodSandboxMetadata(name=meta["name"], namespace=meta.get("namespace", "default"),
                                        uid=meta["uid"], attempt=attempt),
        hostname=hostname,
        log_directory=str(log_dir),
        dns_config=cri.DNSConfig(servers=list(dns.servers), searches=list(dns.searches),
                                 options=list(dns.options)),
        port_mappings=port_mappings(spec),
        labels=sandbox_labels(pod, node_name),
        annotations={k: str(v) for k, v in (meta.get("annotations") or {}).items()},
        linux=cri.LinuxPodSandboxConfig(security_context=cri.LinuxSandboxSecurityContext(
            namespace_options=_namespace_options(spec),
            privileged=any(((c.get("securityContext") or {}).get("privileged"))
                           for c in all_containers(spec)))),
    )


def all_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


_FIELD_PATHS = {
    "metadata.name": lambda p, f: p["metadata"]["name"],
    "metadata.namespace": lambda p, f: p["metadata"].get("namespace", "default"),
    "metadata.uid": lambda p, f: p["metadata"]["uid"],
    "spec.nodeName": lambda p, f: f.node_name or (p.get("spec") or {}).get("nodeName", ""),
    "spec.serviceAccountName": lambda p, f: (p.get("spec") or {}).get("serviceAccountName", ""),
    "status.podIP": lambda p, f: f.pod_ip,
    "status.hostIP": lambda p, f: f.host_ip,
}
_LABEL_REF = re.compile(r"metadata\.(labels|annotations)\['(.+)'\]$")
_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def field_ref_value(pod: dict[str, Any], path: str, ctx: FieldContext) -> str:
    getter = _FIELD_PATHS.get(path)
    if getter is not None:
        return str(getter(pod, ctx))
    m = _LABEL_REF.match(path)
    if m:
        return str((pod["metadata"].get(m.group(1)) or {}).get(m.group(2), ""))
    return ""


def expand_vars(text: str, env: dict[str, str]) -> str:
    """Kubernetes $(VAR) expansion: unknown references stay as written, $$ escapes a $."""
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _VAR_REF.sub(sub, text)


def container_env(pod: dict[str, Any], container: dict[str, Any], ctx: FieldContext,
                  ) -> dict[str, str]:
    """Env in declaration order; later entries may reference earlier ones. Only value and
    fieldRef sources are resolved (configMap/secret refs would need API reads)."""
    env: dict[str, str] = {}
    for e in container.get("env") or []:
        name = e.get("name", "")
        if "value" in e:
            env[name] = expand_vars(str(e.get("value") or ""), env)
        elif ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath"):
            env[name] = field_ref_value(pod, e["valueFrom"]["fieldRef"]["fieldPath"], ctx)
        else:
            env.setdefault(name, "")
    return env


def volume_host_paths(pod: dict[str, Any], pod_dir: Path) -> dict[str, str]:
    """Host directories backing the pod's emptyDir and hostPath volumes (others are not
    materialised by this kubelet yet and are skipped rather than failing the pod)."""
    paths: dict[str, str] = {}
    for v in (pod.get("spec") or {}).get("volumes") or []:
        if "emptyDir" in v:
            paths[v["name"]] = str(pod_dir / "volumes" / v["name"])
        elif "hostPath" in v:
            paths[v["name"]] = str(v["hostPath"].get("path", ""))
    return paths


def container_mounts(container: dict[str, Any], volumes: dict[str, str]) -> list[cri.Mount]:
    mounts = []
    for vm in container.get("volumeMounts") or []:
        host = volumes.get(vm.get("name", ""))
        if host is None:
            continue
        if vm.get("subPath"):
            host = f"{host}/{vm['subPath']}"
        mounts.append(cri.Mount(container_path=vm["mountPath"], host_path=host,
                                readonly=bool(vm.get("readOnly"))))
    return mounts


def container_hash(container: dict[str, Any]) -> str:
    """What a running container is compared with to see its spec changed. As kube, only the
    name and image count: they are the only container fields a pod update may change, and
    hashing more would restart every container after an upgrade of this kubelet."""
    picked = json.dumps({"name": container.get("name", ""), "image": container.get("image", "")},
                        sort_keys=True)
    return hashlib.sha256(picked.encode()).hexdigest()[:16]


def container_log_path(name: str, restart_count: int) -> str:
    return f"{name}/{restart_count}.log"


def container_config(pod: dict[str, Any], container: dict[str, Any], *, restart_count: int,
                     ctx: FieldContext, volumes: dict[str, str], init: bool = False,
                     ) -> cri.ContainerConfig:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    name = container["name"]
    env = container_env(pod, container, ctx)
    sc = container.get("securityContext") or {}
    psc = spec.get("securityContext") or {}
    caps = sc.get("capabilities") or {}
    security = cri.LinuxContainerSecurityContext(
        namespace_options=_namespace_options(spec),
        privileged=bool(sc.get("privileged")),
        readonly_rootfs=bool(sc.get("readOnlyRootFilesystem")),
        capabilities=cri.Capability(add_capabilities=list(caps.get("add") or []),
                                    drop_capabilities=list(caps.get("drop") or [])),
    )
    run_as_user = sc.get("runAsUser", psc.get("runAsUser"))
    if run_as_user is not None:
        security.run_as_user.value = int(run_as_user)
    run_as_group = sc.get("runAsGroup", psc.get("runAsGroup"))
    if run_as_group is not None:
        security.run_as_group.value = int(run_as_group)
    labels = {CONTAINER_NAME_LABEL: name, POD_NAME_LABEL: meta["name"],
              POD_NAMESPACE_LABEL: meta.get("namespace", "default"), POD_UID_LABEL: meta["uid"]}
    if init:
        labels[INIT_LABEL] = "true"
    grace = spec.get("terminationGracePeriodSeconds", 30)
    return cri.ContainerConfig(
        metadata=cri.ContainerMetadata(name=name, attempt=restart_count),
        image=cri.ImageSpec(image=container.get("image", "")),
        command=[expand_vars(s, env) for s in container.get("command") or []],
        args=[expand_vars(s, env) for s in container.get("args") or []],
        working_dir=container.get("workingDir", ""),
        envs=[cri.KeyValue(key=k, value=v) for k, v in env.items()],
        mounts=container_mounts(container, volumes),
        labels=labels,
        annotations={RESTART_COUNT_ANNOTATION: str(restart_count),
                     TERMINATION_GRACE_ANNOTATION: str(grace),
                     CONTAINER_HASH_ANNOTATION: container_hash(container)},
        log_path=container_log_path(name, restart_count),
        stdin=bool(container.get("stdin")),
        stdin_once=bool(container.get("stdinOnce")),
        tty=bool(container.get("tty")),
        linux=cri.LinuxContainerConfig(security_context=security),
    )
