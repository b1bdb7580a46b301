"""The dashboard's web server: a loopback-only aiohttp app between one browser tab (or a few)
and the API server, like the `kubectl proxy` that `minikube dashboard` runs.

Why it is safe to carry the admin's credentials:
- it listens on 127.0.0.1 only, and answers only requests whose Host header is this
  address:port (or localhost:port), so a web page elsewhere cannot reach it by pointing
  its own DNS name at 127.0.0.1 (DNS rebinding);
- it is read-only: GET only, every other method is refused, and it proxies nothing but its
  own few reads (the rows of the tables, a pod's log), never an arbitrary API path; a GET
  changes nothing, so there is no cross-site request to forge (no CSRF surface), and with
  no CORS headers another origin cannot read what it answers;
- the credentials stay in this process: the browser gets rows (minikube_py.dashboard.rows)
  and log lines, never an object as the API stored it, nor a token or key.

Updates come from list+watch (one informer per kind) into a `Feed`, flushed once per turn
of the event loop into a `delta` Server-Sent Event for every open page. Node usage cannot
be watched (metrics.k8s.io has no watch), so it alone is read on a timer: every metrics
resolution."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import aiohttp
from aiohttp import web

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    DAEMONSETS,
    DEPLOYMENTS,
    ENDPOINTSLICES,
    EVENTS,
    NAMESPACES,
    NODEMETRICS,
    NODES,
    PODS,
    SERVICES,
    STATEFULSETS,
    Resource,
)
from minikube_py.client.informer import Informer
from minikube_py.client.interface import ApiClient
from minikube_py.dashboard.feed import Feed, sse_frame
from minikube_py.dashboard.page import render_page
from minikube_py.dashboard.rows import ROWS, go_duration_seconds, node_usage
from minikube_py.tasks import TaskSet

log = logging.getLogger("minikube_py.dashboard")

# Each table and the kinds it shows.
WATCHED: tuple[tuple[str, Resource], ...] = (
    ("nodes", NODES), ("namespaces", NAMESPACES), ("workloads", DEPLOYMENTS),
    ("workloads", STATEFULSETS), ("workloads", DAEMONSETS), ("pods", PODS),
    ("services", SERVICES), ("endpointslices", ENDPOINTSLICES), ("events", EVENTS),
)
# metrics-server's default --metric-resolution is 60 s; ours samples more often. The window
# of the samples, when they say it, is the resolution used.
DEFAULT_METRICS_RESOLUTION = 15.0
# Frames a page may fall behind by before it is dropped (its EventSource reconnects and
# starts over from a reset: cheaper than buffering without bound).
SUBSCRIBER_BACKLOG = 512
# A page waits this long for the first lists before it is sent what there is.
SYNC_WAIT = 10.0
LOG_TAIL_LINES = 200
# Objects per LIST page. The decoded page is the process's peak, and the rows kept from it
# pin the memory it took (CPython does not hand back partly used arenas): with 1,000 pods,
# pages of 500 left the process 23 MB bigger, pages of 50 about 6 MB.
LIST_PAGE_SIZE = 100
STATIC = ("dashboard.js", "dashboard.css")
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css"}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
SECURITY_HEADERS = {
    # Only our own script and style; no frames, no plugins, nothing from elsewhere.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; img-src 'self' data:; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Subscriber:
    """One open page's frames not yet written."""

    def __init__(self, limit: int) -> None:
        self._frames: deque[bytes] = deque()
        self._limit = limit
        self._wake = asyncio.Event()
        self.dropped = False

    def push(self, frame: bytes) -> None:
        if len(self._frames) >= self._limit:
            self.dropped = True
        else:
            self._frames.append(frame)
        self._wake.set()

    async def next(self) -> bytes | None:
        """The next frame; None once it fell too far behind."""
        while not self._frames and not self.dropped:
            self._wake.clear()
            await self._wake.wait()
        return None if self.dropped else self._frames.popleft()


@dataclass
class Hub:
    """The feed and the pages it is sent to."""

    feed: Feed
    backlog: int = SUBSCRIBER_BACKLOG
    subscribers: set[Subscriber] = field(default_factory=set)
    synced: list[asyncio.Event] = field(default_factory=list)
    _flush_scheduled: bool = False

    def changed(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        frame = self.feed.flush()
        if frame is not None:
            self.publish(frame)

    def publish(self, frame: bytes) -> None:
        for sub in list(self.subscribers):
            sub.push(frame)
            if sub.dropped:
                self.subscribers.discard(sub)

    def subscribe(self) -> tuple[Subscriber, bytes]:
        """A new page's subscription and its first frames (the reset, the metrics), taken
        together so no change falls between them."""
        sub = Subscriber(self.backlog)
        self.subscribers.add(sub)
        return sub, self.feed.reset_frame() + self.feed.metrics_frame()

    async def wait_synced(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in self.synced)), timeout)


