"""Builtin images built from the host's static busybox (no registry is reachable) and image import."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import platform
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from cri_api.v1 import api_pb2, api_pb2_grpc

BUSYBOX_IMAGE = "docker.io/library/busybox:latest"
PAUSE_IMAGE = "registry.k8s.io/pause:3.9"
BUSYBOX_BINARY = Path("/bin/busybox")
CTR_BINARY = "ctr"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# pid 1 ignores signals it has no handler for, so a bare `sleep` would only die on SIGKILL after
# the stop timeout; the trap makes StopPodSandbox immediate.
PAUSE_ENTRYPOINT = ["/bin/sh", "-c",
                    "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


class ImageImportError(RuntimeError):
    """ctr could not import an archive; the message carries ctr's output."""


@dataclass(frozen=True, slots=True)
class ImageSpec:
    name: str
    entrypoint: list[str] | None
    cmd: list[str] | None


BUILTIN_IMAGES: tuple[ImageSpec, ...] = (
    ImageSpec(BUSYBOX_IMAGE, None, ["sh"]),
    ImageSpec(PAUSE_IMAGE, PAUSE_ENTRYPOINT, None),
)


def oci_arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tar_info(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = link
    info.mtime = 0  # fixed so the layer digest never changes between builds
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def build_busybox_layer(busybox: bytes, applets: Iterable[str]) -> bytes:
    """One uncompressed, deterministic layer: /bin/busybox, an applet symlink per name, a minimal
    /etc, and the usual empty directories."""
    files: dict[str, bytes] = {
        "etc/passwd": b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
        "etc/group": b"root:x:0:\nnobody:x:65534:\n",
        "etc/hostname": b"localhost\n",
        "var/www/index.html": b"hello from minikube-py\n",
    }
    dirs = {"bin": 0o755, "etc": 0o755, "root": 0o700, "tmp": 0o1777, "var": 0o755,
            "var/www": 0o755, "home": 0o755, "usr": 0o755, "proc": 0o555, "sys": 0o555,
            "dev": 0o755}
    links = {f"bin/{a}": "busybox" for a in applets if a and "/" not in a and a != "busybox"}
    # Scripts expect /usr/bin/env, /sbin/ip and so on; make every bin dir the same one.
    links.update({"sbin": "bin", "usr/bin": "../bin", "usr/sbin": "../bin"})
    entries: list[tuple[str, tarfile.TarInfo, bytes | None]] = []
    for d, mode in dirs.items():
        entries.append((d, _tar_info(d, tarfile.DIRTYPE, mode), None))
    for name, data in files.items():
        entries.append((name, _tar_info(name, tarfile.REGTYPE, 0o644, len(data)), data))
    entries.append(("bin/busybox",
                    _tar_info("bin/busybox", tarfile.REGTYPE, 0o755, len(busybox)), busybox))
    for name, target in links.items():
        entries.append((name, _tar_info(name, tarfile.SYMTYPE, 0o777, link=target), None))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for _, info, content in sorted(entries, key=lambda e: e[0]):
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return out.getvalue()


def _image_config(spec: ImageSpec, diff_id: str) -> bytes:
    config: dict[str, Any] = {"Env": [PATH_ENV], "WorkingDir": "/"}
    if spec.entrypoint is not None:
        config["Entrypoint"] = spec.entrypoint
    if spec.cmd is not None:
        config["Cmd"] = spec.cmd
    doc = {"architecture": oci_arch(), "os": "linux", "created": "1970-01-01T00:00:00Z",
           "config": config, "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def build_oci_archive(layer: bytes, specs: Iterable[ImageSpec]) -> bytes:
    """An OCI image-layout tarball holding one manifest per spec, all sharing `layer`."""
    blobs: dict[str, bytes] = {}
    layer_digest = _sha256(layer)
    blobs[layer_digest] = layer
    manifests: list[dict[str, Any]] = []
    for spec in specs:
        config = _image_config(spec, layer_digest)
        blobs[_sha256(config)] = config
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": _sha256(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": len(layer)}],
        }, sort_keys=True, separators=(",", ":")).encode()
        blobs[_sha256(manifest)] = manifest
        manifests.append({
            "mediaType": OCI_MANIFEST, "digest": _sha256(manifest), "size": len(manifest),
            "platform": {"architecture": oci_arch(), "os": "linux"},
            "annotations": {"io.containerd.image.name": spec.name,
                            "org.opencontainers.image.ref.name": spec.name.rsplit(":", 1)[-1]},
        })
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests},
                       sort_keys=True, separators=(",", ":")).encode()
    files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index}
    files.update({f"blobs/sha256/{d.split(':', 1)[1]}": b for d, b in blobs.items()})
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("blobs", "blobs/sha256"):
            tar.addfile(_tar_info(name, tarfile.DIRTYPE, 0o755))
        for name in sorted(files):
            data = files[name]
            tar.addfile(_tar_info(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    return out.getvalue()


def build_builtin_archive(busybox_path: Path = BUSYBOX_BINARY) -> bytes:
    applets = subprocess.run([str(busybox_path), "--list"], check=True, capture_output=True,
                             text=True).stdout.split()
    layer = build_busybox_layer(busybox_path.read_bytes(), applets)
    return build_oci_archive(layer, BUILTIN_IMAGES)


async def missing_images(socket: Path, names: Iterable[str]) -> list[str]:
    """The names CRI ImageStatus does not know (CRI normalizes short names like `busybox`)."""
    missing: list[str] = []
    async with grpc.aio.insecure_channel(f"unix://{socket}") as ch:
        stub = api_pb2_grpc.ImageServiceStub(ch)  # type: ignore[no-untyped-call]
        for name in names:
            resp = await stub.ImageStatus(
                api_pb2.ImageStatusRequest(image=api_pb2.ImageSpec(image=name)), timeout=10)
            if not resp.image.id:
                missing.append(name)
    return missing


def parse_ctr_import_output(output: str) -> list[str]:
    """ctr prints `unpacking NAME (sha256:...)...done` for each image it imported."""
    names: list[str] = []
    for line in output.splitlines():
        if line.startswith("unpacking "):
            names.append(line.split()[1])
    return names


async def _ctr_import(socket: Path, archive: Path, *, all_platforms: bool,
                      snapshotter: str) -> list[str]:
    args = [CTR_BINARY, "-a", str(socket), "-n", "k8s.io", "images", "import"]
    if all_platforms:
        args.append("--all-platforms")
    if snapshotter:
        args += ["--snapshotter", snapshotter]
    args.append(str(archive))
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise ImageImportError(f"ctr images import {archive} failed ({proc.returncode}): {text}")
    return parse_ctr_import_output(text)


async def ensure_builtin_images(socket: Path, *, snapshotter: str = "overlayfs",
                                busybox_path: Path = BUSYBOX_BINARY) -> list[str]:
    """Import the busybox and pause images unless CRI already has them; returns what was
    imported (empty on a restart, which is the fast path)."""
    if not await missing_images(socket, [s.name for s in BUILTIN_IMAGES]):
        return []
    archive = await asyncio.to_thread(build_builtin_archive, busybox_path)
    with tempfile.NamedTemporaryFile(prefix="mkpy-images-", suffix=".tar") as f:
        f.write(archive)
        f.flush()
        return await _ctr_import(socket, Path(f.name), all_platforms=False,
                                 snapshotter=snapshotter)


async def load_image_archive(socket: Path, path: Path, *,
                             snapshotter: str = "overlayfs") -> list[str]:
    """Import an OCI or docker-archive tarball (`image load FILE`); returns the image names."""
    return await _ctr_import(socket, path, all_platforms=True, snapshotter=snapshotter)


def _size(n: int) -> str:
    """crictl's sizes: decimal units, three significant digits."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{n}B"


def image_table(images: Iterable[tuple[list[str], str, int]]) -> str:
    """`minikube-py image ls`: one row per name (as `crictl images`), then the short id and
    size; an image with no name shows <none>."""
    rows = [("IMAGE", "IMAGE ID", "SIZE")]
    for names, image_id, size in images:
        short = image_id.removeprefix("sha256:")[:13]
        for name in sorted(names) or ["<none>"]:
            rows.append((name, short, _size(size)))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return "".join(f"{r[0]:<{widths[0]}}   {r[1]:<{widths[1]}}   {r[2]}\n" for r in rows)
