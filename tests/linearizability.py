"""A linearizability checker for client histories of the store (test support; pure).

The search is Wing & Gong's, in the shape Lowe ("Testing for linearizability", 2017) and
porcupine use: walk a doubly linked list of call and return events; linearize a call when the
model agrees with its output, taking both its events out of the list; on meeting a return whose
operation was never linearized, backtrack. Two things keep it fast:

- memoization: a (set of linearized operations, model state) pair that was explored once
  cannot lead anywhere new, so it is never explored twice;
- P-compositionality (Horn & Kroening, "Faster linearizability checking via
  P-compositionality", 2015): linearizability is local, so a history over many keys is checked
  as one small history per key (the model's `partition`).

An operation whose client gave up (a timeout, a lost reply) has no return time: it may or may not
have taken effect, at any moment after its call. Its return event is placed after every real
one, so it can be linearized anywhere after its call or never, and its output is not checked.
Meeting such a return while scanning means every completed operation has been placed: success.

Models are deterministic (`apply(state, input) -> (state, output)`): the store's operations are,
and it lets the checker compare outputs itself, so an unfinished operation simply has its output
ignored. States must be hashable (they are memoized).
"""

from __future__ import annotations

import enum
import itertools
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Operation:
    """One client request: `ret` is None if the client never saw the outcome."""

    client: int
    call: float
    ret: float | None
    input: Any
    output: Any = None

    @property
    def finished(self) -> bool:
        return self.ret is not None


@dataclass(frozen=True, slots=True)
class Model:
    """What the checker needs to know about the object the history was recorded against."""

    name: str
    init: Callable[[], Hashable]
    apply: Callable[[Any, Any], tuple[Hashable, Any]]
    # Splits a history into independent parts (lists of indexes into it); None: one part.
    partition: Callable[[Sequence[Operation]], list[list[int]]] | None = None
    describe: Callable[[Operation], str] = repr


class Verdict(enum.Enum):
    OK = "linearizable"
    ILLEGAL = "not linearizable"
    UNKNOWN = "unknown (search budget exhausted)"


@dataclass(frozen=True, slots=True)
class Result:
    """The verdict; when not OK, the longest linearizable prefix found and the operation that
    could not be placed after it (in the part of the history where the search failed)."""

    verdict: Verdict
    prefix: tuple[int, ...] = ()  # indexes into the history, in linearization order
    stuck: int | None = None  # index of the operation whose return came before it could be placed
    explanation: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK

    @property
    def unknown(self) -> bool:
        return self.verdict is Verdict.UNKNOWN


def check(
    history: Sequence[Operation],
    model: Model,
    *,
    budget: float = 10.0,
    clock: Clock = time.monotonic,
) -> Result:
    """Is `history` linearizable with respect to `model`? Gives up with UNKNOWN after `budget`
    seconds of `clock` (the search is exponential in the worst case; it must never hang a test)."""
    for i, op in enumerate(history):
        if op.ret is not None and op.ret < op.call:
            raise ValueError(f"operation {i} ({model.describe(op)}) returns before its call")
    parts = model.partition(history) if model.partition else [list(range(len(history)))]
    deadline = clock() + budget
    unknown: Result | None = None
    for part in parts:
        result = _check_part(history, part, model, deadline, clock)
        if result.verdict is Verdict.ILLEGAL:
            return result
        if result.verdict is Verdict.UNKNOWN:
            unknown = result
    return unknown or Result(Verdict.OK)


# ---- the search over one partition ---------------------------------------------------------

_CLOCK_EVERY = 1024  # search steps between looks at the clock


@dataclass(slots=True)
class _Events:
    """Call and return events of one partition as a doubly linked list over arrays.

    Node 0 is the head. Node 2k+1 is the call of local operation k, node 2k+2 its return.
    Removing a node leaves its own links intact, so nodes removed in some order are put back by
    re-inserting them in the reverse order (dancing links)."""

    next: list[int] = field(default_factory=list)
    prev: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, ops: Sequence[Operation]) -> _Events:
        events: list[tuple[float, int, int]] = []
        for k, op in enumerate(ops):
            events.append((op.call, 0, 2 * k + 1))
            # Calls sort before returns at equal times: such operations count as concurrent,
            # the lenient reading of clocks too coarse to order them.
            ret = op.ret if op.ret is not None else float("inf")
            events.append((ret, 1, 2 * k + 2))
        order = [0] + [node for _, _, node in sorted(events)] + [-1]
        size = 2 * len(ops) + 1
        nxt, prv = [-1] * size, [-1] * size
        for a, b in itertools.pairwise(order):
            nxt[a] = b
            if b != -1:
                prv[b] = a
        return cls(nxt, prv)

    def remove(self, node: int) -> None:
        p, n = self.prev[node], self.next[node]
        self.next[p] = n
        if n != -1:
            self.prev[n] = p

    def restore(self, node: int) -> None:
        p, n = self.prev[node], self.next[node]
        self.next[p] = node
        if n != -1:
            self.prev[n] = node


