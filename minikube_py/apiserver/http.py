"""The Kubernetes REST API over aiohttp: the handler chain and the non-resource paths.

Every request goes through the same stages, in this order (kube-apiserver's handler
chain): Status errors (nothing leaves as a traceback) -> request info (what it asks for,
from its method and path) -> authentication -> impersonation -> authorization -> the
handler. A resource
handler then decodes the body, and the API service runs admission, the kind's strategy,
validation and storage. Each stage answers with a Kubernetes Status when it refuses.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from minikube_py.api.errors import ApiError, internal
from minikube_py.apiserver.authn import (
    USER_KEY,
    AllowAll,
    Authenticator,
    UserInfo,
    authenticate,
)
from minikube_py.apiserver.discovery import VERSION_INFO, Discovery, api_versions
from minikube_py.apiserver.httpresource import ResourceRequest, serve_resource
from minikube_py.apiserver.impersonation import impersonate
from minikube_py.apiserver.inprocess import unavailable
from minikube_py.apiserver.openapi import content_hash
from minikube_py.apiserver.openapi_v2pb import CONTENT_TYPE as V2_PROTOBUF_CONTENT
from minikube_py.apiserver.openapi_v2pb import MEDIA_TYPE as V2_PROTOBUF
from minikube_py.apiserver.requestinfo import INFO_KEY, request_info
from minikube_py.apiserver.requestmetrics import (
    METRICS_KEY,
    METRICS_PATH,
    count_requests,
    is_long_running,
    serve_long_running,
    serve_metrics,
    watcher_counts,
)
from minikube_py.apiserver.service import ApiService
from minikube_py.apiserver.storage import dumps
from minikube_py.apiserver.streaming import STREAM_ROUTE, serve_pod_stream
from minikube_py.metrics.apiserver import ApiServerMetrics
from minikube_py.store.types import StoreError

log = logging.getLogger(__name__)

MAX_BODY = 3 * 1024 * 1024  # kube-apiserver's request body limit
# k3s's unauthenticated path of the cluster CA (its agents and `k3s token` hashes use it).
CA_CERTS_PATH = "/cacerts"
_DISCOVERY_PROFILE = "g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList"


@dataclass
class ApiServer:
    """What the handlers need: the service, and the stages' plugins."""

    service: ApiService
    authenticators: list[Authenticator] = field(default_factory=lambda: [AllowAll()])
    # The cluster CA certificate (PEM), served to anyone at CA_CERTS_PATH: a joining machine
    # fetches it before it trusts the server, and checks it against its token's hash.
    ca_pem: bytes | None = None
    discovery: Discovery = field(init=False)

    def __post_init__(self) -> None:
        self.discovery = Discovery(self.service.kinds)


