"""Fixtures for scenario tests with a real containerd (reusable: import from containerd_fixture)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

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


@pytest.fixture
async def runtime(runtime_data_dir: Path) -> AsyncIterator[RuntimeFixture]:
    async for fixture in running_runtime(runtime_data_dir):
        yield fixture
