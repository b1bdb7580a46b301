"""One JSON request to a member's API over TLS (the join's, the members commands', and a
leader's forwarding of its own removal)."""

from __future__ import annotations

import json
import ssl
from typing import Any

import aiohttp

from minikube_py.nodebootstrap import JoinRefused

REQUEST_TIMEOUT = 30.0


class ApiRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def request_tls(server: str, method: str, path: str, tls: ssl.SSLContext, *,
                       token: str | None = None,
                       body: dict[str, Any] | None = None) -> dict[str, Any]:
    """One JSON request to a member's API: its answer, ApiRefused for an error status,
    JoinRefused when it cannot be reached."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(ssl=tls)) as session, \
                session.request(method, server.rstrip("/") + path, headers=headers,
                                json=body) as resp:
            text = await resp.text()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as e:
        raise JoinRefused(f"cannot reach {server}: {type(e).__name__}: "
                          f"{e or 'timed out'}") from None
    try:
        answer = json.loads(text)
    except ValueError:
        answer = {"message": text.strip()}
    if status >= 300:
        raise ApiRefused(status, str(answer.get("message", text.strip())))
    return answer if isinstance(answer, dict) else {}
