"""Authentication: who sends a request (kube's authenticator.Request). Every request passes
this stage; a request no authenticator accepts gets 401 Unauthorized.

`serve` runs kube-apiserver's chain (`standard_authenticators`): x509 client certificates
the TLS handshake verified against the cluster CA, then bearer tokens (the slot the
ServiceAccount and bootstrap-token authenticators fill), then anonymous, for the public
information and discovery paths only. A credential that is given but wrong is 401 at once,
never anonymous. `AllowAll` (everyone the cluster admin) is for API servers in tests only.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from minikube_py.api.credentials import bearer_token
from minikube_py.api.errors import ApiError
from minikube_py.apiserver.requestinfo import INFO_KEY, RequestInfo
from minikube_py.pki.tls import CertIdentity, peer_identity


@dataclass(frozen=True, slots=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict)


AUTHENTICATED = "system:authenticated"
ANONYMOUS = UserInfo("system:anonymous", ("system:unauthenticated",))
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
    """No authentication: every request is the cluster admin (API servers in tests)."""

    def authenticate(self, request: web.Request) -> UserInfo | None:
        return CLUSTER_ADMIN


# Where the handler chain keeps the authenticated user of an HTTP request.
USER_KEY = web.RequestKey("user", UserInfo)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


# --- x509 client certificates ---------------------------------------------------------------

def x509_user(identity: CertIdentity) -> UserInfo:
    """kube's CommonNameUserConversion: CN the user, O the groups; a certificate without a
    CN names nobody (401)."""
    if not identity.user:
        raise unauthorized()
    groups = identity.groups if AUTHENTICATED in identity.groups else \
        (*identity.groups, AUTHENTICATED)
    return UserInfo(identity.user, groups)


class X509ClientCerts:
    """A client certificate on the connection. The handshake has already verified it against
    the cluster CA and its clientAuth usage (a certificate failing either never gets this
    far), so only its names are read here."""

    def authenticate(self, request: web.Request) -> UserInfo | None:
        identity = peer_identity(request.transport)
        return None if identity is None else x509_user(identity)


# --- bearer tokens --------------------------------------------------------------------------

class UnknownBearerToken:
    """After every token authenticator: a bearer token none of them knew is 401, never
    anonymous (kube's union of token authenticators fails before anonymous)."""

    def authenticate(self, request: web.Request) -> UserInfo | None:
        if bearer_token(request.headers.get("Authorization")) is not None:
            raise unauthorized()
        return None


# --- anonymous ------------------------------------------------------------------------------

# What kube's system:public-info-viewer and system:discovery roles let anyone GET.
PUBLIC_PATHS = frozenset({"/version", "/healthz", "/livez", "/readyz", "/api", "/apis",
                          "/openapi"})
PUBLIC_PREFIXES = ("/api/", "/apis/", "/openapi/")


def anonymous_may_ask(info: RequestInfo | None) -> bool:
    """Whether a request without credentials may be answered: a GET of version, health or
    discovery. `/api/*` covers discovery documents only: a resource request (listing pods)
    is never public, as nonResourceURLs never match resource requests in kube."""
    if info is None or info.is_resource_request or info.verb != "get":
        return False
    return info.path in PUBLIC_PATHS or info.path.startswith(PUBLIC_PREFIXES)


class AnonymousPublicInfo:
    """The last of the chain: system:anonymous, for the public paths only (kube 1.32's
    anonymous authenticator limited to those paths); anything else without credentials
    falls through to 401."""

    def authenticate(self, request: web.Request) -> UserInfo | None:
        return ANONYMOUS if anonymous_may_ask(request.get(INFO_KEY)) else None


def standard_authenticators(tokens: Sequence[Authenticator] = ()) -> list[Authenticator]:
    """kube-apiserver's order: client certificates, bearer tokens (each token authenticator
    answers None for a token that is not of its kind), anonymous."""
    return [X509ClientCerts(), *tokens, UnknownBearerToken(), AnonymousPublicInfo()]


async def authenticate(authenticators: list[Authenticator], request: web.Request) -> UserInfo:
    """The first authenticator that knows the user wins; none: 401."""
    for authenticator in authenticators:
        found = authenticator.authenticate(request)
        user = await found if inspect.isawaitable(found) else found
        if user is not None:
            return user
    raise unauthorized()
