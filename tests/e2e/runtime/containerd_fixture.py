"""A real private containerd for scenario tests: start, import builtin images, and clean up
everything it made (sandboxes, bridge, IPAM state, data dir)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from minikube_py.kubelet.cri import CriClient, CriError
from minikube_py.runtime.containerd import ContainerdConfig, ContainerdProcess
from minikube_py.runtime.images import ensure_builtin_images

# A /24 and bridge name no real config uses, so tests never collide with a running cluster.
TEST_BRIDGE = "mkpyt0"
TEST_SUBNET = "10.244.250.0/24"


@dataclass
class RuntimeFixture:
    process: ContainerdProcess
    cri: CriClient
    data_dir: Path

    @property
    def socket(self) -> Path:
        return self.process.socket


def require_containerd() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run containerd")
    if shutil.which("containerd") is None or shutil.which("ctr") is None:
        pytest.skip("containerd binary not installed")


async def remove_all_sandboxes(cri: CriClient) -> None:
    for sb in await cri.list_pod_sandboxes():
        for attempt in range(3):
            try:
                # Bounded: a teardown must never hang the session.
                await asyncio.wait_for(cri.stop_pod_sandbox(sb.id), 30)
                await asyncio.wait_for(cri.remove_pod_sandbox(sb.id), 30)
                break
            except (CriError, TimeoutError):
                if attempt == 2:
                    raise
                await asyncio.sleep(0.2)


def delete_bridge(name: str) -> None:
    subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)


async def running_runtime(data_dir: Path, *, bridge: str = TEST_BRIDGE,
                          subnet: str = TEST_SUBNET) -> AsyncIterator[RuntimeFixture]:
    """Start containerd in data_dir, make sure the builtin images are there, yield; then remove
    every sandbox, stop containerd, delete the bridge and the IPAM state."""
    config = ContainerdConfig(data_dir, bridge_name=bridge, pod_subnet=subnet)
    process = ContainerdProcess(config)
    await process.start()
    cri = CriClient(process.socket)
    try:
        await ensure_builtin_images(process.socket)
        yield RuntimeFixture(process, cri, data_dir)
    finally:
        try:
            await remove_all_sandboxes(cri)
        finally:
            await cri.close()
            await process.stop()
            delete_bridge(bridge)
            shutil.rmtree(config.cni_state_dir, ignore_errors=True)


def make_data_dir() -> Path:
    # Short path: containerd's socket path must fit in sun_path (108 bytes).
    return Path(tempfile.mkdtemp(prefix="mkpy-e2e-"))
