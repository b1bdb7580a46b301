"""Specification of the linearizability checker: classic histories, random ones, a brute-force
reference, and the search budget."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from tests.linearizability import KV, Cas, Delete, Get, KvInput, Operation, Put, Verdict, check


def op(client: int, call: float, ret: float | None, inp: KvInput, out: Any = None) -> Operation:
    return Operation(client, call, ret, inp, out)


# ---- classic small histories ---------------------------------------------------------------


def test_a_read_after_a_completed_write_must_see_it() -> None:
    history = [op(1, 0, 1, Put("x", 1)), op(2, 2, 3, Get("x"), None)]
    result = check(history, KV)
    assert result.verdict is Verdict.ILLEGAL
    assert result.prefix == (0,) and result.stuck == 1
    assert "#1" in result.explanation and "would answer 1" in result.explanation


def test_a_read_concurrent_with_a_write_may_see_old_or_new() -> None:
    for seen in (None, 1):
        history = [op(1, 0, 10, Put("x", 1)), op(2, 1, 2, Get("x"), seen)]
        assert check(history, KV).ok, seen


def test_concurrent_writes_may_land_in_either_order() -> None:
    for last in (1, 2):
        history = [
            op(1, 0, 10, Put("x", 1)),
            op(2, 0, 10, Put("x", 2)),
            op(3, 11, 12, Get("x"), last),
        ]
        assert check(history, KV).ok, last


def test_reads_cannot_flip_flop_between_two_concurrent_writes() -> None:
    history = [
        op(1, 0, 10, Put("x", 1)),
        op(2, 0, 10, Put("x", 2)),
        op(3, 1, 2, Get("x"), 1),
        op(3, 3, 4, Get("x"), 2),
        op(3, 5, 6, Get("x"), 1),
    ]
    result = check(history, KV)
    assert result.verdict is Verdict.ILLEGAL and result.stuck == 4


def test_a_completed_write_is_not_undone_by_an_older_read() -> None:
    history = [
        op(1, 0, 1, Put("x", 1)),
        op(1, 2, 3, Put("x", 2)),
        op(2, 4, 5, Get("x"), 2),
        op(3, 6, 7, Get("x"), 1),
    ]
    assert check(history, KV).verdict is Verdict.ILLEGAL


def test_a_lost_write_may_take_effect_later() -> None:
    history = [
        op(1, 0, None, Put("x", 1)),  # the client timed out
        op(2, 1, 2, Get("x"), None),
        op(2, 3, 4, Get("x"), 1),
    ]
    assert check(history, KV).ok


def test_a_lost_write_may_never_take_effect() -> None:
    history = [op(1, 0, None, Put("x", 1)), op(2, 1, 2, Get("x"), None)]
    assert check(history, KV).ok


def test_a_lost_write_cannot_take_effect_before_it_was_sent() -> None:
    history = [op(2, 0, 1, Get("x"), 1), op(1, 2, None, Put("x", 1))]
    assert check(history, KV).verdict is Verdict.ILLEGAL


def test_a_lost_write_takes_effect_at_most_once() -> None:
    history = [
        op(1, 0, None, Put("x", 1)),
        op(2, 1, 2, Get("x"), 1),
        op(3, 3, 4, Put("x", 2)),
        op(2, 5, 6, Get("x"), 1),
    ]
    assert check(history, KV).verdict is Verdict.ILLEGAL


def test_a_delete_is_seen_by_later_reads() -> None:
    ok = [op(1, 0, 1, Put("x", 1)), op(1, 2, 3, Delete("x")), op(2, 4, 5, Get("x"), None)]
    stale = [*ok[:2], op(2, 4, 5, Get("x"), 1)]
    assert check(ok, KV).ok
    assert check(stale, KV).verdict is Verdict.ILLEGAL


@pytest.mark.parametrize(
    ("first", "second", "linearizable"),
    [(True, False, True), (False, True, True), (True, True, False), (False, False, False)],
)
def test_of_two_racing_compare_and_swaps_exactly_one_wins(
    first: bool, second: bool, linearizable: bool
) -> None:
    history = [
        op(1, 0, 1, Put("x", 0)),
        op(2, 2, 5, Cas("x", 0, 1), first),
        op(3, 2, 5, Cas("x", 0, 2), second),
    ]
    assert check(history, KV).ok is linearizable


def test_a_lost_compare_and_swap_may_explain_a_failed_one() -> None:
    history = [
        op(1, 0, 1, Put("x", 0)),
        op(2, 2, None, Cas("x", 0, 1)),
        op(3, 3, 4, Cas("x", 0, 2), False),
        op(3, 5, 6, Get("x"), 1),
    ]
    assert check(history, KV).ok


def test_compare_and_swap_on_an_absent_key_expects_none() -> None:
    history = [op(1, 0, 1, Cas("x", None, 1), True), op(1, 2, 3, Cas("x", None, 2), False)]
    assert check(history, KV).ok


def test_keys_are_checked_independently_and_the_failure_names_history_indexes() -> None:
    history = [
        op(1, 0, 1, Put("a", 1)),
        op(2, 0, 1, Put("b", 1)),
        op(1, 2, 3, Get("a"), 1),
        op(2, 2, 3, Put("b", 2)),
        op(3, 4, 5, Get("b"), 1),  # stale
    ]
    result = check(history, KV)
    assert result.verdict is Verdict.ILLEGAL
    assert result.prefix == (1, 3) and result.stuck == 4


def test_an_operation_returning_before_its_call_is_refused() -> None:
    with pytest.raises(ValueError, match="returns before its call"):
        check([op(1, 5, 4, Get("x"))], KV)


def test_an_empty_history_is_linearizable() -> None:
    assert check([], KV).ok


def test_operations_at_the_same_instant_count_as_concurrent() -> None:
    history = [op(1, 0, 1, Put("x", 1)), op(2, 1, 2, Get("x"), None)]
    assert check(history, KV).ok


# ---- the search budget ---------------------------------------------------------------------


def hard_history(writers: int) -> list[Operation]:
    """Concurrent writes, then a read of a value nobody wrote: a correct checker must rule out
    every order of the writes, which is exponential in `writers`."""
    writes = [op(c, 0, 1, Put("x", c)) for c in range(writers)]
    return [*writes, op(writers, 2, 3, Get("x"), -1)]


def test_a_search_over_budget_answers_unknown_instead_of_hanging() -> None:
    ticks = itertools.count()
    result = check(hard_history(40), KV, budget=5, clock=lambda: float(next(ticks)))
    assert result.unknown and not result.ok
    assert "unknown" in result.explanation


def test_a_small_hard_history_is_decided_within_budget() -> None:
    assert check(hard_history(8), KV).verdict is Verdict.ILLEGAL


# ---- random histories ----------------------------------------------------------------------


def random_input(rng: random.Random, keys: Sequence[str], values: int) -> KvInput:
    key = rng.choice(keys)
    roll = rng.random()
    if roll < 0.4:
        return Get(key)
    if roll < 0.7:
        return Put(key, rng.randrange(values))
    if roll < 0.8:
        return Delete(key)
    return Cas(key, rng.choice([None, *range(values)]), rng.randrange(values))


def linearizable_history(
    rng: random.Random, n: int, keys: Sequence[str], clients: int, overlap: bool = True
) -> list[Operation]:
    """Each client issues operations one after another; each takes effect at a random moment
    between its call and return, and its output is the one that moment implies."""
    clock = [0.0] * clients
    timed: list[tuple[float, float, float, int, KvInput]] = []
    t = 0.0
    for _ in range(n):
        c = rng.randrange(clients)
        if overlap:
            call = clock[c] + rng.random()
            effect = call + rng.random()
            ret = effect + rng.random()
            clock[c] = ret
        else:  # one operation at a time across all clients: the order is fixed
            call, effect, ret = t, t + 0.5, t + 1
            t += 2
        timed.append((effect, call, ret, c, random_input(rng, keys, values=4)))
    state = KV.init()
    outputs: dict[int, Any] = {}
    for i in sorted(range(n), key=lambda i: timed[i][0]):
        state, outputs[i] = KV.apply(state, timed[i][4])
    return [op(c, call, ret, inp, outputs[i]) for i, (_, call, ret, c, inp) in enumerate(timed)]


@pytest.mark.parametrize("seed", range(20))
def test_histories_linearizable_by_construction_pass(seed: int) -> None:
    rng = random.Random(seed)
    history = linearizable_history(rng, 300, ["a", "b", "c"], clients=6)
    assert check(history, KV).ok


@pytest.mark.parametrize("seed", range(20))
def test_unfinished_operations_never_make_a_linearizable_history_fail(seed: int) -> None:
    rng = random.Random(seed)
    history = linearizable_history(rng, 200, ["a", "b"], clients=5)
    lost = [
        Operation(o.client, o.call, None, o.input, None) if rng.random() < 0.2 else o
        for o in history
    ]
    assert check(lost, KV).ok


def wrong_output(o: Operation, rng: random.Random) -> Any:
    if isinstance(o.input, Cas):
        return not o.output
    return rng.choice([v for v in [None, 0, 1, 2, 3] if v != o.output])


@pytest.mark.parametrize("seed", range(30))
def test_any_wrong_output_in_a_sequential_history_is_caught_where_it_happened(seed: int) -> None:
    rng = random.Random(seed)
    history = linearizable_history(rng, 150, ["a", "b"], clients=4, overlap=False)
    victim = rng.choice([i for i, o in enumerate(history) if isinstance(o.input, Get | Cas)])
    o = history[victim]
    history[victim] = Operation(o.client, o.call, o.ret, o.input, wrong_output(o, rng))
    result = check(history, KV)
    assert result.verdict is Verdict.ILLEGAL and result.stuck == victim
    same_key_before = [i for i in range(victim) if history[i].input.key == o.input.key]
    assert result.prefix == tuple(same_key_before)


@pytest.mark.parametrize("seed", range(20))
def test_a_read_of_a_value_never_written_is_caught_in_a_concurrent_history(seed: int) -> None:
    rng = random.Random(seed)
    history = linearizable_history(rng, 300, ["a", "b", "c"], clients=6)
    victim = rng.choice([i for i, o in enumerate(history) if isinstance(o.input, Get)])
    o = history[victim]
    history[victim] = Operation(o.client, o.call, o.ret, o.input, "never written")
    result = check(history, KV)
    # Which operation the search reports stuck depends on the order it tried; only the
    # sequential case above pins it down.
    assert result.verdict is Verdict.ILLEGAL and result.stuck is not None


def brute_force_linearizable(history: Sequence[Operation]) -> bool:
    """The definition, literally: some order of all completed operations and some of the
    unfinished ones respects real time and gives every completed operation its output."""
    finished = [i for i, o in enumerate(history) if o.finished]
    unfinished = [i for i, o in enumerate(history) if not o.finished]

    def subsets() -> Iterator[tuple[int, ...]]:
        for k in range(len(unfinished) + 1):
            yield from itertools.combinations(unfinished, k)

    def respects_real_time(order: Sequence[int]) -> bool:
        # b placed after a although b returned before a was called
        return not any(
            (rb := history[b].ret) is not None and rb < history[a].call
            for x, a in enumerate(order)
            for b in order[x + 1 :]
        )

    def outputs_match(order: Sequence[int]) -> bool:
        state = KV.init()
        for i in order:
            state, out = KV.apply(state, history[i].input)
            if history[i].finished and out != history[i].output:
                return False
        return True

    return any(
        respects_real_time(order) and outputs_match(order)
        for extra in subsets()
        for order in itertools.permutations([*finished, *extra])
    )


def tiny_random_history(rng: random.Random) -> list[Operation]:
    """Few operations on one or two keys with random times and random outputs, so that
    about as many are linearizable as not."""
    history = []
    for c in range(rng.randint(1, 6)):
        call = rng.randrange(6)
        ret = None if rng.random() < 0.2 else call + rng.randrange(4)
        inp = random_input(rng, ["a", "b"][: rng.randint(1, 2)], values=2)
        out: Any = None
        if isinstance(inp, Get):
            out = rng.choice([None, 0, 1])
        elif isinstance(inp, Cas):
            out = rng.random() < 0.5
        history.append(op(c, call, ret, inp, out))
    return history


def test_the_checker_agrees_with_the_definition_on_many_tiny_histories() -> None:
    rng = random.Random(7)
    verdicts = []
    for _ in range(1500):
        history = tiny_random_history(rng)
        expected = brute_force_linearizable(history)
        assert check(history, KV).ok is expected, history
        verdicts.append(expected)
    assert 0.2 < sum(verdicts) / len(verdicts) < 0.8, "the sample is too one-sided to mean much"


def test_ten_thousand_operations_over_fifty_keys_check_within_a_few_seconds() -> None:
    # The budget is the checker's own limit: over it, the verdict would be UNKNOWN, not OK.
    rng = random.Random(1)
    keys = [f"k{i}" for i in range(50)]
    history = linearizable_history(rng, 10_000, keys, clients=16)
    assert check(history, KV, budget=3.0).verdict is Verdict.OK


def test_the_explanation_of_a_long_history_lists_only_the_operations_before_the_failure() -> None:
    history = [op(1, 2 * t, 2 * t + 1, Put("x", t)) for t in range(100)]
    history.append(op(2, 300, 301, Get("x"), 5))
    explanation = check(history, KV).explanation
    assert "... 80 earlier operations" in explanation
    assert "#99 " in explanation and "#79 " not in explanation
    assert "#100 " in explanation and "would answer 99" in explanation
