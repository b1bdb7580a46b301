"""The scheduling framework: extension-point interfaces, per-cycle state, and the pure
scheduling cycle (filter the nodes, score the feasible ones, pick the best)."""

from __future__ import annotations

import bisect
import enum
import random
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from minikube_py.api.quantity import bytes_value, milli_cpu
from minikube_py.scheduler.equivalence import EquivalenceCache, StaticVerdicts

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
    fit_key: tuple[bool, int, int, int] = (False, 0, 0, 0)
    usage_key: tuple[int, int, int, int] = (0, 0, 0, 0)
    # Everything a static filter may read (see StaticFilterPlugin): equal keys before and
    # after a node update mean every cached static verdict about this node still holds.
    static_key: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        self.static_key = (self.name, tuple(sorted(self.labels.items())), self.hard_taint_key,
                           self.ready, self.unschedulable)
        self._derive()

    def _derive(self) -> None:
        alloc, used, weighed = self.allocatable, self.requested, self.non_zero_requested
        self.free_milli_cpu = alloc.milli_cpu - used.milli_cpu
        self.free_memory = alloc.memory - used.memory
        self.free_ephemeral_storage = alloc.ephemeral_storage - used.ephemeral_storage
        self.free_pods = alloc.pods - used.pods
        self.fit_key = (self.free_pods > 0, self.free_milli_cpu, self.free_memory,
                        self.free_ephemeral_storage)
        self.usage_key = (alloc.milli_cpu, alloc.memory, weighed.milli_cpu, weighed.memory)

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


class CycleState(dict[str, Any]):
    """Data one plugin computes in PreFilter and reads in Filter/Score, for one pod.
    The framework puts the cycle's node snapshot under NODES."""


NODES = "framework/nodes"
# The node snapshot's generation, when the caller passes one: within it, NodeInfos keep
# their order and static facts, so a plugin may cache what it derives from those.
GENERATION = "framework/generation"
# The nodes that hold pods with pod (anti-)affinity, when the caller tracks them (the
# scheduler does, so a cycle need not scan every node to find out).
AFFINITY_NODES = "framework/affinity-nodes"


