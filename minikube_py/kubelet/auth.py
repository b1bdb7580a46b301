"""Who may call the kubelet's API (logs, exec, attach, port-forward, healthz), as the
kubelet's server filters it: a request must present a client certificate the cluster CA
issued (the TLS handshake refuses any other), else 401; then an authorizer decides on the
kubelet's request attributes (verb, and the `nodes` subresource the path maps to), else 403.

Today's authorizer lets the API server's kubelet-client identity do everything and nobody
else. The kubelet's webhook mode (a SubjectAccessReview to the API server for every other
user, on nodes/proxy, nodes/log, ...) fits the `KubeletAuthorizer` protocol unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

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


def forbidden_text(request: KubeletRequest) -> str:
    return (f"Forbidden (user={request.user.user}, verb={request.verb}, resource=nodes, "
            f"subresource={request.subresource})\n")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def auth_middleware(node: str, authorizer: KubeletAuthorizer) -> Callable[..., Awaitable[
        web.StreamResponse]]:
    @web.middleware
    async def authenticate_and_authorize(request: web.Request,
                                         handler: Handler) -> web.StreamResponse:
        identity = peer_identity(request.transport)
        if identity is None or not identity.user:
            raise web.HTTPUnauthorized(text="Unauthorized\n")
        attributes = kubelet_request(identity, node, request.method, request.path)
        if not await authorizer.authorize(attributes):
            raise web.HTTPForbidden(text=forbidden_text(attributes))
        return await handler(request)
    return authenticate_and_authorize
