"""A container's security settings as the CRI carries them (kube's
determineEffectiveSecurityContext and generateLinuxContainerSecurityContext): the container's
fields override the pod's; seccomp and AppArmor profiles, no_new_privs, supplemental groups
(fsGroup among them) and SELinux labels go to the runtime; runAsNonRoot is checked against the
user the image runs as. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cri_api.v1 import api_pb2 as cri

from minikube_py.kubelet.pod_objects import ConfigError

# Container fields that fall back to the pod's.
_INHERITED = ("runAsUser", "runAsGroup", "runAsNonRoot", "seLinuxOptions", "seccompProfile",
              "appArmorProfile")
_PROFILE_TYPES = {"RuntimeDefault": cri.SecurityProfile.RuntimeDefault,
                  "Unconfined": cri.SecurityProfile.Unconfined,
                  "Localhost": cri.SecurityProfile.Localhost}
# The profile paths of the CRI's deprecated string fields, which containerd 1.6 still reads.
_LEGACY_SECCOMP = {"RuntimeDefault": "runtime/default", "Unconfined": "unconfined"}
_LEGACY_APPARMOR = {"RuntimeDefault": "runtime/default", "Unconfined": "unconfined"}


def effective_security_context(pod: Mapping[str, Any],
                               container: Mapping[str, Any]) -> dict[str, Any]:
    psc = (pod.get("spec") or {}).get("securityContext") or {}
    sc = dict(container.get("securityContext") or {})
    for key in _INHERITED:
        if sc.get(key) is None and psc.get(key) is not None:
            sc[key] = psc[key]
    return sc


def fs_user_from(pod: Mapping[str, Any]) -> int | None:
    """The one user every container runs as (kube's FsUserFrom), None when they differ or
    one has none."""
    spec = pod.get("spec") or {}
    users = {effective_security_context(pod, c).get("runAsUser")
             for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]}
    if len(users) != 1:
        return None
    user = users.pop()
    return int(user) if user is not None else None


def pod_name_for_messages(pod: Mapping[str, Any]) -> str:
    """format.Pod: name_namespace(uid)."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', 'default')}({meta.get('uid', '')})"


def verify_run_as_non_root(pod: Mapping[str, Any], container: Mapping[str, Any],
                           image_uid: int | None, image_user: str) -> None:
    """runAsNonRoot: the user the container will run as must not be root. An image that names
    no user runs as root."""
    sc = effective_security_context(pod, container)
    if not sc.get("runAsNonRoot"):
        return
    who = f'(pod: "{pod_name_for_messages(pod)}", container: {container.get("name", "")})'
    if sc.get("runAsUser") is not None:
        if int(sc["runAsUser"]) == 0:
            raise ConfigError(f"container's runAsUser breaks non-root policy {who}")
        return
    if image_uid is None and image_user:
        raise ConfigError("container has runAsNonRoot and image has non-numeric user "
                          f"({image_user}), cannot verify user is non-root {who}")
    if not image_uid:
        raise ConfigError(f"container has runAsNonRoot and image will run as root {who}")


def _profile(value: Mapping[str, Any] | None, root: Path, what: str,
             ) -> tuple[cri.SecurityProfile | None, str]:
    if not value:
        return None, ""
    kind = value.get("type")
    if kind not in _PROFILE_TYPES:
        raise ConfigError(f"{what} profile type {kind} is not one of Localhost, RuntimeDefault, "
                          "Unconfined")
    if kind != "Localhost":
        legacy = (_LEGACY_SECCOMP if what == "seccomp" else _LEGACY_APPARMOR)[kind]
        return cri.SecurityProfile(profile_type=_PROFILE_TYPES[kind]), legacy
    ref = str(value.get("localhostProfile") or "")
    if not ref:
        raise ConfigError(f"localhostProfile must be set for a Localhost {what} profile")
    if what == "seccomp":
        # Localhost seccomp profiles live in the kubelet's seccomp directory.
        ref = str(root / ref)
    return (cri.SecurityProfile(profile_type=cri.SecurityProfile.Localhost, localhost_ref=ref),
            f"localhost/{ref}")


def supplemental_groups(pod: Mapping[str, Any]) -> list[int]:
    psc = (pod.get("spec") or {}).get("securityContext") or {}
    groups = [int(g) for g in psc.get("supplementalGroups") or []]
    if psc.get("fsGroup") is not None and int(psc["fsGroup"]) not in groups:
        groups.append(int(psc["fsGroup"]))
    return groups


def container_security_context(pod: Mapping[str, Any], container: Mapping[str, Any], *,
                               namespace_options: cri.NamespaceOption,
                               seccomp_root: Path) -> cri.LinuxContainerSecurityContext:
    sc = effective_security_context(pod, container)
    caps = sc.get("capabilities") or {}
    privileged = bool(sc.get("privileged"))
    security = cri.LinuxContainerSecurityContext(
        namespace_options=namespace_options,
        privileged=privileged,
        readonly_rootfs=bool(sc.get("readOnlyRootFilesystem")),
        capabilities=cri.Capability(add_capabilities=list(caps.get("add") or []),
                                    drop_capabilities=list(caps.get("drop") or [])),
        supplemental_groups=supplemental_groups(pod),
        # Only an explicit allowPrivilegeEscalation: false sets no_new_privs (as kube).
        no_new_privs=sc.get("allowPrivilegeEscalation") is False,
    )
    if sc.get("runAsUser") is not None:
        security.run_as_user.value = int(sc["runAsUser"])
    if sc.get("runAsGroup") is not None:
        security.run_as_group.value = int(sc["runAsGroup"])
    selinux = sc.get("seLinuxOptions") or {}
    if selinux:
        security.selinux_options.CopyFrom(cri.SELinuxOption(
            user=str(selinux.get("user") or ""), role=str(selinux.get("role") or ""),
            type=str(selinux.get("type") or ""), level=str(selinux.get("level") or "")))
    seccomp, seccomp_path = _profile(sc.get("seccompProfile"), seccomp_root, "seccomp")
    if seccomp is not None:
        security.seccomp.CopyFrom(seccomp)
        security.seccomp_profile_path = seccomp_path
    apparmor, apparmor_name = _profile(sc.get("appArmorProfile"), seccomp_root, "apparmor")
    if apparmor is not None:
        security.apparmor.CopyFrom(apparmor)
        security.apparmor_profile = apparmor_name
    return security
