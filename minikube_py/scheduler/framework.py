"""The scheduling framework: extension-point interfaces, per-cycle state, and the pure
scheduling cycle (filter the nodes, score the feasible ones, pick the best)."""

from __future__ import annotations

import enum
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from minikube_py.api.quantity import bytes_value, milli_cpu

Obj = dict[str, Any]

MAX_NODE_SCORE = 100


class Code(enum.Enum):
    SUCCESS = "Success"
    UNSCHEDULABLE = "Unschedulable"
    # No change in the cluster can make this node fit (e.g. a nodeName mismatch).
    UNRESOLVABLE = "UnschedulableAndUnresolvable"
    ERROR = "Error"
    # From PreFilter/PreScore: this plugin has nothing to say about this pod, so its
    # Filter/Score is not called at all this cycle (kube's Skip status).
    SKIP = "Skip"


@dataclass(frozen=True, slots=True)
class Status:
    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.code is Code.SUCCESS


SUCCESS = Status()
SKIP = Status(Code.SKIP)


def unschedulable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE, reasons)


def unresolvable(*reasons: str) -> Status:
    return Status(Code.UNRESOLVABLE, reasons)


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
        if uid in self.pods:
            self.remove_pod(self.pods[uid])
        self.pods[uid] = pod
        if has_pod_affinity(pod):
            self.pods_with_affinity[uid] = pod
        req = pod_requests(pod)
        self.requested.add(req)
        self.non_zero_requested.add(non_zero(req))

    def remove_pod(self, pod: Obj) -> None:
        old = self.pods.pop(pod["metadata"]["uid"], None)
        self.pods_with_affinity.pop(pod["metadata"]["uid"], None)
        if old is not None:
            req = pod_requests(old)
            self.requested.add(req, -1)
            self.non_zero_requested.add(non_zero(req), -1)

    def with_node(self, node: Obj) -> NodeInfo:
        fresh = NodeInfo.of(node)
        fresh.pods = self.pods
        fresh.pods_with_affinity = self.pods_with_affinity
        fresh.requested = self.requested
        fresh.non_zero_requested = self.non_zero_requested
        return fresh


class CycleState(dict[str, Any]):
    """Data one plugin computes in PreFilter and reads in Filter/Score, for one pod.
    The framework puts the cycle's node snapshot under NODES."""


NODES = "framework/nodes"
# The nodes that hold pods with pod (anti-)affinity, when the caller tracks them (the
# scheduler does, so a cycle need not scan every node to find out).
AFFINITY_NODES = "framework/affinity-nodes"


