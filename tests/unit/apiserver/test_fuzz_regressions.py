"""What the fuzz suite (tests/fuzz) found, one failing input per root cause, kept as
regression tests: each answer a 4xx Status (never a 500), and each accepted write stored in
a shape every later reader takes."""

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.service import ApiService

PODS = "/api/v1/namespaces/default/pods"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
JSON = "application/json"
YAML = "application/yaml"


@pytest.fixture
async def http(svc: ApiService) -> AsyncIterator[aiohttp.ClientSession]:
    srv = TestServer(build_app(svc), host="127.0.0.1")
    await srv.start_server()
    async with aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as session:
        yield session
    await srv.close()


async def send(http: aiohttp.ClientSession, method: str, path: str, body: str | bytes = b"",
               ctype: str = JSON) -> tuple[int, Any]:
    data = body.encode() if isinstance(body, str) else body
    async with http.request(method, path, data=data, headers={"Content-Type": ctype}) as resp:
        return resp.status, json.loads(await resp.text())


async def test_a_status_lists_details_before_code_as_kube_does(
        http: aiohttp.ClientSession) -> None:
    status, out = await send(http, "GET", f"{PODS}/missing")
    assert status == 404
    assert list(out) == ["kind", "apiVersion", "metadata", "status", "message", "reason",
                         "details", "code"]


@pytest.mark.parametrize("value", ["!!bool maybe", "!!bool ''", "!!bool yes"])
async def test_an_explicit_yaml_bool_tag_on_a_non_boolean_is_a_decode_error(
        http: aiohttp.ClientSession, value: str) -> None:
    body = f"metadata: {{name: b}}\nimmutable: {value}\n"
    status, out = await send(http, "POST", CONFIGMAPS, body, YAML)
    if value == "!!bool yes":
        assert status == 201, out
        assert out["immutable"] is True
    else:
        assert status == 400, out
        assert out["message"].startswith("error decoding request body: cannot decode")
