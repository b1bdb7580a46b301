"""Every check of the baseline and restricted levels (kube 1.32), one row per check per
level: a spec it allows and specs it forbids, with kube's wording. Each row starts from a
pod that passes restricted, so the row's change is the only thing checked."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from minikube_py.apiserver.podsecurity.checks import NEWEST_MINOR, checks_for, evaluate
from minikube_py.apiserver.podsecurity.policy import (
    LATEST,
    Level,
    LevelVersion,
    parse_version,
)

Obj = dict[str, Any]
Edit = Callable[[Obj], None]
B, R = Level.BASELINE, Level.RESTRICTED
APPARMOR = "container.apparmor.security.beta.kubernetes.io/c"
SECCOMP_POD = "seccomp.security.alpha.kubernetes.io/pod"


def restricted_pod() -> Obj:
    return {"metadata": {"name": "p"},
            "spec": {"securityContext": {"runAsNonRoot": True,
                                         "seccompProfile": {"type": "RuntimeDefault"}},
                     "containers": [{"name": "c", "image": "busybox", "securityContext": {
                         "allowPrivilegeEscalation": False,
                         "capabilities": {"drop": ["ALL"]}}}]}}


def spec(**fields: Any) -> Edit:
    return lambda p: p["spec"].update(fields)


def pod_ctx(**fields: Any) -> Edit:
    return lambda p: p["spec"]["securityContext"].update(fields)


def ctx(**fields: Any) -> Edit:
    """The container's securityContext."""
    return lambda p: p["spec"]["containers"][0]["securityContext"].update(fields)


def without(*path: str) -> Edit:
    def edit(p: Obj) -> None:
        cur = p
        for key in path[:-1]:
            cur = cur[key][0] if key == "containers" else cur[key]
        del cur[path[-1]]
    return edit


def container(**fields: Any) -> Edit:
    return lambda p: p["spec"]["containers"][0].update(fields)


def init_container(name: str, **security: Any) -> Edit:
    def edit(p: Obj) -> None:
        base = copy.deepcopy(p["spec"]["containers"][0]["securityContext"])
        p["spec"]["initContainers"] = [{"name": name, "image": "busybox",
                                        "securityContext": {**base, **security}}]
    return edit


def annotations(values: dict[str, str]) -> Edit:
    return lambda p: p["metadata"].update(annotations=values)


def volumes(*vols: Obj) -> Edit:
    return lambda p: p["spec"].update(volumes=list(vols))


@dataclass(frozen=True)
class Row:
    check: str
    level: Level
    edits: tuple[Edit, ...]
    forbids: str | None  # kube's "reason (detail)", or None: allowed
    version: str = "latest"

    def __str__(self) -> str:
        return f"{self.check}-{self.level}-{self.version}"


def row(check: str, level: Level, forbids: str | None, *edits: Edit,
        version: str = "latest") -> Row:
    return Row(check, level, edits, forbids, version)