def feed_informer(hub: Hub, client: ApiClient, resource: Resource, table: str) -> Informer:
    """An informer whose changes become the table's rows. It caches the rows alone (and
    the metadata it resumes by), not whole objects: 1,000 pods cost their rows."""
    to_row = ROWS[table]

    def kept(obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.get("metadata") or {}
        return {"metadata": {k: meta[k] for k in ("name", "namespace", "resourceVersion")
                             if k in meta}, "row": to_row(obj)}

    def upsert(obj: dict[str, Any]) -> None:
        if hub.feed.upsert(table, obj["row"]):
            hub.changed()

    def delete(obj: dict[str, Any]) -> None:
        if hub.feed.delete(table, obj["row"]["key"]):
            hub.changed()

    informer = Informer(client, resource, transform=kept, page_size=LIST_PAGE_SIZE)
    informer.add_handlers(on_add=upsert, on_update=lambda _, new: upsert(new),
                          on_delete=delete)
    hub.synced.append(informer.synced)
    return informer


async def follow_node_metrics(client: ApiClient, hub: Hub, *,
                              sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                              resolution: float = DEFAULT_METRICS_RESOLUTION) -> None:
    """Read NodeMetrics every resolution (the one timer: metrics cannot be watched); a 404
    or 503 (the metrics API not served, or not answering) is "metrics unavailable"."""
    while True:
        try:
            items = (await client.list(NODEMETRICS)).get("items") or []
            nodes = dict(node_usage(m) for m in items)
            window = next((s for m in items if (s := go_duration_seconds(m.get("window", "")))),
                          None)
            every = min(max(window or resolution, 1.0), 60.0)
            hub.publish(hub.feed.set_metrics({"available": True, "nodes": nodes,
                                              "resolution": every}))
        except ApiError as e:
            every = resolution
            reason = "the metrics API (metrics.k8s.io) is not served" if e.code == 404 \
                else f"{e.code} {e.reason}: {e.message}" if e.message else str(e)
            hub.publish(hub.feed.set_metrics({"available": False, "reason": reason,
                                              "resolution": every}))
        await sleep(every)


class Dashboard:
    """The aiohttp app; `allow_port` is set once the listening port is known."""

    def __init__(self, hub: Hub, *, api_server: str, cluster: str,
                 logs_session: Callable[[], aiohttp.ClientSession]) -> None:
        self.hub = hub
        self.api_server = api_server.rstrip("/")
        self.cluster = cluster
        self._logs_session = logs_session
        self.allowed_hosts: frozenset[str] = frozenset()
        self.static = {name: resources.files("minikube_py.dashboard").joinpath(
            "static", name).read_bytes() for name in STATIC}
        self.app = web.Application(middlewares=[self._guard])
        self.app.router.add_get("/", self.page, allow_head=False)
        self.app.router.add_get("/static/{name}", self.static_file, allow_head=False)
        self.app.router.add_get("/stream", self.stream, allow_head=False)
        self.app.router.add_get("/logs/{namespace}/{pod}", self.logs, allow_head=False)

    def allow_port(self, port: int) -> None:
        self.allowed_hosts = frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})

    @web.middleware
    async def _guard(self, request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                     ) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        if host.lower() not in self.allowed_hosts:
            return web.Response(status=403, text=f"refused: Host {host!r} is not this "
                                "dashboard's loopback address\n", headers=SECURITY_HEADERS)
        if request.method != "GET":
            return web.Response(status=405, text=f"{request.method} refused: the dashboard "
                                "is read-only\n", headers={**SECURITY_HEADERS, "Allow": "GET"})
        response = await handler(request)
        if not response.prepared:
            response.headers.update(SECURITY_HEADERS)
        return response

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(text=render_page(server=self.api_server, cluster=self.cluster),
                            content_type="text/html")

    async def static_file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.static:
            raise web.HTTPNotFound()
        return web.Response(body=self.static[name],
                            content_type=CONTENT_TYPES[name[name.rindex("."):]])

    async def _event_stream(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={**SECURITY_HEADERS,
                                           "Content-Type": "text/event-stream"})
        await resp.prepare(request)
        return resp

    async def stream(self, request: web.Request) -> web.StreamResponse:
        await self.hub.wait_synced(SYNC_WAIT)
        sub, first = self.hub.subscribe()
        try:
            resp = await self._event_stream(request)
            await resp.write(b"retry: 1000\n\n" + first)
            while (frame := await sub.next()) is not None:
                await resp.write(frame)
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass  # the page went away
        finally:
            self.hub.subscribers.discard(sub)
        return resp

    async def logs(self, request: web.Request) -> web.StreamResponse:
        """A pod's log, followed (pods/log?follow=true), as `log` frames of lines; `failure`
        when the API refuses, `end` when the log ends (the container stopped)."""
        ns, pod = request.match_info["namespace"], request.match_info["pod"]
        container = request.query.get("container", "")
        if not _DNS_LABEL.match(ns) or not _DNS_SUBDOMAIN.match(pod) or (
                container and not _DNS_LABEL.match(container)):
            raise web.HTTPBadRequest(text="namespace, pod or container is not a valid name\n")
        params = {"follow": "true", "tailLines": str(LOG_TAIL_LINES)}
        if container:
            params["container"] = container
        url = f"{self.api_server}/api/v1/namespaces/{ns}/pods/{pod}/log"
        resp = await self._event_stream(request)
        try:
            async with self._logs_session().get(
                    url, params=params, timeout=aiohttp.ClientTimeout(
                        total=None, sock_connect=10)) as upstream:
                if upstream.status >= 400:
                    await resp.write(sse_frame("failure", await _refusal(upstream)))
                    return resp
                pending = b""
                async for chunk in upstream.content.iter_any():
                    *lines, pending = (pending + chunk).split(b"\n")
                    if lines:
                        await resp.write(sse_frame("log", [
                            line.decode(errors="replace") for line in lines]))
                if pending:
                    await resp.write(sse_frame("log", [pending.decode(errors="replace")]))
                await resp.write(sse_frame("end", {}))
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass  # the page closed the log; the upstream stream closes with the block
        except (aiohttp.ClientError, TimeoutError) as e:
            with contextlib.suppress(ConnectionResetError, aiohttp.ClientConnectionResetError):
                await resp.write(sse_frame("failure", {"code": 503, "message": str(e)}))
        return resp


