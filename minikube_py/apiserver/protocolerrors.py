"""Malformed HTTP requests (aiohttp's parser errors) as one rate-limited warning line.

aiohttp logs every request it cannot parse with a full ERROR traceback; a port scanner or a
fuzzer then buries the log (71,000 lines in one fuzz run). The client already got its 400;
the operator needs to know that it happens, not the parser's stack.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any


class ProtocolErrorLog:
    """Stands in for aiohttp's server logger (it calls `debug` and `exception`)."""

    def __init__(self, logger: logging.Logger, *, interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = logger
        self._interval = interval
        self._clock = clock
        self._last = -interval
        self._suppressed = 0

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("exc_info", None)
        self._log.debug(msg, *args, **kwargs)

    def exception(self, msg: str, *args: Any, exc_info: BaseException | None = None,
                  **kwargs: Any) -> None:
        now = self._clock()
        if now - self._last < self._interval:
            self._suppressed += 1
            return
        why = f": {type(exc_info).__name__}: {exc_info}" if exc_info is not None else ""
        more = f" ({self._suppressed} more since the last report)" if self._suppressed else ""
        self._log.warning("%s%s%s", msg % args if args else msg, why.splitlines()[0] if why
                          else "", more)
        self._last = now
        self._suppressed = 0

    # aiohttp's type hints say Logger; these keep attribute lookups that it may make working.
    def isEnabledFor(self, level: int) -> bool:
        return self._log.isEnabledFor(level)