PRIV = 'privileged (container "c" must not set securityContext.privileged=true)'
ROWS = [
    # --- baseline checks, at baseline and at restricted ---------------------------------
    row("hostNamespaces", B, None, spec(hostNetwork=False, hostPID=False, hostIPC=False)),
    row("hostNamespaces", B, "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)",
        spec(hostNetwork=True, hostPID=True, hostIPC=True)),
    row("hostNamespaces", R, "host namespaces (hostPID=true)", spec(hostPID=True)),
    row("privileged", B, None, ctx(privileged=False)),
    row("privileged", B, PRIV, ctx(privileged=True)),
    row("privileged", B, 'privileged (containers "i", "c" must not set '
                         "securityContext.privileged=true)",
        ctx(privileged=True), init_container("i", privileged=True)),
    row("privileged", R, PRIV, ctx(privileged=True)),
    row("capabilities_baseline", B, None,
        ctx(capabilities={"add": ["NET_BIND_SERVICE", "CHOWN", "KILL"]})),
    row("capabilities_baseline", B, 'non-default capabilities (container "c" must not '
                                    'include "NET_RAW", "SYS_ADMIN" in '
                                    "securityContext.capabilities.add)",
        ctx(capabilities={"add": ["SYS_ADMIN", "NET_RAW", "CHOWN"]})),
    # restricted replaces it with capabilities_restricted (see there)
    row("capabilities_baseline", R, 'unrestricted capabilities (container "c" must not '
                                    'include "SYS_ADMIN" in securityContext.capabilities.add)',
        ctx(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]})),
    row("hostPathVolumes", B, None, volumes({"name": "e", "emptyDir": {}})),
    row("hostPathVolumes", B, 'hostPath volumes (volume "h")',
        volumes({"name": "e", "emptyDir": {}}, {"name": "h", "hostPath": {"path": "/"}})),
    row("hostPathVolumes", B, 'hostPath volumes (volumes "h", "k")',
        volumes({"name": "h", "hostPath": {"path": "/"}},
                {"name": "k", "hostPath": {"path": "/k"}})),
    # restricted replaces it with restrictedVolumes
    row("hostPathVolumes", R, 'restricted volume types (volume "h" uses restricted volume '
                              'type "hostPath")', volumes({"name": "h", "hostPath": {"path": "/"}})),
    row("hostPorts", B, None, container(ports=[{"containerPort": 80, "hostPort": 0}])),
    row("hostPorts", B, 'hostPort (container "c" uses hostPorts 80, 8080)',
        container(ports=[{"containerPort": 1, "hostPort": 8080},
                         {"containerPort": 2, "hostPort": 80}])),
    row("hostPorts", R, 'hostPort (container "c" uses hostPort 80)',
        container(ports=[{"containerPort": 80, "hostPort": 80}])),
    row("appArmorProfile", B, None, pod_ctx(appArmorProfile={"type": "RuntimeDefault"}),
        ctx(appArmorProfile={"type": "Localhost", "localhostProfile": "p"}),
        annotations({APPARMOR: "localhost/p"})),
    row("appArmorProfile", B, 'forbidden AppArmor profile (container "c" must not set '
                              'AppArmor profile type to "Unconfined")',
        ctx(appArmorProfile={"type": "Unconfined"})),
    row("appArmorProfile", B, "forbidden AppArmor profile (annotation must not set AppArmor "
                              f'profile type to "{APPARMOR}="unconfined"")',
        annotations({APPARMOR: "unconfined"})),
    row("appArmorProfile", B, 'forbidden AppArmor profiles (pod and container "c" and '
                              "annotation must not set AppArmor profile type to "
                              f'"Unconfined", "{APPARMOR}="unconfined"")',
        pod_ctx(appArmorProfile={"type": "Unconfined"}),
        ctx(appArmorProfile={"type": "Unconfined"}), annotations({APPARMOR: "unconfined"})),
    row("appArmorProfile", R, "forbidden AppArmor profile (pod must not set AppArmor "
                              'profile type to "Unconfined")',
        pod_ctx(appArmorProfile={"type": "Unconfined"})),
    row("procMount", B, None, ctx(procMount="Default")),
    row("procMount", B, 'procMount (container "c" must not set securityContext.procMount '
                        'to "Unmasked")', ctx(procMount="Unmasked")),
    row("procMount", R, 'procMount (container "c" must not set securityContext.procMount '
                        'to "Unmasked")', ctx(procMount="Unmasked")),
    row("seLinuxOptions", B, None,
        pod_ctx(seLinuxOptions={"type": "container_t", "level": "s0:c123,c456"}),
        ctx(seLinuxOptions={"type": "container_engine_t"})),
    row("seLinuxOptions", B, 'seLinuxOptions (pod and container "c" set forbidden '
                             'securityContext.seLinuxOptions: type "spc_t"; user may not be '
                             "set; role may not be set)",
        pod_ctx(seLinuxOptions={"type": "spc_t"}),
        ctx(seLinuxOptions={"user": "u", "role": "r"})),
    row("seLinuxOptions", B, "seLinuxOptions (pod set forbidden "
                             'securityContext.seLinuxOptions: type "container_engine_t")',
        pod_ctx(seLinuxOptions={"type": "container_engine_t"}), version="v1.30"),
    row("seLinuxOptions", R, 'seLinuxOptions (containers "i", "c" set forbidden '
                             'securityContext.seLinuxOptions: types "a_t", "b_t")',
        ctx(seLinuxOptions={"type": "b_t"}), init_container("i", seLinuxOptions={"type": "a_t"})),
    row("seccompProfile_baseline", B, None,
        pod_ctx(seccompProfile={"type": "Localhost", "localhostProfile": "p.json"})),
    row("seccompProfile_baseline", B, None, without("spec", "securityContext", "seccompProfile")),
    row("seccompProfile_baseline", B, 'seccompProfile (container "c" must not set '
                                      'securityContext.seccompProfile.type to "Unconfined")',
        ctx(seccompProfile={"type": "Unconfined"})),
    row("seccompProfile_baseline", B, "seccompProfile (forbidden annotation "
                                      f'{SECCOMP_POD}="unconfined")',
        annotations({SECCOMP_POD: "unconfined"}), version="v1.18"),
    row("seccompProfile_baseline", B, None, annotations({SECCOMP_POD: "unconfined"}),
        version="v1.19"),
    # restricted replaces it with seccompProfile_restricted
    row("seccompProfile_baseline", R, "seccompProfile (pod must not set "
                                      'securityContext.seccompProfile.type to "Unconfined")',
        pod_ctx(seccompProfile={"type": "Unconfined"})),
    row("sysctls", B, None, pod_ctx(sysctls=[{"name": "net.ipv4.tcp_rmem", "value": "1"},
                                             {"name": "kernel.shm_rmid_forced", "value": "0"}])),
    row("sysctls", B, "forbidden sysctls (kernel.msgmax, vm.swappiness)",
        pod_ctx(sysctls=[{"name": "kernel.msgmax", "value": "1"},
                         {"name": "net.ipv4.tcp_syncookies", "value": "1"},
                         {"name": "vm.swappiness", "value": "1"}])),
    row("sysctls", B, "forbidden sysctls (net.ipv4.tcp_rmem)",
        pod_ctx(sysctls=[{"name": "net.ipv4.tcp_rmem", "value": "1"}]), version="v1.31"),
    row("sysctls", B, "forbidden sysctls (net.ipv4.tcp_keepalive_time)",
        pod_ctx(sysctls=[{"name": "net.ipv4.tcp_keepalive_time", "value": "1"}]),
        version="v1.28"),
    row("sysctls", B, "forbidden sysctls (net.ipv4.ip_local_reserved_ports)",
        pod_ctx(sysctls=[{"name": "net.ipv4.ip_local_reserved_ports", "value": "1"}]),
        version="v1.26"),
    row("sysctls", R, "forbidden sysctls (net.core.somaxconn)",
        pod_ctx(sysctls=[{"name": "net.core.somaxconn", "value": "1"}])),
    row("windowsHostProcess", B, None, pod_ctx(windowsOptions={"hostProcess": False})),
    row("windowsHostProcess", B, 'hostProcess (pod and container "c" must not set '
                                 "securityContext.windowsOptions.hostProcess=true)",
        pod_ctx(windowsOptions={"hostProcess": True}),
        ctx(windowsOptions={"hostProcess": True})),
    row("windowsHostProcess", R, 'hostProcess (container "c" must not set '
                                 "securityContext.windowsOptions.hostProcess=true)",
        ctx(windowsOptions={"hostProcess": True})),
    # --- restricted checks (baseline allows all of these) --------------------------------
    row("restrictedVolumes", R, None, volumes(
        {"name": "a", "configMap": {"name": "x"}}, {"name": "b", "secret": {"secretName": "s"}},
        {"name": "c", "emptyDir": {}}, {"name": "d", "projected": {"sources": []}},
        {"name": "e", "downwardAPI": {}}, {"name": "f", "persistentVolumeClaim": {
            "claimName": "c"}}, {"name": "g", "csi": {"driver": "d"}},
        {"name": "h", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}})),
    row("restrictedVolumes", R, 'restricted volume types (volumes "n", "g", "x" use '
                                'restricted volume types "gitRepo", "nfs", "unknown")',
        volumes({"name": "n", "nfs": {"server": "s", "path": "/"}},
                {"name": "g", "gitRepo": {"repository": "r"}},
                {"name": "x", "image": {"reference": "busybox"}})),
    row("restrictedVolumes", B, None, volumes({"name": "n", "nfs": {"server": "s", "path": "/"}})),
    row("allowPrivilegeEscalation", R, None, ctx(allowPrivilegeEscalation=False)),
    row("allowPrivilegeEscalation", R, 'allowPrivilegeEscalation != false (container "c" '
                                       "must set securityContext.allowPrivilegeEscalation=false)",
        ctx(allowPrivilegeEscalation=True)),
    row("allowPrivilegeEscalation", R, 'allowPrivilegeEscalation != false (containers "i", '
                                       '"c" must set '
                                       "securityContext.allowPrivilegeEscalation=false)",
        without("spec", "containers", "securityContext", "allowPrivilegeEscalation"),
        init_container("i")),
    row("allowPrivilegeEscalation", R, None, ctx(allowPrivilegeEscalation=True),
        version="v1.7"),
    row("allowPrivilegeEscalation", R, None, ctx(allowPrivilegeEscalation=True),
        spec(os={"name": "windows"})),
    row("allowPrivilegeEscalation", R, 'allowPrivilegeEscalation != false (container "c" '
                                       "must set securityContext.allowPrivilegeEscalation=false)",
        ctx(allowPrivilegeEscalation=True), spec(os={"name": "windows"}), version="v1.24"),
    row("allowPrivilegeEscalation", B, None, ctx(allowPrivilegeEscalation=True)),
    row("runAsNonRoot", R, None, pod_ctx(runAsNonRoot=None), ctx(runAsNonRoot=True)),
    row("runAsNonRoot", R, 'runAsNonRoot != true (container "c" must not set '
                           "securityContext.runAsNonRoot=false)", ctx(runAsNonRoot=False)),
    row("runAsNonRoot", R, "runAsNonRoot != true (pod must not set "
                           "securityContext.runAsNonRoot=false)", pod_ctx(runAsNonRoot=False),
        ctx(runAsNonRoot=True)),
    row("runAsNonRoot", R, 'runAsNonRoot != true (pod or container "c" must set '
                           "securityContext.runAsNonRoot=true)",
        without("spec", "securityContext", "runAsNonRoot")),
    row("runAsNonRoot", B, None, ctx(runAsNonRoot=False)),
    row("runAsUser", R, None, pod_ctx(runAsUser=1000), ctx(runAsUser=1)),
    row("runAsUser", R, 'runAsUser=0 (pod and container "c" must not set runAsUser=0)',
        pod_ctx(runAsUser=0), ctx(runAsUser=0)),
    row("runAsUser", R, None, pod_ctx(runAsUser=0), version="v1.22"),
    row("runAsUser", B, None, pod_ctx(runAsUser=0)),
    row("seccompProfile_restricted", R, None,
        without("spec", "securityContext", "seccompProfile"),
        ctx(seccompProfile={"type": "Localhost", "localhostProfile": "p.json"})),
    row("seccompProfile_restricted", R, 'seccompProfile (pod or container "c" must set '
                                        'securityContext.seccompProfile.type to '
                                        '"RuntimeDefault" or "Localhost")',
        without("spec", "securityContext", "seccompProfile")),
    row("seccompProfile_restricted", R, 'seccompProfile (container "c" must not set '
                                        'securityContext.seccompProfile.type to "Unconfined")',
        ctx(seccompProfile={"type": "Unconfined"})),
    row("seccompProfile_restricted", R, None,
        without("spec", "securityContext", "seccompProfile"), version="v1.18"),
    row("seccompProfile_restricted", R, None,
        without("spec", "securityContext", "seccompProfile"), spec(os={"name": "windows"})),
    row("seccompProfile_restricted", B, None,
        without("spec", "securityContext", "seccompProfile")),
    row("capabilities_restricted", R, None,
        ctx(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})),
    row("capabilities_restricted", R, 'unrestricted capabilities (container "c" must set '
                                      'securityContext.capabilities.drop=["ALL"])',
        without("spec", "containers", "securityContext", "capabilities")),
    row("capabilities_restricted", R, 'unrestricted capabilities (container "c" must set '
                                      'securityContext.capabilities.drop=["ALL"]; container '
                                      '"c" must not include "CHOWN", "SYS_ADMIN" in '
                                      "securityContext.capabilities.add)",
        ctx(capabilities={"drop": ["NET_RAW"], "add": ["SYS_ADMIN", "CHOWN"]})),
    # before 1.22 restricted ran baseline's capability check instead
    row("capabilities_restricted", R, 'non-default capabilities (container "c" must not '
                                      'include "NET_RAW" in securityContext.capabilities.add)',
        ctx(capabilities={"add": ["NET_RAW"]}), version="v1.21"),
    row("capabilities_restricted", B, None,
        without("spec", "containers", "securityContext", "capabilities")),
]


