"""The scheduling framework: extension-point interfaces, per-cycle state, and the pure
scheduling cycle (filter the nodes, score the feasible ones, pick the best)."""

from __future__ import annotations

import array
import bisect
import enum
import random
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from minikube_py.scheduler.equivalence import EquivalenceCache, StaticVerdicts
from minikube_py.scheduler.nodeinfo import Census, UsageKey
from minikube_py.scheduler.nodeinfo import NodeInfo as NodeInfo  # plugins take it from here

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


class CycleState(dict[str, Any]):
    """Data one plugin computes in PreFilter and reads in Filter/Score, for one pod.
    The framework puts the cycle's node snapshot under NODES."""


NODES = "framework/nodes"
# The node snapshot's generation, when the caller passes one: within it, NodeInfos keep
# their order and static facts, so a plugin may cache what it derives from those.
GENERATION = "framework/generation"
# The snapshot's Census, when the caller passes one: the resource states of all its nodes
# (a superset of the states of any nodes a filter or score is asked about).
CENSUS = "framework/census"
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
    cycle) and `normalize(state, pod, scores)`."""

    name: str
    weight: int

    def score(self, state: CycleState, pod: Obj, node: NodeInfo) -> int:
        """0..MAX_NODE_SCORE, higher is better (or any raw number if the plugin also
        has `normalize(state, pod, scores)`, which rescales every node's score in place)."""
        ...


@runtime_checkable
class UsageScorePlugin(Protocol):
    """A score plugin (without `normalize`) whose score of a node reads nothing of the
    node but its `usage_key`: `score(node)` is `score_usage(node.usage_key)`, and the
    framework scores each usage once rather than each node."""

    name: str
    weight: int

    def score(self, state: CycleState, pod: Obj, node: NodeInfo) -> int: ...

    def score_usage(self, state: CycleState, pod: Obj, usage: UsageKey) -> int: ...


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
    _usage_scorers: list[UsageScorePlugin] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        leading = 0
        while leading < len(self.filters) and isinstance(self.filters[leading],
                                                         StaticFilterPlugin):
            leading += 1
        self._static = [p for p in self.filters[:leading] if isinstance(p, StaticFilterPlugin)]
        self._dynamic = self.filters[leading:]
        # Plugins that read the same part of the pod share one shape function: once a cycle.
        self._shapes = list(dict.fromkeys(p.shape for p in self._static))
        self._usage_scorers = [p for p in self.scorers if isinstance(p, UsageScorePlugin)
                               and getattr(p, "normalize", None) is None]

    def schedule(self, pod: Obj, nodes: Sequence[NodeInfo], *,
                 affinity_nodes: Sequence[NodeInfo] | None = None,
                 generation: int | None = None,
                 census: Census | None = None) -> ScheduleResult:
        """One scheduling cycle for `pod` over the snapshot `nodes`.

        With a `generation`, the caller promises that `nodes` keeps its order and every
        node its `static_key` for as long as it passes the same generation (NodeSnapshot
        does): the static filters' verdicts are then taken from the equivalence cache.
        With a `census`, that it counts the resource states of every node in `nodes`: fit
        and scores are then decided per state. The result is the same either way."""
        state = CycleState()
        state[NODES] = nodes
        if affinity_nodes is not None:
            state[AFFINITY_NODES] = affinity_nodes
        if generation is not None:
            state[GENERATION] = generation
        if census is not None:
            state[CENSUS] = census
        refused, skipped = self._pre_filter(state, pod, nodes)
        if refused is not None:
            return ScheduleResult(None, {n.name: refused for n in nodes}, 0, 0)
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

    def filter_node(self, pod: Obj, node: NodeInfo, nodes: Sequence[NodeInfo]) -> Status:
        """Whether `pod` passes every filter on `node`, with the pre-filters run over
        `nodes` (which holds `node`): the question preemption asks of a node with some
        pods taken off, which no cached verdict or census knows about."""
        state = CycleState()
        state[NODES] = nodes
        refused, skipped = self._pre_filter(state, pod, nodes)
        if refused is not None:
            return refused
        for plugin in self.filters:
            if plugin.name not in skipped:
                status = plugin.filter(state, pod, node)
                if status.code is not Code.SUCCESS:
                    return status
        return SUCCESS

    def _pre_filter(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo],
                    ) -> tuple[Status | None, set[str]]:
        """Every pre-filter in turn: the first refusal (None if none), and the plugins that
        sit out this cycle."""
        skipped: set[str] = set()
        for pre in self.pre_filters:
            status = pre.pre_filter(state, pod, nodes)
            if status.code is Code.SKIP:
                skipped.add(pre.name)
            elif status.code is not Code.SUCCESS:
                return status, skipped
        return None, skipped

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
            verdicts = static_verdicts(state, pod, nodes, static).passed
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
        if feasible:
            return feasible, total, {}
        # No node fits: why, node by node. The cache keeps no reasons (a DaemonSet pod's
        # shape fails on all nodes but one), so the static filters say them again.
        static = [_batch_filter(p) for p in self._static if p.name not in skipped]
        return feasible, total, {**static_verdicts(state, pod, nodes, static).failed, **failed}

    def _select(self, state: CycleState, pod: Obj, feasible: list[NodeInfo]) -> str:
        scorers = [p for p in self.scorers
                   if getattr(p, "pre_score", None) is None
                   or p.pre_score(state, pod, feasible).code is not Code.SKIP]  # type: ignore[attr-defined]
        if len(feasible) == 1 or not scorers:
            return feasible[0].name
        by_usage = [p for p in scorers if p in self._usage_scorers]
        by_key = _usage_scores(state, pod, feasible, by_usage) if by_usage else {}
        if len(by_usage) == len(scorers):
            return self._pick(_best_by_usage(feasible, by_key))
        totals = [by_key[n.usage_key] for n in feasible] if by_usage else [0] * len(feasible)
        for plugin in scorers:
            if plugin not in by_usage:
                scores = _node_scores(state, pod, feasible, plugin)
                totals = [t + plugin.weight * v for t, v in zip(totals, scores, strict=True)]
        best_score = max(totals)
        return self._pick([n.name for n, value in zip(feasible, totals, strict=True)
                           if value == best_score])

    def _pick(self, best: list[str]) -> str:
        # Ties are broken at random, like kube-scheduler's reservoir sampling.
        return best[0] if len(best) == 1 else self.rng.choice(best)


