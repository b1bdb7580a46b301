"""The volumes of this node's pods: set up before a pod's containers start, the API-backed ones
(configMap, secret, downwardAPI, projected) refreshed in place at every sync so a changed
ConfigMap or Secret reaches the files, and all of it removed when the pod goes. One directory
per pod, ROOT/<uid>: volumes/<name>, the managed etc-hosts, and each container run's
termination-log file. Secrets never reach the node's disk: their volumes are tmpfs."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minikube_py.api.quantity import QuantityError, bytes_value
from minikube_py.kubelet.atomic_writer import DATA_DIR, write_atomically
from minikube_py.kubelet.mounts import is_mounted, mount_tmpfs, unmount_under
from minikube_py.kubelet.pod_objects import (
    ConfigError,
    ObjectReader,
    read_claimed_volume,
    volume_refs,
)
from minikube_py.kubelet.refusals import volume_source
from minikube_py.kubelet.tokens import TokenKey, TokenManager
from minikube_py.kubelet.volume_payloads import (
    IN_MEMORY_KINDS,
    PROJECTED_KINDS,
    Payload,
    token_keys,
    volume_payload,
)

EMPTY_DIR_MODE = 0o777  # as kube: any container user may write to an emptyDir
ETC_HOSTS = "etc-hosts"


@dataclass(frozen=True, slots=True)
class Volume:
    kind: str  # emptyDir, hostPath, configMap, ...
    host_path: str
    read_only: bool = False  # every mount of it is read-only (a claim's readOnly)


@dataclass(frozen=True, slots=True)
class VolumeSetup:
    volumes: Mapping[str, Volume]  # by name: the ones that are there
    # FailedMount messages: of volumes that could not be set up (the pod cannot start) and of
    # volumes kept as they were because a refresh failed (the pod runs on).
    failures: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()


def failed_mount(name: str, error: object) -> str:
    return f'MountVolume.SetUp failed for volume "{name}" : {error}'


class VolumeManager:
    def __init__(self, root: Path, *, clock: Callable[[], float],
                 tokens: TokenManager | None = None) -> None:
        self.root = root
        self.clock = clock
        self.tokens = tokens

    def pod_dir(self, uid: str) -> Path:
        return self.root / uid

    def volume_dir(self, uid: str, name: str) -> Path:
        return self.root / uid / "volumes" / name

    # --- set up and refresh ------------------------------------------------------------

    async def set_up(self, pod: Mapping[str, Any], reader: ObjectReader, *,
                     allocatable: Mapping[str, str]) -> VolumeSetup:
        """Make every volume of the pod current. Volumes the pod's spec does not support are
        refused before this (refusals.pod_refusal)."""
        uid = pod["metadata"]["uid"]
        spec = pod.get("spec") or {}
        fs_group = (spec.get("securityContext") or {}).get("fsGroup")
        volumes: dict[str, Volume] = {}
        failures: list[str] = []
        stale: list[str] = []
        for volume in spec.get("volumes") or []:
            name = str(volume.get("name") or "")
            kind = volume_source(volume)
            try:
                if kind in PROJECTED_KINDS:
                    fetched = await reader.read(volume_refs(volume))
                    tokens = await self._tokens(volume, pod)
                    payload = volume_payload(volume, pod, fetched, allocatable, tokens)
                    path = await asyncio.to_thread(
                        self._write_projected, uid, name, kind, payload, fs_group,
                        _memory_bytes(allocatable.get("memory")))
                elif kind == "emptyDir":
                    path = await asyncio.to_thread(self._empty_dir, uid, name,
                                                   volume.get("emptyDir") or {}, fs_group,
                                                   allocatable)
                elif kind == "persistentVolumeClaim":
                    source = volume.get("persistentVolumeClaim") or {}
                    claimed = await read_claimed_volume(
                        reader.client, pod["metadata"]["namespace"],
                        str(source.get("claimName") or ""))
                    path = claimed.path
                    await asyncio.to_thread(check_host_path, path, claimed.path_type)
                    volumes[name] = Volume(kind, path, read_only=bool(source.get("readOnly")))
                    continue
                else:
                    source = volume.get("hostPath") or {}
                    path = str(source.get("path") or "")
                    await asyncio.to_thread(check_host_path, path, str(source.get("type") or ""))
            except (ConfigError, OSError) as e:
                message = failed_mount(name, e)
                existing = self.volume_dir(uid, name)
                if kind in PROJECTED_KINDS and (existing / DATA_DIR).is_symlink():
                    stale.append(message)  # kube keeps the last good files
                    volumes[name] = Volume(kind, str(existing))
                else:
                    failures.append(message)
                continue
            volumes[name] = Volume(kind, path)
        return VolumeSetup(volumes, tuple(failures), tuple(stale))

    async def _tokens(self, volume: Mapping[str, Any], pod: Mapping[str, Any],
                      ) -> dict[TokenKey, str | ConfigError]:
        """The volume's tokens, or why each could not be had (the payload says it with
        whatever else is missing)."""
        tokens: dict[TokenKey, str | ConfigError] = {}
        for key in token_keys(volume, pod):
            if self.tokens is None:
                tokens[key] = ConfigError("failed to fetch token: this kubelet has no token "
                                          "manager")
                continue
            try:
                tokens[key] = await self.tokens.token(key)
            except ConfigError as e:
                tokens[key] = e
        return tokens

    def _write_projected(self, uid: str, name: str, kind: str, payload: Payload,
                         fs_group: int | None, memory: int | None) -> str:
        target = self.volume_dir(uid, name)
        target.mkdir(parents=True, exist_ok=True)
        if kind in IN_MEMORY_KINDS and not is_mounted(target):
            mount_tmpfs(target, size_bytes=memory)
        write_atomically(target, payload, now=self.clock(), fs_group=fs_group)
        return str(target)

    def _empty_dir(self, uid: str, name: str, source: Mapping[str, Any], fs_group: int | None,
                   allocatable: Mapping[str, str]) -> str:
        target = self.volume_dir(uid, name)
        if target.exists():
            return str(target)  # set up before: its content is the pod's
        target.mkdir(parents=True)
        if source.get("medium") == "Memory":
            limit = _memory_bytes(source.get("sizeLimit")) or _memory_bytes(
                allocatable.get("memory"))
            mount_tmpfs(target, size_bytes=limit, mode=EMPTY_DIR_MODE)
        mode = EMPTY_DIR_MODE
        if fs_group is not None:
            os.chown(target, -1, fs_group)
            mode |= stat.S_ISGID
        os.chmod(target, mode)
        return str(target)

    # --- per-run files -------------------------------------------------------------------

    def write_etc_hosts(self, uid: str, content: bytes) -> str:
        path = self.pod_dir(uid) / ETC_HOSTS
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(ETC_HOSTS + ".tmp")
        tmp.write_bytes(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return str(path)

    def new_termination_log(self, uid: str, container: str) -> str:
        """An empty file for one run of the container to write its termination message to."""
        directory = self.pod_dir(uid) / "containers" / container
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / uuid.uuid4().hex[:8]
        path.touch()
        os.chmod(path, 0o666)
        return str(path)

    # --- tear down -----------------------------------------------------------------------

    async def tear_down(self, uid: str) -> None:
        """Everything of the pod goes: its tmpfs mounts first, or removing the directory
        would empty them and then fail on the mount points."""
        if self.tokens is not None:
            self.tokens.forget_pod(uid)
        await asyncio.to_thread(self._tear_down, self.pod_dir(uid))

    @staticmethod
    def _tear_down(pod_dir: Path) -> None:
        if pod_dir.exists():
            unmount_under(pod_dir)
            shutil.rmtree(pod_dir, ignore_errors=True)

    async def release_memory(self, uid: str) -> None:
        """A pod that finished keeps its directory (and its logs) but no Secret stays in
        memory for it."""
        await asyncio.to_thread(unmount_under, self.pod_dir(uid))

    def pod_uids(self) -> list[str]:
        try:
            return [p.name for p in self.root.iterdir() if p.is_dir()]
        except FileNotFoundError:
            return []


def refreshed_in_place(pod: Mapping[str, Any]) -> bool:
    """Whether the pod has volumes whose files follow the API (ConfigMaps, Secrets, tokens,
    its own metadata)."""
    return any(volume_source(v) in PROJECTED_KINDS
               for v in (pod.get("spec") or {}).get("volumes") or [])


def _memory_bytes(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return bytes_value(value) or None
    except QuantityError:
        return None


def check_host_path(path: str, path_type: str) -> None:
    """The hostPath type check (and the *OrCreate creations), in kube's words."""
    exists = os.path.lexists(path)
    if path_type == "DirectoryOrCreate" and not exists:
        os.makedirs(path, 0o755, exist_ok=True)
        return
    if path_type == "FileOrCreate" and not exists:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
        return
    checks: dict[str, tuple[Callable[[int], bool], str]] = {
        "Directory": (stat.S_ISDIR, "a directory"), "DirectoryOrCreate": (stat.S_ISDIR, "a directory"),
        "File": (stat.S_ISREG, "a file"), "FileOrCreate": (stat.S_ISREG, "a file"),
        "Socket": (stat.S_ISSOCK, "a socket file"), "CharDevice": (stat.S_ISCHR, "a character device"),
        "BlockDevice": (stat.S_ISBLK, "a block device")}
    if path_type not in checks:
        return
    test, what = checks[path_type]
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = 0
    if not test(mode):
        raise ConfigError(f"hostPath type check failed: {path} is not {what}")
