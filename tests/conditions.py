"""Waiting in tests for a condition with a deadline, never for a length of time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def until(check: Callable[[], bool | Awaitable[bool]], what: str,
                timeout: float = 5.0) -> None:
    """Return once `check()` (or what it awaits to) holds; fail naming `what` if it does not
    within `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