def _usage_scores(state: CycleState, pod: Obj, feasible: list[NodeInfo],
                  plugins: list[UsageScorePlugin]) -> dict[UsageKey, int]:
    """The weighted score of `plugins` per usage: those of the census when it has few,
    else those among `feasible`."""
    census: Census | None = state.get(CENSUS)
    usages = (census.usage if census is not None and few_states(census.usage, feasible)
              else {n.usage_key: 1 for n in feasible})
    return {key: sum(p.weight * p.score_usage(state, pod, key) for p in plugins)
            for key in usages}


def _best_by_usage(feasible: list[NodeInfo], by_key: dict[UsageKey, int]) -> list[str]:
    """The feasible nodes whose usage scores best among them: most often the best of the
    census, so one walk finds them."""
    top = max(by_key.values())
    best = [n.name for n in feasible if by_key[n.usage_key] == top]
    if not best:
        top = max(by_key[n.usage_key] for n in feasible)
        best = [n.name for n in feasible if by_key[n.usage_key] == top]
    return best


def _node_scores(state: CycleState, pod: Obj, feasible: list[NodeInfo],
                 plugin: ScorePlugin) -> list[int]:
    """One plugin's score of each feasible node, normalized if the plugin normalizes."""
    many = getattr(plugin, "score_many", None)
    scores: list[int] = (many(state, pod, feasible) if many is not None else
                         [plugin.score(state, pod, n) for n in feasible])
    normalize = getattr(plugin, "normalize", None)
    if normalize is not None:
        by_name = {n.name: v for n, v in zip(feasible, scores, strict=True)}
        normalize(state, pod, by_name)
        scores = [by_name[n.name] for n in feasible]
    return scores


def few_states(states: dict[Any, int], nodes: Sequence[NodeInfo]) -> bool:
    """Whether deciding once per state of the whole census is cheaper than looking at
    each of `nodes` (nodes of a kind fill alike, so it mostly is; not when every node is
    in a state of its own)."""
    return len(states) * 4 <= len(nodes)


@dataclass(frozen=True, slots=True)
class _StaticRun:
    passed: StaticVerdicts
    failed: dict[str, Status]  # node name -> the first static filter's failure


def static_verdicts(state: CycleState, pod: Obj, nodes: Sequence[NodeInfo],
                    filters: list[BatchFilter]) -> _StaticRun:
    """Run `filters` over every node: which pass, at which positions, and why the others
    fail."""
    survivors = list(nodes)
    failed: dict[str, Status] = {}
    for run_filter in filters:
        survivors = run_filter(state, pod, survivors, failed)
        if not survivors:
            break
    # Survivors keep the order they came in: walk both lists once for the positions.
    positions = array.array("l")
    i = 0
    for position, node in enumerate(nodes):
        if i < len(survivors) and survivors[i] is node:
            positions.append(position)
            i += 1
    return _StaticRun(StaticVerdicts(survivors, positions), failed)


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
