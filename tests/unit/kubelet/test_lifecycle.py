"""Lifecycle hooks that need no container: httpGet against a local server, sleep, and the
handlers kube does not run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from minikube_py.kubelet.cri import CriClient
from minikube_py.kubelet.lifecycle import hook_handler, run_hook

POD = {"metadata": {"name": "web", "namespace": "shop", "uid": "u1"}}
CONTAINER: dict[str, Any] = {"name": "main", "ports": [{"name": "http", "containerPort": 0}]}
WHO = 'for Container "main" in Pod "web_shop(u1)"'


@pytest.fixture
async def server() -> AsyncIterator[tuple[int, list[web.Request]]]:
    seen: list[web.Request] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request)
        return web.Response(status=500, text="no")  # any answer counts as done

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield port, seen
    await runner.cleanup()


async def hook(handler: dict[str, Any], container: dict[str, Any] | None = None) -> str | None:
    # Exec hooks are not run here: no call reaches this CRI client.
    async with aiohttp.ClientSession() as session, CriClient("/nonexistent.sock") as cri:
        return await run_hook(handler, cri_client=cri, session=session, pod=POD,
                              container=container or CONTAINER, container_id="c1",
                              pod_ip="127.0.0.1", timeout=2)


async def test_an_http_hook_is_done_once_anything_answers(
        server: tuple[int, list[web.Request]]) -> None:
    port, seen = server
    assert await hook({"httpGet": {"path": "/shutdown", "port": port, "httpHeaders": [
        {"name": "X-Why", "value": "stop"}]}}) is None
    assert seen[0].path == "/shutdown" and seen[0].headers["X-Why"] == "stop"


async def test_an_http_hook_by_port_name(server: tuple[int, list[web.Request]]) -> None:
    port, seen = server
    container = {"name": "main", "ports": [{"name": "http", "containerPort": port}]}
    assert await hook({"httpGet": {"path": "/", "port": "http"}}, container) is None
    assert len(seen) == 1


async def test_an_http_hook_nobody_answers_fails_in_kubes_words() -> None:
    failure = await hook({"httpGet": {"path": "/x", "port": 1}})
    assert failure == (f'HTTP lifecycle hook (/x) {WHO} failed - error: Get '
                       '"http://127.0.0.1:1/x": dial tcp 127.0.0.1:1: connect: connection '
                       "refused")


async def test_an_http_hook_on_a_port_name_the_container_lacks() -> None:
    assert await hook({"httpGet": {"path": "/", "port": "admin"}}) == (
        f"HTTP lifecycle hook (/) {WHO} failed - error: port admin not found")


async def test_a_sleep_hook_succeeds() -> None:
    assert await hook({"sleep": {"seconds": 0}}) is None


async def test_a_tcp_socket_hook_is_not_run() -> None:
    assert await hook({"tcpSocket": {"port": 80}}) == (
        "Cannot run handler: invalid handler: tcpSocket")


def test_which_hook_a_container_has() -> None:
    container = {"lifecycle": {"preStop": {"sleep": {"seconds": 1}}}}
    assert hook_handler(container, "preStop") == {"sleep": {"seconds": 1}}
    assert hook_handler(container, "postStart") is None
