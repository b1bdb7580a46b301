"""The scheduler's async shell: keeps a node cache from informers, runs scheduling cycles
for queued pods, and binds through the pods/binding subresource."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Callable
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    NODES,
    PERSISTENTVOLUMECLAIMS,
    PERSISTENTVOLUMES,
    PODDISRUPTIONBUDGETS,
    PODS,
    STORAGECLASSES,
)
from minikube_py.api.storage import SELECTED_NODE_ANNOTATION
from minikube_py.api.timefmt import rfc3339
from minikube_py.api.volumes import claim_key
from minikube_py.client.events import NORMAL, WARNING, EventRecorder
from minikube_py.client.informer import InformerFactory
from minikube_py.client.interface import STRATEGIC_MERGE_PATCH, ApiClient
from minikube_py.metrics.scheduler import SchedulerMetrics
from minikube_py.scheduler.framework import Framework, NodeInfo, Obj
from minikube_py.scheduler.plugins import build_framework
from minikube_py.scheduler.plugins.volume_binding import (
    VolumeCatalog,
    all_bound,
    claims_to_select,
    pod_claims,
)
from minikube_py.scheduler.preemption import (
    DISRUPTION_TARGET,
    PREEMPTION_BY_SCHEDULER,
    Victims,
    pod_priority,
    preempt,
    with_pods,
)
from minikube_py.scheduler.queue import SchedulingQueue
from minikube_py.scheduler.snapshot import NodeSnapshot
from minikube_py.tasks import TaskSet

log = logging.getLogger("minikube_py.scheduler")

TERMINAL_PHASES = ("Succeeded", "Failed")
# How long a pod's bind waits for its claims to be bound (kube's bindTimeoutSeconds).
VOLUME_BIND_TIMEOUT = 600.0


class Scheduler:
    def __init__(self, client: ApiClient, informers: InformerFactory, events: EventRecorder, *,
                 framework: Framework | None = None, scheduler_name: str = "default-scheduler",
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time, max_binds_in_flight: int = 64,
                 on_bound: Callable[[Obj, str, float, float], None] | None = None,
                 volume_bind_timeout: float = VOLUME_BIND_TIMEOUT,
                 metrics: SchedulerMetrics | None = None) -> None:
        self._client = client
        self._events = events
        self.volumes = VolumeCatalog()
        self._framework = framework or build_framework(volumes=self.volumes)
        self._volume_bind_timeout = volume_bind_timeout
        self._name = scheduler_name
        self._clock = clock
        self._wall_clock = wall_clock  # for timestamps written to the API
        self.queue = SchedulingQueue(clock=clock)
        self._metrics = metrics
        if metrics is not None:
            metrics.follow_queue(self.queue.pending_counts)
        self._nodes = NodeSnapshot()
        self._assumed: dict[str, str] = {}  # pod uid -> node, until the informer confirms
        self._affinity_nodes: set[str] = set()  # nodes holding pods with pod affinity
        # Pending pods nominated to a node by their preemption: pod uid -> (node, pod).
        # Their room there is kept from pods of no higher priority until they are bound.
        self._nominated: dict[str, tuple[str, Obj]] = {}
        self._wakeup = asyncio.Event()
        self._binds = asyncio.Semaphore(max_binds_in_flight)
        self._tasks = TaskSet("scheduler", logger=log)  # binds and status writes
        self._first_seen: dict[str, float] = {}
        self._algorithm_seconds: dict[str, float] = {}
        # Called with (pod, node, seconds from first queued to bound, seconds the winning
        # scheduling cycle took to choose the node), for measurements.
        self._on_bound = on_bound
        self._node_informer = informers.informer(NODES)
        self._pod_informer = informers.informer(PODS)
        self._node_informer.add_handlers(self._node_added, self._node_updated, self._node_deleted)
        self._pod_informer.add_handlers(self._pod_added, self._pod_updated, self._pod_deleted)
        self._budget_informer = informers.informer(PODDISRUPTIONBUDGETS)
        self._storage_informers = []
        for resource, table, key in (
                (PERSISTENTVOLUMECLAIMS, self.volumes.claims, claim_key),
                (PERSISTENTVOLUMES, self.volumes.volumes, _name),
                (STORAGECLASSES, self.volumes.classes, _name)):
            informer = informers.informer(resource)
            informer.add_handlers(*self._storage_handlers(table, key))
            self._storage_informers.append(informer)

    # -- informer handlers: only update the cache and the queue ------------------------

    def _node_added(self, node: Obj) -> None:
        self._nodes.upsert(node)
        self._cluster_changed()

    def _node_updated(self, old: Obj, node: Obj) -> None:
        self._nodes.upsert(node)
        self._cluster_changed()

    def _node_deleted(self, node: Obj) -> None:
        self._nodes.remove(node["metadata"]["name"])
        self._affinity_nodes.discard(node["metadata"]["name"])

    def _track_affinity(self, info: NodeInfo) -> None:
        if info.pods_with_affinity:
            self._affinity_nodes.add(info.name)
        else:
            self._affinity_nodes.discard(info.name)

    def _pod_added(self, pod: Obj) -> None:
        self._pod_updated(None, pod)

    def _pod_updated(self, old: Obj | None, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        node_name = (pod.get("spec") or {}).get("nodeName")
        phase = (pod.get("status") or {}).get("phase")
        self._track_nomination(pod)
        if node_name:
            self.queue.delete(uid)
            self._assumed.pop(uid, None)
            info = self._nodes.get(node_name)
            if info is None:
                return
            if phase in TERMINAL_PHASES:
                info.remove_pod(pod)
                self._cluster_changed()
            else:
                info.add_pod(pod)
            self._track_affinity(info)
            return
        if uid in self._assumed or (pod.get("metadata") or {}).get("deletionTimestamp"):
            return
        if (pod.get("spec") or {}).get("schedulerName", "default-scheduler") != self._name:
            return
        self._first_seen.setdefault(uid, self._clock())
        if old is not None and _scheduling_relevant(old) == _scheduling_relevant(pod):
            self.queue.refresh(pod)
            return
        self.queue.add(pod)
        self._wakeup.set()

    def _pod_deleted(self, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        self.queue.delete(uid)
        self._nominated.pop(uid, None)
        self._first_seen.pop(uid, None)
        self._algorithm_seconds.pop(uid, None)
        node_name = (pod.get("spec") or {}).get("nodeName") or self._assumed.pop(uid, None)
        if node_name and node_name in self._nodes:
            self._nodes[node_name].remove_pod(pod)
            self._track_affinity(self._nodes[node_name])
            self._cluster_changed()

    def disruption_budgets(self) -> list[Obj]:
        """The PodDisruptionBudgets preemption spares where it can, as cached."""
        return self._budget_informer.list()

    def _track_nomination(self, pod: Obj) -> None:
        """Keep the nomination a pending pod's status names; a bound or deleting pod, or
        one nominated nowhere, holds no room."""
        uid = pod["metadata"]["uid"]
        nominated = (pod.get("status") or {}).get("nominatedNodeName")
        if nominated and not (pod.get("spec") or {}).get("nodeName") and \
                not pod["metadata"].get("deletionTimestamp"):
            self._nominated[uid] = (str(nominated), pod)
        else:
            self._nominated.pop(uid, None)

    def _nominated_for(self, pod: Obj) -> dict[str, list[Obj]]:
        """By node, the other pods nominated there whose priority is at least `pod`'s:
        kube's filters see them as placed (RunFilterPluginsWithNominatedPods), so a pod
        of lower priority does not take the room a preemption made."""
        uid, priority = pod["metadata"]["uid"], pod_priority(pod)
        found: dict[str, list[Obj]] = {}
        for other, (node, nominee) in self._nominated.items():
            if other != uid and node in self._nodes and pod_priority(nominee) >= priority:
                found.setdefault(node, []).append(nominee)
        return found

    def _storage_handlers(self, table: dict[str, Obj], key: Callable[[Obj], str]
                          ) -> tuple[Callable[[Obj], None], Callable[[Obj, Obj], None],
                                     Callable[[Obj], None]]:
        """Handlers keeping one table of the volume catalog; a change may make a waiting
        pod schedulable (a claim bound, a volume created)."""
        def added(obj: Obj) -> None:
            self.volumes.put(table, key(obj), obj)
            self._cluster_changed()

        def deleted(obj: Obj) -> None:
            self.volumes.put(table, key(obj), None)
            self._cluster_changed()

        return added, lambda _old, new: added(new), deleted

    def _cluster_changed(self) -> None:
        self.queue.cluster_changed()
        self._wakeup.set()

    # -- the scheduling loop -----------------------------------------------------------

    async def run(self) -> None:
        await self._node_informer.synced.wait()
        await self._pod_informer.synced.wait()
        await self._budget_informer.synced.wait()
        for informer in self._storage_informers:
            await informer.synced.wait()
        log.info("scheduler ready: %d node(s), %d pod(s) waiting", len(self._nodes),
                 len(self.queue))
        try:
            while True:
                pod = self.queue.pop_ready()
                if pod is None:
                    await self._wait_for_work()
                    continue
                self.schedule_one(pod)
                # Let informers and binds make progress between cycles.
                await asyncio.sleep(0)
        finally:
            await self._tasks.close()

    async def _wait_for_work(self) -> None:
        self._wakeup.clear()
        ready_at = self.queue.next_ready_at()
        timeout = None if ready_at is None else max(0.0, ready_at - self._clock())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):  # not wait_for: see watchcache.next_batch
                await self._wakeup.wait()

    def schedule_one(self, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        started = self._clock()
        nodes = self._nodes.infos
        nominated = self._nominated_for(pod)
        if nominated:
            # Nodes holding nominated pods are seen as copies with them placed: no cached
            # verdict or census knows those copies, so this cycle does without them.
            nodes = [with_pods(n, nominated[n.name]) if n.name in nominated else n
                     for n in nodes]
            result = self._framework.schedule(
                pod, nodes, affinity_nodes=[n for n in nodes if n.pods_with_affinity])
        else:
            result = self._framework.schedule(
                pod, nodes, affinity_nodes=[self._nodes[n] for n in self._affinity_nodes],
                generation=self._nodes.generation, census=self._nodes.census)
        self._algorithm_seconds[uid] = self._clock() - started
        if result.node is None:
            self._attempted("unschedulable", started)
            self._unschedulable(pod, result.failure_message(len(nodes)), result.diagnosis,
                                nominated)
            return
        assumed = copy.copy(pod)
        assumed["spec"] = {**pod.get("spec", {}), "nodeName": result.node}
        self._nodes[result.node].add_pod(assumed)
        self._track_affinity(self._nodes[result.node])
        self._assumed[uid] = result.node
        self._nominated.pop(uid, None)  # its room is now its assumed place
        node = result.node

        def undo_bind(_: BaseException) -> None:
            self._attempted("error", started)
            self._bind_failed(pod, node)

        self._tasks.spawn(f"bind {_pod_name(pod)}", self._bind(pod, node, started),
                          on_error=undo_bind)

    def _attempted(self, result: str, started: float) -> None:
        """A scheduling attempt that began at `started` ended (kube's results: scheduled,
        unschedulable, error)."""
        if self._metrics is not None:
            self._metrics.attempt(result, self._name, self._clock() - started)

    def _unschedulable(self, pod: Obj, message: str, diagnosis: dict[str, Any],
                       nominated: dict[str, list[Obj]]) -> None:
        """No node fits: try preemption (kube's PostFilter). Either it nominates a node
        and its victims go, or the reason it could not is added to FailedScheduling."""
        uid = pod["metadata"]["uid"]
        known = self._nominated.get(uid)
        if known is not None:
            # Our own nomination, even before the informer brings it back.
            pod = {**pod, "status": {**(pod.get("status") or {}),
                                     "nominatedNodeName": known[0]}}
        outcome = preempt(self._framework, pod, self._nodes.infos, diagnosis,
                          self.disruption_budgets(), nominated=nominated)
        node = None
        if outcome.victims is None:
            message = f"{message} {outcome.message}"
        else:
            node = outcome.victims.node
            self._nominated[uid] = (node, pod)
            self._tasks.spawn(f"preempt for {_pod_name(pod)}",
                              self._preempt(pod, outcome.victims))
        self.queue.park_unschedulable(uid)
        self._events.record(pod, WARNING, "FailedScheduling", message)
        self._tasks.spawn(f"mark-unschedulable {_pod_name(pod)}",
                          self._mark_unschedulable(pod, message, node))

    async def _preempt(self, preemptor: Obj, victims: Victims) -> None:
        """kube's prepareCandidate: each victim is marked DisruptionTarget (so its
        controllers and the disruption controller know why it goes), then deleted with
        its grace period, and told who preempted it; pods of lower priority nominated to
        the node lose their nomination, since the room is taken."""
        await asyncio.gather(*(self._preempt_victim(preemptor, victim, victims.node)
                               for victim in victims.pods))
        priority = pod_priority(preemptor)
        for uid, (node, nominee) in list(self._nominated.items()):
            if node == victims.node and pod_priority(nominee) < priority:
                self._nominated.pop(uid, None)
                meta = nominee["metadata"]
                with contextlib.suppress(ApiError):
                    await self._client.patch(PODS, meta["name"],
                                             {"status": {"nominatedNodeName": None}},
                                             namespace=meta["namespace"], subresource="status")

    async def _preempt_victim(self, preemptor: Obj, victim: Obj, node: str) -> None:
        meta = victim["metadata"]
        # A strategic merge patch of the one condition (merged by type): what the kubelet
        # writes of the victim's status meanwhile is kept.
        condition = {
            "type": DISRUPTION_TARGET, "status": "True", "lastProbeTime": None,
            "lastTransitionTime": rfc3339(self._wall_clock()),
            "reason": PREEMPTION_BY_SCHEDULER,
            "message": f"{self._name}: preempting to accommodate a higher priority pod"}
        try:
            await self._client.patch(PODS, meta["name"], {"status": {"conditions": [condition]}},
                                     patch_type=STRATEGIC_MERGE_PATCH,
                                     namespace=meta["namespace"], subresource="status")
            await self._client.delete(PODS, meta["name"], namespace=meta["namespace"],
                                      preconditions={"uid": meta["uid"]})
        except ApiError as e:
            if e.code not in (404, 409):  # gone already, or a new pod of the name
                log.warning("preempting %s for %s failed: %s", _pod_name(victim),
                            _pod_name(preemptor), e)
            return
        self._events.record(victim, NORMAL, "Preempted",
                            f"Preempted by pod {preemptor['metadata']['uid']} on node {node}")

    async def _bind(self, pod: Obj, node: str, attempt_started: float) -> None:
        meta = pod["metadata"]
        if pod_claims(pod) and not await self._bind_volumes(pod, node):
            self._attempted("error", attempt_started)
            return
        binding = {
            "apiVersion": "v1", "kind": "Binding",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        async with self._binds:
            try:
                await self._client.create(PODS, binding, namespace=meta["namespace"],
                                          name=meta["name"], subresource="binding")
            except ApiError as e:
                self._forget(pod, node)
                self._attempted("error", attempt_started)
                if e.code in (404, 409):  # gone, or someone else bound it
                    self.queue.done(meta["uid"])
                else:
                    log.warning("binding %s/%s to %s failed: %s", meta["namespace"],
                                meta["name"], node, e)
                    self.queue.requeue_backoff(meta["uid"])
                self._wakeup.set()
                return
        self.queue.done(meta["uid"])
        self._attempted("scheduled", attempt_started)
        started = self._first_seen.pop(meta["uid"], None)
        algorithm = self._algorithm_seconds.pop(meta["uid"], None)
        if self._on_bound is not None and started is not None and algorithm is not None:
            self._on_bound(pod, node, self._clock() - started, algorithm)
        self._events.record(pod, NORMAL, "Scheduled",
                            f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}")

    async def _bind_volumes(self, pod: Obj, node: str) -> bool:
        """kube's PreBind: name the node on the pod's claims waiting for a first consumer
        (their binder or provisioner picks a volume there), then wait until every claim is
        bound. False when they were not bound in time (the pod is tried again later)."""
        meta = pod["metadata"]
        for claim in claims_to_select(pod, self.volumes, node):
            cmeta = claim["metadata"]
            await self._client.patch(
                PERSISTENTVOLUMECLAIMS, cmeta["name"],
                {"metadata": {"annotations": {SELECTED_NODE_ANNOTATION: node}}},
                namespace=cmeta["namespace"])
        try:
            async with asyncio.timeout(self._volume_bind_timeout):
                while not all_bound(pod, self.volumes):
                    if meta["uid"] not in self._assumed:
                        return False  # deleted while it waited
                    await self.volumes.wait_changed()
        except TimeoutError:
            self._forget(pod, node)
            message = (f"running PreBind plugin \"VolumeBinding\": binding volumes: claims of "
                       f"pod {meta['namespace']}/{meta['name']} were not bound within "
                       f"{self._volume_bind_timeout:g}s on node {node}")
            self._events.record(pod, WARNING, "FailedScheduling", message)
            self.queue.requeue_backoff(meta["uid"])
            self._wakeup.set()
            return False
        return True

    def _bind_failed(self, pod: Obj, node: str) -> None:
        """A bind ended by an error it did not expect (logged by the task guard): forget the
        assumption, which would otherwise hold the pod on that node forever, and retry."""
        self._forget(pod, node)
        self.queue.requeue_backoff(pod["metadata"]["uid"])
        self._wakeup.set()

    def _forget(self, pod: Obj, node: str) -> None:
        if self._assumed.pop(pod["metadata"]["uid"], None) and node in self._nodes:
            self._nodes[node].remove_pod(pod)
            self._track_affinity(self._nodes[node])

    async def _mark_unschedulable(self, pod: Obj, message: str,
                                  nominated: str | None = None) -> None:
        """Set PodScheduled=False/Unschedulable, as kube-scheduler does, so `kubectl get`
        and `describe` tell why the pod is Pending; and status.nominatedNodeName when its
        preemption chose a node (`kubectl get -o wide` shows it)."""
        meta = pod["metadata"]
        status = pod.get("status") or {}
        old = status.get("conditions") or []
        if any(c.get("type") == "PodScheduled" and c.get("message") == message for c in old) \
                and nominated in (None, status.get("nominatedNodeName")):
            return
        conditions = [c for c in old if c.get("type") != "PodScheduled"]
        conditions.append({
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": message, "lastProbeTime": None,
            "lastTransitionTime": rfc3339(self._wall_clock()),
        })
        patch: Obj = {"conditions": conditions}
        if nominated is not None:
            patch["nominatedNodeName"] = nominated
        try:
            await self._client.patch(PODS, meta["name"], {"status": patch},
                                     namespace=meta["namespace"], subresource="status")
        except ApiError as e:
            log.debug("could not mark %s unschedulable: %s", meta["name"], e)


def _name(obj: Obj) -> str:
    return str(obj["metadata"]["name"])


def _pod_name(pod: Obj) -> str:
    meta = pod["metadata"]
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _scheduling_relevant(pod: Obj) -> tuple[Any, Any, Any]:
    """What an update must change for a parked pod to be worth another attempt
    (a status-only update, such as our own Unschedulable condition, is not)."""
    meta = pod.get("metadata") or {}
    return pod.get("spec"), meta.get("labels"), meta.get("annotations")