SERVER_KEY = web.AppKey("server", ApiServer)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(body: Any, status: int = 200, content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> web.Response:
    resp = web.Response(body=dumps(body).encode(errors="replace"), status=status, headers=headers)
    resp.headers["Content-Type"] = content_type
    return resp


def status_response(err: ApiError) -> web.Response:
    # As kube's ErrorNegotiated: a suggested delay is also a Retry-After header, which
    # client-go honours by retrying after it.
    delay = err.details.get("retryAfterSeconds")
    headers = {"Retry-After": str(delay)} if delay else None
    return json_response(err.to_status(), err.code, headers=headers)


@web.middleware
async def status_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves as a Status object; a traceback never reaches the client."""
    try:
        return await handler(request)
    except ApiError as e:
        return status_response(e)
    except web.HTTPRequestEntityTooLarge:
        return status_response(ApiError(413, "RequestEntityTooLarge",
                                        f"Request entity too large: limit is {MAX_BODY}"))
    except web.HTTPException as e:
        return status_response(ApiError(e.status, e.reason.replace(" ", ""), e.text or e.reason))
    except (ConnectionResetError, TimeoutError) as e:
        raise web.HTTPServiceUnavailable() from e
    except StoreError as e:
        # The store cannot take requests (it failed, or is closing with serve): the
        # supervisor reports why and stops; the client is told to come back.
        log.warning("%s %s: the store refused: %s", request.method, request.path, e)
        return status_response(unavailable(e))
    except Exception:
        log.exception("internal error serving %s %s", request.method, request.path_qs)
        return status_response(internal("Internal error occurred: an unexpected error happened "
                                        "in the API server; see its log"))


@web.middleware
async def request_stages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request info, then authentication, impersonation and authorization, before any
    handler runs. A path that names nothing is 404 only for a client that authenticated:
    others learn nothing of what the server serves (401)."""
    server = request.app[SERVER_KEY]
    if request.path == CA_CERTS_PATH and server.ca_pem is not None and \
            request.method in ("GET", "HEAD"):
        # Public by design: it is what the client checks its token's CA hash against.
        return web.Response(body=server.ca_pem, content_type="text/plain")
    info = request_info(request.method, request.path, request.query, server.service.kinds)
    if info is not None:
        request[INFO_KEY] = info  # the anonymous authenticator reads it
    user = await authenticate(server.authenticators, request)
    user = impersonate(user, request.headers, server.service.decide)
    if info is None:
        raise not_found(request.path)
    server.service.authorize(user, info)
    request[USER_KEY] = user
    if METRICS_KEY in request.app and is_long_running(info):
        return await serve_long_running(request, info, handler)
    return await handler(request)


def request_user(request: web.Request) -> UserInfo:
    return request[USER_KEY]


def not_found(path: str) -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource",
                    {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not "
                                 f"found: {path}"}]})


def _accepts_discovery(request: web.Request) -> str | None:
    accept = request.headers.get("Accept", "")
    for v in ("v2", "v2beta1"):
        if f"g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList" in accept.replace(" ", ""):
            return v
    return None


def _discovery_response(request: web.Request, discovery: Discovery,
                        core: bool) -> web.Response | None:
    version = _accepts_discovery(request)
    if version is None:
        return None
    ctype = "application/json;" + _DISCOVERY_PROFILE.format(v=version)
    return json_response(discovery.aggregated(core, version), content_type=ctype)


def _health(request: web.Request, name: str) -> web.Response:
    if "verbose" in request.query:
        checks = ["ping", "log", "etcd", "poststarthook/start-apiserver-admission-initializer"]
        text = "".join(f"[+]{c} ok\n" for c in checks) + f"{name} check passed\n"
        return web.Response(text=text, content_type="text/plain")
    return web.Response(text="ok", content_type="text/plain")


async def dispatch(request: web.Request) -> web.StreamResponse:
    server = request.app[SERVER_KEY]
    info = request[INFO_KEY]
    if info.strategy is not None:
        req = ResourceRequest(request, server.service, info.strategy, info.namespace,
                              info.name, info.subresource, info.verb == "watch")
        return await serve_resource(req)
    if info.group_version is not None:
        group, version = info.group_version
        doc = server.discovery.api_resource_list(group, version)
        if doc is None:
            raise not_found(request.path)
        return json_response(doc)
    if info.path == METRICS_PATH and METRICS_KEY in request.app:
        return await serve_metrics(request, server.service.kv, server.service.kinds)
    return _non_resource(request, server.discovery, info.path)


def _non_resource(request: web.Request, discovery: Discovery, path: str) -> web.Response:
    parts = [p for p in path.split("/") if p]
    if path == "/version":
        return json_response(VERSION_INFO)
    if parts and parts[0] in ("healthz", "livez", "readyz"):
        return _health(request, parts[0])
    if path == "/api":
        return _discovery_response(request, discovery, core=True) or \
            json_response(api_versions(request.host or "127.0.0.1"))
    if path == "/apis":
        return _discovery_response(request, discovery, core=False) or \
            json_response(discovery.api_group_list())
    if parts[:1] == ["apis"] and len(parts) == 2:
        group = discovery.api_group(parts[1])
        if group is None:
            raise not_found(request.path)
        return json_response(group)
    if parts[:1] == ["openapi"]:
        return _openapi(request, discovery, parts)
    raise not_found(request.path)


