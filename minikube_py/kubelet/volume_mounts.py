"""A container's volumeMounts as CRI mounts: subPath and subPathExpr resolved inside their
volume (never outside it, whatever symlinks the volume holds), propagation and read-only
modes checked in kube's words, API-backed volumes read-only. Blocking (it looks at the
filesystem): call from a thread."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from cri_api.v1 import api_pb2 as cri

from minikube_py.kubelet.envvars import expand_sub_path
from minikube_py.kubelet.pod_objects import ConfigError
from minikube_py.kubelet.volume_manager import Volume
from minikube_py.kubelet.volume_payloads import PROJECTED_KINDS

_PROPAGATION = {None: cri.PROPAGATION_PRIVATE, "None": cri.PROPAGATION_PRIVATE,
                "HostToContainer": cri.PROPAGATION_HOST_TO_CONTAINER,
                "Bidirectional": cri.PROPAGATION_BIDIRECTIONAL}


def container_mounts(container: Mapping[str, Any], volumes: Mapping[str, Volume],
                     env: Mapping[str, str], *, privileged: bool) -> list[cri.Mount]:
    """Raises ConfigError in kube's words."""
    name = container.get("name", "")
    mounts: list[cri.Mount] = []
    for vm in container.get("volumeMounts") or []:
        vol_name = vm.get("name", "")
        volume = volumes.get(vol_name)
        if volume is None:
            raise ConfigError(f'cannot find volume "{vol_name}" to mount into container "{name}"')
        propagation = vm.get("mountPropagation")
        if propagation not in _PROPAGATION:
            raise ConfigError(f'invalid MountPropagation mode: "{propagation}"')
        if propagation == "Bidirectional" and not privileged:
            raise ConfigError("Bidirectional mount propagation is available only to privileged "
                              "containers")
        read_only = bool(vm.get("readOnly")) or volume.read_only
        rro = vm.get("recursiveReadOnly")
        if rro not in (None, "Disabled"):
            if not read_only:
                raise ConfigError(f'volume "{vol_name}" requested recursive read-only mode, '
                                  "but it is not read-only")
            if rro != "IfPossible":
                raise ConfigError(f'volume "{vol_name}" requested recursive read-only mode, '
                                  "but it is not supported by the container runtime")
        host = volume.host_path
        sub_path = str(vm.get("subPath") or "")
        if vm.get("subPathExpr"):
            sub_path = expand_sub_path(str(vm["subPathExpr"]), env)
        if sub_path:
            host = resolve_sub_path(host, sub_path, mount=vol_name, container=name)
        mounts.append(cri.Mount(container_path=str(vm.get("mountPath") or ""), host_path=host,
                                readonly=read_only or volume.kind in PROJECTED_KINDS,
                                propagation=_PROPAGATION[propagation]))
    return mounts


def resolve_sub_path(volume_path: str, sub_path: str, *, mount: str, container: str) -> str:
    """The real path of `sub_path` inside the volume, made a directory when it is missing.
    A path that leaves the volume (an absolute one, `..`, a symlink pointing out) is refused,
    without saying more about the node's filesystem (as kube)."""
    if sub_path.startswith("/"):
        raise ConfigError(f"error SubPath `{sub_path}` must not be an absolute path")
    if ".." in sub_path.split("/"):
        raise ConfigError(f"unable to provision SubPath `{sub_path}`: must not contain '..'")
    root = os.path.realpath(volume_path)
    refused = ConfigError(f'failed to prepare subPath for volumeMount "{mount}" of container '
                          f'"{container}"')
    wanted = os.path.join(root, sub_path)
    if not os.path.lexists(wanted):
        # Make the missing directories one at a time, each checked to stay inside.
        current = root
        for part in [p for p in sub_path.split("/") if p]:
            current = os.path.join(current, part)
            if not os.path.lexists(current):
                os.mkdir(current, 0o755)
            if not _inside(os.path.realpath(current), root):
                raise refused
    real = os.path.realpath(wanted)
    if not _inside(real, root):
        raise refused
    return real


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")
