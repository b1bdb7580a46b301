"""Job decisions: how many pods to run, when the Job is done, backoff, indexes."""

from __future__ import annotations

import pytest

from minikube_py.controllers.job import (
    JobPod,
    JobSpecFacts,
    backoff_remaining,
    decide_job,
    format_indexes,
    parse_indexes,
)


def running(name: str, *, ready: bool = True, created: str = "t1", index: int | None = None,
            restarts: int = 0) -> JobPod:
    return JobPod(name, f"uid-{name}", "Running", ready=ready, created=created, index=index,
                  restarts=restarts)


def failed(name: str, at: float = 100.0) -> JobPod:
    return JobPod(name, f"uid-{name}", "Failed", finished_at=at)


SPEC = JobSpecFacts(parallelism=2, completions=3, backoff_limit=6)


@pytest.mark.parametrize(("spec", "pods", "succeeded", "creates"), [
    (SPEC, [], 0, 2),  # parallelism caps the start
    (SPEC, [running("a")], 0, 1),
    (SPEC, [running("a")], 2, 0),  # one left to complete, one running
    (SPEC, [], 2, 1),
    (JobSpecFacts(parallelism=5, completions=2, backoff_limit=6), [], 0, 2),
    (JobSpecFacts(parallelism=3, completions=None, backoff_limit=6), [], 0, 3),  # work queue
    (JobSpecFacts(parallelism=3, completions=None, backoff_limit=6), [running("a")], 1, 0),
    (JobSpecFacts(parallelism=0, completions=3, backoff_limit=6), [], 0, 0),
])
def test_pods_to_create(spec: JobSpecFacts, pods: list[JobPod], succeeded: int,
                        creates: int) -> None:
    d = decide_job(spec, pods, succeeded=succeeded, failed=0, completed_indexes=set(),
                   start_time=0.0, now=1.0, backoff_base=0)
    assert d.finish is None
    assert len(d.create) == creates


def test_lowering_parallelism_deletes_not_ready_and_newest_first() -> None:
    pods = [running("old-ready", created="t1"), running("new-ready", created="t3"),
            running("not-ready", ready=False, created="t0")]
    spec = JobSpecFacts(parallelism=1, completions=5, backoff_limit=6)
    d = decide_job(spec, pods, succeeded=0, failed=0, completed_indexes=set(), start_time=0.0,
                   now=1.0)
    assert d.delete == ("not-ready", "new-ready")


@pytest.mark.parametrize(("spec", "pods", "succeeded", "failed_count", "finish", "reason"), [
    (SPEC, [], 3, 0, "Complete", "CompletionsReached"),
    (SPEC, [running("extra")], 3, 0, "Complete", "CompletionsReached"),
    (JobSpecFacts(parallelism=2, completions=None, backoff_limit=6), [], 1, 0, "Complete",
     "CompletionsReached"),
    (JobSpecFacts(parallelism=1, completions=1, backoff_limit=1), [], 0, 2, "Failed",
     "BackoffLimitExceeded"),
    (JobSpecFacts(parallelism=1, completions=1, backoff_limit=1), [], 0, 1, None, ""),
    (JobSpecFacts(parallelism=1, completions=1, backoff_limit=0), [], 0, 1, "Failed",
     "BackoffLimitExceeded"),
    (JobSpecFacts(parallelism=1, completions=1, backoff_limit=2, restart_on_failure=True),
     [running("a", restarts=2)], 0, 0, "Failed", "BackoffLimitExceeded"),
    (JobSpecFacts(parallelism=1, completions=1, backoff_limit=6, active_deadline_seconds=10),
     [running("a")], 0, 0, "Failed", "DeadlineExceeded"),
])
def test_when_the_job_is_done(spec: JobSpecFacts, pods: list[JobPod], succeeded: int,
                              failed_count: int, finish: str | None, reason: str) -> None:
    d = decide_job(spec, pods, succeeded=succeeded, failed=failed_count,
                   completed_indexes=set(), start_time=0.0, now=20.0, backoff_base=0)
    assert d.finish == finish
    assert d.reason == reason
    if finish:
        assert d.create == () and d.delete == tuple(p.name for p in pods)


