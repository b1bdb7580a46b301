"""How long the fuzz suite runs: a small fixed budget in the one test command (derandomized,
so every CI run sends the same requests), or as much as FUZZ_EXAMPLES asks for by hand:

    FUZZ_EXAMPLES=2000 .venv/bin/pytest -q -p no:cacheprovider tests/fuzz

A long run draws fresh inputs each time (pytest's --hypothesis-seed=N replays one).
A failure prints the shrunk sequence of requests that led to it."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, settings


def fuzz_settings(ci_examples: int, *, steps: int) -> settings:
    examples = os.environ.get("FUZZ_EXAMPLES")
    by_hand = examples is not None
    return settings(
        max_examples=int(examples) if by_hand else ci_examples,
        stateful_step_count=steps,
        deadline=None,
        derandomize=not by_hand,
        database=None,
        print_blob=True,
        # FUZZ_SHRINK=0: report the first failing run as it is (shrinking a long stateful
        # run can take minutes); with FUZZ_FINDINGS failures do not stop the run anyway.
        phases=[p for p in Phase if p is not Phase.shrink or
                os.environ.get("FUZZ_SHRINK", "1") != "0"],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much, HealthCheck.large_base_example,
                               HealthCheck.function_scoped_fixture],
    )


def fuzz_timeout() -> pytest.MarkDecorator:
    """A handler stuck on the CPU (an alias bomb, a patch that doubles itself) holds the event
    loop and pytest's signal-based timeout alike: the thread method still ends the run, with
    every thread's stack. A long run by hand has no limit."""
    return pytest.mark.timeout(0 if "FUZZ_EXAMPLES" in os.environ else 300, method="thread")
