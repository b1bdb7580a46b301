"""Which checks a level and version run (kube 1.32's policy registry): every check since
the version that introduced it, in its newest variant not newer than the version asked;
restricted runs baseline's checks too, except those a restricted check replaces. Order:
baseline checks, then restricted ones, each by id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from minikube_py.apiserver.podsecurity import baseline, restricted
from minikube_py.apiserver.podsecurity.policy import Level, LevelVersion, Version
from minikube_py.apiserver.podsecurity.results import Aggregate, CheckResult, Obj, aggregate

CheckFn = Callable[[Obj, Obj], CheckResult]


@dataclass(frozen=True, slots=True)
class Variant:
    since: int  # the minor version (of 1.x) from which this variant applies
    check: CheckFn
    replaces: tuple[str, ...] = ()  # baseline checks a restricted one stands in for


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    level: Level
    variants: tuple[Variant, ...]  # oldest first

    def at(self, minor: int) -> Variant | None:
        """The variant version 1.minor runs; None before the check existed."""
        found = None
        for variant in self.variants:
            if variant.since <= minor:
                found = variant
        return found


B, R = Level.BASELINE, Level.RESTRICTED
CHECKS: Final[tuple[Check, ...]] = (
    Check("appArmorProfile", B, (Variant(0, baseline.apparmor_profile),)),
    Check("capabilities_baseline", B, (Variant(0, baseline.capabilities_baseline),)),
    Check("hostNamespaces", B, (Variant(0, baseline.host_namespaces),)),
    Check("hostPathVolumes", B, (Variant(0, baseline.host_path_volumes),)),
    Check("hostPorts", B, (Variant(0, baseline.host_ports),)),
    Check("privileged", B, (Variant(0, baseline.privileged),)),
    Check("procMount", B, (Variant(0, baseline.proc_mount),)),
    Check("seLinuxOptions", B, (Variant(0, baseline.selinux_options_1_0),
                                Variant(31, baseline.selinux_options_1_31))),
    Check("seccompProfile_baseline", B, (Variant(0, baseline.seccomp_baseline_1_0),
                                         Variant(19, baseline.seccomp_baseline_1_19))),
    Check("sysctls", B, (Variant(0, baseline.sysctls_1_0), Variant(27, baseline.sysctls_1_27),
                         Variant(29, baseline.sysctls_1_29),
                         Variant(32, baseline.sysctls_1_32))),
    Check("windowsHostProcess", B, (Variant(0, baseline.windows_host_process),)),
    Check("allowPrivilegeEscalation", R, (
        Variant(8, restricted.allow_privilege_escalation_1_8),
        Variant(25, restricted.allow_privilege_escalation_1_25))),
    Check("capabilities_restricted", R, (
        Variant(22, restricted.capabilities_restricted_1_22, ("capabilities_baseline",)),
        Variant(25, restricted.capabilities_restricted_1_25, ("capabilities_baseline",)))),
    Check("restrictedVolumes", R, (
        Variant(0, restricted.restricted_volumes, ("hostPathVolumes",)),)),
    Check("runAsNonRoot", R, (Variant(0, restricted.run_as_non_root),)),
    Check("runAsUser", R, (Variant(23, restricted.run_as_user),)),
    Check("seccompProfile_restricted", R, (
        Variant(19, restricted.seccomp_restricted_1_19, ("seccompProfile_baseline",)),
        Variant(25, restricted.seccomp_restricted_1_25, ("seccompProfile_baseline",)))),
)
# The newest version any check knows: `latest`, and every version after it, run these.
NEWEST_MINOR: Final = max(v.since for c in CHECKS for v in c.variants)


def _minor(version: Version) -> int:
    return NEWEST_MINOR if version.latest else min(version.minor, NEWEST_MINOR)


def checks_for(lv: LevelVersion) -> tuple[tuple[str, CheckFn], ...]:
    """The (id, check) pairs `lv` runs, in kube's order; none for privileged."""
    return _CHECKS_BY_LEVEL_MINOR.get((lv.level, _minor(lv.version)), ())


def _build(level: Level, minor: int) -> tuple[tuple[str, CheckFn], ...]:
    chosen = {c.id: v for c in CHECKS
              if (c.level is B or level is R) and (v := c.at(minor)) is not None}
    if level is R:
        replaced = {old for c in CHECKS if c.level is R and c.id in chosen
                    for old in chosen[c.id].replaces}
        chosen = {cid: v for cid, v in chosen.items() if cid not in replaced}
    order = sorted(c.id for c in CHECKS if c.level is B) + \
        sorted(c.id for c in CHECKS if c.level is R)
    return tuple((cid, chosen[cid].check) for cid in order if cid in chosen)


_CHECKS_BY_LEVEL_MINOR: Final = {(level, minor): _build(level, minor)
                                 for level in (B, R) for minor in range(NEWEST_MINOR + 1)}


def evaluate(lv: LevelVersion, meta: Obj, spec: Obj) -> Aggregate:
    """What `lv` forbids in a pod (or pod template) with this metadata and spec."""
    return aggregate(check(meta, spec) for _, check in checks_for(lv))
