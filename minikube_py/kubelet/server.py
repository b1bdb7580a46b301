"""The kubelet's HTTPS server: /healthz, /containerLogs/{namespace}/{pod}/{container} (the
contract the API server's pods/log proxy calls) and the streaming endpoints, each request
authenticated by its client certificate and authorized (kubelet/auth.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client.metrics_core import Metric

from minikube_py.kubelet.auth import (
    AllowUsers,
    KubeletAuthorizer,
    KubeletTokenAuthenticator,
    auth_middleware,
)
from minikube_py.kubelet.cri import CriClient, CriError
from minikube_py.kubelet.logs import (
    LogAssembler,
    LogOptions,
    parse_log_lines,
    render_lines,
    select_lines,
)
from minikube_py.kubelet.specs import CONTAINER_NAME_LABEL, POD_NAME_LABEL, POD_NAMESPACE_LABEL
from minikube_py.kubelet.stats import Samples
from minikube_py.kubelet.stats_endpoints import cadvisor_families, resource_families, summary
from minikube_py.kubelet.stats_sampler import StatsSampler
from minikube_py.kubelet.streaming import KubeletStreaming
from minikube_py.metrics import CONTENT_TYPE, ScrapeCollector, new_registry, render
from minikube_py.metrics.kubelet import KubeletMetrics
from minikube_py.pki.cluster import KeyPair
from minikube_py.pki.tls import server_context

log = logging.getLogger("minikube_py.kubelet.server")

FOLLOW_POLL_SECONDS = 0.1
FOLLOW_LIVENESS_POLLS = 10  # a follower checks the container still runs every this many polls


class LogNotFound(Exception):
    """No container (404)."""


class NoPreviousContainer(Exception):
    """`previous` asked for, and the container has not terminated once (400, as kube)."""


def _bool(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise web.HTTPBadRequest(text=f"invalid integer {value!r}\n") from None


def log_options(query: dict[str, str], now: float) -> LogOptions:
    since_seconds = _int(query.get("sinceSeconds"))
    return LogOptions(timestamps=_bool(query.get("timestamps")),
                      tail_lines=_int(query.get("tailLines")),
                      since_time=now - since_seconds if since_seconds is not None else None,
                      limit_bytes=_int(query.get("limitBytes")))


class KubeletServer:
    def __init__(self, cri_client: CriClient, *, node_name: str, host: str, port: int,
                 serving: KeyPair, client_ca: Path,
                 authorizer: KubeletAuthorizer | None = None,
                 tokens: KubeletTokenAuthenticator | None = None,
                 clock: Callable[[], float] = time.time,
                 metrics: KubeletMetrics | None = None,
                 stats: StatsSampler | None = None) -> None:
        self.cri = cri_client
        self.node_name = node_name
        self.clock = clock
        self.host = host
        self.port = port
        self.serving = serving
        self.client_ca = client_ca
        self.log_streams = 0  # log responses being streamed now
        self._stopping = False
        self._runner: web.AppRunner | None = None
        # Made before start, so that a serving certificate renewed later is loaded into the
        # context every new connection is made with (`reload_serving`).
        self.tls = server_context(serving, client_ca)
        stages: list[Any] = [auth_middleware(node_name, authorizer or AllowUsers(), tokens)]
        if metrics is not None:
            stages.insert(0, counted_requests(metrics))
        app = web.Application(middlewares=stages)
        app.on_shutdown.append(self._end_log_streams)
        app.router.add_get("/healthz", self._healthz)
        if metrics is not None:
            # the kubelet's own; /metrics/resource and /metrics/cadvisor are other paths
            app.router.add_get("/metrics", metrics_handler(metrics))
        if stats is not None:
            register_stats(app, node_name, stats)
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self._container_logs)
        KubeletStreaming(cri_client).register(app)
        self.app = app

    def reload_serving(self, pair: KeyPair) -> None:
        """A renewed serving certificate: connections from now on are served with it."""
        self.tls.load_cert_chain(str(pair.cert), str(pair.key))

    async def start(self) -> int:
        """Binds and returns the port actually listened on."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.tls)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _end_log_streams(self, app: web.Application) -> None:
        # Followers end on their next poll, so stopping does not wait out the shutdown
        # timeout for every `kubectl logs -f` still attached.
        self._stopping = True

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def locate_log(self, namespace: str, pod: str, container: str,
                         previous: bool) -> tuple[str, Path]:
        """(container id, log file) of the newest run of the container, or of the one before."""
        found = await self.cri.list_containers(labels={
            POD_NAMESPACE_LABEL: namespace, POD_NAME_LABEL: pod, CONTAINER_NAME_LABEL: container})
        found.sort(key=lambda c: c.created_at, reverse=True)
        if previous and len(found) < 2:
            raise NoPreviousContainer(f'previous terminated container "{container}" in pod '
                                      f'"{pod}" not found')
        if not found:
            raise LogNotFound(f'container "{container}" in pod "{pod}" (namespace "{namespace}") '
                              "not found")
        index = 1 if previous else 0
        cid = found[index].id
        status = await self.cri.container_status(cid)
        return cid, Path(status.log_path)

    async def _container_logs(self, request: web.Request) -> web.StreamResponse:
        ns, pod, name = (request.match_info[k] for k in ("namespace", "pod", "container"))
        opts = log_options(dict(request.query), self.clock())
        follow = _bool(request.query.get("follow"))
        try:
            cid, path = await self.locate_log(ns, pod, name, _bool(request.query.get("previous")))
        except NoPreviousContainer as e:
            raise web.HTTPBadRequest(text=f"{e}\n") from None
        except LogNotFound as e:
            raise web.HTTPNotFound(text=f"{e}\n") from None
        except CriError as e:
            raise web.HTTPInternalServerError(text=f"{e}\n") from None
        resp = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
        resp.enable_chunked_encoding()
        self.log_streams += 1
        try:
            await resp.prepare(request)
            await self._stream_log(resp, cid, path, opts, follow,
                                   lambda: self._stopping or _gone(request))
            await resp.write_eof()
        except ConnectionResetError:
            # The reader went away (kubectl logs -f stopped): normal, nothing to report.
            log.debug("log reader of %s/%s/%s left", ns, pod, name)
        finally:
            self.log_streams -= 1
        return resp

    async def _stream_log(self, resp: web.StreamResponse, cid: str, path: Path,
                          opts: LogOptions, follow: bool, gone: Callable[[], bool]) -> None:
        try:
            text, offset = await asyncio.to_thread(_read_from, path, 0)
        except FileNotFoundError:
            text, offset = "", 0
        complete, _, rest = text.rpartition("\n")
        raw_lines = complete.split("\n") if complete else []
        body = render_lines(select_lines(parse_log_lines(raw_lines), opts), opts)
        await resp.write(body)
        sent = len(body)
        if follow and (opts.limit_bytes is None or sent < opts.limit_bytes):
            await self._follow(resp, cid, path, offset - len(rest.encode()), opts, sent, gone)

    async def _follow(self, resp: web.StreamResponse, cid: str, path: Path, offset: int,
                      opts: LogOptions, sent: int, gone: Callable[[], bool]) -> None:
        """Poll the file for growth (containerd appends; there is no notification) until the
        container is gone or has exited and the file stopped growing, or the client left
        (seen on its connection, so a quiet container does not keep a follower forever)."""
        assembler = LogAssembler()
        pending = b""
        polls = 0
        alive = True
        while not gone():
            try:
                chunk, offset = await asyncio.to_thread(_read_bytes, path, offset)
            except FileNotFoundError:
                return
            pending += chunk
            *complete, pending = pending.split(b"\n")
            out = []
            for raw in complete:
                line = assembler.feed(raw.decode(errors="replace"))
                if line is not None:
                    out.append(line)
            if out:
                data = render_lines(out, LogOptions(timestamps=opts.timestamps))
                if opts.limit_bytes is not None:
                    data = data[: opts.limit_bytes - sent]
                await resp.write(data)
                sent += len(data)
                if opts.limit_bytes is not None and sent >= opts.limit_bytes:
                    return
            if not chunk and not alive:
                return
            polls += 1
            if polls % FOLLOW_LIVENESS_POLLS == 0:
                alive = await self._running(cid)
                continue  # read once more before ending so the last lines are not lost
            await asyncio.sleep(FOLLOW_POLL_SECONDS)

    async def _running(self, cid: str) -> bool:
        try:
            status = await self.cri.container_status(cid)
        except CriError:
            return False
        return bool(status.state in (0, 1))  # CONTAINER_CREATED, CONTAINER_RUNNING


