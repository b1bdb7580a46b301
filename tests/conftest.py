"""Fixtures every test folder may use: the store under an API service, in memory or on a
real etcd (modules marked both_stores run their tests on both)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from minikube_py.etcdapi.etcdkv import EtcdKV
from minikube_py.store.memory import MemoryKV
from minikube_py.store.types import KV
from tests.etcd_server import NEEDS_ETCD, EtcdProcess, running_etcd

BOTH_STORES = "both_stores"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module marked both_stores runs each test that uses `store` twice: on the
    in-memory store and on an external etcd (serve --datastore-endpoint)."""
    if "store" in metafunc.fixturenames and metafunc.definition.get_closest_marker(BOTH_STORES):
        metafunc.parametrize("store", ["memory", pytest.param("etcd", marks=NEEDS_ETCD)],
                             indirect=True)


@pytest.fixture(scope="session", autouse=True)
def kubeconfig_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """serve merges its context into $KUBECONFIG's first file (else ~/.kube/config): every
    serve a test starts, in this process or as a child, merges into a file of the session's
    instead of the machine user's."""
    path = tmp_path_factory.mktemp("kubeconfig") / "config"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KUBECONFIG", str(path))
        yield path


@pytest.fixture(scope="session")
def etcd_process() -> Iterator[EtcdProcess]:
    """One real etcd for the session, started by the first test that asks (starting one
    per test would cost about a second each); tests empty it as they need."""
    with running_etcd() as etcd:
        yield etcd


@pytest.fixture
async def store(request: pytest.FixtureRequest) -> AsyncIterator[KV]:
    """A store for an API service: in memory, or (param "etcd") the session's etcd,
    emptied first; its revisions do not restart, so tests never assume where they begin."""
    if getattr(request, "param", "memory") == "memory":
        kv = MemoryKV()
        yield kv
        await kv.close()
        return
    etcd: EtcdProcess = request.getfixturevalue("etcd_process")
    etcd.wipe()
    external = EtcdKV(etcd.endpoint)
    await external.connect(timeout=10)
    yield external
    await external.close()
