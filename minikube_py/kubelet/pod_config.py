"""What the kubelet gives a pod, read fresh at every sync: the pod-wide checks and its volumes
(set up, or refreshed in place), then for each container it starts the environment
(ConfigMaps, Secrets, Services, the downward API), the mounts, the managed /etc/hosts and a
termination-log file. What cannot be given is a ConfigError in kube's words: the container
waits with CreateContainerConfigError instead of running without it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cri_api.v1 import api_pb2 as cri

from minikube_py.client.events import WARNING, EventRecorder
from minikube_py.kubelet.config import KubeletConfig
from minikube_py.kubelet.downward import FieldContext
from minikube_py.kubelet.envvars import container_env, service_env
from minikube_py.kubelet.etc_hosts import host_network_hosts, managed_hosts
from minikube_py.kubelet.pod_objects import ConfigError, ObjectReader, container_refs
from minikube_py.kubelet.refusals import container_refusal, pod_refusal
from minikube_py.kubelet.security_context import (
    effective_security_context,
    verify_run_as_non_root,
)
from minikube_py.kubelet.specs import container_config, sandbox_hostname
from minikube_py.kubelet.volume_manager import Volume, VolumeManager
from minikube_py.kubelet.volume_mounts import container_mounts

ETC_HOSTS_PATH = "/etc/hosts"
# Where the kubelet says, in a container's annotations, it mounted the termination-log file.
TERMINATION_PATH_ANNOTATION = "io.kubernetes.container.terminationMessagePath"
TERMINATION_POLICY_ANNOTATION = "io.kubernetes.container.terminationMessagePolicy"


class ServiceSource(Protocol):
    """The kubelet's Service cache (an informer)."""

    @property
    def synced(self) -> asyncio.Event: ...

    def list(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class NodeResources:
    """What the downward API defaults limits to, and the memory the OOM score is over."""

    allocatable: Mapping[str, str] = field(default_factory=dict)
    memory_capacity: int = 0


@dataclass(frozen=True, slots=True)
class PodPrep:
    volumes: Mapping[str, Volume]
    blocked: str | None = None  # why none of the pod's containers may start


class PodConfigurer:
    def __init__(self, *, config: KubeletConfig, volumes: VolumeManager,
                 recorder: EventRecorder, services: ServiceSource | None) -> None:
        self.config = config
        self.volumes = volumes
        self.recorder = recorder
        self.services = services
        self.node = NodeResources()

    @property
    def seccomp_root(self) -> Path:
        return self.config.data_dir / "seccomp"

    async def prepare_pod(self, pod: dict[str, Any], reader: ObjectReader) -> PodPrep:
        """The pod-wide refusals, then its volumes. A volume that cannot be set up blocks the
        pod (FailedMount says why); one that only failed to refresh keeps its files."""
        refusal = pod_refusal(pod)
        if refusal is None:
            try:
                sandbox_hostname(pod, self.config.cluster_domain)
            except ConfigError as e:
                refusal = str(e)
        if refusal is not None:
            self.recorder.record(pod, WARNING, "Failed", f"Error: {refusal}")
            return PodPrep({}, refusal)
        setup = await self.volumes.set_up(pod, reader, allocatable=self.node.allocatable)
        for message in [*setup.failures, *setup.stale]:
            self.recorder.record(pod, WARNING, "FailedMount", message)
        return PodPrep(setup.volumes, "; ".join(setup.failures) or None)

    def service_env(self, pod: dict[str, Any]) -> dict[str, str]:
        if self.services is None:
            return {}
        if not self.services.synced.is_set():
            raise ConfigError("services have not yet been read at least once, cannot construct "
                              "envvars")
        spec = pod.get("spec") or {}
        return service_env(self.services.list(), pod["metadata"].get("namespace", "default"),
                           enable_service_links=spec.get("enableServiceLinks") is not False)

    async def container_config(self, pod: dict[str, Any], container: dict[str, Any], *,
                               restart_count: int, init: bool, prep: PodPrep,
                               reader: ObjectReader, ctx: FieldContext,
                               image: cri.Image | None,
                               target_id: str = "") -> cri.ContainerConfig:
        refusal = container_refusal(container, init=init)
        if refusal is not None:
            raise ConfigError(f'container "{container.get("name", "")}": {refusal}')
        verify_run_as_non_root(pod, container,
                               image.uid.value if image is not None and image.HasField("uid")
                               else None, image.username if image is not None else "")
        objects = await reader.read(container_refs(container))
        resolved = container_env(pod, container, objects=objects, services=self.service_env(pod),
                                 ctx=ctx)
        for warning in resolved.skipped:
            self.recorder.record(pod, WARNING, "InvalidEnvironmentVariableNames", warning)
        privileged = bool(effective_security_context(pod, container).get("privileged"))
        mounts = await asyncio.to_thread(self._mounts, pod, container, prep.volumes,
                                         resolved.env, ctx.pod_ips, privileged)
        config = container_config(pod, container, restart_count=restart_count, env=resolved.env,
                                  mounts=mounts, init=init, seccomp_root=self.seccomp_root,
                                  memory_capacity=self.node.memory_capacity,
                                  target_id=target_id)
        termination = container.get("terminationMessagePath")
        if termination:
            config.annotations[TERMINATION_PATH_ANNOTATION] = str(termination)
            config.annotations[TERMINATION_POLICY_ANNOTATION] = str(
                container.get("terminationMessagePolicy") or "File")
        return config

    def _mounts(self, pod: dict[str, Any], container: dict[str, Any],
                volumes: Mapping[str, Volume], env: Mapping[str, str],
                pod_ips: Iterable[str], privileged: bool) -> list[cri.Mount]:
        """The volume mounts, then the kubelet's own: /etc/hosts (unless the container mounts
        its own) and the termination-log file."""
        uid = pod["metadata"]["uid"]
        mounts = container_mounts(container, volumes, env, privileged=privileged)
        ips = list(pod_ips)
        if ips and not any(m.container_path == ETC_HOSTS_PATH for m in mounts):
            if (pod.get("spec") or {}).get("hostNetwork"):
                content = host_network_hosts(pod, self.config.host_hosts_file.read_bytes())
            else:
                content = managed_hosts(pod, ips, self.config.cluster_domain)
            mounts.append(cri.Mount(container_path=ETC_HOSTS_PATH,
                                    host_path=self.volumes.write_etc_hosts(uid, content)))
        termination = container.get("terminationMessagePath")
        if termination:
            mounts.append(cri.Mount(container_path=str(termination),
                                    host_path=self.volumes.new_termination_log(
                                        uid, container["name"])))
        return mounts