async def _refusal(upstream: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        status = await upstream.json(content_type=None)
        return {"code": upstream.status, "message": str(status.get("message", ""))}
    except ValueError:
        return {"code": upstream.status, "message": (await upstream.text())[:500]}


@dataclass
class DashboardServer:
    """The dashboard's parts, built from one client and its credentials, and run until
    cancelled. The listening port is known after `start`."""

    client: ApiClient
    api_server: str
    tls: ssl.SSLContext | None
    cluster: str = ""
    port: int = 0
    resolution: float = DEFAULT_METRICS_RESOLUTION
    tasks: TaskSet = field(default_factory=lambda: TaskSet("dashboard", logger=log))
    hub: Hub = field(default_factory=lambda: Hub(Feed(dict.fromkeys(t for t, _ in WATCHED))))
    _session: aiohttp.ClientSession | None = None
    _runner: web.AppRunner | None = None
    url: str = ""

    def _logs_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self.tls or True))
        return self._session

    async def start(self) -> str:
        """Listen on 127.0.0.1 and start the informers; returns the URL."""
        dashboard = Dashboard(self.hub, api_server=self.api_server, cluster=self.cluster,
                              logs_session=self._logs_session)
        # A page that goes away cancels its handler: its subscription ends, and a followed
        # log's stream from the API server closes, though nothing more is written to it.
        self._runner = web.AppRunner(dashboard.app, access_log=None, shutdown_timeout=1.0,
                                     handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        dashboard.allow_port(port)
        for table, resource in WATCHED:
            informer = feed_informer(self.hub, self.client, resource, table)
            self.tasks.spawn(f"informer {resource.plural}.{resource.group or 'core'}",
                             informer.run(), critical=True)
        self.tasks.spawn("node metrics", follow_node_metrics(
            self.client, self.hub, resolution=self.resolution), critical=True)
        self.url = f"http://127.0.0.1:{port}/"
        return self.url

    async def run(self) -> None:
        """Until a part fails (raises why) or the task is cancelled."""
        await self.tasks.wait_failure()

    async def close(self) -> None:
        await self.tasks.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
