"""The checks the restricted level adds to baseline (kube 1.32's policy/check_*.go): pods
hardened as current practice asks. Windows pods (spec.os.name windows) skip the Linux-only
ones from 1.25 on, as kube's do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from minikube_py.apiserver.podsecurity.baseline import explicit_seccomp, seccomp_forbidden
from minikube_py.apiserver.podsecurity.results import (
    ALLOWED,
    CheckResult,
    Obj,
    containers,
    containers_phrase,
    forbidden,
    is_windows,
    is_zero,
    items,
    join_quote,
    mapping,
    name_of,
    pluralize,
    security_context,
    text,
)

Check = Callable[[Obj, Obj], CheckResult]
# The inline volume sources restricted pods may use.
ALLOWED_VOLUME_SOURCES: Final = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                                 "persistentVolumeClaim", "projected", "secret")
# The others, in the order kube names the first one a volume sets.
RESTRICTED_VOLUME_SOURCES: Final = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi",
    "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile",
    "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume",
    "scaleIO", "storageos")


def _not_on_windows(check: Check) -> Check:
    """The 1.25 variant of a Linux-only check: a Windows pod passes."""
    def checked(meta: Obj, spec: Obj) -> CheckResult:
        return ALLOWED if is_windows(spec) else check(meta, spec)
    checked.__doc__ = f"{check.__doc__} Windows pods pass (1.25+)."
    return checked


def restricted_volumes(meta: Obj, spec: Obj) -> CheckResult:
    """Volumes: only configMap, csi, downwardAPI, emptyDir, ephemeral,
    persistentVolumeClaim, projected and secret."""
    bad: list[str] = []
    kinds: set[str] = set()
    for v in items(spec.get("volumes")):
        if any(v.get(source) is not None for source in ALLOWED_VOLUME_SOURCES):
            continue
        bad.append(text(v.get("name")))
        kinds.add(next((s for s in RESTRICTED_VOLUME_SOURCES if v.get(s) is not None),
                       "unknown"))
    if bad:
        return forbidden("restricted volume types", " ".join((
            pluralize("volume", "volumes", len(bad)), join_quote(bad),
            pluralize("uses", "use", len(bad)),
            pluralize("restricted volume type", "restricted volume types", len(kinds)),
            join_quote(sorted(kinds)))))
    return ALLOWED


def allow_privilege_escalation_1_8(meta: Obj, spec: Obj) -> CheckResult:
    """securityContext.allowPrivilegeEscalation of every container: false."""
    bad = [name_of(c) for c in containers(spec)
           if (security_context(c) or {}).get("allowPrivilegeEscalation") is not False]
    if bad:
        return forbidden("allowPrivilegeEscalation != false",
                         f"{containers_phrase(bad)} must set "
                         "securityContext.allowPrivilegeEscalation=false")
    return ALLOWED


allow_privilege_escalation_1_25 = _not_on_windows(allow_privilege_escalation_1_8)


def run_as_non_root(meta: Obj, spec: Obj) -> CheckResult:
    """runAsNonRoot: true on the pod (a container may not say false) or on every
    container."""
    setters: list[str] = []
    pod_value = mapping(spec.get("securityContext")).get("runAsNonRoot")
    if pod_value is False:
        setters.append("pod")
    explicit, implicit = [], []
    for c in containers(spec):
        value = (security_context(c) or {}).get("runAsNonRoot")
        if value is None:
            if pod_value is not True:
                implicit.append(name_of(c))
        elif value is False:
            explicit.append(name_of(c))
    if explicit:
        setters.append(containers_phrase(explicit))
    if setters:
        return forbidden("runAsNonRoot != true", f"{' and '.join(setters)} must not set "
                                                 "securityContext.runAsNonRoot=false")
    if implicit:
        return forbidden("runAsNonRoot != true", f"pod or {containers_phrase(implicit)} must "
                                                 "set securityContext.runAsNonRoot=true")
    return ALLOWED


def run_as_user(meta: Obj, spec: Obj) -> CheckResult:
    """runAsUser of the pod and its containers: not 0."""
    setters = []
    if is_zero(mapping(spec.get("securityContext")).get("runAsUser")):
        setters.append("pod")
    bad = [name_of(c) for c in containers(spec)
           if is_zero((security_context(c) or {}).get("runAsUser"))]
    if bad:
        setters.append(containers_phrase(bad))
    if setters:
        return forbidden("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0")
    return ALLOWED


def seccomp_restricted_1_19(meta: Obj, spec: Obj) -> CheckResult:
    """seccompProfile.type RuntimeDefault or Localhost, on the pod or on every container
    (replaces the baseline seccomp check)."""
    setters, values, pod_allowed = explicit_seccomp(spec)
    if setters:
        return seccomp_forbidden(setters, values)
    if pod_allowed:
        return ALLOWED
    implicit = [name_of(c) for c in containers(spec)
                if not isinstance((security_context(c) or {}).get("seccompProfile"), dict)]
    if implicit:
        return forbidden("seccompProfile", f"pod or {containers_phrase(implicit)} must set "
                                           'securityContext.seccompProfile.type to '
                                           '"RuntimeDefault" or "Localhost"')
    return ALLOWED


seccomp_restricted_1_25 = _not_on_windows(seccomp_restricted_1_19)


def capabilities_restricted_1_22(meta: Obj, spec: Obj) -> CheckResult:
    """capabilities.drop includes ALL and capabilities.add holds at most NET_BIND_SERVICE,
    in every container (replaces the baseline capabilities check)."""
    missing_drop: list[str] = []
    adding: list[str] = []
    added: set[str] = set()
    for c in containers(spec):
        caps = (security_context(c) or {}).get("capabilities")
        if not isinstance(caps, dict):
            missing_drop.append(name_of(c))
            continue
        if "ALL" not in [text(cap) for cap in caps.get("drop") or []]:
            missing_drop.append(name_of(c))
        extra = {text(cap) for cap in caps.get("add") or [] if text(cap) != "NET_BIND_SERVICE"}
        if extra:
            adding.append(name_of(c))
            added |= extra
    details = []
    if missing_drop:
        details.append(f"{containers_phrase(missing_drop)} must set "
                       'securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{containers_phrase(adding)} must not include "
                       f"{join_quote(sorted(added))} in securityContext.capabilities.add")
    if details:
        return forbidden("unrestricted capabilities", "; ".join(details))
    return ALLOWED


capabilities_restricted_1_25 = _not_on_windows(capabilities_restricted_1_22)
