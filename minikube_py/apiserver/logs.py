"""pods/log: resolve pod, container and node, then stream the kubelet's containerLogs answer."""

from __future__ import annotations

import json
import logging
import ssl
from typing import TYPE_CHECKING, Any

import aiohttp

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import NODES, PODS

if TYPE_CHECKING:
    from minikube_py.apiserver.service import ApiService

log = logging.getLogger("minikube_py.apiserver.logs")

DEFAULT_KUBELET_PORT = 10250


def choose_container(pod: dict[str, Any], container: str | None) -> str:
    """The container a log request means: the named one, or the only one there is."""
    name = pod["metadata"]["name"]
    spec = pod.get("spec") or {}
    names = [c.get("name") for c in spec.get("containers") or []]
    init = [c.get("name") for c in spec.get("initContainers") or []]
    eph = [c.get("name") for c in spec.get("ephemeralContainers") or []]
    if container:
        if container in names or container in init or container in eph:
            return container
        raise errors.bad_request(f"container {container} is not valid for pod {name}")
    if len(names) == 1:
        return str(names[0])
    msg = f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
    if init:
        msg += f" or one of the init containers: [{' '.join(init)}]"
    raise errors.bad_request(msg)


def kubelet_address(node: dict[str, Any]) -> tuple[str, int]:
    status = node.get("status") or {}
    addrs = status.get("addresses") or []
    host = next((a["address"] for a in addrs if a.get("type") == "InternalIP"), None) or \
        next((a["address"] for a in addrs if a.get("type") == "Hostname"), None)
    if not host:
        raise errors.bad_request(f"node {node['metadata']['name']} has no InternalIP address")
    port = (((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
            or DEFAULT_KUBELET_PORT)
    return host, int(port)


def kubelet_base_url(host: str, port: int, tls: ssl.SSLContext | None) -> str:
    host = f"[{host}]" if ":" in host else host
    return f"{'https' if tls is not None else 'http'}://{host}:{port}"


def log_query(*, follow: bool, tail_lines: int | None, timestamps: bool,
              since_seconds: int | None, limit_bytes: int | None,
              previous: bool) -> dict[str, str]:
    q = {"follow": str(follow).lower(), "timestamps": str(timestamps).lower(),
         "previous": str(previous).lower()}
    if tail_lines is not None:
        q["tailLines"] = str(tail_lines)
    if since_seconds is not None:
        q["sinceSeconds"] = str(since_seconds)
    if limit_bytes is not None:
        q["limitBytes"] = str(limit_bytes)
    return q


async def open_kubelet_log(svc: ApiService, namespace: str, pod_name: str,
                           container: str | None, *, follow: bool, tail_lines: int | None,
                           timestamps: bool, since_seconds: int | None,
                           limit_bytes: int | None, previous: bool) -> KubeletLogStream:
    pod = await svc.get_object(PODS, pod_name, namespace)
    name = choose_container(pod, container)
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise errors.bad_request(f'container "{name}" in pod "{pod_name}" is waiting to start: '
                                 "ContainerCreating")
    node = await svc.get_object(NODES, node_name, None)
    host, port = kubelet_address(node)
    url = f"{kubelet_base_url(host, port, svc.kubelet_tls)}/containerLogs/{namespace}/" \
          f"{pod_name}/{name}"
    query = log_query(follow=follow, tail_lines=tail_lines, timestamps=timestamps,
                      since_seconds=since_seconds, limit_bytes=limit_bytes, previous=previous)
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=10))
    try:
        resp = await session.get(url, params=query, ssl=svc.kubelet_tls or True)
    except (aiohttp.ClientError, OSError) as e:
        await session.close()
        raise ApiError(500, "InternalError", f"Get \"{url}\": {e}") from None
    if resp.status != 200:
        text = await resp.text()
        resp.release()
        await session.close()
        raise kubelet_error(resp.status, text)
    return KubeletLogStream(session, resp)


def kubelet_error(code: int, body: str) -> ApiError:
    """The Status for a kubelet's refusal, as kube-apiserver's response checker makes it: a
    Status body is passed on; otherwise 400 is BadRequest, 404 NotFound, and anything else
    an InternalError, each with the kubelet's text as the message."""
    try:
        status = json.loads(body)
    except ValueError:
        status = None
    if isinstance(status, dict) and status.get("kind") == "Status":
        return ApiError.from_status(status)
    message = body.strip() or f"the kubelet answered {code}"
    if code == 400:
        return errors.bad_request(message)
    if code == 404:
        return ApiError(404, "NotFound", message)
    return ApiError(500, "InternalError", message)


class KubeletLogStream:
    """The kubelet's answer, chunk by chunk. aclose() always releases the response and the
    session, also when iteration never started (an unstarted generator's finally never runs)."""

    def __init__(self, session: aiohttp.ClientSession, resp: aiohttp.ClientResponse) -> None:
        self._session = session
        self._resp = resp
        self.closed = False

    def __aiter__(self) -> KubeletLogStream:
        return self

    async def __anext__(self) -> bytes:
        if self.closed:
            raise StopAsyncIteration
        try:
            chunk = await self._resp.content.readany()
        except (aiohttp.ClientError, ConnectionResetError) as e:
            # The kubelet's side broke mid-stream (it died, or the network between did): the
            # log simply ends here, as when the container exits.
            log.debug("kubelet log stream ended: %s", e)
            raise StopAsyncIteration from None
        if not chunk:
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._resp.release()
        await self._session.close()
