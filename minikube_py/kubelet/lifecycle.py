"""Container lifecycle hooks (postStart, preStop) as kube's handler runner runs them: exec in
the container, an HTTP GET, or a sleep. `run_hook` returns None when the hook succeeded, else
the message kube would give; it never raises for a failing hook."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from typing import Any

import aiohttp
import yarl

from minikube_py.kubelet.cri import CriClient, CriError
from minikube_py.kubelet.probe_handlers import dial_error, go_quote, port_error, resolve_port
from minikube_py.kubelet.security_context import pod_name_for_messages

HOOK_HANDLERS = ("exec", "httpGet", "sleep")
# postStart has no deadline in kube; a hook that hangs this long is abandoned.
POST_START_TIMEOUT = 300.0


def hook_handler(container: Mapping[str, Any], which: str) -> Mapping[str, Any] | None:
    return ((container.get("lifecycle") or {}).get(which)) or None


def _go_list(words: list[str]) -> str:
    return "[" + " ".join(words) + "]"


async def run_hook(handler: Mapping[str, Any], *, cri_client: CriClient,
                   session: aiohttp.ClientSession, pod: Mapping[str, Any],
                   container: Mapping[str, Any], container_id: str, pod_ip: str,
                   timeout: float) -> str | None:
    who = f'for Container "{container.get("name", "")}" in Pod "{pod_name_for_messages(pod)}"'
    if handler.get("exec"):
        return await _exec_hook(cri_client, list(handler["exec"].get("command") or []),
                                container_id, who, timeout)
    if handler.get("httpGet"):
        return await _http_hook(session, handler["httpGet"], container, pod_ip, who, timeout)
    if handler.get("sleep"):
        seconds = handler["sleep"].get("seconds") or 0
        await asyncio.sleep(min(float(seconds), max(0.0, timeout)))
        return None
    kinds = ", ".join(k for k in handler if handler.get(k)) or "(empty)"
    return f"Cannot run handler: invalid handler: {kinds}"


async def _exec_hook(cri_client: CriClient, command: list[str], container_id: str, who: str,
                     timeout: float) -> str | None:
    try:
        resp = await cri_client.exec_sync(container_id, command, max(1, math.ceil(timeout)))
    except CriError as e:
        return (f"Exec lifecycle hook ({_go_list(command)}) {who} failed - error: {e.details}, "
                'message: ""')
    if resp.exit_code == 0:
        return None
    output = (bytes(resp.stdout) + bytes(resp.stderr)).decode(errors="replace")
    return (f"Exec lifecycle hook ({_go_list(command)}) {who} failed - error: command "
            f"'{' '.join(command)}' exited with {resp.exit_code}: , message: {go_quote(output)}")


async def _http_hook(session: aiohttp.ClientSession, action: Mapping[str, Any],
                     container: Mapping[str, Any], pod_ip: str, who: str,
                     timeout: float) -> str | None:
    path = str(action.get("path") or "/")
    port = resolve_port(action.get("port"), dict(container))
    if port is None:
        return f"HTTP lifecycle hook ({path}) {who} failed - error: {port_error(action.get('port'))}"
    scheme = str(action.get("scheme") or "HTTP").lower()
    host = str(action.get("host") or pod_ip)
    hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    url = f"{scheme}://{hostport}{path if path.startswith('/') else '/' + path}"
    headers = {str(h["name"]): str(h.get("value", "")) for h in action.get("httpHeaders") or []
               if h.get("name")}
    try:
        # Any answer will do: kube's hook fails only when no response comes back.
        async with session.get(yarl.URL(url, encoded=True), headers=headers, ssl=False,
                               timeout=aiohttp.ClientTimeout(total=max(1.0, timeout))):
            return None
    except TimeoutError:
        error = f'Get "{url}": context deadline exceeded'
    except aiohttp.ClientConnectorError as e:
        error = f'Get "{url}": {dial_error(host, port, e.os_error)}'
    except (aiohttp.ClientError, OSError) as e:
        error = f'Get "{url}": {e}'
    return f"HTTP lifecycle hook ({path}) {who} failed - error: {error}"
