"""The kubelet's streaming endpoints (/exec, /attach, /portforward): ask CRI for a URL on the
runtime's streaming server and splice the upgraded connection there, as the kubelet does
since container-stream redirects were removed; what the runtime cannot speak (v5 WebSocket
exec, tunnelled port-forward) is translated to its SPDY here.

The translation lives in the kubelet, not the API server as in kube (StreamTranslator there
speaks SPDY to kubelets): the kubelet is what knows the runtime's streaming server is
containerd 1.6, it reaches it over plain loopback, and the API server then stays one byte
splice for every protocol and every node, joined ones included."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web
from cri_api.v1 import api_pb2 as cri

from minikube_py.kubelet.cri import CriClient, CriError
from minikube_py.kubelet.specs import CONTAINER_NAME_LABEL, POD_NAME_LABEL, POD_NAMESPACE_LABEL
from minikube_py.streaming.channels import V5_PROTOCOL, ExecStreams, offered_protocols
from minikube_py.streaming.request_head import is_upgrade_request
from minikube_py.streaming.splice import ActiveSplices, UpstreamUnreachable, splice_upgrade
from minikube_py.streaming.websocket_bridge import (
    PORT_FORWARD_TUNNEL_PROTOCOL,
    UpstreamRefused,
    bridge_exec,
    tunnel_port_forward,
)

_UrlGetter = Callable[[], Awaitable[str]]


# The websocket subprotocols containerd 1.6's streaming server accepts ("" = none asked
# for). It predates v5.channel.k8s.io and SPDY-over-websocket tunnelling, and on a protocol
# it does not know it answers 403 but leaks the handler goroutines, so such requests are
# translated to its SPDY when this kubelet can (TRANSLATED_PROTOCOLS), and refused here,
# before any CRI call, when not: a client then falls back to SPDY.
RUNTIME_WEBSOCKET_PROTOCOLS = {
    "exec": frozenset({"", "channel.k8s.io", "base64.channel.k8s.io", "v4.channel.k8s.io",
                       "v4.base64.channel.k8s.io"}),
    "portforward": frozenset({"", "v4.channel.k8s.io", "v4.base64.channel.k8s.io"}),
}
RUNTIME_WEBSOCKET_PROTOCOLS["attach"] = RUNTIME_WEBSOCKET_PROTOCOLS["exec"]
# The newer protocols, which this kubelet speaks to clients and turns into SPDY to the runtime.
TRANSLATED_PROTOCOLS = {"exec": V5_PROTOCOL, "attach": V5_PROTOCOL,
                        "portforward": PORT_FORWARD_TUNNEL_PROTOCOL}


def is_websocket(headers: Mapping[str, str]) -> bool:
    return headers.get("Upgrade", "").strip().lower() == "websocket"


def runtime_accepts(kind: str, headers: Mapping[str, str]) -> bool:
    """Whether the runtime's streaming server can take this upgrade (SPDY always can)."""
    if not is_websocket(headers):
        return True
    offered = offered_protocols(headers.get("Sec-WebSocket-Protocol", ""))
    return any(p in RUNTIME_WEBSOCKET_PROTOCOLS[kind] for p in offered) or not offered


def needs_translation(kind: str, headers: Mapping[str, str]) -> bool:
    """A WebSocket upgrade offering the protocol this kubelet translates: the newest the
    client can have, so it is chosen over any older one also offered."""
    return is_websocket(headers) and TRANSLATED_PROTOCOLS[kind] in offered_protocols(
        headers.get("Sec-WebSocket-Protocol", ""))


class StreamTargetNotFound(Exception):
    """No running container (or ready sandbox) to stream to."""


@dataclass(frozen=True)
class StreamOptions:
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool
    command: tuple[str, ...] = ()

    def streams(self) -> ExecStreams:
        return ExecStreams(stdin=self.stdin, stdout=self.stdout, stderr=self.stderr,
                           tty=self.tty)


def stream_options(query: Mapping[str, str], command: list[str]) -> StreamOptions:
    """The API server's input/output/error/tty parameters. With a tty, stderr is merged into
    stdout by the runtime, so it is not asked for separately (as in the kubelet)."""
    def flag(name: str) -> bool:
        return query.get(name, "").lower() in ("1", "true")
    tty = flag("tty")
    return StreamOptions(stdin=flag("input"), stdout=flag("output"),
                         stderr=flag("error") and not tty, tty=tty, command=tuple(command))


def parse_ports(values: list[str]) -> list[int]:
    ports = []
    for value in values:
        for part in filter(None, (p.strip() for p in value.split(","))):
            if not part.isdigit() or not 0 < int(part) < 65536:
                raise web.HTTPBadRequest(text=f"invalid port {part!r}\n")
            ports.append(int(part))
    return ports


