"""LocalSubjectAccessReviews (authorization.k8s.io/v1): a SubjectAccessReview about one
namespace, created in it (so a namespace admin may ask)."""

from __future__ import annotations

from minikube_py.api import errors
from minikube_py.api.resources import Resource
from minikube_py.api.validation import invalid_value
from minikube_py.apiserver.kinds.accessreviews import (
    AUTHORIZATION_GROUP,
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

LOCALSUBJECTACCESSREVIEWS = Resource(AUTHORIZATION_GROUP, "v1", "localsubjectaccessreviews",
                                     "LocalSubjectAccessReview", True)


class LocalSubjectAccessReviewStrategy(ReviewStrategy):
    schema = "authorization.LocalSubjectAccessReview"

    async def answer_create(self, obj: Obj, namespace: str | None,
                            opts: RequestOptions) -> Obj:
        if not namespace:
            raise errors.bad_request("namespace is required on this type: ")
        spec = obj.get("spec") or {}
        causes = attributes_causes(spec)
        if not spec.get("user") and not spec.get("groups"):
            causes.append(invalid_value("spec.user", spec.get("user", ""),
                                        "at least one of user or group must be specified"))
        causes += empty_metadata_causes(obj, but_namespace=True)
        resource = spec.get("resourceAttributes")
        if isinstance(resource, dict) and (resource.get("namespace") or "") != namespace:
            causes.append(invalid_value("spec.resourceAttributes.namespace",
                                        resource.get("namespace", ""),
                                        "must match metadata.namespace"))
        if spec.get("nonResourceAttributes") is not None:
            causes.append(invalid_value("spec.nonResourceAttributes",
                                        spec["nonResourceAttributes"],
                                        "disallowed on this kind of request"))
        refuse_invalid("LocalSubjectAccessReview", causes)
        obj["status"] = access_status(self.reviewer.decide(spec_user(spec), request_of(spec)))
        return obj


def strategy(reviewer: Reviewer) -> LocalSubjectAccessReviewStrategy:
    return LocalSubjectAccessReviewStrategy(LOCALSUBJECTACCESSREVIEWS, reviewer)
