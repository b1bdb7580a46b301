"""Authentication: who sends a request (kube's authenticator.Request). Every request passes
this stage; a request no authenticator accepts gets 401 Unauthorized.

Today the API server has one authenticator, `AllowAll`: there are no credentials yet, so
every request acts as the cluster admin (system:masters), exactly as before this stage
existed. x509 client certificates and bearer tokens take this place next.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from minikube_py.api.errors import ApiError


@dataclass(frozen=True, slots=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict)


CLUSTER_ADMIN = UserInfo("system:admin", ("system:masters", "system:authenticated"))
# The API server's own in-process client (kube's loopback client).
LOOPBACK = UserInfo("system:apiserver", ("system:masters", "system:authenticated"))
# The in-process components, as kube names them (each bound to its bootstrap role).
KUBE_SCHEDULER = UserInfo("system:kube-scheduler", ("system:authenticated",))
KUBE_CONTROLLER_MANAGER = UserInfo("system:kube-controller-manager", ("system:authenticated",))
KUBE_PROXY = UserInfo("system:kube-proxy", ("system:authenticated",))
KUBE_DNS = UserInfo("system:serviceaccount:kube-system:kube-dns",
                    ("system:serviceaccounts", "system:serviceaccounts:kube-system",
                     "system:authenticated"))


def node_user(node_name: str) -> UserInfo:
    """A kubelet's identity: what the Node authorizer recognises."""
    return UserInfo(f"system:node:{node_name}", ("system:nodes", "system:authenticated"))


class Authenticator(Protocol):
    def authenticate(
            self, request: web.Request) -> UserInfo | Awaitable[UserInfo | None] | None:
        """The request's user, or None when this authenticator cannot tell. One that must
        look something up (a token's ServiceAccount still exists) returns an awaitable."""
        ...


class AllowAll:
    """No authentication: every request is the cluster admin."""

    def authenticate(self, request: web.Request) -> UserInfo | None:
        return CLUSTER_ADMIN


# Where the handler chain keeps the authenticated user of an HTTP request.
USER_KEY = web.RequestKey("user", UserInfo)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


async def authenticate(authenticators: list[Authenticator], request: web.Request) -> UserInfo:
    """The first authenticator that knows the user wins; none: 401."""
    for authenticator in authenticators:
        found = authenticator.authenticate(request)
        user = await found if inspect.isawaitable(found) else found
        if user is not None:
            return user
    raise unauthorized()
