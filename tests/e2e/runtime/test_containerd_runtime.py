"""A real containerd: start, builtin images, a busybox httpd pod reachable from the host, logs,
and nothing left behind."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from cri_api.v1 import api_pb2 as cri

from minikube_py.kubelet.logs import LogOptions, parse_log_lines, render_lines
from minikube_py.runtime.images import (
    BUSYBOX_IMAGE,
    PAUSE_IMAGE,
    build_builtin_archive,
    ensure_builtin_images,
    load_image_archive,
)
from tests.e2e.runtime.containerd_fixture import RuntimeFixture


async def fetch_until_up(url: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    return await resp.text()
            except (aiohttp.ClientError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.02)


async def test_builtin_images_are_known_by_their_short_names(runtime: RuntimeFixture) -> None:
    for name in ("busybox", "busybox:latest", BUSYBOX_IMAGE, PAUSE_IMAGE):
        assert await runtime.cri.image_status(name) is not None, name


async def test_ensure_builtin_images_is_a_no_op_when_present(runtime: RuntimeFixture) -> None:
    assert await ensure_builtin_images(runtime.socket) == []


async def test_load_image_archive_returns_the_imported_names(runtime: RuntimeFixture,
                                                             tmp_path: Path) -> None:
    archive = tmp_path / "images.tar"
    archive.write_bytes(build_builtin_archive())
    assert sorted(await load_image_archive(runtime.socket, archive)) == sorted(
        [BUSYBOX_IMAGE, PAUSE_IMAGE])


async def test_httpd_pod_serves_the_host_and_logs_then_leaves_nothing(
        runtime: RuntimeFixture) -> None:
    log_dir = runtime.data_dir / "pods" / "default_web_uid-web"
    log_dir.mkdir(parents=True, exist_ok=True)
    sandbox_config = cri.PodSandboxConfig(
        metadata=cri.PodSandboxMetadata(name="web", namespace="default", uid="uid-web"),
        hostname="web", log_directory=str(log_dir), labels={"io.kubernetes.pod.uid": "uid-web"},
        linux=cri.LinuxPodSandboxConfig())
    t0 = time.monotonic()
    sandbox_id = await runtime.cri.run_pod_sandbox(sandbox_config)
    t_sandbox = time.monotonic() - t0
    pod_ip = (await runtime.cri.pod_sandbox_status(sandbox_id)).network.ip
    assert pod_ip.startswith("10.244.250.")
    container = cri.ContainerConfig(
        metadata=cri.ContainerMetadata(name="httpd"), image=cri.ImageSpec(image="busybox"),
        command=["sh", "-c", "echo started; httpd -f -p 8080 -h /var/www"],
        log_path="httpd/0.log", linux=cri.LinuxContainerConfig())
    t0 = time.monotonic()
    container_id = await runtime.cri.create_container(sandbox_id, container, sandbox_config)
    await runtime.cri.start_container(container_id)
    t_container = time.monotonic() - t0
    print(f"\nRunPodSandbox {t_sandbox * 1000:.0f} ms, create+start {t_container * 1000:.0f} ms")

    assert await fetch_until_up(f"http://{pod_ip}:8080/") == "hello from minikube-py\n"
    raw = (log_dir / "httpd" / "0.log").read_text().splitlines()
    assert render_lines(parse_log_lines(raw), LogOptions()) == b"started\n"

    t0 = time.monotonic()
    await runtime.cri.stop_container(container_id, 5)
    await runtime.cri.stop_pod_sandbox(sandbox_id)
    await runtime.cri.remove_pod_sandbox(sandbox_id)
    assert time.monotonic() - t0 < 3  # the pause image exits on SIGTERM, no kill timeout
    assert await runtime.cri.list_pod_sandboxes() == []
    assert await runtime.cri.list_containers() == []
