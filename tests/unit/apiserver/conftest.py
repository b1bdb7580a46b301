"""Fixtures: an ApiService with a controllable clock, on an in-memory store or (modules
marked both_stores) on a real etcd too."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.service import ApiService
from minikube_py.store.types import KV


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def svc(clock: FakeClock, store: KV) -> AsyncIterator[ApiService]:
    """The service on `store` (tests/conftest.py: in memory, or on etcd too)."""
    service = ApiService(store, clock=clock, bookmark_interval=0.05)
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
async def server(svc: ApiService) -> AsyncIterator[TestServer]:
    """The HTTP app on a loopback port, for the real kubectl and client libraries."""
    srv = TestServer(build_app(svc), host="127.0.0.1")
    await srv.start_server()
    yield srv
    await srv.close()


@pytest.fixture
def kubeconfig(server: TestServer, tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "t", "cluster": {"server": f"http://127.0.0.1:{server.port}"}}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "u",
                                               "namespace": "default"}}],
        "users": [{"name": "u", "user": {}}]}))
    return path


def official_client(server: TestServer) -> Any:
    """The official Python client's ApiClient, pointed at the test server."""
    from kubernetes import client

    cfg = client.Configuration()
    cfg.host = f"http://127.0.0.1:{server.port}"
    return client.ApiClient(cfg)


def pod_body(name: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"name": name, "labels": {"app": "web"}},
                            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    for k, v in extra.items():
        body["spec"][k] = v
    return body
