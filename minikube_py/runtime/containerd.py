"""A private containerd as a managed child process: its config, its CNI network, its lifetime."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from cri_api.v1 import api_pb2, api_pb2_grpc

CONTAINERD_BINARY = "containerd"
CNI_BIN_DIR = "/usr/lib/cni"
SANDBOX_IMAGE = "registry.k8s.io/pause:3.9"
GRPC_MAX_MESSAGE = 64 * 1024 * 1024

# Plugins a CRI node never uses here; skipping them shortens startup and avoids noisy probes
# (btrfs/zfs/devmapper/aufs probe the filesystem, tracing wants an endpoint).
DISABLED_PLUGINS: tuple[str, ...] = (
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.tracing.processor.v1.otlp",
    "io.containerd.internal.v1.tracing",
    "io.containerd.internal.v1.opt",
)


class ContainerdStartError(RuntimeError):
    """containerd exited or never answered CRI Version; the message carries its log tail."""


@dataclass(frozen=True, slots=True)
class ContainerdConfig:
    """Where a private containerd keeps its state and how it wires pod networking."""

    data_dir: Path
    bridge_name: str = "mkpy0"
    pod_subnet: str = "10.244.0.0/24"
    sandbox_image: str = SANDBOX_IMAGE
    snapshotter: str = "overlayfs"
    cni_bin_dir: str = CNI_BIN_DIR
    network_name: str = "mkpy"
    # Destinations pods reach through the node (the cluster's pod and service ranges).
    # Deliberately no default route: nothing a pod sends may leave the machine.
    pod_routes: tuple[str, ...] = ()
    log_level: str = "warn"
    extra_disabled_plugins: tuple[str, ...] = field(default_factory=tuple)

    @property
    def base_dir(self) -> Path:
        return self.data_dir / "containerd"

    @property
    def root_dir(self) -> Path:
        return self.base_dir / "root"

    @property
    def state_dir(self) -> Path:
        return self.base_dir / "state"

    @property
    def socket_path(self) -> Path:
        return self.base_dir / "containerd.sock"

    @property
    def config_path(self) -> Path:
        return self.base_dir / "config.toml"

    @property
    def log_path(self) -> Path:
        return self.base_dir / "containerd.log"

    @property
    def cni_conf_dir(self) -> Path:
        return self.base_dir / "cni"

    @property
    def cni_state_dir(self) -> Path:
        """host-local IPAM allocations (one dir per network name)."""
        return self.base_dir / "cni-ipam"


def _toml_str(value: str | Path) -> str:
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def render_containerd_toml(cfg: ContainerdConfig) -> str:
    """config.toml (version 2) for a CRI-only containerd living entirely under cfg.base_dir."""
    disabled = ", ".join(_toml_str(p) for p in (*DISABLED_PLUGINS, *cfg.extra_disabled_plugins))
    cri = '[plugins."io.containerd.grpc.v1.cri"]'
    return f"""version = 2
root = {_toml_str(cfg.root_dir)}
state = {_toml_str(cfg.state_dir)}
disabled_plugins = [{disabled}]

[grpc]
  address = {_toml_str(cfg.socket_path)}
  max_recv_message_size = {GRPC_MAX_MESSAGE}
  max_send_message_size = {GRPC_MAX_MESSAGE}

[debug]
  level = {_toml_str(cfg.log_level)}

