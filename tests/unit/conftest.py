"""Fixtures every unit test folder may use."""

from collections.abc import AsyncIterator

import pytest

from minikube_py.apiserver.service import ApiService
from minikube_py.store.memory import MemoryKV


@pytest.fixture
async def api() -> AsyncIterator[ApiService]:
    """The API service on an in-memory store: the in-process client components use."""
    kv = MemoryKV()
    service = ApiService(kv)
    await service.start()
    yield service
    await service.stop()
    await kv.close()

