"""Runs one probe handler against a container: exec through CRI ExecSync, httpGet, tcpSocket.
Each returns a ProbeOutcome; nothing here raises for an unhealthy container. Failure texts
are kube's (its prober is Go: `Get "URL": dial tcp IP:PORT: connect: connection refused`),
since users read them in events and search for them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import socket
from dataclasses import dataclass
from typing import Any

import aiohttp
import grpc
import yarl

from minikube_py.kubelet.cri import CriClient, CriError
from minikube_py.kubelet.probe_state import ProbeOutcome, ProbeResult, ProbeSpec

MAX_OUTPUT = 10 * 1024  # kube keeps at most 10 KiB of probe output
USER_AGENT = "kube-probe/1.32"


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    container_id: str
    container: dict[str, Any]  # the spec container (for named ports)
    pod_ip: str


def _failure(message: str) -> ProbeOutcome:
    return ProbeOutcome(ProbeResult.FAILURE, message[:MAX_OUTPUT])


def resolve_port(port: Any, container: dict[str, Any]) -> int | None:
    """A port number, a numeric string, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port if 0 < port < 65536 else None
    if isinstance(port, str):
        if port.isdigit():
            return resolve_port(int(port), container)
        for p in container.get("ports") or []:
            if p.get("name") == port and isinstance(p.get("containerPort"), int):
                return int(p["containerPort"])
    return None


def port_error(port: Any) -> str:
    """kube's words for a probe port it cannot use: a name no container port has, or a
    number out of range."""
    if isinstance(port, str) and not port.isdigit():
        return f"port {port} not found"
    return f"invalid port number: {port}"


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def go_quote(text: str) -> str:
    """Go's %q of a string, for the texts kube's messages quote."""
    return json.dumps(text, ensure_ascii=False)


def exec_timeout_message(command: list[str]) -> str:
    return f"command {go_quote(' '.join(command))} timed out"


def dial_error(host: str, port: int, error: OSError | None) -> str:
    """What Go's net.Dial says when a TCP connect fails; None for a timeout."""
    if error is None:
        return f"dial tcp {_host_port(host, port)}: i/o timeout"
    if isinstance(error, socket.gaierror):
        return f"dial tcp: lookup {host}: no such host"
    if error.errno:
        reason = os.strerror(error.errno)
        return f"dial tcp {_host_port(host, port)}: connect: {reason[:1].lower()}{reason[1:]}"
    return f"dial tcp {_host_port(host, port)}: {error}"


async def probe_exec(cri_client: CriClient, spec: ProbeSpec, target: ProbeTarget,
                     ) -> ProbeOutcome:
    command = list((spec.handler["exec"] or {}).get("command") or [])
    if not command:
        return _failure("exec probe has no command")
    try:
        resp = await cri_client.exec_sync(target.container_id, command,
                                          max(1, math.ceil(spec.timeout)))
    except CriError as e:
        if e.code == grpc.StatusCode.DEADLINE_EXCEEDED or "deadline exceeded" in e.details:
            return _failure(exec_timeout_message(command))
        return ProbeOutcome(ProbeResult.ERROR, e.details)
    output = (bytes(resp.stdout) + bytes(resp.stderr)).decode(errors="replace")
    if resp.exit_code == 0:
        return ProbeOutcome(ProbeResult.SUCCESS, output[:MAX_OUTPUT])
    return _failure(output)  # as kube: the command's output is the message, even when empty


async def probe_http(session: aiohttp.ClientSession, spec: ProbeSpec, target: ProbeTarget,
                     ) -> ProbeOutcome:
    action = spec.handler["httpGet"] or {}
    scheme = str(action.get("scheme") or "HTTP").upper()
    if scheme != "HTTP":
        return _failure(f"httpGet probe scheme {scheme} is not supported (HTTP only)")
    port = resolve_port(action.get("port"), target.container)
    if port is None:
        return _failure(port_error(action.get("port")))
    host = action.get("host") or target.pod_ip
    path = str(action.get("path") or "/")
    url = f"http://{_host_port(host, port)}{path if path.startswith('/') else '/' + path}"
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    for h in action.get("httpHeaders") or []:
        if h.get("name"):
            headers[str(h["name"])] = str(h.get("value", ""))
    try:
        # Redirects are not followed: a 3xx already counts as success.
        async with session.get(yarl.URL(url, encoded=True), headers=headers,
                               allow_redirects=False,
                               timeout=aiohttp.ClientTimeout(total=spec.timeout)) as resp:
            if 200 <= resp.status < 400:
                return ProbeOutcome(ProbeResult.SUCCESS)
            # Never the body (kube keeps it out of events: it may hold anything).
            return _failure(f"HTTP probe failed with statuscode: {resp.status}")
    except TimeoutError:
        return _failure(f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while '
                        "awaiting headers)")
    except aiohttp.ClientConnectorError as e:
        return _failure(f'Get "{url}": {dial_error(host, port, e.os_error)}')
    except aiohttp.ServerDisconnectedError:
        return _failure(f'Get "{url}": EOF')
    except OSError as e:
        return _failure(f'Get "{url}": {dial_error(host, port, e)}')
    except aiohttp.ClientError as e:
        return _failure(f'Get "{url}": {e}')


async def probe_tcp(spec: ProbeSpec, target: ProbeTarget) -> ProbeOutcome:
    action = spec.handler["tcpSocket"] or {}
    port = resolve_port(action.get("port"), target.container)
    if port is None:
        return _failure(port_error(action.get("port")))
    host = action.get("host") or target.pod_ip
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), spec.timeout)
    except TimeoutError:
        return _failure(dial_error(host, port, None))
    except OSError as e:
        return _failure(dial_error(host, port, e))
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeOutcome(ProbeResult.SUCCESS)


async def run_probe(spec: ProbeSpec, target: ProbeTarget, *, cri_client: CriClient,
                    session: aiohttp.ClientSession) -> ProbeOutcome:
    if "exec" in spec.handler:
        return await probe_exec(cri_client, spec, target)
    if "httpGet" in spec.handler:
        return await probe_http(session, spec, target)
    if "tcpSocket" in spec.handler:
        return await probe_tcp(spec, target)
    if "grpc" in spec.handler:
        return _failure("grpc probes are not supported by this kubelet")
    return _failure("probe has no handler (exec, httpGet, tcpSocket or grpc)")
