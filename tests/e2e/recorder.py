"""An HTTPS front for a cluster's API server that passes every request on and remembers
it, so a scenario can tell what a client sent: e.g. that `join` with a token naming another
CA sends no credentials. It serves with the API server's own certificate (a client that
checks the cluster CA cannot tell it from the API), and talks to the API anonymously."""

from __future__ import annotations

import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from minikube_py.pki.cluster import PkiLayout
from minikube_py.pki.tls import client_context

# Hop-by-hop headers, and those the relay sets itself.
_NOT_PASSED = {"host", "connection", "keep-alive", "transfer-encoding", "content-length",
               "accept-encoding", "upgrade", "proxy-connection", "te", "trailer"}


@dataclass(frozen=True, slots=True)
class Recorded:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def carries(self, secret: str) -> bool:
        """Whether `secret` is anywhere in the request: path, a header, the body."""
        return (secret in self.path or any(secret in v for _, v in self.headers)
                or secret.encode() in self.body)


class RecordingProxy:
    def __init__(self, host: str, upstream: str, pki: PkiLayout) -> None:
        self.upstream = upstream.rstrip("/")
        self.requests: list[Recorded] = []
        self._upstream_tls = client_context(pki.ca.cert)
        serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        serving.load_cert_chain(str(pki.api_server.cert), str(pki.api_server.key))
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self._server.daemon_threads = True
        self._server.socket = serving.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"https://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _relay(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = tuple((k, v) for k, v in handler.headers.items())
        self.requests.append(Recorded(handler.command, handler.path, headers, body))
        request = urllib.request.Request(
            self.upstream + handler.path, data=body or None, method=handler.command,
            headers={k: v for k, v in headers if k.lower() not in _NOT_PASSED})
        try:
            with urllib.request.urlopen(request, timeout=30,  # the cluster's own API
                                        context=self._upstream_tls) as resp:
                status, answer, reply = resp.status, resp.headers.items(), resp.read()
        except urllib.error.HTTPError as e:
            status, answer, reply = e.code, e.headers.items(), e.read()
        handler.send_response(status)
        for k, v in answer:
            if k.lower() not in _NOT_PASSED:
                handler.send_header(k, v)
        handler.send_header("Content-Length", str(len(reply)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(reply)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        relay = self._relay

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                relay(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@contextmanager
def recording_proxy(host: str, upstream: str, pki: PkiLayout) -> Iterator[RecordingProxy]:
    proxy = RecordingProxy(host, upstream, pki)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
