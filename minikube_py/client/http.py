"""The ApiClient over HTTP: what a joined node's kubelet (and any remote component) uses."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import Resource
from minikube_py.client.interface import MERGE_PATCH, WatchEvent

# A request's answer may take this long to start coming (a LIST of everything, a slow
# store); then the connection counts as dead, so a server that vanished without a FIN (a
# host powered off, a dropped link) is noticed instead of awaited forever.
READ_TIMEOUT = 60.0
# A watch asked to end after N seconds that has not ended N + this later is dead too.
WATCH_GRACE = 30.0
# TCP keepalive on every connection: idle 30 s, then 3 probes 10 s apart.
KEEPALIVE = (30, 10, 3)


def _keepalive_socket(addr_info: tuple[Any, ...]) -> socket.socket:
    family, type_, proto = addr_info[0], addr_info[1], addr_info[2]
    sock = socket.socket(family, type_, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    idle, interval, count = KEEPALIVE
    for option, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", interval),
                          ("TCP_KEEPCNT", count)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
    return sock


class ApiUnreachable(ApiError):
    """The server did not answer at all (refused, reset, gone mid-answer). A 503 Status, so
    that every component retries it as it retries a server that is busy; `cause` is what
    the connection said, for a command that tells a person."""

    def __init__(self, base_url: str, cause: aiohttp.ClientError | TimeoutError) -> None:
        super().__init__(503, "ServiceUnavailable",
                         f"the API server at {base_url} did not answer: "
                         f"{type(cause).__name__}: {cause or 'timed out'}")
        self.cause = cause

    @property
    def certificate_refused(self) -> bool:
        """The server answered with a certificate the client does not trust: retrying
        will not help (a cluster made again has a new CA)."""
        return isinstance(self.cause, aiohttp.ClientConnectorCertificateError)


def resource_path(
    resource: Resource,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """/api/v1/namespaces/NS/pods/NAME/status and the like."""
    parts = ["/api/v1"] if not resource.group else [f"/apis/{resource.group}/{resource.version}"]
    if resource.namespaced and namespace:
        parts.append(f"namespaces/{quote(namespace, safe='')}")
    parts.append(resource.plural)
    if name:
        parts.append(quote(name, safe=""))
        if subresource:
            parts.append(subresource)
    return "/".join(parts)


def _namespace_of(resource: Resource, body: dict[str, Any], namespace: str | None) -> str | None:
    if not resource.namespaced:
        return None
    return namespace or (body.get("metadata") or {}).get("namespace") or "default"


class HttpClient:
    """Implements minikube_py.client.interface.ApiClient against a Kubernetes API URL.

    `tls` is how an https URL is reached: a context trusting the cluster CA, with a client
    certificate where that is the credential (minikube_py.pki.tls.client_context); `token`
    is a bearer token. Without `tls`, an https server is checked against the system's CAs."""

    def __init__(self, base_url: str, *, token: str | None = None,
                 tls: ssl.SSLContext | None = None,
                 session: aiohttp.ClientSession | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._tls = tls
        self._session = session
        self._owns_session = session is None

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            # One connector, kept alive: a TLS handshake per connection, not per request.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._tls or True,
                                               socket_factory=_keepalive_socket),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10)
            )
        return self._session

    async def _request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                       body: Any = None, content_type: str = "application/json") -> dict[str, Any]:
        headers = dict(self._headers)
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body).encode()
        try:
            async with self._http().request(
                    method, self._base + path, params=params or None, data=data,
                    headers=headers, timeout=aiohttp.ClientTimeout(
                        total=None, sock_connect=10, sock_read=READ_TIMEOUT)) as resp:
                payload = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as e:
            raise self._unreachable(e) from e
        try:
            decoded = json.loads(payload) if payload else {}
        except ValueError:
            decoded = None
        if status >= 400:
            if isinstance(decoded, dict) and decoded.get("kind") == "Status":
                raise ApiError.from_status(decoded)
            raise ApiError(status, "Unknown", payload.decode(errors="replace")[:500])
        if not isinstance(decoded, dict):
            raise ApiError(500, "InternalError", f"{method} {path}: answer is not JSON")
        return decoded

    def _unreachable(self, e: aiohttp.ClientError | TimeoutError) -> ApiUnreachable:
        return ApiUnreachable(self._base, e)

    async def create(self, resource: Resource, body: dict[str, Any], *,
                     namespace: str | None = None, name: str | None = None,
                     subresource: str | None = None) -> dict[str, Any]:
        ns = _namespace_of(resource, body, namespace)
        return await self._request("POST", resource_path(resource, ns, name, subresource),
                                   body=body)

    async def get(self, resource: Resource, name: str, *, namespace: str | None = None,
                  subresource: str | None = None) -> dict[str, Any]:
        return await self._request("GET", resource_path(resource, namespace, name, subresource))

    async def list(self, resource: Resource, *, namespace: str | None = None,
                   label_selector: str = "", field_selector: str = "", limit: int = 0,
                   continue_token: str = "", resource_version: str = "") -> dict[str, Any]:
        params = _query(labelSelector=label_selector, fieldSelector=field_selector,
                        limit=str(limit) if limit else "", resourceVersion=resource_version,
                        **{"continue": continue_token})
        return await self._request("GET", resource_path(resource, namespace), params=params)

    async def update(self, resource: Resource, body: dict[str, Any], *,
                     namespace: str | None = None,
                     subresource: str | None = None) -> dict[str, Any]:
        ns = _namespace_of(resource, body, namespace)
        name = body["metadata"]["name"]
        return await self._request("PUT", resource_path(resource, ns, name, subresource),
                                   body=body)

    async def patch(self, resource: Resource, name: str, patch: Any, *,
                    patch_type: str = MERGE_PATCH, namespace: str | None = None,
                    subresource: str | None = None) -> dict[str, Any]:
        return await self._request("PATCH", resource_path(resource, namespace, name, subresource),
                                   body=patch, content_type=patch_type)

    async def delete(self, resource: Resource, name: str, *, namespace: str | None = None,
                     grace_period_seconds: int | None = None,
                     propagation_policy: str | None = None,
                     preconditions: dict[str, Any] | None = None) -> dict[str, Any]:
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy is not None:
            options["propagationPolicy"] = propagation_policy
        if preconditions:
            options["preconditions"] = preconditions
        return await self._request("DELETE", resource_path(resource, namespace, name),
                                   body=options)

    async def watch(self, resource: Resource, *, namespace: str | None = None,
                    resource_version: str = "", label_selector: str = "",
                    field_selector: str = "", allow_bookmarks: bool = False,
                    timeout_seconds: int | None = None) -> AsyncIterator[WatchEvent]:
        params = _query(watch="true", resourceVersion=resource_version,
                        labelSelector=label_selector, fieldSelector=field_selector,
                        allowWatchBookmarks="true" if allow_bookmarks else "",
                        timeoutSeconds=str(timeout_seconds) if timeout_seconds else "")
        url = self._base + resource_path(resource, namespace)
        deadline = aiohttp.ClientTimeout(
            total=timeout_seconds + WATCH_GRACE if timeout_seconds else None, sock_connect=10)
        try:
            async for event in self._watch(url, params, deadline):
                yield event
        except (aiohttp.ClientError, TimeoutError) as e:
            raise self._unreachable(e) from e

    async def _watch(self, url: str, params: dict[str, str],
                     deadline: aiohttp.ClientTimeout) -> AsyncIterator[WatchEvent]:
        async with self._http().get(url, params=params, headers=self._headers,
                                    timeout=deadline) as resp:
            if resp.status >= 400:
                raw = await resp.read()
                try:
                    raise ApiError.from_status(json.loads(raw))
                except ValueError:
                    raise ApiError(resp.status, "Unknown", raw.decode(errors="replace")) from None
            # Split lines ourselves: aiohttp's readline caps a line at 128 KiB and a
            # watch event carries a whole object.
            pending = b""
            async for chunk in resp.content.iter_any():
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield _watch_event(line)
            if pending.strip():
                yield _watch_event(pending)


def _watch_event(line: bytes) -> WatchEvent:
    event = json.loads(line)
    if event.get("type") == "ERROR":
        raise ApiError.from_status(event.get("object") or {})
    return WatchEvent(event["type"], event["object"])


def _query(**params: str) -> dict[str, str]:
    return {k: v for k, v in params.items() if v}
