"""The checks of the baseline level (kube 1.32's policy/check_*.go): what a pod may not do
to escape its containers. Each takes the pod's metadata and spec and words its refusal as
kube does; a version-specific variant is its own function."""

from __future__ import annotations

from typing import Final

from minikube_py.apiserver.podsecurity.results import (
    ALLOWED,
    CheckResult,
    Obj,
    containers,
    containers_phrase,
    forbidden,
    go_quote,
    items,
    join_quote,
    mapping,
    name_of,
    pluralize,
    security_context,
    text,
)

# The capabilities a container runtime grants by default: adding these is no escalation.
DEFAULT_CAPABILITIES: Final = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
# Sysctls namespaced to the pod and isolated from other pods, by the version that allowed
# them.
SAFE_SYSCTLS_1_0: Final = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"})
SAFE_SYSCTLS_1_27: Final = SAFE_SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
SAFE_SYSCTLS_1_29: Final = SAFE_SYSCTLS_1_27 | {
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes"}
SAFE_SYSCTLS_1_32: Final = SAFE_SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
SELINUX_TYPES_1_0: Final = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
SELINUX_TYPES_1_31: Final = SELINUX_TYPES_1_0 | {"container_engine_t"}
SECCOMP_TYPES: Final = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_TYPES: Final = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ANNOTATION_PREFIX: Final = "container.apparmor.security.beta.kubernetes.io/"
SECCOMP_POD_ANNOTATION: Final = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION_PREFIX: Final = "container.seccomp.security.alpha.kubernetes.io/"


def host_namespaces(meta: Obj, spec: Obj) -> CheckResult:
    """spec.hostNetwork, hostPID and hostIPC: unset or false."""
    shared = [f"{key}=true" for key in ("hostNetwork", "hostPID", "hostIPC")
              if spec.get(key) is True]
    if shared:
        return forbidden("host namespaces", ", ".join(shared))
    return ALLOWED


def privileged(meta: Obj, spec: Obj) -> CheckResult:
    """securityContext.privileged of every container: unset or false."""
    bad = [name_of(c) for c in containers(spec)
           if (security_context(c) or {}).get("privileged") is True]
    if bad:
        return forbidden("privileged", f"{containers_phrase(bad)} must not set "
                                       "securityContext.privileged=true")
    return ALLOWED


def capabilities_baseline(meta: Obj, spec: Obj) -> CheckResult:
    """securityContext.capabilities.add: only the runtime's default capabilities."""
    bad: list[str] = []
    added: set[str] = set()
    for c in containers(spec):
        caps = mapping((security_context(c) or {}).get("capabilities"))
        extra = {text(cap) for cap in caps.get("add") or [] if text(cap) not in DEFAULT_CAPABILITIES}
        if extra:
            bad.append(name_of(c))
            added |= extra
    if bad:
        return forbidden("non-default capabilities",
                         f"{containers_phrase(bad)} must not include "
                         f"{join_quote(sorted(added))} in securityContext.capabilities.add")
    return ALLOWED


def host_path_volumes(meta: Obj, spec: Obj) -> CheckResult:
    """spec.volumes[*].hostPath: unset."""
    bad = [text(v.get("name")) for v in items(spec.get("volumes"))
           if v.get("hostPath") is not None]
    if bad:
        return forbidden("hostPath volumes",
                         f'{pluralize("volume", "volumes", len(bad))} {join_quote(bad)}')
    return ALLOWED


def host_ports(meta: Obj, spec: Obj) -> CheckResult:
    """containers[*].ports[*].hostPort: unset or 0."""
    bad: list[str] = []
    ports: set[str] = set()
    for c in containers(spec):
        used = {str(p["hostPort"]) for p in items(c.get("ports"))
                if p.get("hostPort") not in (None, 0)}
        if used:
            bad.append(name_of(c))
            ports |= used
    if bad:
        return forbidden("hostPort", " ".join((
            containers_phrase(bad), pluralize("uses", "use", len(bad)),
            pluralize("hostPort", "hostPorts", len(ports)), ", ".join(sorted(ports)))))
    return ALLOWED


def _apparmor_annotations(meta: Obj) -> list[str]:
    """Annotations setting a profile other than runtime/default or localhost/*."""
    bad = []
    for key, value in mapping(meta.get("annotations")).items():
        if key.startswith(APPARMOR_ANNOTATION_PREFIX) and isinstance(value, str) and \
                value not in ("", "runtime/default") and not value.startswith("localhost/"):
            bad.append(f"{key}={go_quote(value)}")
    return sorted(bad)


def apparmor_profile(meta: Obj, spec: Obj) -> CheckResult:
    """appArmorProfile.type of the pod and its containers: unset, RuntimeDefault or
    Localhost; the beta annotations: runtime/default, localhost/* or empty."""
    setters: list[str] = []
    values: set[str] = set()
    pod_profile = mapping(spec.get("securityContext")).get("appArmorProfile")
    if isinstance(pod_profile, dict) and text(pod_profile.get("type")) not in APPARMOR_TYPES:
        setters.append("pod")
        values.add(text(pod_profile.get("type")))
    bad = []
    for c in containers(spec):
        profile = (security_context(c) or {}).get("appArmorProfile")
        if isinstance(profile, dict) and text(profile.get("type")) not in APPARMOR_TYPES:
            bad.append(name_of(c))
            values.add(text(profile.get("type")))
    if bad:
        setters.append(containers_phrase(bad))
    shown = sorted(values)
    annotations = _apparmor_annotations(meta)
    if annotations:
        shown += annotations
        setters.append(pluralize("annotation", "annotations", len(annotations)))
    if setters:
        return forbidden(
            pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(shown)),
            f"{' and '.join(setters)} must not set AppArmor profile type to "
            f"{join_quote(shown)}")
    return ALLOWED


