"""The Kubernetes REST API over aiohttp: routing, content negotiation, Status errors."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from minikube_py.api.errors import ApiError, internal
from minikube_py.api.resources import Resource, find_resource
from minikube_py.apiserver import discovery
from minikube_py.apiserver.httpresource import ResourceRequest, serve_resource
from minikube_py.apiserver.service import ApiService
from minikube_py.apiserver.storage import dumps
from minikube_py.apiserver.streaming import STREAM_ROUTE, serve_pod_stream

log = logging.getLogger(__name__)

MAX_BODY = 3 * 1024 * 1024  # kube-apiserver's request body limit
SERVICE_KEY = web.AppKey("service", ApiService)
_DISCOVERY_PROFILE = "g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList"


def json_response(body: Any, status: int = 200, content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> web.Response:
    resp = web.Response(body=dumps(body).encode(), status=status, headers=headers)
    resp.headers["Content-Type"] = content_type
    return resp


def status_response(err: ApiError) -> web.Response:
    return json_response(err.to_status(), err.code)


@web.middleware
async def status_errors(request: web.Request,
                        handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                        ) -> web.StreamResponse:
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
    except Exception:
        log.exception("internal error serving %s %s", request.method, request.path_qs)
        return status_response(internal("Internal error occurred: an unexpected error happened "
                                        "in the API server; see its log"))


def _accepts_discovery(request: web.Request) -> str | None:
    accept = request.headers.get("Accept", "")
    for v in ("v2", "v2beta1"):
        if f"g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList" in accept.replace(" ", ""):
            return v
    return None


def _discovery_response(request: web.Request, core: bool) -> web.Response | None:
    version = _accepts_discovery(request)
    if version is None:
        return None
    ctype = "application/json;" + _DISCOVERY_PROFILE.format(v=version)
    return json_response(discovery.aggregated_discovery(core, version), content_type=ctype)


def _health(request: web.Request, name: str) -> web.Response:
    if "verbose" in request.query:
        checks = ["ping", "log", "etcd", "poststarthook/start-apiserver-admission-initializer"]
        text = "".join(f"[+]{c} ok\n" for c in checks) + f"{name} check passed\n"
        return web.Response(text=text, content_type="text/plain")
    return web.Response(text="ok", content_type="text/plain")


def _not_found(path: str) -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource",
                    {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not "
                                 f"found: {path}"}]})


async def dispatch(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICE_KEY]
    path = request.path.rstrip("/") or "/"
    parts = [p for p in path.split("/") if p]
    if path == "/version":
        return json_response(discovery.VERSION_INFO)
    if parts and parts[0] in ("healthz", "livez", "readyz"):
        return _health(request, parts[0])
    if path == "/api":
        disc = _discovery_response(request, core=True)
        host = request.host or "127.0.0.1"
        return disc or json_response(discovery.api_versions(host))
    if path == "/apis":
        return _discovery_response(request, core=False) or \
            json_response(discovery.api_group_list())
    if parts[:1] == ["openapi"]:
        return _openapi(parts)
    if parts[:1] == ["api"] and len(parts) >= 2:
        return await _serve_group(request, svc, "", parts[1], parts[2:])
    if parts[:1] == ["apis"] and len(parts) >= 2:
        if len(parts) == 2:
            group = discovery.api_group(parts[1])
            if group is None:
                raise _not_found(request.path)
            return json_response(group)
        return await _serve_group(request, svc, parts[1], parts[2], parts[3:])
    raise _not_found(request.path)


def _openapi(parts: list[str]) -> web.Response:
    if parts[1:2] == ["v3"]:
        if len(parts) == 2:
            return json_response(discovery.openapi_v3_root())
        spec = discovery.openapi_v3_spec("/".join(parts[2:]))
        if spec is not None:
            return web.Response(body=spec, content_type="application/json")
    # No OpenAPI v2 document: kubectl then falls back to its compiled-in types.
    raise _not_found("/" + "/".join(parts))


def _namespaced_plural(group: str, version: str, plural: str) -> Resource | None:
    r = find_resource(group, version, plural)
    return r if r is not None and r.namespaced else None


async def _serve_group(request: web.Request, svc: ApiService, group: str, version: str,
                       rest: list[str]) -> web.StreamResponse:
    if not rest:
        doc = discovery.api_resource_list(group, version)
        if doc is None:
            raise _not_found(request.path)
        return json_response(doc)
    watch = False
    if rest[0] == "watch":
        watch, rest = True, rest[1:]
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces" and \
            _namespaced_plural(group, version, rest[2]) is not None:
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise _not_found(request.path)
    resource = find_resource(group, version, rest[0])
    if resource is None or (namespace is not None and not resource.namespaced):
        raise _not_found(request.path)
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub is not None and sub not in resource.subresources:
        raise _not_found(request.path)
    if resource.namespaced and namespace is None and name is not None:
        raise _not_found(request.path)
    req = ResourceRequest(request, svc, resource, namespace, name, sub, watch)
    return await serve_resource(req)


async def _pod_stream(request: web.Request) -> web.StreamResponse:
    return await serve_pod_stream(request, request.app[SERVICE_KEY])


def build_app(service: ApiService) -> web.Application:
    """The API server's aiohttp application; where and how it listens is the caller's choice."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[status_errors])
    app[SERVICE_KEY] = service
    # exec/attach/portforward take over the connection, so they bypass the REST dispatcher.
    app.router.add_route("*", STREAM_ROUTE, _pod_stream)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app
