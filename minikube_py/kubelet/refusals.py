"""What a pod may ask for that this kubelet cannot give yet, each named in the refusal: the pod
(or the one container) is not started and waits with CreateContainerConfigError and that
message, instead of running without it. Pure. Everything not refused here is honoured."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Volume sources the kubelet sets up (the rest of kube's long list is refused by name).
SUPPORTED_VOLUMES = ("emptyDir", "hostPath", "configMap", "secret", "downwardAPI", "projected",
                     "persistentVolumeClaim")
EMPTY_DIR_MEDIA = ("", "Memory")
HOST_PATH_TYPES = ("", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
                   "CharDevice", "BlockDevice")
NOT_YET = "is not supported by this kubelet"
# The sysctls kube allows any pod (each namespaced to the pod); others need an allowlist this
# kubelet does not have.
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
})


def volume_source(volume: Mapping[str, Any]) -> str:
    """The volume's source kind: its one key besides the name (emptyDir when none, as the
    API defaults it)."""
    kinds = [k for k, v in volume.items() if k != "name" and v is not None]
    return kinds[0] if kinds else "emptyDir"


def volume_refusal(volume: Mapping[str, Any]) -> str | None:
    kind = volume_source(volume)
    if kind not in SUPPORTED_VOLUMES:
        return f"{kind} volumes are not supported by this kubelet"
    if kind == "emptyDir":
        medium = (volume.get("emptyDir") or {}).get("medium") or ""
        if medium not in EMPTY_DIR_MEDIA:
            return f"emptyDir medium {medium} {NOT_YET}"
    if kind == "hostPath":
        path_type = (volume.get("hostPath") or {}).get("type") or ""
        if path_type not in HOST_PATH_TYPES:
            return f"{path_type} is an invalid volume type"
    return None


def pod_refusal(pod: Mapping[str, Any]) -> str | None:
    """Pod-wide asks: nothing of the pod starts."""
    spec = pod.get("spec") or {}
    if ((spec.get("os") or {}).get("name") or "linux") != "linux":
        return f"spec.os.name {spec['os']['name']}: this node runs Linux"
    if spec.get("hostUsers") is False:
        return f"spec.hostUsers false (user namespaces) {NOT_YET}"
    if spec.get("runtimeClassName"):
        return (f"spec.runtimeClassName {spec['runtimeClassName']}: this kubelet has only the "
                "runtime's default handler")
    if spec.get("resourceClaims"):
        return f"spec.resourceClaims (dynamic resource allocation) {NOT_YET}"
    if spec.get("resources"):
        return f"spec.resources (pod-level resources) {NOT_YET}"
    policy = (spec.get("securityContext") or {}).get("supplementalGroupsPolicy")
    if policy not in (None, "Merge"):
        return f"securityContext.supplementalGroupsPolicy {policy} {NOT_YET}"
    for sysctl in (spec.get("securityContext") or {}).get("sysctls") or []:
        name = str(sysctl.get("name") or "").replace("/", ".")
        if name not in SAFE_SYSCTLS:
            return f'forbidden sysctl: "{name}" not allowlisted'
        if spec.get("hostNetwork") and name.startswith("net."):
            return f'"{name}" not allowed with host net enabled'
    for volume in spec.get("volumes") or []:
        refused = volume_refusal(volume)
        if refused is not None:
            return f'volume "{volume.get("name", "")}": {refused}'
    return None


def container_refusal(container: Mapping[str, Any], *, init: bool = False) -> str | None:
    """One container's asks (its siblings still start)."""
    if init and container.get("restartPolicy"):
        return f"restartPolicy {container['restartPolicy']} on an init container (a sidecar) {NOT_YET}"
    if container.get("volumeDevices"):
        return f"volumeDevices (raw block volumes) {NOT_YET}"
    sc = container.get("securityContext") or {}
    if sc.get("procMount") not in (None, "Default"):
        return f"securityContext.procMount {sc['procMount']} {NOT_YET}"
    resources = container.get("resources") or {}
    if resources.get("claims"):
        return f"resources.claims (dynamic resource allocation) {NOT_YET}"
    for kind in ("limits", "requests"):
        for name in resources.get(kind) or {}:
            if str(name).startswith("hugepages-"):
                return f"resources.{kind}.{name} {NOT_YET}"
    return None
