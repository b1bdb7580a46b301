"""Authorization: may this user do this (kube's authorizer.Authorizer)? Every request passes
this stage after authentication; a request no authorizer allows gets 403 Forbidden, in
kube's words. Today the one authorizer is `AlwaysAllow`; RBAC and the Node authorizer take
this place next."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.apiserver.authn import UserInfo
from minikube_py.apiserver.requestinfo import RequestInfo


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


class AlwaysAllow:
    def authorize(self, user: UserInfo, info: RequestInfo) -> Verdict:
        return Verdict(Decision.ALLOW)


def forbidden(user: UserInfo, info: RequestInfo, reason: str) -> ApiError:
    """403 as kube words it: `pods "x" is forbidden: User "u" cannot get resource "pods" in
    API group "" in the namespace "default"`."""
    why = f": {reason}" if reason else ""
    if info.strategy is None:
        return ApiError(403, "Forbidden", f'forbidden: User "{user.name}" cannot {info.verb} '
                                          f'path "{info.path}"{why}')
    r = info.strategy.resource
    target = errors.qualified(r.plural, r.group) + (f' "{info.name}"' if info.name else "")
    what = f"{r.plural}/{info.subresource}" if info.subresource else r.plural
    scope = f' in the namespace "{info.namespace}"' if info.namespace else ""
    msg = (f'{target} is forbidden: User "{user.name}" cannot {info.verb} resource "{what}" '
           f'in API group "{r.group}"{scope}{why}')
    details = {"name": info.name or "", "kind": r.plural}
    if r.group:
        details["group"] = r.group
    return ApiError(403, "Forbidden", msg, details)


def authorize(authorizers: list[Authorizer], user: UserInfo, info: RequestInfo) -> None:
    """The first authorizer with an opinion decides; none allows: 403."""
    for authorizer in authorizers:
        verdict = authorizer.authorize(user, info)
        if verdict.decision is Decision.ALLOW:
            return
        if verdict.decision is Decision.DENY:
            raise forbidden(user, info, verdict.reason)
    raise forbidden(user, info, "")
