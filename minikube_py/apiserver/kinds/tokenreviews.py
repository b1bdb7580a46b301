"""TokenReviews (authentication.k8s.io/v1): who does this bearer token name? Asked of the
API server's token authenticators (ServiceAccount JWTs, bootstrap tokens), as kube's
pkg/registry/authentication/tokenreview; what a kubelet asks of a caller with a token."""

from __future__ import annotations

from minikube_py.api.errors import bad_request
from minikube_py.api.resources import TOKENREVIEWS
from minikube_py.apiserver.kinds.accessreviews import (
    Reviewer,
    ReviewStrategy,
    user_info,
)
from minikube_py.apiserver.kinds.base import Obj
from minikube_py.apiserver.options import RequestOptions

__all__ = ["TOKENREVIEWS", "strategy"]


def _quoted(values: list[str] | tuple[str, ...]) -> str:
    return "[" + " ".join(f'"{v}"' for v in values) + "]"


class TokenReviewStrategy(ReviewStrategy):
    schema = "authentication.TokenReview"

    async def answer_create(self, obj: Obj, namespace: str | None,
                            opts: RequestOptions) -> Obj:
        spec = obj.get("spec") or {}
        token = spec.get("token") or ""
        if not token:
            raise bad_request("token is required for TokenReview in authentication")
        ours = self.reviewer.token_audiences
        wanted = list(spec.get("audiences") or ours)
        audiences = [a for a in wanted if a in ours]
        status: Obj = {"user": {}}
        if not audiences:
            # Our tokens are only ever valid for the API server's own audiences.
            status["error"] = (f"token audiences {_quoted(ours)} is invalid for the target "
                               f"audiences {_quoted(wanted)}")
        else:
            user, error = await self.reviewer.review_token(token)
            if user is not None:
                status = {"authenticated": True, "user": user_info(user),
                          "audiences": audiences}
            elif error:
                status["error"] = error
        obj.setdefault("metadata", {})["creationTimestamp"] = self.reviewer.now()
        obj["status"] = status
        return obj


def strategy(reviewer: Reviewer) -> TokenReviewStrategy:
    return TokenReviewStrategy(TOKENREVIEWS, reviewer)
