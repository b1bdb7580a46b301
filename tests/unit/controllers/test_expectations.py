"""Expectations as tables: what a controller awaits after creating or deleting pods, and
when it may act on the owner again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from minikube_py.controllers.expectations import Expectations

KEY = "default/web"
Step = Callable[[Expectations], None]


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def creations(n: int) -> Step:
    return lambda e: e.expect_creations(KEY, n)


def deletions(*uids: str) -> Step:
    return lambda e: e.expect_deletions(KEY, uids)


def created() -> Step:
    return lambda e: e.creation_observed(KEY)


def deleted(uid: str) -> Step:
    return lambda e: e.deletion_observed(KEY, uid)


def forgotten() -> Step:
    return lambda e: e.forget(KEY)


@pytest.mark.parametrize(("steps", "satisfied"), [
    pytest.param([], True, id="nothing asked for"),
    pytest.param([creations(2), created()], False, id="one of two creations seen"),
    pytest.param([creations(2), created(), created()], True, id="both creations seen"),
    pytest.param([creations(0)], True, id="zero creations await nothing"),
    pytest.param([deletions("a", "b"), deleted("a")], False, id="one of two deletions seen"),
    pytest.param([deletions("a", "b"), deleted("a"), deleted("a")], False,
                 id="a second event about one pod does not count twice"),
    pytest.param([deletions("a"), deleted("other")], False,
                 id="some other pod's deletion does not count"),
    pytest.param([deletions("a", "b"), deleted("b"), deleted("a")], True,
                 id="every awaited deletion seen, in any order"),
    pytest.param([creations(1), deletions("a"), created()], False,
                 id="raising adds to what is awaited"),
    pytest.param([creations(1), deletions("a"), created(), deleted("a")], True,
                 id="creations and deletions both seen"),
    pytest.param([creations(3), forgotten()], True, id="a deleted owner awaits nothing"),
    pytest.param([created(), creations(1)], False,
                 id="a creation seen before asking does not count"),
])
def test_an_owner_is_synced_again_once_its_pods_are_seen(steps: list[Step],
                                                         satisfied: bool) -> None:
    expectations = Expectations(clock=Clock())
    for step in steps:
        step(expectations)
    assert expectations.satisfied(KEY) is satisfied


def test_expectations_of_one_owner_do_not_hold_back_another() -> None:
    expectations = Expectations(clock=Clock())
    expectations.expect_creations(KEY, 1)
    assert expectations.satisfied("default/other")
    assert not expectations.satisfied(KEY)


def test_expectations_lapse_after_the_ttl_as_when_a_watch_event_was_lost() -> None:
    clock = Clock()
    expectations = Expectations(clock=clock, ttl=300.0)
    expectations.expect_creations(KEY, 1)
    clock.now += 300.0
    assert not expectations.satisfied(KEY)
    clock.now += 0.001
    assert expectations.satisfied(KEY)
    expectations.expect_deletions(KEY, ["a"])  # a fresh start, not the lapsed one
    assert not expectations.satisfied(KEY)


def test_raising_again_restarts_the_ttl() -> None:
    clock = Clock()
    expectations = Expectations(clock=clock, ttl=10.0)
    expectations.expect_creations(KEY, 1)
    clock.now += 8
    expectations.expect_deletions(KEY, ["a"])
    clock.now += 8
    assert not expectations.satisfied(KEY)
