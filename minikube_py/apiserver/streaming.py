"""pods/exec, pods/attach and pods/portforward: check the pod, then splice the client's
upgraded connection through to the kubelet of the pod's node, byte for byte."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from aiohttp import web

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import NODES, PODS
from minikube_py.apiserver.logs import choose_container, kubelet_address
from minikube_py.streaming.request_head import is_upgrade_request
from minikube_py.streaming.splice import UpstreamUnreachable, splice_upgrade

if TYPE_CHECKING:
    from minikube_py.apiserver.service import ApiService

STREAM_ROUTE = "/api/v1/namespaces/{namespace}/pods/{name}/{sub:exec|attach|portforward}"
_VERBS = {"exec": "exec into", "attach": "attach to"}


def _flag(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "").lower() in ("true", "1")


def exec_query(query: Mapping[str, str], commands: list[str], sub: str) -> list[tuple[str, str]]:
    """PodExecOptions / PodAttachOptions as the kubelet's streaming endpoints spell them
    (input/output/error/tty), validated like kube-apiserver does."""
    stdin, stdout, stderr = (_flag(query, n) for n in ("stdin", "stdout", "stderr"))
    if not (stdin or stdout or stderr):
        raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
    if sub == "exec" and not commands:
        raise errors.bad_request("you must specify at least one command for the container")
    params = [("command", c) for c in commands] if sub == "exec" else []
    params += [(key, "1") for key, on in (("input", stdin), ("output", stdout),
                                          ("error", stderr), ("tty", _flag(query, "tty"))) if on]
    return params


def port_query(ports: list[str]) -> list[tuple[str, str]]:
    out = []
    for spec in ports:
        for port in filter(None, (p.strip() for p in spec.split(","))):
            if not port.isdigit() or not 0 < int(port) < 65536:
                raise errors.bad_request(f"invalid port {port!r}")
            out.append(("port", port))
    return out


def kubelet_target(sub: str, namespace: str, pod: str, container: str,
                   params: list[tuple[str, str]]) -> str:
    path = f"/{sub}/{quote(namespace, safe='')}/{quote(pod, safe='')}"
    if sub != "portforward":
        path += f"/{quote(container, safe='')}"
    return path + ("?" + urlencode(params) if params else "")


async def serve_pod_stream(request: web.Request, svc: ApiService) -> web.StreamResponse:
    namespace, name, sub = (request.match_info[k] for k in ("namespace", "name", "sub"))
    if not is_upgrade_request(request.headers):
        raise errors.bad_request("Upgrade request required")
    pod = await svc.get_object(PODS, name, namespace)
    phase = (pod.get("status") or {}).get("phase")
    if sub in _VERBS and phase in ("Succeeded", "Failed"):
        raise errors.bad_request(f"cannot {_VERBS[sub]} a container in a completed pod; "
                                 f"current phase is {phase}")
    container = ""
    if sub == "portforward":
        params = port_query(request.query.getall("ports", []))
    else:
        container = choose_container(pod, request.query.get("container"))
        params = exec_query(request.query, request.query.getall("command", []), sub)
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    host, port = kubelet_address(await svc.get_object(NODES, node_name, None))
    target = kubelet_target(sub, namespace, name, container, params)
    try:
        # The client's credentials stay here; the kubelet trusts the API server, not them.
        return await splice_upgrade(request, host, port, target, drop_headers=("authorization",),
                                    tls=svc.kubelet_tls)
    except UpstreamUnreachable as e:
        raise ApiError(500, "InternalError", f"error dialing backend: {e}") from None