@pytest.mark.parametrize("case", ROWS, ids=str)
def test_check(case: Row) -> None:
    pod = restricted_pod()
    for edit in case.edits:
        edit(pod)
    result = evaluate(LevelVersion(case.level, parse_version(case.version)), pod["metadata"],
                      pod["spec"])
    assert (result.details or None) == case.forbids


def test_every_check_has_rows_at_both_levels() -> None:
    covered = {(r.check, r.level) for r in ROWS}
    ids = {cid for level in (B, R) for cid, _ in checks_for(LevelVersion(level))}
    ids |= {"capabilities_baseline", "hostPathVolumes", "seccompProfile_baseline"}
    assert ids == {r.check for r in ROWS}
    assert all((cid, level) in covered for cid in ids for level in (B, R))


def test_the_starting_pod_passes_restricted() -> None:
    pod = restricted_pod()
    assert evaluate(LevelVersion(R), pod["metadata"], pod["spec"]).allowed


def test_a_bare_pod_fails_restricted_in_kubes_words() -> None:
    spec = {"containers": [{"name": "c", "image": "busybox"}]}
    assert evaluate(LevelVersion(R), {}, spec).details == (
        'allowPrivilegeEscalation != false (container "c" must set '
        "securityContext.allowPrivilegeEscalation=false), "
        'unrestricted capabilities (container "c" must set '
        'securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "c" must set '
        "securityContext.runAsNonRoot=true), "
        'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type '
        'to "RuntimeDefault" or "Localhost")')


