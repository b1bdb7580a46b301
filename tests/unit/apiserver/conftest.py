"""Fixtures: an ApiService on an in-memory store with a controllable clock."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from minikube_py.apiserver.service import ApiService
from minikube_py.store.memory import MemoryKV


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def svc(clock: FakeClock) -> AsyncIterator[ApiService]:
    kv = MemoryKV()
    service = ApiService(kv, clock=clock, bookmark_interval=0.05)
    await service.start()
    yield service
    await service.stop()
    await kv.close()


def pod_body(name: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"name": name, "labels": {"app": "web"}},
                            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    for k, v in extra.items():
        body["spec"][k] = v
    return body
