"""Authorization: may this user do this (kube's authorizer.Authorizer)? Every request passes
this stage after authentication (and impersonation); the authorizers are asked in order and
the first that allows or denies decides (kube's union authorizer). A request no authorizer
allows gets 403 Forbidden, in kube's words, with every authorizer's reason.

kube-apiserver's chain is: members of system:masters (always allowed), then the Node
authorizer, then RBAC. Authorizers that can also list what a user may do (RBAC) answer a
SelfSubjectRulesReview through `rules_for`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol, runtime_checkable

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.apiserver.authn import UserInfo
from minikube_py.apiserver.rbac.rules import PolicyRule
from minikube_py.apiserver.requestinfo import RequestInfo

SYSTEM_MASTERS = "system:masters"


class Decision(Enum):
    ALLOW = "allow"
    DENY = "deny"
    NO_OPINION = "no opinion"


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    reason: str = ""


class Authorizer(Protocol):
    def authorize(self, user: UserInfo, info: RequestInfo) -> Verdict: ...


@dataclass(frozen=True, slots=True)
class UserRules:
    """What one authorizer knows a user may do in a namespace (kube's RulesFor)."""

    resource_rules: tuple[PolicyRule, ...] = ()
    non_resource_rules: tuple[PolicyRule, ...] = ()
    incomplete: bool = False
    errors: tuple[str, ...] = field(default_factory=tuple)


@runtime_checkable
class RuleResolver(Protocol):
    def rules_for(self, user: UserInfo, namespace: str) -> UserRules: ...


class AlwaysAllow:
    def authorize(self, user: UserInfo, info: RequestInfo) -> Verdict:
        return Verdict(Decision.ALLOW)

    def rules_for(self, user: UserInfo, namespace: str) -> UserRules:
        return UserRules((PolicyRule(("*",), ("*",), ("*",)),),
                         (PolicyRule(("*",), non_resource_urls=("*",)),))


class SystemMasters:
    """Members of system:masters may do anything, whatever the policy says (kube's
    privileged-group authorizer, first in its chain; like kube's, it lists no rules: RBAC's
    cluster-admin binding shows what they may do)."""

    def authorize(self, user: UserInfo, info: RequestInfo) -> Verdict:
        if SYSTEM_MASTERS in user.groups:
            return Verdict(Decision.ALLOW)
        return Verdict(Decision.NO_OPINION)


def forbidden(user: UserInfo, info: RequestInfo, reason: str) -> ApiError:
    """403 as kube words it: `pods "x" is forbidden: User "u" cannot get resource "pods" in
    API group "" in the namespace "default"` (or `at the cluster scope`), then the reason."""
    why = f": {reason}" if reason else ""
    if not info.is_resource_request:
        return ApiError(403, "Forbidden", f'forbidden: User "{user.name}" cannot {info.verb} '
                                          f'path "{info.path}"{why}', {})
    group, plural = info.api_group, info.resource
    target = errors.qualified(plural, group) + (f' "{info.name}"' if info.name else "")
    what = f"{plural}/{info.subresource}" if info.subresource else plural
    scope = f'in the namespace "{info.namespace}"' if info.namespace else "at the cluster scope"
    msg = (f'{target} is forbidden: User "{user.name}" cannot {info.verb} resource "{what}" '
           f'in API group "{group}" {scope}{why}')
    details = {"name": info.name or "", "kind": plural}
    if group:
        details["group"] = group
    return ApiError(403, "Forbidden", msg, details)


def decide(authorizers: Sequence[Authorizer], user: UserInfo, info: RequestInfo) -> Verdict:
    """kube's union authorizer: the first ALLOW or DENY decides; otherwise no opinion, with
    every reason given, one per line."""
    reasons: list[str] = []
    for authorizer in authorizers:
        verdict = authorizer.authorize(user, info)
        if verdict.decision is not Decision.NO_OPINION:
            return verdict
        if verdict.reason:
            reasons.append(verdict.reason)
    return Verdict(Decision.NO_OPINION, "\n".join(reasons))


def authorize(authorizers: Sequence[Authorizer], user: UserInfo, info: RequestInfo) -> None:
    """Return if allowed; otherwise raise kube's 403."""
    verdict = decide(authorizers, user, info)
    if verdict.decision is not Decision.ALLOW:
        raise forbidden(user, info, verdict.reason)


def rules_for(authorizers: Sequence[Authorizer], user: UserInfo, namespace: str) -> UserRules:
    """Every rule resolver's rules for the user, in chain order (kube's union RulesFor)."""
    resource: list[PolicyRule] = []
    non_resource: list[PolicyRule] = []
    incomplete = False
    errs: list[str] = []
    for authorizer in authorizers:
        if not isinstance(authorizer, RuleResolver):
            continue
        found = authorizer.rules_for(user, namespace)
        resource.extend(found.resource_rules)
        non_resource.extend(found.non_resource_rules)
        incomplete = incomplete or found.incomplete
        errs.extend(found.errors)
    return UserRules(tuple(resource), tuple(non_resource), incomplete, tuple(errs))