class KubeletStreaming:
    """Registers the streaming routes on the kubelet's aiohttp application."""

    def __init__(self, cri_client: CriClient) -> None:
        self.cri = cri_client
        self.active = ActiveSplices()

    def register(self, app: web.Application) -> None:
        app.on_shutdown.append(self._end_streams)
        app.router.add_route("*", "/exec/{namespace}/{pod}/{container}", self._exec)
        app.router.add_route("*", "/attach/{namespace}/{pod}/{container}", self._attach)
        app.router.add_route("*", "/portforward/{namespace}/{pod}", self._port_forward)

    async def running_container(self, namespace: str, pod: str, container: str) -> str:
        found = await self.cri.list_containers(labels={
            POD_NAMESPACE_LABEL: namespace, POD_NAME_LABEL: pod, CONTAINER_NAME_LABEL: container})
        running = [c for c in found if c.state == cri.CONTAINER_RUNNING]
        if not running:
            raise StreamTargetNotFound(f'container not found ("{container}")')
        return str(max(running, key=lambda c: c.created_at).id)

    async def ready_sandbox(self, namespace: str, pod: str) -> str:
        found = await self.cri.list_pod_sandboxes(
            labels={POD_NAMESPACE_LABEL: namespace, POD_NAME_LABEL: pod},
            state=cri.SANDBOX_READY)
        if not found:
            raise StreamTargetNotFound(f'pod "{pod}" (namespace "{namespace}") not found')
        return str(max(found, key=lambda s: s.created_at).id)

    async def _exec(self, request: web.Request) -> web.StreamResponse:
        opts = stream_options(request.query, request.query.getall("command", []))

        async def url() -> str:
            cid = await self.running_container(*self._container_ref(request))
            if not opts.command:
                raise web.HTTPBadRequest(text="missing command\n")
            return await self.cri.exec_url(cid, list(opts.command), stdin=opts.stdin,
                                           stdout=opts.stdout, stderr=opts.stderr, tty=opts.tty)
        return await self._splice_to_runtime(request, "exec", url, opts.streams())

    async def _attach(self, request: web.Request) -> web.StreamResponse:
        opts = stream_options(request.query, [])

        async def url() -> str:
            cid = await self.running_container(*self._container_ref(request))
            return await self.cri.attach_url(cid, stdin=opts.stdin, stdout=opts.stdout,
                                             stderr=opts.stderr, tty=opts.tty)
        return await self._splice_to_runtime(request, "attach", url, opts.streams())

    async def _port_forward(self, request: web.Request) -> web.StreamResponse:
        async def url() -> str:
            sandbox = await self.ready_sandbox(request.match_info["namespace"],
                                               request.match_info["pod"])
            ports = parse_ports(request.query.getall("port", []))
            return await self.cri.port_forward_url(sandbox, ports)
        return await self._splice_to_runtime(request, "portforward", url, None)

    async def _end_streams(self, app: web.Application) -> None:
        self.active.close_all()

    @staticmethod
    def _container_ref(request: web.Request) -> tuple[str, str, str]:
        m = request.match_info
        return m["namespace"], m["pod"], m["container"]

    async def _splice_to_runtime(self, request: web.Request, kind: str, get_url: _UrlGetter,
                                 streams: ExecStreams | None) -> web.StreamResponse:
        if not is_upgrade_request(request.headers):
            raise web.HTTPBadRequest(text="Upgrade request required\n")
        translate = needs_translation(kind, request.headers)
        if not translate and not runtime_accepts(kind, request.headers):
            offered = request.headers.get("Sec-WebSocket-Protocol", "")
            raise web.HTTPBadRequest(text=f"websocket protocol(s) {offered} not supported by "
                                          "the container runtime; use SPDY/3.1\n")
        try:
            url = urlsplit(await get_url())
        except StreamTargetNotFound as e:
            raise web.HTTPNotFound(text=f"{e}\n") from None
        except CriError as e:
            status = web.HTTPNotFound if e.not_found else web.HTTPInternalServerError
            raise status(text=f"{e.details or e}\n") from None
        if url.hostname is None or url.port is None:
            raise web.HTTPInternalServerError(text=f"runtime returned a bad stream URL {url}\n")
        target = url.path + (f"?{url.query}" if url.query else "")
        try:
            if not translate:
                return await splice_upgrade(request, url.hostname, url.port, target,
                                            active=self.active)
            if streams is None:
                return await tunnel_port_forward(request, url.hostname, url.port, target,
                                                 active=self.active)
            return await bridge_exec(request, url.hostname, url.port, target, streams,
                                     active=self.active)
        except UpstreamRefused as e:
            return web.Response(status=e.status, text=e.body)
        except UpstreamUnreachable as e:
            raise web.HTTPInternalServerError(text=f"{e}\n") from None

