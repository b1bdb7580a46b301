"""Who may call the kubelet's API (logs, exec, attach, port-forward, healthz), as the
kubelet's server filters it: a request must present a client certificate the cluster CA
issued (the TLS handshake refuses any other) or a bearer token the API server vouches for
(a TokenReview, as the kubelet's webhook authentication), else 401; then an authorizer
decides on the kubelet's request attributes (verb, and the `nodes` subresource the path
maps to), else 403.

The kubelet's webhook mode (`SubjectAccessReviews`): the API server's kubelet-client
identity may do everything; anyone else is asked of the API server with a
SubjectAccessReview of the request's verb on nodes/proxy, nodes/log, ... named after the
node, and the answer is cached for a while (allowed 5 minutes, denied 30 seconds, as
the kubelet's defaults). `AllowUsers` lets in only the users it names.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from minikube_py.api.credentials import bearer_token
from minikube_py.api.errors import ApiError
from minikube_py.api.expiring import ExpiringCache
from minikube_py.api.resources import SUBJECTACCESSREVIEWS, TOKENREVIEWS
from minikube_py.client.interface import ApiClient
from minikube_py.pki.cluster import KUBELET_CLIENT_USER
from minikube_py.pki.tls import CertIdentity, peer_identity

_VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
          "DELETE": "delete"}
# The kubelet's paths with a subresource of their own; every other path is nodes/proxy.
_SUBRESOURCES = (("/stats", "stats"), ("/metrics", "metrics"), ("/logs", "log"),
                 ("/checkpoint", "checkpoint"))


@dataclass(frozen=True, slots=True)
class KubeletRequest:
    """What a request to the kubelet asks, in the terms of an authorization check on the
    node object: `verb` on `nodes/<subresource>` named `node`."""

    user: CertIdentity
    verb: str
    node: str
    subresource: str
    path: str


def kubelet_request(user: CertIdentity, node: str, method: str, path: str) -> KubeletRequest:
    """The kubelet's GetRequestAttributes: the method's verb, the path's subresource."""
    verb = _VERBS.get(method.upper(), method.lower())
    subresource = next((sub for prefix, sub in _SUBRESOURCES
                        if path == prefix or path.startswith(prefix + "/")), "proxy")
    return KubeletRequest(user, verb, node, subresource, path)


class KubeletAuthorizer(Protocol):
    async def authorize(self, request: KubeletRequest) -> bool: ...


class AllowUsers:
    """Allows the named users everything (by default the API server's kubelet client)."""

    def __init__(self, users: Iterable[str] = (KUBELET_CLIENT_USER,)) -> None:
        self.users = frozenset(users)

    async def authorize(self, request: KubeletRequest) -> bool:
        return request.user.user in self.users


log = logging.getLogger("minikube_py.kubelet")
AUTHENTICATED = "system:authenticated"
# How long an answer stands (the kubelet's --authorization-webhook-cache-*-ttl defaults).
ALLOWED_TTL, DENIED_TTL = 300.0, 30.0
# Answers kept before the cache starts over (a bound on memory, not a tuning knob).
MAX_CACHED = 10_000


def access_review(request: KubeletRequest) -> dict[str, Any]:
    """The SubjectAccessReview the kubelet sends for a request."""
    groups = list(request.user.groups)
    if AUTHENTICATED not in groups:
        groups.append(AUTHENTICATED)
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": request.user.user, "groups": groups,
                     "resourceAttributes": {"verb": request.verb, "resource": "nodes",
                                            "subresource": request.subresource,
                                            "name": request.node}}}


CacheKey = tuple[str, tuple[str, ...], str, str]


class SubjectAccessReviews:
    """The kubelet's webhook authorizer: `trusted` users (the API server's kubelet client)
    in at once, everyone else as the API server's authorizers say."""

    def __init__(self, client: ApiClient, *, trusted: Iterable[str] = (KUBELET_CLIENT_USER,),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.trusted = frozenset(trusted)
        self.clock = clock
        self._cache: ExpiringCache[CacheKey, bool] = ExpiringCache(MAX_CACHED)

    async def authorize(self, request: KubeletRequest) -> bool:
        if request.user.user in self.trusted:
            return True
        key = (request.user.user, request.user.groups, request.verb, request.subresource)
        now = self.clock()
        cached = self._cache.get(key, now)
        if cached is not None:
            return cached
        try:
            review = await self.client.create(SUBJECTACCESSREVIEWS, access_review(request))
        except ApiError as e:
            # Not an answer: refuse this request, and ask again for the next.
            log.warning("kubelet: cannot ask the API server whether %s may %s nodes/%s: %s",
                        request.user.user, request.verb, request.subresource, e.message)
            return False
        allowed = bool((review.get("status") or {}).get("allowed"))
        self._cache.put(key, allowed, now + (ALLOWED_TTL if allowed else DENIED_TTL))
        return allowed


class KubeletTokenAuthenticator(Protocol):
    async def authenticate_token(self, token: str) -> CertIdentity | None: ...


# How long a token the API server vouched for stands (the kubelet's
# --authentication-token-webhook-cache-ttl default); refusals are asked again each time.
TOKEN_TTL = 120.0


class TokenReviews:
    """The kubelet's webhook authentication: a bearer token is who the API server's
    TokenReview says it is, remembered for TOKEN_TTL."""

    def __init__(self, client: ApiClient, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.clock = clock
        self._cache: ExpiringCache[bytes, CertIdentity] = ExpiringCache(MAX_CACHED)

    async def authenticate_token(self, token: str) -> CertIdentity | None:
        key = hashlib.sha256(token.encode()).digest()
        now = self.clock()
        cached = self._cache.get(key, now)
        if cached is not None:
            return cached
        try:
            review = await self.client.create(TOKENREVIEWS, {
                "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                "spec": {"token": token}})
        except ApiError as e:
            log.warning("kubelet: cannot ask the API server who sent a token: %s", e.message)
            return None
        status = review.get("status") or {}
        user = status.get("user") or {}
        if not status.get("authenticated") or not user.get("username"):
            return None
        identity = CertIdentity(str(user["username"]),
                                tuple(str(g) for g in user.get("groups") or ()))
        self._cache.put(key, identity, now + TOKEN_TTL)
        return identity


def forbidden_text(request: KubeletRequest) -> str:
    return (f"Forbidden (user={request.user.user}, verb={request.verb}, resource=nodes, "
            f"subresource={request.subresource})\n")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def auth_middleware(node: str, authorizer: KubeletAuthorizer,
                    tokens: KubeletTokenAuthenticator | None = None,
                    ) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def authenticate_and_authorize(request: web.Request,
                                         handler: Handler) -> web.StreamResponse:
        identity = peer_identity(request.transport)
        if identity is None:
            token = bearer_token(request.headers.get("Authorization"))
            if token is not None and tokens is not None:
                identity = await tokens.authenticate_token(token)
        if identity is None or not identity.user:
            raise web.HTTPUnauthorized(text="Unauthorized\n")
        attributes = kubelet_request(identity, node, request.method, request.path)
        if not await authorizer.authorize(attributes):
            raise web.HTTPForbidden(text=forbidden_text(attributes))
        return await handler(request)
    return authenticate_and_authorize
