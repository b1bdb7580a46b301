"""Cron schedules as CronJobs write them (robfig/cron's standard parser): five fields,
ranges, steps, lists, month and weekday names, @hourly-style macros, an optional
`CRON_TZ=`/`TZ=` prefix, and the next matching time after a given instant. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class CronSyntaxError(ValueError):
    """The schedule string is not a valid cron expression."""


MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day of month", 1, 31, {}),
    _Field("month", 1, 12, _MONTHS),
    _Field("day of week", 0, 7, _DAYS),  # 7 is Sunday too
)


@dataclass(frozen=True)
class CronSchedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]  # 0 = Sunday
    dom_any: bool  # the day-of-month field was `*` or `?`
    dow_any: bool
    tz: tzinfo = UTC

    def day_matches(self, day: datetime) -> bool:
        """Vixie cron: when both day fields are restricted, either may match."""
        dom = day.day in self.days_of_month
        dow = (day.weekday() + 1) % 7 in self.days_of_week
        if self.dom_any or self.dow_any:
            return dom and dow
        return dom or dow

    def next_after(self, when: datetime) -> datetime | None:
        """The first matching minute strictly after `when` (aware), in UTC; None if there is
        none within five years (e.g. 30 February)."""
        local = when.astimezone(self.tz).replace(second=0, microsecond=0, tzinfo=None)
        t = local + timedelta(minutes=1)
        limit = local + timedelta(days=366 * 5)
        while t <= limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
                continue
            if not self.day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t += timedelta(minutes=1)
                continue
            aware = t.replace(tzinfo=self.tz).astimezone(UTC)
            if aware > when:
                return aware
            t += timedelta(minutes=1)  # a repeated wall-clock hour (DST) already passed
        return None


def _parse_value(text: str, f: _Field) -> int:
    key = text.lower()
    if key in f.names:
        return f.names[key]
    if not text.isdigit():
        raise CronSyntaxError(f"failed to parse int from {text}: invalid {f.name}")
    return int(text)


def _parse_part(part: str, f: _Field) -> set[int]:
    if not part:
        raise CronSyntaxError(f"empty {f.name} in list")
    rng, slash, step_text = part.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise CronSyntaxError(f"bad step {step_text!r} in {f.name}")
        step = int(step_text)
    if rng in ("*", "?"):
        low, high = f.low, f.high if f.name != "day of week" else 6
    else:
        lo_text, dash, hi_text = rng.partition("-")
        low = _parse_value(lo_text, f)
        high = _parse_value(hi_text, f) if dash else (f.high if slash else low)
        if slash and not dash and f.name == "day of week":
            high = 6
    if low < f.low or high > f.high:
        raise CronSyntaxError(f"{f.name} out of range ({f.low}-{f.high}): {part}")
    if low > high:
        raise CronSyntaxError(f"beginning of range ({low}) beyond end of range ({high}): {part}")
    return set(range(low, high + 1, step))


def _parse_field(text: str, f: _Field) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        out |= _parse_part(part, f)
    if f.name == "day of week" and 7 in out:
        out = (out - {7}) | {0}
    return out


def parse_schedule(schedule: str, time_zone: str | None = None) -> CronSchedule:
    """Parse a CronJob's spec.schedule (and spec.timeZone, which a TZ prefix overrides...
    kube rejects both together; here the prefix wins)."""
    text = schedule.strip()
    tz_name = time_zone
    if text.startswith(("CRON_TZ=", "TZ=")):
        prefix, _, text = text.partition(" ")
        tz_name = prefix.split("=", 1)[1]
        text = text.strip()
    tz: tzinfo = UTC
    if tz_name and tz_name not in ("UTC", "Etc/UTC"):
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise CronSyntaxError(f"unknown time zone {tz_name}") from e
    if text.startswith("@"):
        if text not in MACROS:
            raise CronSyntaxError(f"unrecognized descriptor: {text}")
        text = MACROS[text]
    fields = text.split()
    if len(fields) != 5:
        raise CronSyntaxError(f"expected exactly 5 fields, found {len(fields)}: {schedule}")
    sets = [_parse_field(t, f) for t, f in zip(fields, _FIELDS, strict=True)]
    return CronSchedule(
        minutes=frozenset(sets[0]), hours=frozenset(sets[1]), days_of_month=frozenset(sets[2]),
        months=frozenset(sets[3]), days_of_week=frozenset(sets[4]),
        dom_any=fields[2] in ("*", "?") or fields[2].startswith(("*/", "?/")),
        dow_any=fields[4] in ("*", "?") or fields[4].startswith(("*/", "?/")), tz=tz)


def next_schedule_time(schedule: CronSchedule, after: float) -> float | None:
    """Epoch seconds of the first scheduled minute strictly after `after`."""
    nxt = schedule.next_after(datetime.fromtimestamp(after, UTC))
    return None if nxt is None else nxt.timestamp()


@dataclass(frozen=True)
class MissedRuns:
    most_recent: float | None  # the latest scheduled time in (earliest, now]
    count: int  # how many scheduled times fell in that window (capped)


def missed_runs(schedule: CronSchedule, earliest: float, now: float, *,
                cap: int = 101) -> MissedRuns:
    """Scheduled times after `earliest` up to and including `now` (kube's
    mostRecentScheduleTime; more than 100 missed starts is an error there)."""
    t = next_schedule_time(schedule, earliest)
    recent, count = None, 0
    while t is not None and t <= now:
        recent, count = t, count + 1
        if count >= cap:
            # Jump close to now: only the latest run matters once too many were missed.
            back = next_schedule_time(schedule, now - 60 * 24 * 60 * 60)
            while back is not None and back <= now:
                recent, back = back, next_schedule_time(schedule, back)
            break
        t = next_schedule_time(schedule, t)
    return MissedRuns(recent, count)
