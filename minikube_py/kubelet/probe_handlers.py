"""Runs one probe handler against a container: exec through CRI ExecSync, httpGet, tcpSocket.
Each returns a ProbeOutcome; nothing here raises for an unhealthy container."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
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


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


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
            return _failure(f"command {command!r} timed out")
        return ProbeOutcome(ProbeResult.ERROR, e.details)
    output = (bytes(resp.stdout) + bytes(resp.stderr)).decode(errors="replace")
    if resp.exit_code == 0:
        return ProbeOutcome(ProbeResult.SUCCESS, output[:MAX_OUTPUT])
    # kube reports only the output; an empty one makes a useless event, so say what happened.
    return _failure(output.strip() or f"command {command!r} exited with {resp.exit_code}")


async def probe_http(session: aiohttp.ClientSession, spec: ProbeSpec, target: ProbeTarget,
                     ) -> ProbeOutcome:
    action = spec.handler["httpGet"] or {}
    scheme = str(action.get("scheme") or "HTTP").upper()
    if scheme != "HTTP":
        return _failure(f"httpGet probe scheme {scheme} is not supported (HTTP only)")
    port = resolve_port(action.get("port"), target.container)
    if port is None:
        return _failure(f"httpGet probe port {action.get('port')!r} not found in container")
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
            body = (await resp.content.read(MAX_OUTPUT)).decode(errors="replace")
            return _failure(f"HTTP probe failed with statuscode: {resp.status} {body}".strip())
    except TimeoutError:
        return _failure(f'Get "{url}": timed out after {spec.timeout:g}s')
    except (aiohttp.ClientError, OSError) as e:
        return _failure(f'Get "{url}": {e}')


async def probe_tcp(spec: ProbeSpec, target: ProbeTarget) -> ProbeOutcome:
    action = spec.handler["tcpSocket"] or {}
    port = resolve_port(action.get("port"), target.container)
    if port is None:
        return _failure(f"tcpSocket probe port {action.get('port')!r} not found in container")
    host = action.get("host") or target.pod_ip
    address = f"dial tcp {_host_port(host, port)}"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), spec.timeout)
    except TimeoutError:
        return _failure(f"{address}: i/o timeout")
    except OSError as e:
        # Go's wording ("connect: connection refused"), as a kube user expects it.
        reason = os.strerror(e.errno) if e.errno else str(e)
        return _failure(f"{address}: connect: {reason[:1].lower()}{reason[1:]}")
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
