"""SubjectAccessReviews (authorization.k8s.io/v1): may this user (or these groups) do this?
Asked of the API server's authorizers; the answer is the review with its status."""

from __future__ import annotations

from minikube_py.api.resources import SUBJECTACCESSREVIEWS
from minikube_py.api.validation import invalid_value
from minikube_py.apiserver.kinds.accessreviews import (
    Reviewer,
    ReviewStrategy,
    access_status,
    attributes_causes,
    empty_metadata_causes,
    refuse_invalid,
    request_of,
    spec_user,
)
from minikube_py.apiserver.kinds.base import Obj
from minikube_py.apiserver.options import RequestOptions

__all__ = ["SUBJECTACCESSREVIEWS", "strategy"]


class SubjectAccessReviewStrategy(ReviewStrategy):
    schema = "authorization.SubjectAccessReview"

    async def answer_create(self, obj: Obj, namespace: str | None,
                            opts: RequestOptions) -> Obj:
        spec = obj.get("spec") or {}
        causes = attributes_causes(spec)
        if not spec.get("user") and not spec.get("groups"):
            causes.append(invalid_value("spec.user", spec.get("user", ""),
                                        "at least one of user or group must be specified"))
        refuse_invalid("SubjectAccessReview", causes + empty_metadata_causes(obj))
        obj["status"] = access_status(self.reviewer.decide(spec_user(spec), request_of(spec)))
        return obj


def strategy(reviewer: Reviewer) -> SubjectAccessReviewStrategy:
    return SubjectAccessReviewStrategy(SUBJECTACCESSREVIEWS, reviewer)
