"""Kubernetes' wire formats for instants, Time (RFC 3339, seconds) and MicroTime, and for
spans, Duration (Go's time.Duration text)."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(ts: float) -> str:
    """metav1.Time: "2006-01-02T15:04:05Z"."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(ts: float) -> str:
    """metav1.MicroTime: "2006-01-02T15:04:05.000000Z" (Lease renewTime, event times)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _trim(whole: int, fraction: int, digits: int) -> str:
    return f"{whole}.{fraction:0{digits}d}".rstrip("0").rstrip(".")


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String(), which metav1.Duration serializes."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 1000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_trim(ns // 1000, ns % 1000, 3)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_trim(ns // 1_000_000, ns % 1_000_000, 6)}ms"
    whole, frac = divmod(ns, 1_000_000_000)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{_trim(secs, frac, 9)}s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return f"{sign}{text}"
