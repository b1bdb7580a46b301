"""A server that does not answer is a 503 Status to every caller of HttpClient (which all
retry 503), carrying what the connection said."""

from __future__ import annotations

import socket

import pytest

from minikube_py.api.resources import PODS
from minikube_py.client.http import ApiUnreachable, HttpClient


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


async def test_a_refused_connection_is_a_503_naming_the_server() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    client = HttpClient(url)
    try:
        with pytest.raises(ApiUnreachable) as e:
            await client.get(PODS, "p", namespace="default")
        assert (e.value.code, e.value.reason) == (503, "ServiceUnavailable")
        assert e.value.message.startswith(f"the API server at {url} did not answer: "
                                          "ClientConnectorError")
        with pytest.raises(ApiUnreachable):
            async for _ in client.watch(PODS, namespace="default"):
                pass
    finally:
        await client.close()