[plugins]
  {cri}
    sandbox_image = {_toml_str(cfg.sandbox_image)}
    # Lowering oom_score_adj is denied in this environment; runc fails without this.
    restrict_oom_score_adj = true
    # Several containerds on one machine must not share /var/run/netns.
    netns_mounts_under_state_dir = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_unprivileged_ports = true
    enable_unprivileged_icmp = true
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = {_toml_str(cfg.cni_bin_dir)}
      conf_dir = {_toml_str(cfg.cni_conf_dir)}
      max_conf_num = 1
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = {_toml_str(cfg.snapshotter)}
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
"""


def render_cni_conflist(cfg: ContainerdConfig) -> dict[str, Any]:
    """bridge + host-local + portmap + loopback. ipMasq is off: no pod traffic may be
    masqueraded towards the uplink; everything stays on this machine."""
    return {
        "cniVersion": "1.0.0",
        "name": cfg.network_name,
        "plugins": [
            {
                "type": "bridge",
                "bridge": cfg.bridge_name,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": cfg.pod_subnet}]],
                    "routes": [{"dst": dst} for dst in cfg.pod_routes],
                    "dataDir": str(cfg.cni_state_dir),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
            {"type": "loopback"},
        ],
    }


def write_config_files(cfg: ContainerdConfig) -> None:
    for d in (cfg.base_dir, cfg.root_dir, cfg.state_dir, cfg.cni_conf_dir, cfg.cni_state_dir):
        d.mkdir(parents=True, exist_ok=True)
    cfg.config_path.write_text(render_containerd_toml(cfg))
    conflist = cfg.cni_conf_dir / f"10-{cfg.network_name}.conflist"
    conflist.write_text(json.dumps(render_cni_conflist(cfg), indent=2))


# Resolved once in the parent: the child between fork and exec must not dlopen (another thread,
# e.g. gRPC's, may hold the loader or malloc lock at fork time and the child would deadlock).
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the forked child before exec: ask the kernel to SIGTERM containerd when we die.
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    # Own process group: a Ctrl-C in our terminal must not reach containerd before we stop
    # it. (Here, not via process_group=0, which uvloop's subprocess_exec does not accept.)
    os.setpgrp()


def tail_text(path: Path, max_bytes: int = 4000) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


async def cri_version(socket_path: Path, timeout: float = 1.0) -> api_pb2.VersionResponse:
    async with grpc.aio.insecure_channel(f"unix://{socket_path}") as ch:
        stub = api_pb2_grpc.RuntimeServiceStub(ch)  # type: ignore[no-untyped-call]
        resp: api_pb2.VersionResponse = await stub.Version(api_pb2.VersionRequest(),
                                                           timeout=timeout)
        return resp


class ContainerdProcess:
    """containerd started as our child (dies with us), ready once CRI Version answers."""

    def __init__(self, config: ContainerdConfig, *, binary: str = CONTAINERD_BINARY) -> None:
        self.config = config
        self.binary = binary
        self.proc: asyncio.subprocess.Process | None = None
        self.version: str = ""
        self.start_seconds: float = 0.0

    @property
    def socket(self) -> Path:
        return self.config.socket_path

    async def start(self, timeout: float = 20.0) -> None:
        cfg = self.config
        write_config_files(cfg)
        with contextlib.suppress(FileNotFoundError):
            cfg.socket_path.unlink()  # a stale socket would make the readiness poll lie
        t0 = time.monotonic()
        with cfg.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                self.binary, "--config", str(cfg.config_path),
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                preexec_fn=_die_with_parent,
            )
        await self._wait_ready(t0 + timeout)
        self.start_seconds = time.monotonic() - t0

    async def _wait_ready(self, deadline: float) -> None:
        assert self.proc is not None
        async with grpc.aio.insecure_channel(f"unix://{self.socket}") as ch:
            stub = api_pb2_grpc.RuntimeServiceStub(ch)  # type: ignore[no-untyped-call]
            while True:
                if self.proc.returncode is not None:
                    raise self._error(f"containerd exited with code {self.proc.returncode}")
                if time.monotonic() > deadline:
                    await self.stop()
                    raise self._error("containerd did not answer CRI Version in time")
                if self.socket.exists():
                    try:
                        resp = await stub.Version(api_pb2.VersionRequest(), timeout=0.5)
                    except grpc.aio.AioRpcError:
                        pass  # socket bound but CRI plugin still initialising
                    else:
                        self.version = resp.runtime_version
                        return
                # Short poll: the socket appears tens of ms after exec; there is no event to await.
                await asyncio.sleep(0.01)

    def _error(self, what: str) -> ContainerdStartError:
        return ContainerdStartError(
            f"{what}; last lines of {self.config.log_path}:\n{tail_text(self.config.log_path)}")

    async def stop(self, timeout: float = 10.0) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def wait_exit(self) -> None:
        """Returns never while containerd runs; raises once it has exited on its own, so
        the supervisor stops the cluster instead of serving a node that cannot run pods."""
        assert self.proc is not None, "start() first"
        code = await self.proc.wait()
        raise ContainerdStartError(f"containerd exited with code {code}; last lines of "
                                   f"{self.config.log_path}:\n{tail_text(self.config.log_path)}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None
