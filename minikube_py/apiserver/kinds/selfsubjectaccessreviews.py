"""SelfSubjectAccessReviews (authorization.k8s.io/v1): may I do this? (`kubectl auth can-i`)
Asked of the API server's authorizers as the requesting (or impersonated) user."""

from __future__ import annotations

from minikube_py.api.resources import Resource
from minikube_py.apiserver.kinds.accessreviews import (
    AUTHORIZATION_GROUP,
    Reviewer,
    ReviewStrategy,
    access_status,
    attributes_causes,
    empty_metadata_causes,
    refuse_invalid,
    request_of,
    requester,
)
from minikube_py.apiserver.kinds.base import Obj
from minikube_py.apiserver.options import RequestOptions

SELFSUBJECTACCESSREVIEWS = Resource(AUTHORIZATION_GROUP, "v1", "selfsubjectaccessreviews",
                                    "SelfSubjectAccessReview", False)


class SelfSubjectAccessReviewStrategy(ReviewStrategy):
    schema = "authorization.SelfSubjectAccessReview"

    async def answer_create(self, obj: Obj, namespace: str | None,
                            opts: RequestOptions) -> Obj:
        spec = obj.get("spec") or {}
        refuse_invalid("SelfSubjectAccessReview",
                       attributes_causes(spec) + empty_metadata_causes(obj))
        obj["status"] = access_status(self.reviewer.decide(requester(opts), request_of(spec)))
        return obj


def strategy(reviewer: Reviewer) -> SelfSubjectAccessReviewStrategy:
    return SelfSubjectAccessReviewStrategy(SELFSUBJECTACCESSREVIEWS, reviewer)