def _selinux(meta: Obj, spec: Obj, allowed_types: frozenset[str]) -> CheckResult:
    setters: list[str] = []
    bad_types: set[str] = set()
    user_set = role_set = False

    def acceptable(options: Obj) -> bool:
        nonlocal user_set, role_set
        ok = True
        kind = text(options.get("type"))
        if kind not in allowed_types:
            ok = False
            bad_types.add(kind)
        if options.get("user"):
            ok, user_set = False, True
        if options.get("role"):
            ok, role_set = False, True
        return ok

    pod_options = mapping(spec.get("securityContext")).get("seLinuxOptions")
    if isinstance(pod_options, dict) and not acceptable(pod_options):
        setters.append("pod")
    bad = []
    for c in containers(spec):
        options = (security_context(c) or {}).get("seLinuxOptions")
        if isinstance(options, dict) and not acceptable(options):
            bad.append(name_of(c))
    if bad:
        setters.append(containers_phrase(bad))
    if not setters:
        return ALLOWED
    what = []
    if bad_types:
        what.append(f'{pluralize("type", "types", len(bad_types))} '
                    f"{join_quote(sorted(bad_types))}")
    if user_set:
        what.append("user may not be set")
    if role_set:
        what.append("role may not be set")
    return forbidden("seLinuxOptions", f"{' and '.join(setters)} set forbidden "
                                       f"securityContext.seLinuxOptions: {'; '.join(what)}")


def selinux_options_1_0(meta: Obj, spec: Obj) -> CheckResult:
    """seLinuxOptions of the pod and its containers: a container type (or none), no user,
    no role."""
    return _selinux(meta, spec, SELINUX_TYPES_1_0)


def selinux_options_1_31(meta: Obj, spec: Obj) -> CheckResult:
    """As 1.0, and container_engine_t is a container type too."""
    return _selinux(meta, spec, SELINUX_TYPES_1_31)


def proc_mount(meta: Obj, spec: Obj) -> CheckResult:
    """securityContext.procMount: unset or Default (the masked /proc)."""
    bad: list[str] = []
    kinds: set[str] = set()
    for c in containers(spec):
        value = (security_context(c) or {}).get("procMount")
        if value is not None and value != "Default":
            bad.append(name_of(c))
            kinds.add(str(value))
    if bad:
        return forbidden("procMount", f"{containers_phrase(bad)} must not set "
                                      f"securityContext.procMount to {join_quote(sorted(kinds))}")
    return ALLOWED


def _valid_seccomp_annotation(value: object) -> bool:
    return value in ("runtime/default", "docker/default") or \
        (isinstance(value, str) and value.startswith("localhost/"))


