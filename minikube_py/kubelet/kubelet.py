"""The node agent: registers the Node (again, should it be deleted), renews its Lease, runs the
pods bound to it through CRI, serves container logs, and cleans up what the API no longer
knows."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import LEASES, NAMESPACES, NODES, PODS, SERVICES
from minikube_py.api.timefmt import micro_time
from minikube_py.client.events import EventRecorder
from minikube_py.client.informer import Informer
from minikube_py.client.interface import ApiClient
from minikube_py.kubelet.auth import KubeletAuthorizer, KubeletTokenAuthenticator
from minikube_py.kubelet.config import KubeletConfig
from minikube_py.kubelet.cri import CriClient, CriError
from minikube_py.kubelet.node_status import (
    MachineInfo,
    collect_machine_info,
    lease_body,
    node_annotations,
    node_labels,
    node_spec,
    node_status,
    node_status_changed,
)
from minikube_py.kubelet.pod_config import NodeResources, PodConfigurer
from minikube_py.kubelet.pod_sync import PodSyncer
from minikube_py.kubelet.pod_workers import PodWorkers
from minikube_py.kubelet.prober import ProbeManager
from minikube_py.kubelet.server import KubeletServer
from minikube_py.kubelet.specs import NODE_LABEL, POD_UID_LABEL
from minikube_py.kubelet.stats_sampler import StatsSampler
from minikube_py.kubelet.tokens import TokenManager
from minikube_py.kubelet.volume_manager import VolumeManager, refreshed_in_place
from minikube_py.metrics.kubelet import KubeletMetrics
from minikube_py.pki.cluster import KeyPair
from minikube_py.tasks import TaskSet

log = logging.getLogger("minikube_py.kubelet")

LEASE_NAMESPACE = "kube-node-lease"
# CRI's container states, by the names of kubelet_running_containers' container_state.
CONTAINER_STATES = {0: "created", 1: "running", 2: "exited", 3: "unknown"}


class Kubelet:
    """`await run()` until cancelled; `ready` is set once the Node is registered Ready and the
    first pod list has been synced into the pod workers."""

    def __init__(self, client: ApiClient, cri_client: CriClient, config: KubeletConfig, *,
                 clock: Callable[[], float] = time.time,
                 machine: MachineInfo | None = None,
                 authorizer: KubeletAuthorizer | None = None,
                 tokens: KubeletTokenAuthenticator | None = None,
                 metrics: KubeletMetrics | None = None) -> None:
        self.client = client
        self.cri = cri_client
        self.config = config
        self.clock = clock
        self.machine = machine
        self.ready = asyncio.Event()
        self.runtime_version = ""
        self.stats = StatsSampler(cri_client, interval=config.housekeeping_interval,
                                  clock=clock)
        self.server = KubeletServer(
            cri_client, node_name=config.node_name, host=config.server_host,
            port=config.server_port,
            serving=KeyPair(config.tls_cert_file, config.tls_private_key_file),
            client_ca=config.client_ca_file, authorizer=authorizer, tokens=tokens,
            clock=clock, metrics=metrics, stats=self.stats)
        self.recorder = EventRecorder(client, "kubelet", config.node_name, clock=clock)
        self.prober = ProbeManager(cri_client=cri_client, recorder=self.recorder,
                                   on_change=self._on_probe_result, clock=clock,
                                   max_concurrent=config.max_concurrent_probes)
        # Service link variables need every Service (kube's kubelet lists and watches them).
        self.services = Informer(client, SERVICES)
        self.volumes = VolumeManager(config.data_dir / "pod-volumes", clock=clock,
                                     tokens=TokenManager(client, clock=clock))
        self.configurer = PodConfigurer(config=config, volumes=self.volumes,
                                        recorder=self.recorder, services=self.services)
        self.syncer = PodSyncer(client=client, cri_client=cri_client, config=config,
                                recorder=self.recorder, clock=clock, prober=self.prober,
                                configurer=self.configurer)
        self.workers = PodWorkers(self._sync_uid)
        self.pods = Informer(client, PODS, field_selector=f"spec.nodeName={config.node_name}")
        # Pods by UID; a pod removed from the API stays in _gone until its sandbox is torn down.
        self._by_uid: dict[str, dict[str, Any]] = {}
        self._gone: dict[str, dict[str, Any]] = {}
        self._node_uid = ""
        self._status_reported = 0.0  # when the node status was last written
        self._loops = TaskSet("kubelet", logger=log)
        self._relist_state: dict[str, frozenset[tuple[str, int]]] = {}
        self._metrics = metrics
        # Pods not running yet, by UID: when this kubelet first saw each (pod start latency).
        self._first_seen: dict[str, float] = {}
        if metrics is not None:
            metrics.follow_containers(self.container_states)

    @property
    def port(self) -> int:
        return self.server.port

    async def run(self) -> None:
        self.runtime_version = (await self.cri.version()).runtime_version
        if self.machine is None:
            self.machine = await asyncio.to_thread(collect_machine_info, self.config.data_dir)
        allocatable = node_status(self.config, self.machine, runtime_version="", kubelet_port=0,
                                  now=self.clock(), previous=None)["allocatable"]
        self.configurer.node = NodeResources(allocatable=allocatable,
                                             memory_capacity=self.machine.memory_ki * 1024)
        self.config.pods_dir.mkdir(parents=True, exist_ok=True)
        await self.server.start()
        try:
            await self.register_node()
            self.pods.add_handlers(self._on_add, self._on_update, self._on_delete)
            # The kubelet cannot go on without any of these: one ending stops it, loudly.
            loops: list[tuple[str, Coroutine[Any, Any, None]]] = [
                ("pod-informer", self.pods.run()),
                ("service-informer", self.services.run()),
                ("node-lease", self._every(self.config.lease_renew_interval, self.renew_lease)),
                ("node-status", self._every(self.config.node_status_check_interval,
                                            self.sync_node_status)),
                ("relist", self._every(self.config.relist_interval, self.relist)),
                ("orphans", self._every(self.config.orphan_cleanup_interval,
                                        self.cleanup_orphans)),
                ("stats", self.stats.run())]
            for name, loop in loops:
                self._loops.spawn(name, loop, critical=True)
            await self.pods.synced.wait()
            self.ready.set()
            await self.cleanup_orphans()
            await self._loops.wait_failure()
        finally:
            await self._loops.close()
            await self.workers.close()
            await self.prober.close()
            await self.syncer.close()
            await self.recorder.flush()
            await self.server.stop()

    async def _every(self, interval: float, fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await fn()
            except (ApiError, CriError, OSError) as e:
                log.warning("kubelet %s: %s", fn.__name__, e)

    # --- node ----------------------------------------------------------------------------

    def _status(self, previous: dict[str, Any] | None) -> dict[str, Any]:
        assert self.machine is not None
        return node_status(self.config, self.machine, runtime_version=self.runtime_version,
                           kubelet_port=self.port, now=self.clock(), previous=previous)

    async def register_node(self) -> None:
        """Create the Node, or take over the existing one (a kubelet restart)."""
        assert self.machine is not None
        name = self.config.node_name
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": node_labels(self.config, self.machine),
                             "annotations": node_annotations(self.config)},
                "spec": node_spec(self.config), "status": self._status(None)}
        try:
            node = await self.client.create(NODES, body)
        except ApiError as e:
            if e.code != 409:
                raise
            node = await self.client.get(NODES, name)
            node["metadata"]["labels"] = {**(node["metadata"].get("labels") or {}),
                                          **body["metadata"]["labels"]}
            node["metadata"]["annotations"] = {**(node["metadata"].get("annotations") or {}),
                                               **body["metadata"]["annotations"]}
            node["spec"] = {**(node.get("spec") or {}), **body["spec"]}
            node = await self.client.update(NODES, node)
        self._node_uid = node["metadata"].get("uid", "")
        # Status on create may be dropped by the API; write it through the subresource.
        node["status"] = self._status(node.get("status"))
        await self.client.update(NODES, node, subresource="status")
        self._status_reported = self.clock()
        await self.renew_lease()

    async def sync_node_status(self) -> None:
        """Read the Node: register it again if it was deleted (its pods stay bound to this
        node's name and keep running); write the status when it changed, or when the report
        interval passed."""
        for _ in range(3):
            try:
                node = await self.client.get(NODES, self.config.node_name)
            except ApiError as e:
                if e.code != 404:
                    raise
                log.warning("node %s is gone from the API; registering it again",
                            self.config.node_name)
                await self.register_node()
                return
            old = node.get("status") or {}
            status = {**old, **self._status(old)}
            now = self.clock()
            if (not node_status_changed(old, status)
                    and now - self._status_reported < self.config.node_status_interval):
                return
            node["status"] = status
            try:
                await self.client.update(NODES, node, subresource="status")
                self._status_reported = now
                return
            except ApiError as e:
                if e.code not in (404, 409):  # deleted meanwhile, or written by someone else
                    raise

    async def renew_lease(self) -> None:
        name = self.config.node_name
        now = micro_time(self.clock())
        try:
            lease = await self.client.get(LEASES, name, namespace=LEASE_NAMESPACE)
        except ApiError as e:
            if e.code != 404:
                raise
            await self._create_lease(now)
            return
        lease = copy.deepcopy(lease)
        lease.setdefault("spec", {}).update(
            holderIdentity=name, leaseDurationSeconds=self.config.lease_duration_seconds,
            renewTime=now)
        owners = lease_body(name, self._node_uid, 0, now)["metadata"].get("ownerReferences")
        if owners and lease["metadata"].get("ownerReferences") != owners:
            # The Node was registered again: own the lease by the new one, or the garbage
            # collector deletes it along with the old.
            lease["metadata"]["ownerReferences"] = owners
        await self.client.update(LEASES, lease, namespace=LEASE_NAMESPACE)

    async def _create_lease(self, now: str) -> None:
        body = lease_body(self.config.node_name, self._node_uid,
                          self.config.lease_duration_seconds, now)
        try:
            await self.client.create(LEASES, body, namespace=LEASE_NAMESPACE)
        except ApiError as e:
            if e.code != 404:
                raise
            # The namespace is normally made by the API server; create it if it is missing.
            try:
                await self.client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": LEASE_NAMESPACE}})
            except ApiError as ns_error:
                if ns_error.code != 409:
                    raise
            await self.client.create(LEASES, body, namespace=LEASE_NAMESPACE)

    # --- pods ----------------------------------------------------------------------------

    def _on_add(self, pod: dict[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        self._by_uid[uid] = pod
        self._gone.pop(uid, None)
        self._track_start(pod)
        self.workers.enqueue(uid)

    def _on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self._on_add(new)

    def _on_delete(self, pod: dict[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        self._by_uid.pop(uid, None)
        self._first_seen.pop(uid, None)
        self._gone[uid] = pod
        self.workers.enqueue(uid)

    def _on_probe_result(self, uid: str) -> None:
        if uid in self._by_uid:
            self.workers.enqueue(uid)

    async def _sync_uid(self, uid: str) -> float | None:
        pod = self._by_uid.get(uid)
        if pod is not None:
            again = await self.syncer.sync(pod)
            finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            if refreshed_in_place(pod) and not finished and not pod["metadata"].get(
                    "deletionTimestamp"):
                # What its volumes show follows the ConfigMaps and Secrets (and a token is
                # renewed): a pod with such volumes is synced again within the sync period.
                again = min(again if again is not None else self.config.sync_period,
                            self.config.sync_period)
            return again
        gone = self._gone.get(uid)
        if gone is not None:
            # Deleted from the API behind our back (force delete): tear down what runs.
            grace = (gone["metadata"].get("deletionGracePeriodSeconds") or 0)
            await self.syncer.terminate(gone, int(grace))
            self._gone.pop(uid, None)
            self.workers.forget(uid)
        return None

    def container_states(self) -> dict[str, list[str]]:
        """The states of each pod's containers as the latest relist saw them, by pod UID."""
        return {uid: [CONTAINER_STATES.get(state, "unknown") for _, state in containers]
                for uid, containers in self._relist_state.items()}

    def _track_start(self, pod: dict[str, Any]) -> None:
        """kubelet_pod_start_duration_seconds: from first seeing a pod to its status saying
        Running."""
        if self._metrics is None:
            return
        uid = pod["metadata"]["uid"]
        phase = (pod.get("status") or {}).get("phase")
        if phase == "Running":
            seen = self._first_seen.pop(uid, None)
            if seen is not None:
                self._metrics.pod_started(max(0.0, self.clock() - seen))
        elif phase in ("Succeeded", "Failed") or pod["metadata"].get("deletionTimestamp"):
            self._first_seen.pop(uid, None)  # it will not start (again)
        else:
            self._first_seen.setdefault(uid, self.clock())

    async def relist(self) -> None:
        """The PLEG: one ListContainers; pods whose containers changed state get a sync."""
        state: dict[str, set[tuple[str, int]]] = {}
        for c in await self.cri.list_containers(labels={}):
            uid = c.labels.get(POD_UID_LABEL)
            if uid:
                state.setdefault(uid, set()).add((c.id, c.state))
        frozen = {uid: frozenset(s) for uid, s in state.items()}
        for uid in set(frozen) | set(self._relist_state):
            if frozen.get(uid) != self._relist_state.get(uid) and uid in self._by_uid:
                self.workers.enqueue(uid)
        self._relist_state = frozen

    async def cleanup_orphans(self) -> None:
        """Sandboxes of this node whose pod the API no longer has (deleted while we were away)."""
        if not self.pods.synced.is_set():
            return
        sandboxes = await self.cri.list_pod_sandboxes(labels={NODE_LABEL: self.config.node_name})
        for sb in sandboxes:
            uid = sb.labels.get(POD_UID_LABEL, "")
            if not uid or uid in self._by_uid or uid in self.workers.busy:
                continue
            log.info("removing sandbox %s of pod %s/%s (uid %s): not in the API", sb.id[:12],
                     sb.metadata.namespace, sb.metadata.name, uid)
            self._gone.setdefault(uid, {"metadata": {
                "uid": uid, "name": sb.metadata.name, "namespace": sb.metadata.namespace,
                "deletionGracePeriodSeconds": 2}})
            self.workers.enqueue(uid)
        # Volume directories of pods gone while no sandbox was left (a kubelet stopped midway).
        with_sandbox = {sb.labels.get(POD_UID_LABEL, "") for sb in sandboxes}
        for uid in self.volumes.pod_uids():
            if (uid not in self._by_uid and uid not in self._gone and uid not in with_sandbox
                    and uid not in self.workers.busy):
                log.info("removing the volumes of pod uid %s: not in the API", uid)
                await self.volumes.tear_down(uid)