def _openapi(request: web.Request, discovery: Discovery, parts: list[str]) -> web.Response:
    docs = discovery.openapi
    if parts[1:] == ["v2"]:
        media = _v2_media_type(request.headers.get("Accept", ""))
        if media is None:
            raise ApiError(406, "NotAcceptable", "only application/json and "
                                                 f"{V2_PROTOBUF} are served for /openapi/v2")
        if media == V2_PROTOBUF:
            return _cached(request, docs.v2_protobuf(), content_type=V2_PROTOBUF_CONTENT)
        return _cached(request, docs.v2_document())
    if parts[1:2] == ["v3"]:
        if len(parts) == 2:
            return json_response(docs.v3_root())
        gv = "/".join(parts[2:])
        spec = docs.v3_document(gv)
        if spec is not None:
            asked = request.query.get("hash")
            current = content_hash(spec)
            if asked is not None and asked != current:
                # As kube's handler: a stale hash is redirected to the current document.
                return web.Response(status=301, headers={
                    "Location": f"/openapi/v3/{gv}?hash={current}"})
            return _cached(request, spec, immutable=asked is not None)
    raise not_found("/" + "/".join(parts))


def _v2_media_type(accept: str) -> str | None:
    """JSON or protobuf, whichever the Accept header lists first; None for neither."""
    for item in accept.split(",") if accept.strip() else ["*/*"]:
        media = item.split(";", 1)[0].strip()
        if media in (V2_PROTOBUF, V2_PROTOBUF_CONTENT):
            return V2_PROTOBUF
        if media in ("application/json", "application/*", "*/*"):
            return "application/json"
    return None


def _cached(request: web.Request, body: bytes, *, immutable: bool = False,
            content_type: str = "application/json") -> web.Response:
    """A document with kube's caching headers: its hash as ETag (If-None-Match answers
    304), and a hash-addressed URL cacheable for ever."""
    etag = f'"{content_hash(body)}"'
    headers = {"ETag": etag, "Vary": "Accept"}
    headers["Cache-Control"] = "public, immutable" if immutable else "no-cache, private"
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers={**headers, "Content-Type": content_type})


async def _pod_stream(request: web.Request) -> web.StreamResponse:
    return await serve_pod_stream(request, request.app[SERVER_KEY].service)


def build_app(service: ApiService, *, authenticators: list[Authenticator] | None = None,
              ca_pem: bytes | None = None,
              extra_routes: Sequence[tuple[str, str, Handler]] = (),
              metrics: ApiServerMetrics | None = None) -> web.Application:
    """The API server's aiohttp application; where and how it listens is the caller's choice
    (`serve`: HTTPS, with `standard_authenticators()`; without authenticators, everyone is
    the cluster admin, for tests on loopback). `extra_routes` are (method, path, handler)
    of non-resource paths, authorized as any non-resource URL. Authorization is the service's (the same for
    HTTP and in-process clients). With `metrics`, every request is counted in them and
    /metrics shows their registry (for users allowed `get` on it: system:monitoring)."""
    server = ApiServer(service, ca_pem=ca_pem)
    if authenticators is not None:
        server.authenticators = authenticators
    stages: list[Any] = [status_errors, request_stages]
    if metrics is not None:
        stages.insert(0, count_requests)
    app = web.Application(client_max_size=MAX_BODY, middlewares=stages)
    app[SERVER_KEY] = server
    if metrics is not None:
        app[METRICS_KEY] = metrics
        metrics.count_watchers(lambda: watcher_counts(service.fanout, service.kinds))
    # exec/attach/portforward take over the connection, so they bypass the REST dispatcher.
    app.router.add_route("*", STREAM_ROUTE, _pod_stream)
    # Non-resource paths of our own (the member endpoints), behind the same stages.
    for method, path, handler in extra_routes:
        app.router.add_route(method, path, handler)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app
