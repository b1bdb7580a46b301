"""Impersonation (kube's endpoints/filters/impersonation.go): a request with
`Impersonate-User` (and `-Group`, `-Uid`, `-Extra-<key>`) headers acts as that user, once
the authenticated user has been allowed the `impersonate` verb on each thing it asks to be:
users (or, for service account names, serviceaccounts in their namespace), groups, uids,
and userextras/<key>. A stage between authentication and authorization; `kubectl --as`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from minikube_py.api.errors import ApiError
from minikube_py.apiserver.authn import ANONYMOUS, AUTHENTICATED, UserInfo
from minikube_py.apiserver.authz import Decision, Verdict, forbidden
from minikube_py.apiserver.requestinfo import RequestInfo

USER_HEADER = "Impersonate-User"
GROUP_HEADER = "Impersonate-Group"
UID_HEADER = "Impersonate-Uid"
EXTRA_PREFIX = "Impersonate-Extra-"
AUTHENTICATION_GROUP = "authentication.k8s.io"
_SA_PREFIX = "system:serviceaccount:"
Decide = Callable[[UserInfo, RequestInfo], Verdict]


@dataclass(frozen=True, slots=True)
class Impersonation:
    """What a request's headers ask to act as."""

    user: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, str], ...] = ()  # (key, value), in header order


_PREFIX = "impersonate-"  # what every impersonation header starts with
_PREFIX_LEN = len(_PREFIX)


def requested(headers: Mapping[str, str] | Sequence[tuple[str, str]]) -> Impersonation | None:
    """The impersonation the headers ask for; None if they ask for none; 400 for groups,
    a uid or extras without a user."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    user, uid = "", ""
    groups: list[str] = []
    extra: list[tuple[str, str]] = []
    for key, value in items:
        if key[:_PREFIX_LEN].lower() != _PREFIX:
            continue  # most headers of most requests: one slice, no further compares
        lower = key.lower()
        if lower == USER_HEADER.lower():
            user = value
        elif lower == GROUP_HEADER.lower():
            groups.append(value)
        elif lower == UID_HEADER.lower():
            uid = value
        elif lower.startswith(EXTRA_PREFIX.lower()):
            extra.append((unquote(lower[len(EXTRA_PREFIX):]), value))
    if not user:
        if groups or uid or extra:
            raise ApiError(400, "BadRequest", "requested impersonation of groups, a uid or "
                                              "extras without impersonating a user")
        return None
    return Impersonation(user, tuple(groups), uid, tuple(extra))


def _checks(asked: Impersonation) -> list[RequestInfo]:
    """The `impersonate` requests the authenticated user must be allowed, in kube's order."""
    infos: list[RequestInfo] = []
    if asked.user.startswith(_SA_PREFIX) and asked.user.count(":") == 3:
        _, _, namespace, name = asked.user.split(":")
        infos.append(RequestInfo("", "impersonate", namespace=namespace, name=name,
                                 about=("", "serviceaccounts")))
    else:
        infos.append(RequestInfo("", "impersonate", name=asked.user, about=("", "users")))
    infos += [RequestInfo("", "impersonate", name=g, about=("", "groups"))
              for g in asked.groups]
    infos += [RequestInfo("", "impersonate", name=value, subresource=key,
                          about=(AUTHENTICATION_GROUP, "userextras")) for key, value in asked.extra]
    if asked.uid:
        infos.append(RequestInfo("", "impersonate", name=asked.uid,
                                 about=(AUTHENTICATION_GROUP, "uids")))
    return infos


def impersonated_user(asked: Impersonation) -> UserInfo:
    """The user the request acts as: the groups asked for, plus those kube adds (a service
    account's groups; system:authenticated for anyone but system:anonymous)."""
    groups = list(asked.groups)
    if asked.user.startswith(_SA_PREFIX) and asked.user.count(":") == 3:
        namespace = asked.user.split(":")[2]
        for g in ("system:serviceaccounts", f"system:serviceaccounts:{namespace}"):
            if g not in groups:
                groups.append(g)
    if asked.user == ANONYMOUS.name:
        if "system:unauthenticated" not in groups:
            groups.append("system:unauthenticated")
    elif AUTHENTICATED not in groups:
        groups.append(AUTHENTICATED)
    extra: dict[str, list[str]] = {}
    for key, value in asked.extra:
        extra.setdefault(key, []).append(value)
    return UserInfo(asked.user, tuple(groups), asked.uid, extra)


def impersonate(user: UserInfo, headers: Mapping[str, str] | Sequence[tuple[str, str]],
                decide: Decide) -> UserInfo:
    """The user a request acts as: `user`, or whom its headers impersonate if `user` may
    (403 in kube's words for the first thing it may not impersonate)."""
    asked = requested(headers)
    if asked is None:
        return user
    for info in _checks(asked):
        verdict = decide(user, info)
        if verdict.decision is not Decision.ALLOW:
            raise forbidden(user, info, verdict.reason)
    return impersonated_user(asked)
