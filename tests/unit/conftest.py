"""Fixtures every unit test folder may use."""

from collections.abc import AsyncIterator, Iterator

import pytest

from minikube_py.apiserver.service import ApiService
from minikube_py.store.memory import MemoryKV
from tests.etcd_server import EtcdProcess, running_etcd


@pytest.fixture
async def api() -> AsyncIterator[ApiService]:
    """The API service on an in-memory store: the in-process client components use."""
    kv = MemoryKV()
    service = ApiService(kv)
    await service.start()
    yield service
    await service.stop()
    await kv.close()


@pytest.fixture(scope="session")
def etcd_process() -> Iterator[EtcdProcess]:
    """One real etcd for the session, started by the first test that asks (starting one
    per test would cost about a second each); tests empty it as they need."""
    with running_etcd() as etcd:
        yield etcd
