"""What the review APIs share (authorization.k8s.io/v1's access and rules reviews,
authentication.k8s.io/v1's SelfSubjectReview): none is stored; a create asks the API
server's authorizers and answers with the object and its status (kube's
pkg/registry/authorization/*/rest.go and pkg/apis/authorization/validation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from minikube_py.api.errors import Cause
from minikube_py.api.validation import invalid_value, raise_if
from minikube_py.apiserver.authn import LOOPBACK, UserInfo
from minikube_py.apiserver.authz import Decision, UserRules, Verdict
from minikube_py.apiserver.kinds.base import Obj, Strategy
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.requestinfo import RequestInfo

AUTHORIZATION_GROUP = "authorization.k8s.io"
AUTHENTICATION_GROUP = "authentication.k8s.io"


class Reviewer(Protocol):
    """What the reviews ask of the API server: its authorizers, its token authenticators,
    and the time."""

    def decide(self, user: UserInfo, info: RequestInfo) -> Verdict: ...

    def rules_for(self, user: UserInfo, namespace: str) -> UserRules: ...

    async def review_token(self, token: str) -> tuple[UserInfo | None, str]:
        """(the token's user or None, why it is refused: "" for a token nobody knows)."""
        ...

    @property
    def token_audiences(self) -> tuple[str, ...]: ...

    def now(self) -> str: ...


class ReviewStrategy(Strategy):
    """A kind that is answered, never stored: only `create`."""

    stored = False
    verbs = ("create",)

    def __init__(self, resource: Any, reviewer: Reviewer) -> None:
        super().__init__(resource)
        self.reviewer = reviewer


def requester(opts: RequestOptions) -> UserInfo:
    """Who sent the review (in-process calls without a user are the server's own)."""
    return opts.user if opts.user is not None else LOOPBACK


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def attributes_causes(spec: Mapping[str, Any]) -> list[Cause]:
    """Exactly one of resourceAttributes and nonResourceAttributes."""
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if resource is not None and non_resource is not None:
        return [invalid_value("spec.nonResourceAttributes", non_resource,
                              "cannot be specified in combination with resourceAttributes")]
    if resource is None and non_resource is None:
        return [invalid_value("spec.resourceAttributes", None,
                              "exactly one of nonResourceAttributes or resourceAttributes must "
                              "be specified")]
    return []


def empty_metadata_causes(obj: Obj, *, but_namespace: bool = False) -> list[Cause]:
    meta = dict(_mapping(obj.get("metadata")))
    meta.pop("managedFields", None)
    if but_namespace:
        meta.pop("namespace", None)
    if not meta:
        return []
    return [invalid_value("metadata", meta, "must be empty except for namespace"
                          if but_namespace else "must be empty")]


def refuse_invalid(kind: str, causes: list[Cause], group: str = AUTHORIZATION_GROUP) -> None:
    raise_if(kind, "", causes, group)


def _selector_text(attrs: Mapping[str, Any], key: str, negate_op: str) -> str:
    """A field or label selector of the attributes as query text: its rawSelector, or its
    requirements where they are simple equalities."""
    sel = _mapping(attrs.get(key))
    if sel.get("rawSelector"):
        return str(sel["rawSelector"])
    parts = []
    for req in sel.get("requirements") or []:
        req = _mapping(req)
        values = req.get("values") or []
        if req.get("operator") in ("In", "NotIn") and len(values) == 1:
            op = "=" if req.get("operator") == "In" else negate_op
            parts.append(f"{req.get('key', '')}{op}{values[0]}")
    return ",".join(parts)


def request_of(spec: Mapping[str, Any]) -> RequestInfo:
    """The request a review asks about (kube's ResourceAttributesFrom and
    NonResourceAttributesFrom)."""
    resource = spec.get("resourceAttributes")
    if resource is None:
        attrs = _mapping(spec.get("nonResourceAttributes"))
        return RequestInfo(str(attrs.get("path") or ""), str(attrs.get("verb") or ""))
    attrs = _mapping(resource)
    return RequestInfo("", str(attrs.get("verb") or ""), namespace=attrs.get("namespace") or None,
                       name=attrs.get("name") or None,
                       subresource=attrs.get("subresource") or None,
                       field_selector=_selector_text(attrs, "fieldSelector", "!="),
                       label_selector=_selector_text(attrs, "labelSelector", "!="),
                       about=(str(attrs.get("group") or ""), str(attrs.get("resource") or "")))


def access_status(verdict: Verdict) -> Obj:
    """A SubjectAccessReviewStatus from the authorizers' verdict."""
    status: Obj = {"allowed": verdict.decision is Decision.ALLOW}
    if verdict.decision is Decision.DENY:
        status["denied"] = True
    if verdict.reason:
        status["reason"] = verdict.reason
    return status


def spec_user(spec: Mapping[str, Any]) -> UserInfo:
    extra = {str(k): [str(v) for v in vs] for k, vs in _mapping(spec.get("extra")).items()
             if isinstance(vs, list)}
    return UserInfo(str(spec.get("user") or ""), tuple(str(g) for g in spec.get("groups") or []),
                    str(spec.get("uid") or ""), extra)


def user_info(user: UserInfo) -> Obj:
    """An authentication.k8s.io UserInfo, its empty fields left out as kube's are."""
    info: Obj = {"username": user.name}
    if user.uid:
        info["uid"] = user.uid
    if user.groups:
        info["groups"] = list(user.groups)
    if user.extra:
        info["extra"] = {k: list(v) for k, v in user.extra.items()}
    return info
