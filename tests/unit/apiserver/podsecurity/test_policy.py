"""The policy a namespace's pod-security.kubernetes.io labels select (kube's
PolicyToEvaluate): each label given, else the cluster default; unreadable labels fail
closed for enforce and open for audit and warn."""

from __future__ import annotations

import pytest

from minikube_py.apiserver.podsecurity.policy import (
    LATEST,
    Level,
    LevelVersion,
    Policy,
    PolicyError,
    Version,
    parse_level,
    parse_version,
    policy_for_labels,
)

P, B, R = Level.PRIVILEGED, Level.BASELINE, Level.RESTRICTED
E = "pod-security.kubernetes.io/enforce"
A = "pod-security.kubernetes.io/audit"
W = "pod-security.kubernetes.io/warn"
PRIVILEGED = Policy()


def lv(level: Level, version: str = "latest") -> LevelVersion:
    return LevelVersion(level, parse_version(version))


@pytest.mark.parametrize(("labels", "defaults", "expected"), [
    ({}, PRIVILEGED, PRIVILEGED),
    ({}, Policy.at(B), Policy.at(B)),
    ({"app": "x"}, Policy.at(R), Policy.at(R)),
    ({E: "baseline"}, PRIVILEGED, Policy(lv(B), lv(P), lv(B))),  # warn follows enforce
    ({E: "baseline", E + "-version": "v1.29"}, PRIVILEGED,
     Policy(lv(B, "v1.29"), lv(P), lv(B, "v1.29"))),
    ({E: "baseline", W + "-version": "v1.30"}, PRIVILEGED,
     Policy(lv(B), lv(P), lv(B, "v1.30"))),
    ({E: "baseline", W: "privileged"}, PRIVILEGED, Policy(lv(B), lv(P), lv(P))),
    ({E: "baseline"}, Policy.at(R), Policy(lv(B), lv(R), lv(R))),  # warn already stricter
    ({E: "restricted", A: "baseline", A + "-version": "v1.25", W: "baseline"}, PRIVILEGED,
     Policy(lv(R), lv(B, "v1.25"), lv(B))),
    ({W: "restricted"}, Policy.at(B), Policy(lv(B), lv(B), lv(R))),
    ({E + "-version": "v1.24"}, Policy.at(B), Policy(lv(B, "v1.24"), lv(B), lv(B))),
], ids=str)
def test_labels_select_the_policy(labels: dict[str, str], defaults: Policy,
                                  expected: Policy) -> None:
    evaluated = policy_for_labels(labels, defaults)
    assert evaluated.errors == ()
    assert evaluated.policy == expected


@pytest.mark.parametrize(("labels", "expected", "error"), [
    ({E: "strict"}, Policy(lv(R), lv(P), lv(P)),
     'metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be '
     "one of privileged, baseline, restricted"),
    ({A: "nope"}, PRIVILEGED,
     'metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: "nope": must be one '
     "of privileged, baseline, restricted"),
    ({W: "nope", E: "baseline"}, Policy(lv(B), lv(P), lv(P)),
     'metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: "nope": must be one '
     "of privileged, baseline, restricted"),
    ({E: "baseline", E + "-version": "1.25"}, Policy(lv(B), lv(P), lv(B)),
     'metadata.labels[pod-security.kubernetes.io/enforce-version]: Invalid value: "1.25": '
     'must be "latest" or "v1.x"'),
], ids=str)
def test_unreadable_labels_fail_closed_for_enforce_and_open_otherwise(
        labels: dict[str, str], expected: Policy, error: str) -> None:
    evaluated = policy_for_labels(labels, PRIVILEGED)
    assert evaluated.policy == expected
    assert evaluated.error_text() == error


def test_several_unreadable_labels_are_listed_as_kube_aggregates_them() -> None:
    evaluated = policy_for_labels({E: "x", A: "y"}, PRIVILEGED)
    assert evaluated.error_text().startswith("[metadata.labels[pod-security.kubernetes.io/"
                                             "enforce]: Invalid value: ")
    assert evaluated.error_text().endswith("]") and len(evaluated.errors) == 2


@pytest.mark.parametrize(("text", "version"), [
    ("latest", LATEST), ("v1.0", Version(0)), ("v1.25", Version(25)), ("v1.100", Version(100)),
])
def test_versions_parse(text: str, version: Version) -> None:
    assert parse_version(text) == version
    assert str(parse_version(text)) == text


@pytest.mark.parametrize("text", ["", "1.25", "v1.025", "v2.0", "v1.", "Latest", "v1.2.3"])
def test_other_versions_are_refused(text: str) -> None:
    with pytest.raises(PolicyError) as e:
        parse_version(text)
    assert str(e.value) == 'must be "latest" or "v1.x"'


def test_levels_parse_and_print_as_kube_names_them() -> None:
    assert [parse_level(t) for t in ("privileged", "baseline", "restricted")] == [P, B, R]
    assert str(lv(B, "v1.30")) == "baseline:v1.30" and str(lv(R)) == "restricted:latest"
    with pytest.raises(PolicyError):
        parse_level("Baseline")


def test_latest_is_newer_than_every_version() -> None:
    assert Version(31).older(Version(32)) and Version(99).older(LATEST)
    assert not LATEST.older(Version(99)) and not LATEST.older(LATEST)


def test_privileged_policies_are_equivalent_whatever_their_version() -> None:
    assert lv(P, "v1.20").equivalent(lv(P))
    assert not lv(B, "v1.20").equivalent(lv(B))
    assert Policy.at(P, Version(3)).equivalent(PRIVILEGED)
