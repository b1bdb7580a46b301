#!/usr/bin/env python3
"""The Raft simulation over many seeds: the nightly-size run of what CI runs a hundred of.

Each seed runs the deterministic simulation of the test suite (tests/unit/store): 3 or 5
members over a network that drops, duplicates, delays, reorders and partitions, crashes
that lose what was not fsynced (also between a leader's send and its fsync), with every
safety check after every step (one leader per term, elected by a quorum; log matching;
nothing applied differently anywhere). Scenarios:

  faults      faults then healing; everything converges (pre-vote/check-quorum on and off)
  reads       the same with ReadIndex reads and leader transfers; reads are linearizable
  membership  learners added, promoted, voters and leaders removed amid the faults
  histories   clients write, CAS and read through the leader or any member; each history
              is checked for linearizability (tests/linearizability.py, a KV/CAS model)

A failing seed prints its scenario, size and the command that replays it alone. Exit code:
0 if every seed held, 1 otherwise.

Usage: scripts/simulate.py [--seeds 1000] [--first 0] [--scenario all] [--jobs 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCENARIOS = ("faults", "reads", "membership", "histories")
UNDECIDED_BUDGET = 300.0  # seconds of search for a history the first 10 s did not decide
UNDECIDED = "undecided"  # the checker's search found no verdict: counted apart, not failed


def run_one(job: tuple[str, int, int]) -> tuple[str, int, int, str | None]:
    """One seed of one scenario; the error's text if a check failed."""
    from tests.linearizability import KV, check
    from tests.unit.store.test_store_histories import run_client_simulation
    from tests.unit.store.test_store_raft import Simulation, run_faults_then_converge

    scenario, size, seed = job
    try:
        if scenario == "faults":
            features = bool(seed % 2)
            run_faults_then_converge(Simulation(size, seed, pre_vote=features,
                                                check_quorum=features), min_committed=0)
        elif scenario == "reads":
            run_faults_then_converge(Simulation(size, seed, reads=True), fault_steps=8000,
                                     min_committed=0)
        elif scenario == "membership":
            run_faults_then_converge(Simulation(size, seed, membership=True),
                                     fault_steps=15000, min_committed=0)
        else:
            for through_followers in (False, True):
                clients = run_client_simulation(size, seed,
                                                through_followers=through_followers)
                result = check(clients.history, KV)
                if result.unknown:  # the search ran out of time, not a verdict: look longer
                    result = check(clients.history, KV, budget=UNDECIDED_BUDGET)
                if result.unknown:
                    return scenario, size, seed, UNDECIDED
                if not result.ok:
                    return scenario, size, seed, f"not linearizable: {result.explanation}"
    except Exception:  # a failed safety check (AssertionError) or an invariant error
        return scenario, size, seed, traceback.format_exc(limit=4)
    return scenario, size, seed, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=1000, help="seeds per scenario and size")
    parser.add_argument("--first", type=int, default=0, help="the first seed")
    parser.add_argument("--scenario", choices=("all", *SCENARIOS), default="all")
    parser.add_argument("--sizes", default="3,5", help="cluster sizes, comma-separated")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    scenarios = SCENARIOS if args.scenario == "all" else (args.scenario,)
    sizes = [int(s) for s in args.sizes.split(",")]
    jobs = [(scenario, size, seed) for scenario in scenarios for size in sizes
            for seed in range(args.first, args.first + args.seeds)]
    print(f"{len(jobs)} simulations ({', '.join(scenarios)}; sizes {args.sizes}; seeds "
          f"{args.first}-{args.first + args.seeds - 1}) on {args.jobs} processes", flush=True)
    started = time.monotonic()
    held: Counter[tuple[str, int]] = Counter()
    failed: list[tuple[str, int, int, str]] = []
    undecided: list[tuple[str, int, int]] = []
    with multiprocessing.Pool(args.jobs) as pool:
        for done, (scenario, size, seed, error) in enumerate(
                pool.imap_unordered(run_one, jobs, chunksize=4), 1):
            if error is None:
                held[scenario, size] += 1
            elif error == UNDECIDED:
                undecided.append((scenario, size, seed))
                print(f"UNDECIDED {scenario} size {size} seed {seed}: the checker found no "
                      f"verdict in {UNDECIDED_BUDGET:.0f} s", flush=True)
            else:
                failed.append((scenario, size, seed, error))
                print(f"FAILED {scenario} size {size} seed {seed}: replay with "
                      f"scripts/simulate.py --scenario {scenario} --sizes {size} "
                      f"--first {seed} --seeds 1\n{error}", flush=True)
            if done % 200 == 0:
                print(f"  {done}/{len(jobs)} in {time.monotonic() - started:.0f} s", flush=True)
    print(f"\n{'scenario':<12} {'size':>4} {'held':>6} {'failed':>6}")
    for scenario in scenarios:
        for size in sizes:
            bad = sum(1 for f in failed if f[:2] == (scenario, size))
            print(f"{scenario:<12} {size:>4} {held[scenario, size]:>6} {bad:>6}")
    print(f"{sum(held.values())} of {len(jobs)} held, {len(failed)} failed, {len(undecided)} "
          f"undecided, in {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
