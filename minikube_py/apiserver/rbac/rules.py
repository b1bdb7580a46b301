"""PolicyRules and what they allow (kube's rbac.RuleAllows) or cover (the escalation check's
validation.Covers): pure functions over frozen rules, no IO.

A rule allows a resource request when its verbs, API groups, resources (`pods`, `pods/log`,
`*/scale`, `*`) and resourceNames (none: any name) all match; a non-resource request when
its verbs and nonResourceURLs (`/healthz`, `/apis/*`, `*`) match.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ALL = "*"


@dataclass(frozen=True, slots=True)
class PolicyRule:
    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, rule: Mapping[str, Any]) -> PolicyRule:
        def strings(key: str) -> tuple[str, ...]:
            value = rule.get(key) or ()
            return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()

        return cls(strings("verbs"), strings("apiGroups"), strings("resources"),
                   strings("resourceNames"), strings("nonResourceURLs"))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verbs": list(self.verbs)}
        if self.api_groups:
            out["apiGroups"] = list(self.api_groups)
        if self.resources:
            out["resources"] = list(self.resources)
        if self.resource_names:
            out["resourceNames"] = list(self.resource_names)
        if self.non_resource_urls:
            out["nonResourceURLs"] = list(self.non_resource_urls)
        return out

    def compact_string(self) -> str:
        """kube's rbacv1helpers.CompactString: `{APIGroups:[""], Resources:["pods"],
        Verbs:["get"]}` (Go's %q of a string slice)."""
        parts = [f"{label}:{_go_quoted(values)}" for label, values in (
            ("APIGroups", self.api_groups), ("Resources", self.resources),
            ("NonResourceURLs", self.non_resource_urls),
            ("ResourceNames", self.resource_names), ("Verbs", self.verbs)) if values]
        return "{" + ", ".join(parts) + "}"


def rules_from_json(rules: Any) -> tuple[PolicyRule, ...]:
    if not isinstance(rules, list):
        return ()
    return tuple(PolicyRule.from_json(r) for r in rules if isinstance(r, Mapping))


def _go_quoted(values: Sequence[str]) -> str:
    return "[" + " ".join(json.dumps(v) for v in values) + "]"


# --- what a rule allows (kube's plugin/pkg/auth/authorizer/rbac RuleAllows) -------------------


@dataclass(frozen=True, slots=True)
class Request:
    """What a rule is matched against: a resource request (`resource` set) or a
    non-resource one (`path`)."""

    verb: str
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""
    resource_request: bool = True


def verb_matches(rule: PolicyRule, verb: str) -> bool:
    return ALL in rule.verbs or verb in rule.verbs


def api_group_matches(rule: PolicyRule, group: str) -> bool:
    return ALL in rule.api_groups or group in rule.api_groups


def resource_matches(rule: PolicyRule, resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for r in rule.resources:
        if r == ALL or r == combined:
            return True
        # `*/scale` is the scale subresource of every resource.
        if subresource and r.startswith("*/") and r[2:] == subresource:
            return True
    return False


def resource_name_matches(rule: PolicyRule, name: str) -> bool:
    return not rule.resource_names or name in rule.resource_names


def non_resource_url_matches(rule: PolicyRule, path: str) -> bool:
    for url in rule.non_resource_urls:
        if url == ALL or url == path:
            return True
        if url.endswith("*") and path.startswith(url[:-1]):
            return True
    return False


def rule_allows(rule: PolicyRule, req: Request) -> bool:
    if req.resource_request:
        return (verb_matches(rule, req.verb) and api_group_matches(rule, req.api_group)
                and resource_matches(rule, req.resource, req.subresource)
                and resource_name_matches(rule, req.name))
    return verb_matches(rule, req.verb) and non_resource_url_matches(rule, req.path)


def rules_allow(rules: Iterable[PolicyRule], req: Request) -> bool:
    return any(rule_allows(r, req) for r in rules)


# --- what rules cover (kube's pkg/registry/rbac/validation Covers) ----------------------------


def breakdown(rule: PolicyRule) -> list[PolicyRule]:
    """One rule per group x resource x verb (x name), and per URL x verb."""
    out: list[PolicyRule] = []
    for group in rule.api_groups:
        for resource in rule.resources:
            for verb in rule.verbs:
                if rule.resource_names:
                    out.extend(PolicyRule((verb,), (group,), (resource,), (name,))
                               for name in rule.resource_names)
                else:
                    out.append(PolicyRule((verb,), (group,), (resource,)))
    for url in rule.non_resource_urls:
        out.extend(PolicyRule((verb,), non_resource_urls=(url,)) for verb in rule.verbs)
    return out


def _has_all(have: Sequence[str], want: Sequence[str]) -> bool:
    return set(want) <= set(have)


def _resources_covered(owner: Sequence[str], wanted: Sequence[str]) -> bool:
    if ALL in owner or _has_all(owner, wanted):
        return True
    for path in wanted:
        if path in owner:
            continue
        if "/" not in path:
            return False
        if "*/" + path.split("/", 1)[1] not in owner:
            return False
    return True


def _url_covered(owner: str, path: str) -> bool:
    return owner == path or (owner.endswith("*") and path.startswith(owner.rstrip("*")))


def rule_covers(owner: PolicyRule, sub: PolicyRule) -> bool:
    """Whether `owner` grants everything `sub` does."""
    verbs = ALL in owner.verbs or _has_all(owner.verbs, sub.verbs)
    groups = ALL in owner.api_groups or _has_all(owner.api_groups, sub.api_groups)
    resources = _resources_covered(owner.resources, sub.resources)
    urls = all(any(_url_covered(o, p) for o in owner.non_resource_urls)
               for p in sub.non_resource_urls)
    if not sub.resource_names:
        names = not owner.resource_names
    else:
        names = not owner.resource_names or _has_all(owner.resource_names, sub.resource_names)
    return verbs and groups and resources and names and urls


def covers(owner: Sequence[PolicyRule], wanted: Iterable[PolicyRule]) -> list[PolicyRule]:
    """The broken-down parts of `wanted` that no rule of `owner` covers (empty: all are)."""
    missing: list[PolicyRule] = []
    for rule in wanted:
        for sub in breakdown(rule):
            if not any(rule_covers(o, sub) for o in owner):
                missing.append(sub)
    return missing


def compact(rules: Sequence[PolicyRule]) -> list[PolicyRule]:
    """kube's CompactRules: rules for one group and resource (no names) that differ only by
    verb become one rule with all their verbs, in first-seen order."""
    merged: dict[tuple[str, str], list[str]] = {}
    out: list[PolicyRule | tuple[str, str]] = []
    for r in rules:
        simple = (len(r.api_groups) == 1 and len(r.resources) == 1 and not r.resource_names
                  and not r.non_resource_urls)
        if not simple:
            out.append(r)
            continue
        key = (r.api_groups[0], r.resources[0])
        if key not in merged:
            merged[key] = []
            out.append(key)
        merged[key].extend(v for v in r.verbs if v not in merged[key])
    return [PolicyRule(tuple(merged[o]), (o[0],), (o[1],)) if isinstance(o, tuple) else o
            for o in out]
