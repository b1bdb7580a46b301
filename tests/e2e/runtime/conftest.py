"""Fixtures for scenario tests with a real containerd (reusable: import from containerd_fixture)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.certs import TrialPki, make_test_pki
from tests.e2e.runtime.containerd_fixture import (
    RuntimeFixture,
    make_data_dir,
    require_containerd,
    running_runtime,
)


@pytest.fixture(scope="session")
def runtime_data_dir() -> Iterator[Path]:
    """One data dir per session: images imported once, later containerds start fast."""
    require_containerd()
    path = make_data_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TrialPki:
    """The certificates of a kubelet on node-e2e (reached at its bridge address, and on
    loopback) and of the API server that calls it."""
    return make_test_pki(tmp_path_factory.mktemp("kubelet-pki"), node="node-e2e",
                         node_ips=("10.244.250.1", "127.0.0.1"))


@pytest.fixture
async def runtime(runtime_data_dir: Path) -> AsyncIterator[RuntimeFixture]:
    async for fixture in running_runtime(runtime_data_dir):
        yield fixture