def seccomp_baseline_1_0(meta: Obj, spec: Obj) -> CheckResult:
    """The alpha seccomp annotations: runtime/default, docker/default or localhost/*."""
    annotations = mapping(meta.get("annotations"))
    bad: set[str] = set()
    keys = [SECCOMP_POD_ANNOTATION] + [SECCOMP_CONTAINER_ANNOTATION_PREFIX + name_of(c)
                                       for c in containers(spec)]
    for key in keys:
        if key in annotations and not _valid_seccomp_annotation(annotations[key]):
            bad.add(f"{key}={go_quote(text(annotations[key]))}")
    if bad:
        noun = pluralize("annotation", "annotations", len(bad))
        return forbidden("seccompProfile", f'forbidden {noun} {", ".join(sorted(bad))}')
    return ALLOWED


def explicit_seccomp(spec: Obj) -> tuple[list[str], set[str], bool]:
    """(who set a forbidden seccompProfile.type, those types, whether the pod set an
    allowed one), shared with the restricted check."""
    setters: list[str] = []
    values: set[str] = set()
    pod_allowed = False
    pod_profile = mapping(spec.get("securityContext")).get("seccompProfile")
    if isinstance(pod_profile, dict):
        if text(pod_profile.get("type")) in SECCOMP_TYPES:
            pod_allowed = True
        else:
            setters.append("pod")
            values.add(text(pod_profile.get("type")))
    bad = []
    for c in containers(spec):
        profile = (security_context(c) or {}).get("seccompProfile")
        if isinstance(profile, dict) and text(profile.get("type")) not in SECCOMP_TYPES:
            bad.append(name_of(c))
            values.add(text(profile.get("type")))
    if bad:
        setters.append(containers_phrase(bad))
    return setters, values, pod_allowed


def seccomp_forbidden(setters: list[str], values: set[str]) -> CheckResult:
    return forbidden("seccompProfile", f"{' and '.join(setters)} must not set "
                                       f"securityContext.seccompProfile.type to "
                                       f"{join_quote(sorted(values))}")


def seccomp_baseline_1_19(meta: Obj, spec: Obj) -> CheckResult:
    """seccompProfile.type of the pod and its containers: unset, RuntimeDefault or
    Localhost (not Unconfined)."""
    setters, values, _ = explicit_seccomp(spec)
    return seccomp_forbidden(setters, values) if setters else ALLOWED


def _sysctls(spec: Obj, safe: frozenset[str]) -> CheckResult:
    bad = [text(s.get("name"))
           for s in items(mapping(spec.get("securityContext")).get("sysctls"))
           if text(s.get("name")) not in safe]
    if bad:
        return forbidden("forbidden sysctls", ", ".join(bad))
    return ALLOWED


def sysctls_1_0(meta: Obj, spec: Obj) -> CheckResult:
    """spec.securityContext.sysctls: only the safe set."""
    return _sysctls(spec, SAFE_SYSCTLS_1_0)


def sysctls_1_27(meta: Obj, spec: Obj) -> CheckResult:
    return _sysctls(spec, SAFE_SYSCTLS_1_27)


def sysctls_1_29(meta: Obj, spec: Obj) -> CheckResult:
    return _sysctls(spec, SAFE_SYSCTLS_1_29)


def sysctls_1_32(meta: Obj, spec: Obj) -> CheckResult:
    return _sysctls(spec, SAFE_SYSCTLS_1_32)


def windows_host_process(meta: Obj, spec: Obj) -> CheckResult:
    """windowsOptions.hostProcess of the pod and its containers: unset or false."""
    setters = []
    if mapping(mapping(spec.get("securityContext")).get("windowsOptions")).get(
            "hostProcess") is True:
        setters.append("pod")
    bad = [name_of(c) for c in containers(spec)
           if mapping((security_context(c) or {}).get("windowsOptions")).get(
               "hostProcess") is True]
    if bad:
        setters.append(containers_phrase(bad))
    if setters:
        return forbidden("hostProcess", f"{' and '.join(setters)} must not set "
                                        "securityContext.windowsOptions.hostProcess=true")
    return ALLOWED