def test_failures_are_listed_baseline_checks_first_each_by_id() -> None:
    spec = {"hostNetwork": True, "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
            "containers": [{"name": "c", "image": "busybox",
                            "securityContext": {"privileged": True}}]}
    assert evaluate(LevelVersion(B), {}, spec).details == (
        'host namespaces (hostNetwork=true), hostPath volumes (volume "h"), ' + PRIV)
    assert evaluate(LevelVersion(B), {}, spec).reasons == \
        "host namespaces, hostPath volumes, privileged"


def test_privileged_checks_nothing() -> None:
    spec = {"hostPID": True, "containers": [{"name": "c", "securityContext": {
        "privileged": True}}]}
    assert checks_for(LevelVersion(Level.PRIVILEGED)) == ()
    assert evaluate(LevelVersion(Level.PRIVILEGED), {}, spec).allowed


@pytest.mark.parametrize("version", ["v1.32", "v1.33", "v1.99"])
def test_latest_and_newer_versions_run_the_newest_checks(version: str) -> None:
    assert NEWEST_MINOR == 32
    for level in (B, R):
        assert checks_for(LevelVersion(level, parse_version(version))) == \
            checks_for(LevelVersion(level, LATEST))


def test_go_quoting_of_annotation_values() -> None:
    pod = restricted_pod()
    annotations({APPARMOR: 'un"confined\n\x01é'})(pod)
    result = evaluate(LevelVersion(B), pod["metadata"], pod["spec"])
    assert f'{APPARMOR}="un\\"confined\\n\\x01é"' in result.details
