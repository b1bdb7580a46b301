"""Kubernetes' two wire formats for instants: Time (RFC 3339, seconds) and MicroTime."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(ts: float) -> str:
    """metav1.Time: "2006-01-02T15:04:05Z"."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(ts: float) -> str:
    """metav1.MicroTime: "2006-01-02T15:04:05.000000Z" (Lease renewTime, event times)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
