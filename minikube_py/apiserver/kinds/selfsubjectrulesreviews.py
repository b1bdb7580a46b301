"""SelfSubjectRulesReviews (authorization.k8s.io/v1): what may I do in this namespace?
(`kubectl auth can-i --list`) The rules of every authorizer that can list them."""

from __future__ import annotations

from minikube_py.api import errors
from minikube_py.api.resources import Resource
from minikube_py.apiserver.kinds.accessreviews import (
    AUTHORIZATION_GROUP,
    Reviewer,
    ReviewStrategy,
    requester,
)
from minikube_py.apiserver.kinds.base import Obj
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.rbac.rules import PolicyRule

SELFSUBJECTRULESREVIEWS = Resource(AUTHORIZATION_GROUP, "v1", "selfsubjectrulesreviews",
                                   "SelfSubjectRulesReview", False)


def _resource_rule(rule: PolicyRule) -> Obj:
    out: Obj = {"verbs": list(rule.verbs)}
    for key, values in (("apiGroups", rule.api_groups), ("resources", rule.resources),
                        ("resourceNames", rule.resource_names)):
        if values:
            out[key] = list(values)
    return out


class SelfSubjectRulesReviewStrategy(ReviewStrategy):
    schema = "authorization.SelfSubjectRulesReview"

    async def answer_create(self, obj: Obj, namespace: str | None,
                            opts: RequestOptions) -> Obj:
        ns = (obj.get("spec") or {}).get("namespace") or ""
        if not ns:
            raise errors.bad_request("no namespace on request")
        found = self.reviewer.rules_for(requester(opts), ns)
        status: Obj = {
            "resourceRules": [_resource_rule(r) for r in found.resource_rules],
            "nonResourceRules": [{"verbs": list(r.verbs),
                                  "nonResourceURLs": list(r.non_resource_urls)}
                                 for r in found.non_resource_rules],
            "incomplete": found.incomplete,
        }
        if found.errors:
            status["evaluationError"] = found.errors[0] if len(found.errors) == 1 else \
                "[" + ", ".join(found.errors) + "]"
        obj["status"] = status
        return obj


def strategy(reviewer: Reviewer) -> SelfSubjectRulesReviewStrategy:
    return SelfSubjectRulesReviewStrategy(SELFSUBJECTRULESREVIEWS, reviewer)
