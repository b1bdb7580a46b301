"""The control socket of a running `serve` (DATA/control.sock): commands for whoever owns
the data dir (`minikube-py encryption rotate-key`), answered by the process that holds it.

Not the Kubernetes API: a Unix socket in the data dir, mode 0600, that also checks each
connection's peer (SO_PEERCRED) is root or serve's own user. Each command is one request
answered with one JSON object; a failed command answers {"error": message}.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

log = logging.getLogger(__name__)

SOCKET_NAME = "control.sock"
# A command; what it raises is answered as its error (the message, never a traceback).
Command = Callable[[], Awaitable[dict[str, Any]]]


class ControlError(Exception):
    """The command could not be run, or failed; the message says why."""


def control_socket(data_dir: Path) -> Path:
    return data_dir / SOCKET_NAME


class ControlServer:
    """Serves `commands` ("POST /encryption/rotate-key" -> command) on the socket."""

    def __init__(self, path: Path, commands: dict[str, Command],
                 expected_errors: tuple[type[Exception], ...] = (), *,
                 allowed_uids: Collection[int] | None = None) -> None:
        self.path = path
        # root and serve's own user (who own the data dir) by default
        self._allowed = (0, os.getuid()) if allowed_uids is None else tuple(allowed_uids)
        self._commands = commands
        self._expected = expected_errors
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._serve)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        self.path.unlink(missing_ok=True)  # a crashed serve's (the data dir lock is ours)
        try:
            await web.UnixSite(runner, str(self.path)).start()
            os.chmod(self.path, 0o600)
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self.path.unlink(missing_ok=True)

    async def _serve(self, request: web.Request) -> web.Response:
        uid = _peer_uid(request)
        if uid is None or uid not in self._allowed:
            return web.json_response({"error": "only root or serve's user may control it"},
                                     status=403)
        command = self._commands.get(f"{request.method} {request.path}")
        if command is None:
            return web.json_response({"error": f"no command {request.method} {request.path}"},
                                     status=404)
        try:
            return web.json_response(await command())
        except self._expected as e:
            return web.json_response({"error": str(e)}, status=500)
        except Exception:
            log.exception("control command %s %s failed", request.method, request.path)
            return web.json_response({"error": "the command failed unexpectedly; see serve's "
                                               "log"}, status=500)


def _peer_uid(request: web.Request) -> int | None:
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is None or sock.family != socket.AF_UNIX:
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


async def call(path: Path, method: str, route: str, *, timeout: float) -> dict[str, Any]:
    """Run a command on the serve listening on `path`; its answer, or ControlError."""
    try:
        async with aiohttp.ClientSession(
                connector=aiohttp.UnixConnector(path=str(path)),
                timeout=aiohttp.ClientTimeout(total=timeout)) as session, \
                session.request(method, f"http://serve{route}") as resp:
            body = await resp.json(content_type=None)
    except aiohttp.ClientConnectorError as e:
        if isinstance(e.os_error, FileNotFoundError):
            raise ControlError(f"no control socket at {path}") from e
        if isinstance(e.os_error, PermissionError):
            raise ControlError(f"not allowed to connect to {path}: only root or serve's user "
                               "may control it") from e
        raise ControlError(f"cannot connect to {path}: {e.os_error}") from e
    except (aiohttp.ClientError, TimeoutError, ValueError) as e:
        raise ControlError(f"serve did not answer on {path}: {e or type(e).__name__}") from e
    if not isinstance(body, dict):
        raise ControlError(f"serve answered on {path} with something other than an object")
    if resp.status != 200:
        raise ControlError(str(body.get("error", f"status {resp.status}")))
    return body