class PreFilterPlugin(Protocol):
    name: str

    def pre_filter(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status: ...


class FilterPlugin(Protocol):
    name: str

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status: ...


class ScorePlugin(Protocol):
    """May also define `pre_score(state, pod, feasible) -> Status` (SKIP to sit out the
    cycle) and `normalize(state, pod, scores)`."""

    name: str
    weight: int

    def score(self, state: CycleState, pod: Obj, node: NodeInfo) -> int:
        """0..MAX_NODE_SCORE, higher is better (or any raw number if the plugin also
        has `normalize(state, pod, scores)`, which rescales every node's score in place)."""
        ...


@dataclass(frozen=True, slots=True)
class ScheduleResult:
    node: str | None
    # Per-node failure when no node fits (node name -> Status).
    diagnosis: dict[str, Status]
    evaluated: int = 0
    feasible: int = 0

    def failure_message(self, total_nodes: int) -> str:
        return failure_message(total_nodes, self.diagnosis)


def failure_message(total_nodes: int, diagnosis: dict[str, Status]) -> str:
    """kube-scheduler's FailedScheduling text: '0/3 nodes are available: 1 Insufficient
    cpu, 2 node(s) had untolerated taint {k: v}.'"""
    if total_nodes == 0:
        return "no nodes available to schedule pods"
    counts: Counter[str] = Counter()
    for status in diagnosis.values():
        for reason in status.reasons:
            counts[reason] += 1
    parts = sorted(f"{n} {reason}" for reason, n in counts.items())
    return f"0/{total_nodes} nodes are available: {', '.join(parts)}."


def nodes_to_find(total: int, percentage: int) -> int:
    """How many feasible nodes are enough (kube's numFeasibleNodesToFind)."""
    min_feasible = 100
    if total < min_feasible:
        return total
    pct = percentage
    if pct <= 0:
        pct = max(5, 50 - total // 125)  # adaptive: large clusters look at fewer nodes
    return max(min_feasible, total * pct // 100)


@dataclass
class Framework:
    pre_filters: list[PreFilterPlugin]
    filters: list[FilterPlugin]
    scorers: list[ScorePlugin]
    percentage_of_nodes_to_score: int = 0  # 0: adaptive
    rng: random.Random = field(default_factory=random.Random)
    _next_start: int = 0

    def schedule(self, pod: Obj, nodes: Sequence[NodeInfo], *,
                 affinity_nodes: Sequence[NodeInfo] | None = None) -> ScheduleResult:
        """One scheduling cycle for `pod` over the snapshot `nodes`."""
        state = CycleState()
        state[NODES] = nodes
        if affinity_nodes is not None:
            state[AFFINITY_NODES] = affinity_nodes
        skipped: set[str] = set()
        for pre in self.pre_filters:
            status = pre.pre_filter(state, pod, nodes)
            if status.code is Code.SKIP:
                skipped.add(pre.name)
            elif status.code is not Code.SUCCESS:
                return ScheduleResult(None, {n.name: status for n in nodes}, 0, 0)
        filters = [_batch_filter(p) for p in self.filters if p.name not in skipped]
        total = len(nodes)
        want = nodes_to_find(total, self.percentage_of_nodes_to_score)
        feasible: list[NodeInfo] = []
        diagnosis: dict[str, Status] = {}
        start = self._next_start % total if total else 0
        evaluated = 0
        # Start where the last cycle stopped so every node gets its turn. Nodes go through
        # the filters a chunk at a time: hundreds of nodes per pod make per-call overhead
        # the cost that matters, and a chunk still stops soon after enough nodes fit.
        ordered = [*nodes[start:], *nodes[:start]]
        for lo in range(0, total, _FILTER_CHUNK):
            chunk = ordered[lo:lo + _FILTER_CHUNK]
            survivors = chunk
            for run_filter in filters:
                survivors = run_filter(state, pod, survivors, diagnosis)
                if not survivors:
                    break
            need = want - len(feasible)
            if len(survivors) >= need:
                last = survivors[need - 1]
                feasible.extend(survivors[:need])
                evaluated += next(i for i, n in enumerate(chunk) if n is last) + 1
                break
            feasible.extend(survivors)
            evaluated += len(chunk)
        self._next_start = (start + evaluated) % total if total else 0
        if not feasible:
            return ScheduleResult(None, diagnosis, evaluated, 0)
        best = self._select(state, pod, feasible)
        return ScheduleResult(best, {}, evaluated, len(feasible))

    def _select(self, state: CycleState, pod: Obj, feasible: list[NodeInfo]) -> str:
        scorers = [p for p in self.scorers
                   if getattr(p, "pre_score", None) is None
                   or p.pre_score(state, pod, feasible).code is not Code.SKIP]  # type: ignore[attr-defined]
        if len(feasible) == 1 or not scorers:
            return feasible[0].name
        totals = [0] * len(feasible)
        for plugin in scorers:
            weight = plugin.weight
            many = getattr(plugin, "score_many", None)
            scores: list[int] = (many(state, pod, feasible) if many is not None else
                                 [plugin.score(state, pod, n) for n in feasible])
            normalize = getattr(plugin, "normalize", None)
            if normalize is not None:
                by_name = {n.name: v for n, v in zip(feasible, scores, strict=True)}
                normalize(state, pod, by_name)
                scores = [by_name[n.name] for n in feasible]
            totals = [t + weight * v for t, v in zip(totals, scores, strict=True)]
        best_score = max(totals)
        best = [feasible[i].name for i, value in enumerate(totals) if value == best_score]
        # Ties are broken at random, like kube-scheduler's reservoir sampling.
        return best[0] if len(best) == 1 else self.rng.choice(best)


_FILTER_CHUNK = 64

BatchFilter = Callable[[CycleState, Obj, list[NodeInfo], dict[str, Status]], list[NodeInfo]]


def _batch_filter(plugin: FilterPlugin) -> BatchFilter:
    """The plugin's own `filter_many(state, pod, nodes, failed) -> survivors` where it has
    one (the hot plugins do), else its per-node `filter` in a loop."""
    many: BatchFilter | None = getattr(plugin, "filter_many", None)
    if many is not None:
        return many
    one = plugin.filter

    def each(state: CycleState, pod: Obj, nodes: list[NodeInfo],
             failed: dict[str, Status]) -> list[NodeInfo]:
        survivors = []
        for node in nodes:
            status = one(state, pod, node)
            if status is SUCCESS or status.code is Code.SUCCESS:
                survivors.append(node)
            else:
                failed[node.name] = status
        return survivors

    return each


def normalize_to_max(scores: dict[str, int], *, reverse: bool = False) -> None:
    """Scale raw scores to 0..MAX_NODE_SCORE in place (kube's DefaultNormalizeScore);
    with `reverse`, lower raw scores become higher."""
    if not scores:
        return
    top = max(scores.values())
    low = min(scores.values())
    for name, raw in scores.items():
        if reverse:
            scores[name] = MAX_NODE_SCORE if top == low else (top - raw) * MAX_NODE_SCORE // (
                top - low)
        else:
            scores[name] = 0 if top <= 0 else max(0, raw) * MAX_NODE_SCORE // top
