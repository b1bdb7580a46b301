"""Pod Security admission's decisions as data: a pod's or template's verdict under a
namespace policy (refusal, warnings, audit annotations in kube's words), which pod updates
are checked, when a namespace's new enforce level checks its pods, and the warnings about
pods already there."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.apiserver.podsecurity.decisions import (
    enforce_needs_pod_check,
    evaluate_pod,
    exempt_namespace_warning,
    exemption,
    existing_pod_warnings,
    label_errors_block,
    significant_pod_update,
)
from minikube_py.apiserver.podsecurity.policy import (
    Evaluated,
    Level,
    LevelVersion,
    PodSecurityConfig,
    Policy,
    parse_version,
    policy_for_labels,
)

P, B, R = Level.PRIVILEGED, Level.BASELINE, Level.RESTRICTED
CONFIG = PodSecurityConfig()
HOST_NET = {"hostNetwork": True, "containers": [{"name": "c", "image": "busybox"}]}
PLAIN = {"containers": [{"name": "c", "image": "busybox"}]}
HOST_NET_REASON = "host namespaces (hostNetwork=true)"
RESTRICTED_DETAILS = (
    'allowPrivilegeEscalation != false (container "c" must set '
    "securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "
    '"c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or '
    'container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or '
    'container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
    '"Localhost")')


def lv(level: Level, version: str = "latest") -> LevelVersion:
    return LevelVersion(level, parse_version(version))


def ns(enforce: Level = P, audit: Level = P, warn: Level = P) -> Evaluated:
    return Evaluated(Policy(lv(enforce), lv(audit), lv(warn)))


# --- pods and templates ----------------------------------------------------------------

def test_a_pod_the_enforce_level_forbids_is_refused_in_kubes_words() -> None:
    verdict = evaluate_pod(CONFIG, ns(enforce=B, warn=B), {}, HOST_NET, enforce=True)
    assert verdict.forbidden == f'violates PodSecurity "baseline:latest": {HOST_NET_REASON}'
    assert verdict.warnings == ()  # the refusal says it all
    assert verdict.audit == {"pod-security.kubernetes.io/enforce-policy": "baseline:latest"}


def test_a_pod_the_warn_level_forbids_is_allowed_with_kubes_warning() -> None:
    verdict = evaluate_pod(CONFIG, ns(warn=R), {}, PLAIN, enforce=True)
    assert verdict.allowed
    assert verdict.warnings == (f'would violate PodSecurity "restricted:latest": '
                                f"{RESTRICTED_DETAILS}",)


def test_an_audit_violation_is_an_audit_annotation() -> None:
    verdict = evaluate_pod(CONFIG, ns(audit=B), {}, HOST_NET, enforce=True)
    assert verdict.allowed and verdict.warnings == ()
    assert verdict.audit == {
        "pod-security.kubernetes.io/enforce-policy": "privileged:latest",
        "pod-security.kubernetes.io/audit-violations":
            f'would violate PodSecurity "baseline:latest": {HOST_NET_REASON}'}


def test_a_fully_privileged_namespace_checks_nothing() -> None:
    verdict = evaluate_pod(CONFIG, ns(), {}, HOST_NET, enforce=True)
    assert verdict.allowed and verdict.warnings == ()
    assert verdict.audit == {"pod-security.kubernetes.io/enforce-policy": "privileged:latest"}


def test_a_template_is_warned_about_but_never_refused() -> None:
    verdict = evaluate_pod(CONFIG, ns(enforce=R, warn=B), {}, HOST_NET, enforce=False)
    assert verdict.allowed
    assert verdict.warnings == (f'would violate PodSecurity "baseline:latest": '
                                f"{HOST_NET_REASON}",)
    assert "pod-security.kubernetes.io/enforce-policy" not in verdict.audit


def test_a_template_in_a_namespace_that_only_enforces_is_not_checked() -> None:
    assert evaluate_pod(CONFIG, ns(enforce=R), {}, HOST_NET, enforce=False).audit == {}


def test_unreadable_labels_are_noted_and_enforce_fails_closed() -> None:
    evaluated = policy_for_labels({"pod-security.kubernetes.io/enforce": "nope"}, Policy())
    verdict = evaluate_pod(CONFIG, evaluated, {}, PLAIN, enforce=True)
    assert verdict.forbidden == f'violates PodSecurity "restricted:latest": {RESTRICTED_DETAILS}'
    assert verdict.audit["pod-security.kubernetes.io/error"] == (
        'Failed to parse policy: metadata.labels[pod-security.kubernetes.io/enforce]: '
        'Invalid value: "nope": must be one of privileged, baseline, restricted')


def test_an_update_that_changes_no_image_is_not_checked() -> None:
    verdict = evaluate_pod(CONFIG, ns(enforce=B), {}, HOST_NET, enforce=True, significant=False)
    assert verdict.allowed and verdict.audit == {}


@pytest.mark.parametrize(("config", "namespace", "user", "reason"), [
    (PodSecurityConfig(exempt_namespaces=frozenset({"ops"})), "ops", "u", "namespace"),
    (PodSecurityConfig(exempt_users=frozenset({"u"})), "ops", "u", "user"),
    (PodSecurityConfig(exempt_users=frozenset({"u"})), "ops", "v", None),
    (CONFIG, "ops", "u", None),
])
def test_exemptions_by_namespace_and_user(config: PodSecurityConfig, namespace: str,
                                          user: str, reason: str | None) -> None:
    verdict = exemption(config, namespace, user)
    assert (verdict.audit["pod-security.kubernetes.io/exempt"] if verdict else None) == reason


def test_a_pod_of_an_exempt_runtime_class_is_not_checked() -> None:
    config = PodSecurityConfig(exempt_runtime_classes=frozenset({"kata"}))
    verdict = evaluate_pod(config, ns(enforce=B), {}, {**HOST_NET, "runtimeClassName": "kata"},
                           enforce=True)
    assert verdict.allowed
    assert verdict.audit == {"pod-security.kubernetes.io/exempt": "runtimeClass"}


@pytest.mark.parametrize(("old", "new", "significant"), [
    (PLAIN, {**PLAIN, "activeDeadlineSeconds": 5}, False),
    (PLAIN, {"containers": [{"name": "c", "image": "busybox:2"}]}, True),
    (PLAIN, {"containers": [*PLAIN["containers"], {"name": "d", "image": "x"}]}, True),
    (PLAIN, {**PLAIN, "initContainers": [{"name": "i", "image": "x"}]}, True),
    ({**PLAIN, "initContainers": [{"name": "i", "image": "x"}]},
     {**PLAIN, "initContainers": [{"name": "i", "image": "y"}]}, True),
    (PLAIN, {**PLAIN, "ephemeralContainers": [{"name": "e", "image": "x"}]}, True),
    ({**PLAIN, "ephemeralContainers": [{"name": "e", "image": "x"}]},
     {**PLAIN, "ephemeralContainers": [{"name": "e", "image": "x"}]}, False),
    ({**PLAIN, "ephemeralContainers": [{"name": "e", "image": "x"}]},
     {**PLAIN, "ephemeralContainers": [{"name": "e", "image": "z"}]}, True),
])
def test_only_image_and_container_changes_are_significant(
        old: dict[str, Any], new: dict[str, Any], significant: bool) -> None:
    assert significant_pod_update(new, old) is significant


# --- namespaces ----------------------------------------------------------------------------

@pytest.mark.parametrize(("old", "new", "check"), [
    (lv(P), lv(B), True),
    (lv(B), lv(R), True),
    (lv(B), lv(B), False),  # unchanged
    (lv(B), lv(P), False),  # privileged
    (lv(R), lv(B), False),  # relaxed, same version
    (lv(R, "v1.20"), lv(B), True),  # relaxed, but another version
    (lv(B, "v1.20"), lv(B, "v1.30"), True),
])
def test_a_stricter_enforce_level_checks_the_pods_already_there(
        old: LevelVersion, new: LevelVersion, check: bool) -> None:
    assert enforce_needs_pod_check(Policy(enforce=old), Policy(enforce=new)) is check


def pod(name: str, spec: dict[str, Any], owner: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "controller": True, "kind": "ReplicaSet",
                                    "name": owner, "apiVersion": "apps/v1"}]
    return {"metadata": meta, "spec": spec}


PRIV_SPEC = {"containers": [{"name": "c", "securityContext": {"privileged": True}}]}


def never() -> bool:
    return False


def test_existing_violations_are_grouped_by_reason_naming_the_first_pod() -> None:
    pods = [pod("web-2", HOST_NET, "rs"), pod("web-1", HOST_NET, "rs"), pod("solo", PRIV_SPEC),
            pod("fine", PLAIN), pod("web-3", HOST_NET, "rs"), pod("db", HOST_NET)]
    assert existing_pod_warnings(CONFIG, "shop", lv(B), pods, out_of_time=never) == [
        'existing pods in namespace "shop" violate the new PodSecurity enforce level '
        '"baseline:latest"',
        "db (and 3 other pods): host namespaces",
        "solo: privileged",
    ]


def test_two_pods_with_the_same_violation_say_one_other_pod() -> None:
    pods = [pod("b", HOST_NET), pod("a", HOST_NET)]
    assert existing_pod_warnings(CONFIG, "x", lv(B), pods, out_of_time=never)[1:] == [
        "a (and 1 other pod): host namespaces"]


def test_no_violations_no_warnings() -> None:
    assert existing_pod_warnings(CONFIG, "x", lv(B), [pod("a", PLAIN)], out_of_time=never) == []


def test_at_most_max_pods_are_checked_one_per_controller_first() -> None:
    pods = [pod("r1", PLAIN, "rs"), pod("r2", HOST_NET, "rs"), pod("solo", PRIV_SPEC)]
    assert existing_pod_warnings(CONFIG, "x", lv(B), pods, out_of_time=never, max_pods=2) == [
        "new PodSecurity enforce level only checked against the first 2 of 3 existing pods",
        'existing pods in namespace "x" violate the new PodSecurity enforce level '
        '"baseline:latest"',
        "solo: privileged",
    ]


def test_checking_stops_when_time_is_up() -> None:
    calls = iter([False, True])
    pods = [pod("a", HOST_NET), pod("b", HOST_NET), pod("c", HOST_NET)]
    assert existing_pod_warnings(CONFIG, "x", lv(B), pods,
                                 out_of_time=lambda: next(calls))[0] == \
        "new PodSecurity enforce level only checked against the first 2 of 3 existing pods"


def test_pods_of_exempt_runtime_classes_are_not_counted() -> None:
    config = PodSecurityConfig(exempt_runtime_classes=frozenset({"kata"}))
    pods = [pod("a", {**HOST_NET, "runtimeClassName": "kata"})]
    assert existing_pod_warnings(config, "x", lv(B), pods, out_of_time=never) == []


def test_an_exempt_namespace_with_its_own_policy_is_told_it_is_ignored() -> None:
    # Only the modes its labels set are named (warn follows enforce here, unlabelled).
    labels = {"pod-security.kubernetes.io/enforce": "baseline",
              "pod-security.kubernetes.io/audit": "restricted"}
    policy = policy_for_labels(labels, Policy()).policy
    assert exempt_namespace_warning(CONFIG, "kube-system", policy, labels) == (
        'namespace "kube-system" is exempt from Pod Security, and the policy '
        "(enforce=baseline:latest, audit=restricted:latest) will be ignored")
    assert exempt_namespace_warning(CONFIG, "kube-system", Policy(), {}) == ""


def test_unreadable_namespace_labels_refuse_a_create_and_an_update_that_changes_them() -> None:
    bad = policy_for_labels({"pod-security.kubernetes.io/warn": "x"}, Policy())
    worse = policy_for_labels({"pod-security.kubernetes.io/warn": "y"}, Policy())
    good = policy_for_labels({}, Policy())
    assert label_errors_block(bad, None)
    assert label_errors_block(bad, good)
    assert label_errors_block(worse, bad)
    assert not label_errors_block(bad, bad)  # a namespace that had them may still change
    assert not label_errors_block(good, bad)
