"""The API server's /metrics: every HTTP request counted and timed under kube's labels
(verb, group, version, resource, subresource, scope, code), long-running requests and
watchers gauged, stored objects counted just before each scrape."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from multidict import MultiMapping

from minikube_py.apiserver.kinds.registry import KindRegistry
from minikube_py.apiserver.requestinfo import INFO_KEY, RequestInfo
from minikube_py.apiserver.watchcache import WatchFanout
from minikube_py.metrics import CONTENT_TYPE, render
from minikube_py.metrics.apiserver import ApiServerMetrics, RequestLabels
from minikube_py.store.types import KV, prefix_end

METRICS_PATH = "/metrics"
COMPONENT = "apiserver"
_VERBS = {"get": "GET", "list": "LIST", "watch": "WATCH", "create": "POST", "update": "PUT",
          "patch": "PATCH", "delete": "DELETE", "deletecollection": "DELETE"}
_CONNECT = frozenset(("exec", "attach", "portforward", "proxy"))
# kube's long-running requests: watches, and these subresources.
_LONG_RUNNING = frozenset(("exec", "attach", "portforward", "proxy", "log"))
APPLY_PATCH = "application/apply-patch+yaml"
_READS = frozenset(("GET", "HEAD"))
# Any other method is "other": a client's made-up methods must not grow the label sets.
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
METRICS_KEY = web.AppKey("metrics", ApiServerMetrics)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_labels(method: str, info: RequestInfo | None, query: MultiMapping[str],
                   content_type: str) -> RequestLabels:
    """kube's labels of a request (its CleanVerb, CleanScope): a resource request's verb in
    capitals (GET of one object, LIST, WATCH, POST, PUT, PATCH or APPLY, DELETE, CONNECT
    for exec/attach/portforward), its scope "resource" (one object, or a create),
    "namespace" or "cluster"; any other request has its method and empty labels."""
    if info is None or info.strategy is None:
        return (method if method in _METHODS else "other", "", "", "", "", "", "", COMPONENT)
    resource = info.strategy.resource
    sub = info.subresource or ""
    if sub in _CONNECT:
        verb = "CONNECT"
    elif info.verb == "patch" and content_type == APPLY_PATCH:
        verb = "APPLY"
    else:
        verb = _VERBS.get(info.verb, "other")
    if info.name is not None or info.verb == "create":
        scope = "resource"
    elif info.namespace is not None:
        scope = "namespace"
    else:
        scope = "cluster"
    dry_run = "All" if method not in _READS and "All" in query.getall("dryRun", ()) else ""
    return (verb, dry_run, resource.group, resource.version, resource.plural, sub, scope,
            COMPONENT)


def is_long_running(info: RequestInfo) -> bool:
    return info.verb == "watch" or (info.subresource or "") in _LONG_RUNNING


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: every request, refused or served, is counted with its answer's code."""
    started = time.perf_counter()
    code = 500
    try:
        response = await handler(request)
        code = response.status
        return response
    except web.HTTPException as e:
        code = e.status
        raise
    finally:
        method = request.method
        labels = request_labels(method, request.get(INFO_KEY), request.query,
                                request.content_type if method == "PATCH" else "")
        request.app[METRICS_KEY].observe(labels, code, time.perf_counter() - started)


async def serve_long_running(request: web.Request, info: RequestInfo,
                             handler: Handler) -> web.StreamResponse:
    """A watch or a connection (exec, attach, logs) counted in the long-running gauge
    while it lasts."""
    gauge = request.app[METRICS_KEY].long_running(
        request_labels(request.method, info, request.query, request.content_type))
    gauge.inc()
    try:
        return await handler(request)
    finally:
        gauge.dec()


async def serve_metrics(request: web.Request, kv: KV, kinds: KindRegistry) -> web.Response:
    metrics = request.app[METRICS_KEY]
    metrics.set_object_counts(await object_counts(kv, kinds))
    return web.Response(body=render(metrics.registry), headers={"Content-Type": CONTENT_TYPE})


async def object_counts(kv: KV, kinds: KindRegistry) -> dict[str, int]:
    """The objects stored of each served resource, by kube's resource label."""
    prefixes: dict[bytes, str] = {}
    for prefix, resource in kinds.storage_prefixes():
        prefixes.setdefault(prefix, str(resource))
    results = await asyncio.gather(*(kv.range(p, prefix_end(p), count_only=True)
                                     for p in prefixes))
    return {name: result.count for name, result in zip(prefixes.values(), results, strict=True)}


def watcher_counts(fanout: WatchFanout,
                   kinds: KindRegistry) -> Mapping[tuple[str, str, str], int]:
    """The watches the fan-out feeds now, by (group, version, kind) watched."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for prefix, n in fanout.watchers_by_prefix().items():
        resource = kinds.resource_of_key(prefix)
        if resource is not None:
            counts[(resource.group, resource.version, resource.kind)] += n
    return counts
