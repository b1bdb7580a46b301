"""SelfSubjectReviews (authentication.k8s.io/v1): who am I? (`kubectl auth whoami`) The
requesting (or impersonated) user's name, uid, groups and extra."""

from __future__ import annotations

from minikube_py.api.resources import Resource
from minikube_py.apiserver.kinds.accessreviews import (
    AUTHENTICATION_GROUP,
    Reviewer,
    ReviewStrategy,
    requester,
    user_info,
)
from minikube_py.apiserver.kinds.base import Obj
from minikube_py.apiserver.options import RequestOptions

SELFSUBJECTREVIEWS = Resource(AUTHENTICATION_GROUP, "v1", "selfsubjectreviews",
                              "SelfSubjectReview", False)


class SelfSubjectReviewStrategy(ReviewStrategy):
    schema = "authentication.SelfSubjectReview"

    async def answer_create(self, obj: Obj, namespace: str | None,
                            opts: RequestOptions) -> Obj:
        info = user_info(requester(opts))
        return {"kind": "SelfSubjectReview", "apiVersion": f"{AUTHENTICATION_GROUP}/v1",
                "metadata": {"creationTimestamp": self.reviewer.now()},
                "status": {"userInfo": info}}


def strategy(reviewer: Reviewer) -> SelfSubjectReviewStrategy:
    return SelfSubjectReviewStrategy(SELFSUBJECTREVIEWS, reviewer)