def test_active_deadline_is_requeued_for() -> None:
    spec = JobSpecFacts(parallelism=1, completions=1, backoff_limit=6, active_deadline_seconds=10)
    d = decide_job(spec, [running("a")], succeeded=0, failed=0, completed_indexes=set(),
                   start_time=0.0, now=4.0)
    assert d.finish is None and d.requeue_after == 6.0


def test_a_suspended_job_runs_nothing() -> None:
    spec = JobSpecFacts(parallelism=2, completions=3, backoff_limit=6, suspended=True)
    d = decide_job(spec, [running("a")], succeeded=0, failed=0, completed_indexes=set(),
                   start_time=None, now=0.0)
    assert d.create == () and d.delete == ("a",) and d.finish is None


def test_a_decided_finish_sticks_and_clears_remaining_pods() -> None:
    d = decide_job(SPEC, [running("a")], succeeded=0, failed=0, completed_indexes=set(),
                   start_time=0.0, now=0.0, pending_finish=("Failed", "DeadlineExceeded", "m"))
    assert (d.finish, d.reason, d.delete, d.create) == ("Failed", "DeadlineExceeded", ("a",), ())


def test_failed_pods_are_replaced_after_the_backoff_delay() -> None:
    spec = JobSpecFacts(parallelism=1, completions=1, backoff_limit=6)
    pods = [failed("f1", at=100.0), failed("f2", at=110.0)]
    early = decide_job(spec, pods, succeeded=0, failed=2, completed_indexes=set(),
                       start_time=0.0, now=115.0, backoff_base=10)
    assert early.create == () and early.requeue_after == pytest.approx(15.0)
    late = decide_job(spec, pods, succeeded=0, failed=2, completed_indexes=set(),
                      start_time=0.0, now=130.0, backoff_base=10)
    assert late.create == (None,)


@pytest.mark.parametrize(("failures", "last", "now", "expected"), [
    (0, None, 0.0, 0.0), (1, 100.0, 100.0, 10.0), (2, 100.0, 105.0, 15.0),
    (3, 100.0, 100.0, 40.0), (20, 100.0, 100.0, 360.0), (1, None, 0.0, 0.0),
    (1, 100.0, 200.0, 0.0),
])
def test_backoff_remaining(failures: int, last: float | None, now: float,
                           expected: float) -> None:
    assert backoff_remaining(failures, last, now, base=10, cap=360) == expected


def test_indexed_jobs_create_the_missing_indexes() -> None:
    spec = JobSpecFacts(parallelism=3, completions=5, backoff_limit=6, indexed=True)
    d = decide_job(spec, [running("a", index=1)], succeeded=1, failed=0, completed_indexes={0},
                   start_time=0.0, now=0.0)
    assert d.create == (2, 3)
    done = decide_job(spec, [], succeeded=5, failed=0, completed_indexes={0, 1, 2, 3, 4},
                      start_time=0.0, now=0.0)
    assert done.finish == "Complete"


@pytest.mark.parametrize(("indexes", "text"), [
    (set(), ""), ({0}, "0"), ({0, 1, 2, 4}, "0-2,4"), ({1, 3, 5, 6}, "1,3,5-6"),
])
def test_completed_indexes_round_trip(indexes: set[int], text: str) -> None:
    assert format_indexes(indexes) == text
    assert parse_indexes(text) == indexes


def test_a_pod_deleted_before_it_finished_counts_as_failed() -> None:
    gone = JobPod("a", "u", "Running", terminating=True)
    assert gone.failed and not gone.active
    done = JobPod("b", "u2", "Succeeded", terminating=True)
    assert done.succeeded and not done.failed
