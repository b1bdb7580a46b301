"""What the scheduler knows of one node: its allocatable resources and the facts the
filters read, and what is placed on it (bound and assumed pods), kept as flat numbers and
keys so a scheduling cycle compares rather than computes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from minikube_py.api.quantity import bytes_value, milli_cpu

Obj = dict[str, Any]


@dataclass(slots=True)
class Resources:
    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    pods: int = 0

    def add(self, other: Resources, sign: int = 1) -> None:
        self.milli_cpu += sign * other.milli_cpu
        self.memory += sign * other.memory
        self.ephemeral_storage += sign * other.ephemeral_storage
        self.pods += sign * other.pods


def _container_requests(container: Obj) -> Resources:
    res = container.get("resources") or {}
    # Kubernetes defaults requests to limits when only limits are given.
    req = {**(res.get("limits") or {}), **(res.get("requests") or {})}
    return Resources(
        milli_cpu=milli_cpu(req["cpu"]) if "cpu" in req else 0,
        memory=bytes_value(req["memory"]) if "memory" in req else 0,
        ephemeral_storage=bytes_value(req["ephemeral-storage"])
        if "ephemeral-storage" in req else 0,
    )


def pod_requests(pod: Obj) -> Resources:
    """Sum of app containers, at least the largest init container, plus overhead."""
    spec = pod.get("spec") or {}
    total = Resources(pods=1)
    for c in spec.get("containers") or []:
        total.add(_container_requests(c))
    for c in spec.get("initContainers") or []:
        r = _container_requests(c)
        total.milli_cpu = max(total.milli_cpu, r.milli_cpu)
        total.memory = max(total.memory, r.memory)
        total.ephemeral_storage = max(total.ephemeral_storage, r.ephemeral_storage)
    overhead = spec.get("overhead") or {}
    if "cpu" in overhead:
        total.milli_cpu += milli_cpu(overhead["cpu"])
    if "memory" in overhead:
        total.memory += bytes_value(overhead["memory"])
    return total


def _same_requests(a: Obj, b: Obj) -> bool:
    """Whether two copies of a pod ask for the same resources (what pod_requests reads)."""
    spec_a, spec_b = a.get("spec") or {}, b.get("spec") or {}
    return all(spec_a.get(k) == spec_b.get(k)
               for k in ("containers", "initContainers", "overhead"))


def has_pod_affinity(pod: Obj) -> bool:
    affinity = (pod.get("spec") or {}).get("affinity") or {}
    return bool(affinity.get("podAffinity") or affinity.get("podAntiAffinity"))


DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024


def non_zero(req: Resources) -> Resources:
    return Resources(
        milli_cpu=req.milli_cpu or DEFAULT_MILLI_CPU_REQUEST,
        memory=req.memory or DEFAULT_MEMORY_REQUEST,
        ephemeral_storage=req.ephemeral_storage, pods=req.pods,
    )


def node_allocatable(node: Obj) -> Resources:
    status = node.get("status") or {}
    alloc = status.get("allocatable") or status.get("capacity") or {}
    return Resources(
        milli_cpu=milli_cpu(alloc.get("cpu", 0)),
        memory=bytes_value(alloc.get("memory", 0)),
        ephemeral_storage=bytes_value(alloc.get("ephemeral-storage", 0)),
        pods=int(alloc.get("pods", 110)),
    )


# (has room for a pod, free milli-cpu, free memory, free ephemeral storage): all a fit
# verdict reads of a node.
FitKey = tuple[bool, int, int, int]
# (allocatable milli-cpu, allocatable memory, non-zero requested milli-cpu and memory):
# all the resource scores read of a node.
UsageKey = tuple[int, int, int, int]


@dataclass(slots=True)
class Census:
    """How many nodes of a snapshot are in each resource state. Nodes start alike and
    fill alike, so there are a handful of states however many nodes: a cycle decides fit
    and scores once per state present, not once per node."""

    fit: dict[FitKey, int] = field(default_factory=dict)
    usage: dict[UsageKey, int] = field(default_factory=dict)

    def count(self, info: NodeInfo, sign: int) -> None:
        _bump(self.fit, info.fit_key, sign)
        _bump(self.usage, info.usage_key, sign)


def _bump(counts: dict[Any, int], key: Any, sign: int) -> None:
    left = counts.get(key, 0) + sign
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)


# (namespace, labels, terminating): all a spreading or affinity selector asks of a pod.
GroupKey = tuple[str | None, frozenset[tuple[str, str]], bool]


@dataclass(slots=True)
class PodGroup:
    """How many pods on a node share one GroupKey, and their labels."""

    count: int
    labels: dict[str, str]


@dataclass(slots=True)
class NodeInfo:
    """A node plus what is already placed on it (bound and assumed pods)."""

    node: Obj
    allocatable: Resources
    # Facts every cycle asks for, computed once per node update rather than per pod.
    name: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    ready: bool = False
    unschedulable: bool = False
    hard_taints: tuple[Obj, ...] = ()  # NoSchedule and NoExecute
    hard_taint_key: tuple[tuple[str, str, str], ...] = ()  # the same, hashable
    soft_taints: tuple[Obj, ...] = ()  # PreferNoSchedule
    requested: Resources = field(default_factory=Resources)
    # What scoring counts: pods without requests weigh as 100m cpu / 200Mi (kube's rule),
    # so spreading works for them too.
    non_zero_requested: Resources = field(default_factory=Resources)
    pods: dict[str, Obj] = field(default_factory=dict)  # by pod uid
    # The subset with pod (anti-)affinity: what InterPodAffinity must look at for every
    # incoming pod, kept apart so pods without affinity cost nothing.
    pods_with_affinity: dict[str, Obj] = field(default_factory=dict)
    image_names: frozenset[str] = frozenset()
    # The requests each pod was counted with, so removing it subtracts exactly that.
    counted_requests: dict[str, Resources] = field(default_factory=dict)
    # The same pods grouped by what a spreading selector reads of them: counting matches
    # costs a selector call per group, not per pod (a workload's replicas share a group).
    pod_groups: dict[GroupKey, PodGroup] = field(default_factory=dict)
    # Derived, kept current by add_pod/remove_pod (see `_derive`): free room as plain ints,
    # so a fit check is four comparisons; all a fit verdict reads, as one key (nodes with
    # equal keys fit a pod alike); and what the resource scores read, as one key.
    free_milli_cpu: int = 0
    free_memory: int = 0
    free_ephemeral_storage: int = 0
    free_pods: int = 0
    fit_key: FitKey = (False, 0, 0, 0)
    usage_key: UsageKey = (0, 0, 0, 0)
    # The census of the snapshot this node belongs to, which _derive keeps current.
    census: Census | None = None
    # Everything a static filter may read (see StaticFilterPlugin): equal keys before and
    # after a node update mean every cached static verdict about this node still holds.
    static_key: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        self.static_key = (self.name, tuple(sorted(self.labels.items())), self.hard_taint_key,
                           self.ready, self.unschedulable)
        self._derive()

    def _derive(self) -> None:
        census = self.census
        if census is not None:
            census.count(self, -1)
        alloc, used, weighed = self.allocatable, self.requested, self.non_zero_requested
        self.free_milli_cpu = alloc.milli_cpu - used.milli_cpu
        self.free_memory = alloc.memory - used.memory
        self.free_ephemeral_storage = alloc.ephemeral_storage - used.ephemeral_storage
        self.free_pods = alloc.pods - used.pods
        self.fit_key = (self.free_pods > 0, self.free_milli_cpu, self.free_memory,
                        self.free_ephemeral_storage)
        self.usage_key = (alloc.milli_cpu, alloc.memory, weighed.milli_cpu, weighed.memory)
        if census is not None:
            census.count(self, 1)

    @classmethod
    def of(cls, node: Obj) -> NodeInfo:
        images = frozenset(
            name for img in (node.get("status") or {}).get("images") or []
            for name in img.get("names") or []
        )
        meta = node.get("metadata") or {}
        spec = node.get("spec") or {}
        taints = spec.get("taints") or []
        hard = tuple(t for t in taints if t.get("effect") in ("NoSchedule", "NoExecute"))
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (node.get("status") or {}).get("conditions") or [])
        return cls(
            node=node, allocatable=node_allocatable(node), name=str(meta.get("name", "")),
            labels=dict(meta.get("labels") or {}), ready=ready,
            unschedulable=bool(spec.get("unschedulable")),
            hard_taints=hard,
            hard_taint_key=tuple((str(t.get("key", "")), str(t.get("value", "")),
                                  str(t.get("effect", ""))) for t in hard),
            soft_taints=tuple(t for t in taints if t.get("effect") == "PreferNoSchedule"),
            image_names=images,
        )

    def add_pod(self, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        known = self.pods.get(uid)
        if known is not None and _same_requests(known, pod):
            # A newer copy of a pod already counted (its binding, a status update): keep
            # it, without counting its requests again.
            self._group(known, -1)
            self._group(pod, 1)
            self.pods[uid] = pod
            if has_pod_affinity(pod):
                self.pods_with_affinity[uid] = pod
            else:
                self.pods_with_affinity.pop(uid, None)
            return
        if known is not None:
            self._forget(uid)
        self.pods[uid] = pod
        self._group(pod, 1)
        if has_pod_affinity(pod):
            self.pods_with_affinity[uid] = pod
        req = self.counted_requests[uid] = pod_requests(pod)
        self.requested.add(req)
        self.non_zero_requested.add(non_zero(req))
        self._derive()

    def remove_pod(self, pod: Obj) -> None:
        if self._forget(pod["metadata"]["uid"]):
            self._derive()

    def _forget(self, uid: str) -> bool:
        old = self.pods.pop(uid, None)
        if old is not None:
            self._group(old, -1)
        self.pods_with_affinity.pop(uid, None)
        req = self.counted_requests.pop(uid, None)
        if req is None:
            return False
        self.requested.add(req, -1)
        self.non_zero_requested.add(non_zero(req), -1)
        return True

    def _group(self, pod: Obj, sign: int) -> None:
        meta = pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        key = (meta.get("namespace"), frozenset(labels.items()),
               bool(meta.get("deletionTimestamp")))
        group = self.pod_groups.get(key)
        if group is None:
            group = self.pod_groups[key] = PodGroup(0, labels)
        group.count += sign
        if group.count <= 0:
            del self.pod_groups[key]

    def set_node(self, node: Obj) -> bool:
        """Take a newer copy of the node, keeping what is placed on it; in place, so the
        equivalence cache's references stay valid. True if a static fact changed."""
        fresh = NodeInfo.of(node)
        changed = fresh.static_key != self.static_key
        for name in _NODE_FACTS:
            setattr(self, name, getattr(fresh, name))
        self._derive()
        return changed


# What NodeInfo.of reads from the node object (the rest is what is placed on the node).
_NODE_FACTS = ("node", "allocatable", "name", "labels", "ready", "unschedulable",
               "hard_taints", "hard_taint_key", "soft_taints", "image_names", "static_key")


def node_info_copy(info: NodeInfo) -> NodeInfo:
    """A NodeInfo of the same node holding the same pods, outside any snapshot (no census),
    for what-if questions (preemption's victims, nominated pods) that must not touch the
    cache."""
    twin = NodeInfo.of(info.node)
    for pod in info.pods.values():
        twin.add_pod(pod)
    return twin
