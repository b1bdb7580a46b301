"""The RBAC authorizer (kube's plugin/pkg/auth/authorizer/rbac): allowed when a rule of a
role bound to the user, one of its groups or its service account allows the request; no
opinion otherwise (RBAC never denies).

Decisions are cached per user (name and groups, all RBAC looks at) and request attributes,
and the cache is dropped whenever the policy changes (its revision moves): a create of many
objects by one client asks RBAC once.
"""

from __future__ import annotations

from minikube_py.apiserver.authn import UserInfo
from minikube_py.apiserver.authz import Decision, UserRules, Verdict
from minikube_py.apiserver.rbac.policy import RbacPolicy
from minikube_py.apiserver.rbac.rules import Request, rules_allow
from minikube_py.apiserver.requestinfo import RequestInfo

# Decisions kept before the cache starts over (a bound on memory, not a tuning knob).
MAX_CACHED = 50_000
CacheKey = tuple[str, tuple[str, ...], Request, str]


def rule_request(info: RequestInfo) -> Request:
    """The attributes a rule looks at."""
    if info.is_resource_request:
        return Request(info.verb, info.api_group, info.resource, info.subresource or "",
                       info.name or "")
    return Request(info.verb, path=info.path, resource_request=False)


class RbacAuthorizer:
    def __init__(self, policy: RbacPolicy) -> None:
        self.policy = policy
        self._cache: dict[CacheKey, Verdict] = {}
        self._cached_revision = -1

    def authorize(self, user: UserInfo, info: RequestInfo) -> Verdict:
        if self._cached_revision != self.policy.revision or len(self._cache) >= MAX_CACHED:
            self._cache.clear()
            self._cached_revision = self.policy.revision
        req = rule_request(info)
        key = (user.name, user.groups, req, info.namespace or "")
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = self._decide(user, req, info.namespace or "")
            self._cache[key] = verdict
        return verdict

    def _decide(self, user: UserInfo, req: Request, namespace: str) -> Verdict:
        errs: list[str] = []
        for grant in self.policy.grants(user, namespace):
            if grant.rules is None:
                errs.append(grant.missing_role())
            elif rules_allow(grant.rules, req):
                return Verdict(Decision.ALLOW,
                               f"RBAC: allowed by {grant.binding.describe(grant.subject)}")
        if not errs:
            return Verdict(Decision.NO_OPINION)
        listed = errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"
        return Verdict(Decision.NO_OPINION, f"RBAC: {listed}")

    def rules_for(self, user: UserInfo, namespace: str) -> UserRules:
        rules, errs = self.policy.rules_for(user, namespace)
        return UserRules(tuple(r for r in rules if not r.non_resource_urls),
                         tuple(r for r in rules if r.non_resource_urls), False, tuple(errs))
