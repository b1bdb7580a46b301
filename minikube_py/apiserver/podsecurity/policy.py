"""Pod Security levels, policy versions, and the policy a namespace's labels select
(kube's pod-security-admission api package: ParseLevel, ParseVersion, PolicyToEvaluate)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from minikube_py.api.errors import Cause
from minikube_py.api.validation import invalid_value

LABEL_PREFIX: Final = "pod-security.kubernetes.io/"
ENFORCE_LEVEL_LABEL: Final = LABEL_PREFIX + "enforce"
ENFORCE_VERSION_LABEL: Final = LABEL_PREFIX + "enforce-version"
AUDIT_LEVEL_LABEL: Final = LABEL_PREFIX + "audit"
AUDIT_VERSION_LABEL: Final = LABEL_PREFIX + "audit-version"
WARN_LEVEL_LABEL: Final = LABEL_PREFIX + "warn"
WARN_VERSION_LABEL: Final = LABEL_PREFIX + "warn-version"
# Audit annotations (kube prefixes them with LABEL_PREFIX too).
EXEMPT_ANNOTATION: Final = LABEL_PREFIX + "exempt"
AUDIT_VIOLATIONS_ANNOTATION: Final = LABEL_PREFIX + "audit-violations"
ENFORCE_POLICY_ANNOTATION: Final = LABEL_PREFIX + "enforce-policy"
ERROR_ANNOTATION: Final = LABEL_PREFIX + "error"

_VERSION_RE: Final = re.compile(r"^v1\.([0-9]|[1-9][0-9]*)$")
_LABELS_FIELD: Final = "metadata.labels"


class Level(StrEnum):
    PRIVILEGED = "privileged"
    BASELINE = "baseline"
    RESTRICTED = "restricted"

    @property
    def strictness(self) -> int:
        return _STRICTNESS[self]


_STRICTNESS: Final = {Level.PRIVILEGED: 0, Level.BASELINE: 1, Level.RESTRICTED: 2}
LEVELS: Final = tuple(Level)


@dataclass(frozen=True, slots=True)
class Version:
    """A policy version: v1.MINOR, or latest (newer than every numbered version)."""

    minor: int
    latest: bool = False

    def __str__(self) -> str:
        return "latest" if self.latest else f"v1.{self.minor}"

    def older(self, other: Version) -> bool:
        if self.latest:
            return False
        return other.latest or self.minor < other.minor


LATEST: Final = Version(0, latest=True)


class PolicyError(ValueError):
    """A level or version a label (or a flag) may not hold; the message is kube's."""


def parse_level(text: str) -> Level:
    try:
        return Level(text)
    except ValueError:
        raise PolicyError(f"must be one of {', '.join(LEVELS)}") from None


def parse_version(text: str) -> Version:
    if text == "latest":
        return LATEST
    match = _VERSION_RE.match(text)
    if match is None:
        raise PolicyError('must be "latest" or "v1.x"')
    return Version(int(match.group(1)))


@dataclass(frozen=True, slots=True)
class LevelVersion:
    level: Level
    version: Version = LATEST

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"

    def equivalent(self, other: LevelVersion) -> bool:
        """Both privileged (the version does not matter then), or the same level and
        version."""
        return (self.level is Level.PRIVILEGED and other.level is Level.PRIVILEGED) or \
            self == other


PRIVILEGED_LATEST: Final = LevelVersion(Level.PRIVILEGED)


@dataclass(frozen=True, slots=True)
class Policy:
    """What each mode applies: enforce refuses, audit records, warn answers warnings."""

    enforce: LevelVersion = PRIVILEGED_LATEST
    audit: LevelVersion = PRIVILEGED_LATEST
    warn: LevelVersion = PRIVILEGED_LATEST

    @classmethod
    def at(cls, level: Level, version: Version = LATEST) -> Policy:
        """The same level and version in all three modes."""
        lv = LevelVersion(level, version)
        return cls(lv, lv, lv)

    @property
    def fully_privileged(self) -> bool:
        return all(lv.level is Level.PRIVILEGED for lv in (self.enforce, self.audit, self.warn))

    def equivalent(self, other: Policy) -> bool:
        return self.enforce.equivalent(other.enforce) and self.audit.equivalent(other.audit) \
            and self.warn.equivalent(other.warn)


@dataclass(frozen=True, slots=True)
class PodSecurityConfig:
    """kube's PodSecurityConfiguration: the policy of a namespace without labels, and who
    or what is exempt (requests by these users, pods in these namespaces or with these
    runtime classes are not checked)."""

    defaults: Policy = field(default_factory=Policy)
    exempt_users: frozenset[str] = frozenset()
    exempt_namespaces: frozenset[str] = frozenset()
    exempt_runtime_classes: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Evaluated:
    """The policy a namespace's labels select, and the labels that could not be read (the
    policy then fails closed for enforce and open for audit and warn, as kube's does)."""

    policy: Policy
    errors: tuple[Cause, ...] = ()

    def error_text(self) -> str:
        """The errors as kube's field.ErrorList aggregate prints them."""
        parts = [f"{c.field}: {c.message}" for c in self.errors]
        return parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"


def policy_for_labels(labels: Mapping[str, str], defaults: Policy) -> Evaluated:
    """The namespace's policy: each label given, else the cluster default. A warn level not
    given follows an explicitly stricter enforce level (and its version, unless warn's is
    given)."""
    causes: list[Cause] = []

    def read_level(label: str, fallback: Level, on_error: Level) -> tuple[Level, bool]:
        if label not in labels:
            return fallback, False
        try:
            return parse_level(labels[label]), True
        except PolicyError as e:
            causes.append(invalid_value(f"{_LABELS_FIELD}[{label}]", labels[label], str(e)))
            return on_error, False

    def read_version(label: str, fallback: Version) -> Version:
        if label not in labels:
            return fallback
        try:
            return parse_version(labels[label])
        except PolicyError as e:
            causes.append(invalid_value(f"{_LABELS_FIELD}[{label}]", labels[label], str(e)))
            return LATEST

    if not labels:
        return Evaluated(defaults)
    enforce_level, has_enforce = read_level(ENFORCE_LEVEL_LABEL, defaults.enforce.level,
                                            Level.RESTRICTED)
    enforce = LevelVersion(enforce_level,
                           read_version(ENFORCE_VERSION_LABEL, defaults.enforce.version))
    audit_level, _ = read_level(AUDIT_LEVEL_LABEL, defaults.audit.level, Level.PRIVILEGED)
    audit = LevelVersion(audit_level, read_version(AUDIT_VERSION_LABEL, defaults.audit.version))
    has_warn_level = WARN_LEVEL_LABEL in labels
    warn_level, _ = read_level(WARN_LEVEL_LABEL, defaults.warn.level, Level.PRIVILEGED)
    warn = LevelVersion(warn_level, read_version(WARN_VERSION_LABEL, defaults.warn.version))
    if not has_warn_level and has_enforce and \
            enforce.level.strictness > warn.level.strictness:
        warn = LevelVersion(enforce.level, warn.version if WARN_VERSION_LABEL in labels
                            else enforce.version)
    return Evaluated(Policy(enforce, audit, warn), tuple(causes))
