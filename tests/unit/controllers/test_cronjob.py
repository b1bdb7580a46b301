"""CronJob decisions: which scheduled run to start, concurrency, deadlines, history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from minikube_py.controllers.cronjob import decide_cron, job_name_for, jobs_to_prune


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


T0 = ts("2024-01-01T10:00:00")


def decide(**overrides: Any) -> Any:
    args: dict[str, Any] = dict(
        schedule_text="* * * * *", time_zone=None, suspended=False, concurrency="Allow",
        starting_deadline=None, created=T0 - 30, last_scheduled=None, now=T0 + 5,
        active_jobs=0, existing_names=frozenset(), name="cj")
    args.update(overrides)
    return decide_cron(**args)


def test_job_names_are_minutes_since_the_epoch() -> None:
    assert job_name_for("cj", T0) == f"cj-{int(T0) // 60}"


@pytest.mark.parametrize(("overrides", "run_at", "replace", "skip", "next_run"), [
    ({}, T0, False, "", T0 + 60),
    ({"now": T0 - 10}, None, False, "", T0),  # not yet time
    ({"last_scheduled": T0}, None, False, "", T0 + 60),  # this minute already ran
    ({"suspended": True}, None, False, "", None),
    ({"concurrency": "Forbid", "active_jobs": 1}, None, False, "JobAlreadyActive", T0 + 60),
    ({"concurrency": "Replace", "active_jobs": 1}, T0, True, "", T0 + 60),
    ({"concurrency": "Allow", "active_jobs": 1}, T0, False, "", T0 + 60),
    ({"existing_names": frozenset({f"cj-{int(T0) // 60}"})}, None, False, "", T0 + 60),
    # missed several minutes: only the latest runs
    ({"created": T0 - 600, "now": T0 + 5}, T0, False, "", T0 + 60),
    # starting deadline: a run more than 3 s late is skipped
    ({"starting_deadline": 3}, None, False, "", T0 + 60),
    ({"starting_deadline": 10}, T0, False, "", T0 + 60),
])
def test_decide_cron(overrides: dict[str, Any], run_at: float | None, replace: bool, skip: str,
                     next_run: float | None) -> None:
    d = decide(**overrides)
    assert (d.run_at, d.replace, d.skip_reason, d.next_run) == (run_at, replace, skip, next_run)


def test_too_many_missed_runs_still_start_the_latest() -> None:
    d = decide(created=T0 - 3 * 3600)
    assert d.run_at == T0 and d.skip_reason == "TooManyMissedTimes"


@pytest.mark.parametrize(("ok_limit", "bad_limit", "expected"), [
    (3, 1, ["f1"]), (1, 1, ["s1", "s2", "f1"]), (None, None, []), (0, 0, ["s1", "s2", "s3",
                                                                      "f1", "f2"]),
])
def test_jobs_to_prune(ok_limit: int | None, bad_limit: int | None, expected: list[str]) -> None:
    finished = [("s3", "Complete", 3.0), ("s1", "Complete", 1.0), ("s2", "Complete", 2.0),
                ("f2", "Failed", 5.0), ("f1", "Failed", 4.0)]
    assert jobs_to_prune(finished, successful_limit=ok_limit, failed_limit=bad_limit) == expected