def _check_part(
    history: Sequence[Operation],
    part: list[int],
    model: Model,
    deadline: float,
    clock: Clock,
) -> Result:
    ops = [history[i] for i in part]
    events = _Events.of(ops)
    state: Hashable = model.init()
    linearized = 0  # bit k: local operation k is placed
    seen: set[tuple[int, Hashable]] = set()
    stack: list[tuple[int, Hashable]] = []  # (call node, state before it)
    best: tuple[list[int], int] = ([], -1)  # longest prefix, local op stuck after it
    steps = 0
    node = events.next[0]
    while node != -1:
        steps += 1
        if steps % _CLOCK_EVERY == 0 and clock() > deadline:
            return _explain(Verdict.UNKNOWN, history, part, model, *best)
        k, is_call = (node - 1) // 2, node % 2 == 1
        op = ops[k]
        if not is_call:
            if op.ret is None:
                return Result(Verdict.OK)  # only unfinished operations are left
            if len(stack) > len(best[0]) or best[1] == -1:
                best = ([(n - 1) // 2 for n, _ in stack], k)
            if not stack:
                return _explain(Verdict.ILLEGAL, history, part, model, *best)
            node, state = stack.pop()
            linearized &= ~(1 << ((node - 1) // 2))
            events.restore(node + 1)
            events.restore(node)
            node = events.next[node]
            continue
        after, output = model.apply(state, op.input)
        if op.ret is None or output == op.output:
            key = (linearized | (1 << k), after)
            if key not in seen:
                seen.add(key)
                stack.append((node, state))
                state, linearized = after, key[0]
                events.remove(node)
                events.remove(node + 1)
                node = events.next[0]
                continue
        node = events.next[node]
    return Result(Verdict.OK)


_EXPLAIN_LAST = 20  # prefix operations an explanation lists; the failure is at the end


def _explain(
    verdict: Verdict,
    history: Sequence[Operation],
    part: list[int],
    model: Model,
    prefix: list[int],
    stuck: int,
) -> Result:
    """Say, in history indexes, how far the search got and which operation stopped it."""
    ops = [part[k] for k in prefix]
    stuck_index = part[stuck] if stuck >= 0 else None
    lines = [f"{verdict.value} ({model.name}); longest linearizable prefix found:"]
    state = model.init()
    shown = len(ops) - _EXPLAIN_LAST
    if shown > 0:
        lines.append(f"  ... {shown} earlier operations")
    for n, i in enumerate(ops):
        state, _ = model.apply(state, history[i].input)
        if n >= shown:
            lines.append(f"  #{i} {model.describe(history[i])} -> state {state!r}")
    if not ops:
        lines.append("  (none)")
    if stuck_index is not None:
        op = history[stuck_index]
        _, expected = model.apply(state, op.input)
        lines.append(
            f"then #{stuck_index} {model.describe(op)} cannot be placed before it returns"
            f" (here the model would answer {expected!r})"
        )
    return Result(verdict, tuple(ops), stuck_index, "\n".join(lines))


# ---- a key-value store with compare-and-swap -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Get:
    key: str


@dataclass(frozen=True, slots=True)
class Put:
    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class Delete:
    key: str


@dataclass(frozen=True, slots=True)
class Cas:
    """etcd's txn `if value(key) == expected then put(key, new)`; expected None: key absent."""

    key: str
    expected: Any
    new: Any


KvInput = Get | Put | Delete | Cas
KvState = frozenset[tuple[str, Any]]  # (key, value) pairs; one pair per key


def kv_apply(state: KvState, op: KvInput) -> tuple[KvState, Any]:
    """Outputs: Get -> the value or None; Put, Delete -> None; Cas -> whether it swapped."""
    values = dict(state)
    current = values.get(op.key)
    if isinstance(op, Get):
        return state, current
    if isinstance(op, Put):
        values[op.key] = op.value
        return frozenset(values.items()), None
    if isinstance(op, Delete):
        values.pop(op.key, None)
        return frozenset(values.items()), None
    if current != op.expected:
        return state, False
    values[op.key] = op.new
    return frozenset(values.items()), True


def _kv_partition(history: Sequence[Operation]) -> list[list[int]]:
    by_key: dict[str, list[int]] = {}
    for i, op in enumerate(history):
        by_key.setdefault(op.input.key, []).append(i)
    return list(by_key.values())


def _kv_describe(op: Operation) -> str:
    outcome = f"-> {op.output!r}" if op.finished else "-> (unfinished)"
    return f"client {op.client} {op.input} {outcome} [{op.call}, {op.ret}]"


KV = Model(
    name="kv",
    init=frozenset,
    apply=kv_apply,
    partition=_kv_partition,
    describe=_kv_describe,
)