_LONG_RUNNING_PATHS = frozenset(("exec", "attach", "portForward", "portforward"))
# The kubelet's metric buckets: a path's first segment if the kubelet serves it, a known
# method; anything else is "other" (a scanner's paths must not grow the label sets).
_METRIC_PATHS = frozenset(("healthz", "containerLogs", "metrics", "stats", "logs", "pods",
                           "run", "checkpoint", "configz", "debug", "runningpods",
                           *_LONG_RUNNING_PATHS))
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT"))


def counted_requests(metrics: KubeletMetrics) -> Callable[..., Any]:
    """Outermost: every request counted by method and first path segment, as the
    kubelet's kubelet_http_requests_total."""
    @web.middleware
    async def count(request: web.Request,
                    handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            response: web.StreamResponse = await handler(request)
            return response
        finally:
            path = request.path.lstrip("/").split("/", 1)[0]
            if path not in _METRIC_PATHS:
                path = "other"
            long_running = path in _LONG_RUNNING_PATHS or (
                path == "containerLogs" and _bool(request.query.get("follow")))
            method = request.method if request.method in METHODS else "other"
            metrics.http_request(method, path, long_running, time.perf_counter() - started)
    return count


def metrics_handler(metrics: KubeletMetrics) -> Callable[[web.Request], Any]:
    async def serve_metrics(request: web.Request) -> web.Response:
        return web.Response(body=render(metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE})
    return serve_metrics


def register_stats(app: web.Application, node_name: str, stats: StatsSampler) -> None:
    """/stats/summary, /metrics/resource and /metrics/cadvisor, from the sampler's latest
    tick (each metrics path a registry of its own, read at scrape time)."""
    async def serve_summary(request: web.Request) -> web.Response:
        return web.json_response(summary(node_name, stats.latest))

    app.router.add_get("/stats/summary", serve_summary)
    for path, families in (("/metrics/resource", resource_families),
                           ("/metrics/cadvisor", cadvisor_families)):
        registry = new_registry(process=False)
        registry.register(ScrapeCollector(_latest(families, stats)))
        app.router.add_get(path, _registry_handler(registry))


def _latest(families: Callable[[Samples | None], Iterable[Metric]],
            stats: StatsSampler) -> Callable[[], Iterable[Metric]]:
    """The families of the sampler's latest tick, whenever asked."""
    return lambda: families(stats.latest)


def _registry_handler(registry: Any) -> Callable[[web.Request], Any]:
    async def serve_registry(request: web.Request) -> web.Response:
        return web.Response(body=render(registry), headers={"Content-Type": CONTENT_TYPE})
    return serve_registry


def _gone(request: web.BaseRequest) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _read_from(path: Path, offset: int) -> tuple[str, int]:
    data, end = _read_bytes(path, offset)
    return data.decode(errors="replace"), end


def _read_bytes(path: Path, offset: int) -> tuple[bytes, int]:
    with path.open("rb") as f:
        f.seek(offset)
        data = f.read()
    return data, offset + len(data)
