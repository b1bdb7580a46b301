"""Waiting in tests for a condition with a deadline, never for a length of time."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def until(check: Callable[[], T | Awaitable[T]], what: str,
                timeout: float = 5.0, *, interval: float = 0.01) -> T:
    """Return what `check()` (or what it awaits to) gives once that is truthy; fail naming
    `what` (and the last value, unless a plain False) if it is not within `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        value: T = await result if inspect.isawaitable(result) else result
        if value:
            return value
        if time.monotonic() > deadline:
            last = "" if value is False else f" (last: {value!r})"
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{last}")
        await asyncio.sleep(interval)