class PreFilterPlugin(Protocol):
    name: str

    def pre_filter(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status: ...


class FilterPlugin(Protocol):
    name: str

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status: ...


@runtime_checkable
class StaticFilterPlugin(Protocol):
    """A filter whose verdict on a node, and whose pre_filter's SKIP, depend only on
    `shape(pod)` and the node's `static_key` facts (name, labels, hard taints, readiness,
    cordon). The framework decides it once per shape and node-set generation."""

    name: str

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status: ...

    def shape(self, pod: Obj) -> Hashable:
        """The part of `pod` the filter reads, as a hashable (see equivalence.frozen)."""
        ...


class ScorePlugin(Protocol):
    """May also define `pre_score(state, pod, feasible) -> Status` (SKIP to sit out the
    cycle) and `normalize(state, pod, scores)`. A plugin without `normalize` whose score
    of a node reads nothing of the node but its `usage_key` says so with
    `scores_usage_only = True`: the framework then scores each distinct key once."""

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
    equivalence: EquivalenceCache = field(default_factory=EquivalenceCache)
    _next_start: int = 0
    # The leading run of static filters, decided through the equivalence cache, and the
    # rest. Only a leading run: a node's diagnosis names the first filter it fails, and
    # later filters only see the nodes earlier ones passed.
    _static: list[StaticFilterPlugin] = field(init=False, default_factory=list)
    _dynamic: list[FilterPlugin] = field(init=False, default_factory=list)
    _shapes: list[Callable[[Obj], Hashable]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        leading = 0
        while leading < len(self.filters) and isinstance(self.filters[leading],
                                                         StaticFilterPlugin):
            leading += 1
        self._static = [p for p in self.filters[:leading] if isinstance(p, StaticFilterPlugin)]
        self._dynamic = self.filters[leading:]
        # Plugins that read the same part of the pod share one shape function: once a cycle.
        self._shapes = list(dict.fromkeys(p.shape for p in self._static))

    def schedule(self, pod: Obj, nodes: Sequence[NodeInfo], *,
                 affinity_nodes: Sequence[NodeInfo] | None = None,
                 generation: int | None = None) -> ScheduleResult:
        """One scheduling cycle for `pod` over the snapshot `nodes`.

        With a `generation`, the caller promises that `nodes` keeps its order and every
        node its `static_key` for as long as it passes the same generation (NodeSnapshot
        does): the static filters' verdicts are then taken from the equivalence cache. The
        result is the same either way."""
        state = CycleState()
        state[NODES] = nodes
        if affinity_nodes is not None:
            state[AFFINITY_NODES] = affinity_nodes
        if generation is not None:
            state[GENERATION] = generation
        skipped: set[str] = set()
        for pre in self.pre_filters:
            status = pre.pre_filter(state, pod, nodes)
            if status.code is Code.SKIP:
                skipped.add(pre.name)
            elif status.code is not Code.SUCCESS:
                return ScheduleResult(None, {n.name: status for n in nodes}, 0, 0)
        total = len(nodes)
        want = nodes_to_find(total, self.percentage_of_nodes_to_score)
        # Start where the last cycle stopped so every node gets its turn.
        start = self._next_start % total if total else 0
        if generation is None:
            feasible, evaluated, diagnosis = self._filter(state, pod, nodes, skipped, start,
                                                          want)
        else:
            feasible, evaluated, diagnosis = self._filter_equivalent(
                state, pod, nodes, skipped, start, want, generation)
        self._next_start = (start + evaluated) % total if total else 0
        if not feasible:
            return ScheduleResult(None, diagnosis, evaluated, 0)
        best = self._select(state, pod, feasible)
        return ScheduleResult(best, {}, evaluated, len(feasible))

    def _filter(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo],
                skipped: set[str], start: int, want: int,
                ) -> tuple[list[NodeInfo], int, dict[str, Status]]:
        """Every filter on every node in turn from `start`, until `want` nodes fit: the
        feasible nodes, how many were looked at, and why the others failed."""
        filters = [_batch_filter(p) for p in self.filters if p.name not in skipped]
        total = len(nodes)
        feasible: list[NodeInfo] = []
        diagnosis: dict[str, Status] = {}
        evaluated = 0
        # Nodes go through the filters a chunk at a time: hundreds of nodes per pod make
        # per-call overhead the cost that matters, and a chunk still stops soon after
        # enough nodes fit.
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
        return feasible, evaluated, diagnosis

    def _filter_equivalent(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo],
                           skipped: set[str], start: int, want: int, generation: int,
                           ) -> tuple[list[NodeInfo], int, dict[str, Status]]:
        """What `_filter` finds, with the static filters' verdicts from the equivalence
        cache: only the nodes they let through go through the dynamic filters."""
        shape = tuple(shape_of(pod) for shape_of in self._shapes)
        verdicts = self.equivalence.get(shape, generation)
        if verdicts is None:
            static = [_batch_filter(p) for p in self._static if p.name not in skipped]
            verdicts = static_verdicts(state, pod, nodes, static)
            self.equivalence.put(shape, generation, verdicts)
        dynamic = [_batch_filter(p) for p in self._dynamic if p.name not in skipped]
        positions = verdicts.positions
        split = bisect.bisect_left(positions, start)
        order = verdicts.eligible[split:] + verdicts.eligible[:split]
        feasible: list[NodeInfo] = []
        failed: dict[str, Status] = {}
        lo = 0
        # Each batch is exactly as many nodes as are still wanted, so no node past the last
        # feasible one is looked at.
        while lo < len(order) and len(feasible) < want:
            survivors = order[lo:lo + want - len(feasible)]
            lo += len(survivors)
            for run_filter in dynamic:
                survivors = run_filter(state, pod, survivors, failed)
                if not survivors:
                    break
            feasible.extend(survivors)
        total = len(nodes)
        if feasible and len(feasible) == want:
            # The last batch passed whole: its last node, order[lo - 1], was the last needed.
            last = positions[(split + lo - 1) % len(positions)]
            return feasible, (last - start) % total + 1, {}
        return feasible, total, {} if feasible else {**verdicts.failed, **failed}

    def _select(self, state: CycleState, pod: Obj, feasible: list[NodeInfo]) -> str:
        scorers = [p for p in self.scorers
                   if getattr(p, "pre_score", None) is None
                   or p.pre_score(state, pod, feasible).code is not Code.SKIP]  # type: ignore[attr-defined]
        if len(feasible) == 1 or not scorers:
            return feasible[0].name
        by_usage = [p for p in scorers if getattr(p, "scores_usage_only", False)
                    and getattr(p, "normalize", None) is None]
        if by_usage and len(by_usage) == len(scorers):
            # Every score reads only usage: the best nodes are those of the best usages.
            by_key = _scores_by_usage(state, pod, feasible, by_usage)
            top = max(by_key.values())
            best = [n.name for n in feasible if by_key[n.usage_key] == top]
            return self._pick(best)
        if by_usage:
            by_key = _scores_by_usage(state, pod, feasible, by_usage)
            totals = [by_key[n.usage_key] for n in feasible]
        else:
            totals = [0] * len(feasible)
        for plugin in scorers:
            if plugin in by_usage:
                continue
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
        return self._pick([n.name for n, value in zip(feasible, totals, strict=True)
                           if value == best_score])

    def _pick(self, best: list[str]) -> str:
        # Ties are broken at random, like kube-scheduler's reservoir sampling.
        return best[0] if len(best) == 1 else self.rng.choice(best)


def static_verdicts(state: CycleState, pod: Obj, nodes: Sequence[NodeInfo],
                    filters: list[BatchFilter]) -> StaticVerdicts:
    """Run `filters` over every node: which positions pass, and why the others fail."""
    survivors = list(nodes)
    failed: dict[str, Status] = {}
    for run_filter in filters:
        survivors = run_filter(state, pod, survivors, failed)
        if not survivors:
            break
    # Survivors keep the order they came in: walk both lists once for the positions.
    positions = []
    i = 0
    for position, node in enumerate(nodes):
        if i < len(survivors) and survivors[i] is node:
            positions.append(position)
            i += 1
    return StaticVerdicts(survivors, positions, failed)


def _scores_by_usage(state: CycleState, pod: Obj, feasible: list[NodeInfo],
                     plugins: list[ScorePlugin]) -> dict[tuple[int, int, int, int], int]:
    """The weighted score of `plugins`, which read only a node's usage_key, per distinct
    key among `feasible`: nodes with equal keys score alike, so each key is scored once."""
    one_per_key = {node.usage_key: node for node in feasible}
    return {key: sum(p.weight * p.score(state, pod, node) for p in plugins)
            for key, node in one_per_key.items()}


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
