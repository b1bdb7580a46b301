"""A thin typed async client for the CRI v1 RuntimeService and ImageService (grpc.aio, unix socket)."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
from cri_api.v1 import api_pb2 as cri
from cri_api.v1 import api_pb2_grpc as cri_grpc

GRPC_MAX_MESSAGE = 64 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0
# Pulls and container stops can legitimately take as long as their grace period.
LONG_TIMEOUT = 600.0

T = TypeVar("T")
# Told of every call: (the kubelet's operation_type, seconds, whether it failed).
OperationObserver = Callable[[str, float, bool], None]


class CriError(Exception):
    """A CRI call failed; carries the method name and the gRPC status code."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"CRI {method} failed: {code.name}: {details}")
        self.method = method
        self.code = code
        self.details = details

    @property
    def not_found(self) -> bool:
        return bool(self.code == grpc.StatusCode.NOT_FOUND)


class CriClient:
    """Both CRI services over one channel. Create, then `await close()` (or `async with`)."""

    def __init__(self, socket: str | Path, *, timeout: float = DEFAULT_TIMEOUT,
                 observe: OperationObserver | None = None) -> None:
        target = str(socket)
        if not target.startswith("unix:"):
            target = f"unix://{target}"
        self.endpoint = target
        self.timeout = timeout
        self._observe = observe
        self._channel = grpc.aio.insecure_channel(target, options=[
            ("grpc.max_receive_message_length", GRPC_MAX_MESSAGE),
            ("grpc.max_send_message_length", GRPC_MAX_MESSAGE),
        ])
        self._runtime = cri_grpc.RuntimeServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._images = cri_grpc.ImageServiceStub(self._channel)  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> CriClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _call(self, method: str, fn: Callable[..., Awaitable[T]], request: Any,
                    timeout: float | None = None) -> T:
        if self._observe is not None:
            return await self._observed(method, fn, request, timeout, self._observe)
        try:
            return await fn(request, timeout=timeout or self.timeout)
        except grpc.aio.AioRpcError as e:
            raise CriError(method, e.code(), e.details() or "") from None

    async def _observed(self, method: str, fn: Callable[..., Awaitable[T]], request: Any,
                        timeout: float | None, observe: OperationObserver) -> T:
        started = time.perf_counter()
        failed = True
        try:
            result = await fn(request, timeout=timeout or self.timeout)
            failed = False
            return result
        except grpc.aio.AioRpcError as e:
            raise CriError(method, e.code(), e.details() or "") from None
        finally:
            observe(operation_type(method), time.perf_counter() - started, failed)

    # RuntimeService ---------------------------------------------------------------------------

    async def version(self) -> cri.VersionResponse:
        return await self._call("Version", self._runtime.Version, cri.VersionRequest())

    async def status(self) -> cri.StatusResponse:
        return await self._call("Status", self._runtime.Status, cri.StatusRequest())

    async def run_pod_sandbox(self, config: cri.PodSandboxConfig, runtime_handler: str = "") -> str:
        resp = await self._call("RunPodSandbox", self._runtime.RunPodSandbox,
                                cri.RunPodSandboxRequest(config=config,
                                                         runtime_handler=runtime_handler),
                                timeout=LONG_TIMEOUT)
        return str(resp.pod_sandbox_id)

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        await self._call("StopPodSandbox", self._runtime.StopPodSandbox,
                         cri.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=LONG_TIMEOUT)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await self._call("RemovePodSandbox", self._runtime.RemovePodSandbox,
                         cri.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id),
                         timeout=LONG_TIMEOUT)

    async def pod_sandbox_status(self, sandbox_id: str) -> cri.PodSandboxStatus:
        resp = await self._call("PodSandboxStatus", self._runtime.PodSandboxStatus,
                                cri.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id))
        status: cri.PodSandboxStatus = resp.status
        return status

    async def list_pod_sandboxes(self, labels: dict[str, str] | None = None,
                                 state: int | None = None) -> list[cri.PodSandbox]:
        flt = cri.PodSandboxFilter(label_selector=labels or {})
        if state is not None:
            flt.state.CopyFrom(cri.PodSandboxStateValue(state=state))  # type: ignore[arg-type]
        resp = await self._call("ListPodSandbox", self._runtime.ListPodSandbox,
                                cri.ListPodSandboxRequest(filter=flt))
        return list(resp.items)

    async def create_container(self, sandbox_id: str, config: cri.ContainerConfig,
                               sandbox_config: cri.PodSandboxConfig) -> str:
        resp = await self._call("CreateContainer", self._runtime.CreateContainer,
                                cri.CreateContainerRequest(pod_sandbox_id=sandbox_id, config=config,
                                                           sandbox_config=sandbox_config),
                                timeout=LONG_TIMEOUT)
        return str(resp.container_id)

    async def start_container(self, container_id: str) -> None:
        await self._call("StartContainer", self._runtime.StartContainer,
                         cri.StartContainerRequest(container_id=container_id), timeout=LONG_TIMEOUT)

    async def stop_container(self, container_id: str, timeout_seconds: int) -> None:
        # The runtime sends SIGTERM, waits timeout_seconds, then SIGKILLs.
        await self._call("StopContainer", self._runtime.StopContainer,
                         cri.StopContainerRequest(container_id=container_id,
                                                  timeout=timeout_seconds),
                         timeout=max(self.timeout, timeout_seconds + 30))

    async def remove_container(self, container_id: str) -> None:
        await self._call("RemoveContainer", self._runtime.RemoveContainer,
                         cri.RemoveContainerRequest(container_id=container_id))

    async def list_containers(self, sandbox_id: str = "", labels: dict[str, str] | None = None,
                              ) -> list[cri.Container]:
        flt = cri.ContainerFilter(pod_sandbox_id=sandbox_id, label_selector=labels or {})
        resp = await self._call("ListContainers", self._runtime.ListContainers,
                                cri.ListContainersRequest(filter=flt))
        return list(resp.containers)

    async def container_status(self, container_id: str) -> cri.ContainerStatus:
        resp = await self._call("ContainerStatus", self._runtime.ContainerStatus,
                                cri.ContainerStatusRequest(container_id=container_id))
        status: cri.ContainerStatus = resp.status
        return status

    async def container_info(self, container_id: str) -> dict[str, str]:
        """ContainerStatus with verbose: the runtime's extra facts (containerd's "info" JSON
        holds the pid and the runtime spec)."""
        resp = await self._call("ContainerStatus", self._runtime.ContainerStatus,
                                cri.ContainerStatusRequest(container_id=container_id,
                                                           verbose=True))
        return dict(resp.info)

    async def list_container_stats(self) -> list[cri.ContainerStats]:
        resp = await self._call("ListContainerStats", self._runtime.ListContainerStats,
                                cri.ListContainerStatsRequest(filter=cri.ContainerStatsFilter()))
        return list(resp.stats)

    async def exec_sync(self, container_id: str, cmd: list[str],
                        timeout_seconds: int = 1) -> cri.ExecSyncResponse:
        return await self._call("ExecSync", self._runtime.ExecSync,
                                cri.ExecSyncRequest(container_id=container_id, cmd=cmd,
                                                    timeout=timeout_seconds),
                                timeout=timeout_seconds + 10)

    async def exec_url(self, container_id: str, cmd: list[str], *, stdin: bool = False,
                       stdout: bool = True, stderr: bool = True, tty: bool = False) -> str:
        resp = await self._call("Exec", self._runtime.Exec, cri.ExecRequest(
            container_id=container_id, cmd=cmd, stdin=stdin, stdout=stdout, stderr=stderr,
            tty=tty))
        return str(resp.url)

    async def attach_url(self, container_id: str, *, stdin: bool = False, stdout: bool = True,
                         stderr: bool = True, tty: bool = False) -> str:
        resp = await self._call("Attach", self._runtime.Attach, cri.AttachRequest(
            container_id=container_id, stdin=stdin, stdout=stdout, stderr=stderr, tty=tty))
        return str(resp.url)

    async def port_forward_url(self, sandbox_id: str, ports: list[int]) -> str:
        resp = await self._call("PortForward", self._runtime.PortForward,
                                cri.PortForwardRequest(pod_sandbox_id=sandbox_id, port=ports))
        return str(resp.url)

    # ImageService -----------------------------------------------------------------------------

    async def image_status(self, image: str) -> cri.Image | None:
        resp = await self._call("ImageStatus", self._images.ImageStatus,
                                cri.ImageStatusRequest(image=cri.ImageSpec(image=image)))
        return resp.image if resp.image.id else None

    async def pull_image(self, image: str, auth: cri.AuthConfig | None = None) -> str:
        request = cri.PullImageRequest(image=cri.ImageSpec(image=image))
        if auth is not None:
            request.auth.CopyFrom(auth)
        resp = await self._call("PullImage", self._images.PullImage, request,
                                timeout=LONG_TIMEOUT)
        return str(resp.image_ref)

    async def list_images(self) -> list[cri.Image]:
        resp = await self._call("ListImages", self._images.ListImages, cri.ListImagesRequest())
        return list(resp.images)

    async def remove_image(self, image: str) -> None:
        await self._call("RemoveImage", self._images.RemoveImage,
                         cri.RemoveImageRequest(image=cri.ImageSpec(image=image)))


def operation_type(method: str) -> str:
    """The kubelet's name of a CRI method: RunPodSandbox is run_podsandbox, ListContainers
    list_containers."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", method.replace("PodSandbox", "Podsandbox")).lower()
