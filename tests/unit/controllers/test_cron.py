"""Cron expressions: parsing and next times, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from minikube_py.api.cron import (
    CronSyntaxError,
    missed_runs,
    next_schedule_time,
    parse_schedule,
)


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("schedule", "after", "expected"), [
    ("* * * * *", "2024-01-01T10:00:30", "2024-01-01T10:01:00"),
    ("* * * * *", "2024-01-01T10:00:00", "2024-01-01T10:01:00"),  # strictly after
    ("*/15 * * * *", "2024-01-01T10:01:00", "2024-01-01T10:15:00"),
    ("5-10/2 * * * *", "2024-01-01T10:07:00", "2024-01-01T10:09:00"),
    ("0,30 9 * * *", "2024-01-01T09:30:00", "2024-01-02T09:00:00"),
    ("0 0 * * mon", "2024-01-01T00:00:00", "2024-01-08T00:00:00"),  # 2024-01-01 is a Monday
    ("0 0 * * 7", "2024-01-01T00:00:00", "2024-01-07T00:00:00"),  # 7 is Sunday
    ("0 0 1 feb *", "2024-01-01T00:00:00", "2024-02-01T00:00:00"),
    ("0 0 29 2 *", "2024-03-01T00:00:00", "2028-02-29T00:00:00"),
    ("0 0 13 * 5", "2024-01-01T00:00:00", "2024-01-05T00:00:00"),  # day 13 OR Friday
    ("@hourly", "2024-01-01T10:59:59", "2024-01-01T11:00:00"),
    ("@daily", "2024-01-01T10:00:00", "2024-01-02T00:00:00"),
    ("@weekly", "2024-01-01T10:00:00", "2024-01-07T00:00:00"),
    ("@monthly", "2024-01-31T10:00:00", "2024-02-01T00:00:00"),
    ("@yearly", "2024-06-01T00:00:00", "2025-01-01T00:00:00"),
    ("0 9 * * *", "2024-01-01T00:00:00", "2024-01-01T09:00:00"),
    ("CRON_TZ=Europe/Paris 0 9 * * *", "2024-01-01T00:00:00", "2024-01-01T08:00:00"),
    ("0 2 * * mon-fri", "2024-01-05T03:00:00", "2024-01-08T02:00:00"),
])
def test_next_schedule_time(schedule: str, after: str, expected: str) -> None:
    assert next_schedule_time(parse_schedule(schedule), ts(after)) == ts(expected)


def test_time_zone_field_shifts_the_schedule() -> None:
    sched = parse_schedule("0 9 * * *", "America/New_York")
    assert next_schedule_time(sched, ts("2024-07-01T00:00:00")) == ts("2024-07-01T13:00:00")


def test_an_impossible_date_has_no_next_time() -> None:
    assert next_schedule_time(parse_schedule("0 0 30 2 *"), ts("2024-01-01T00:00:00")) is None


@pytest.mark.parametrize("schedule", [
    "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
    "* * * * 8", "*/0 * * * *", "5-1 * * * *", "@often", "x * * * *", "1,,2 * * * *",
])
def test_invalid_schedules_are_rejected(schedule: str) -> None:
    with pytest.raises(CronSyntaxError):
        parse_schedule(schedule)


def test_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(CronSyntaxError):
        parse_schedule("* * * * *", "Mars/Olympus")


@pytest.mark.parametrize(("earliest", "now", "recent", "count"), [
    ("2024-01-01T10:00:30", "2024-01-01T10:00:50", None, 0),
    ("2024-01-01T10:00:30", "2024-01-01T10:01:00", "2024-01-01T10:01:00", 1),
    ("2024-01-01T10:00:00", "2024-01-01T10:05:10", "2024-01-01T10:05:00", 5),
])
def test_missed_runs(earliest: str, now: str, recent: str | None, count: int) -> None:
    got = missed_runs(parse_schedule("* * * * *"), ts(earliest), ts(now))
    assert got.most_recent == (ts(recent) if recent else None)
    assert got.count == count


def test_many_missed_runs_are_capped_but_the_latest_is_found() -> None:
    got = missed_runs(parse_schedule("* * * * *"), ts("2024-01-01T00:00:00"),
                      ts("2024-01-03T00:00:30"))
    assert got.count > 100
    assert got.most_recent == ts("2024-01-03T00:00:00")
