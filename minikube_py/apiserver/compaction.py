"""Periodic store compaction, so old revisions do not pile up under long-lived watches."""

from __future__ import annotations

import asyncio
import logging

from minikube_py.store.types import KV

log = logging.getLogger(__name__)


async def compaction_loop(kv: KV, interval: float) -> None:
    """Every interval, compact to the revision seen one interval ago (kube-apiserver's
    compactor), so watches can resume from anything newer than about one interval."""
    last = 0
    while True:
        await asyncio.sleep(interval)
        try:
            if last > kv.compact_revision:
                await kv.compact(last)
        except Exception:
            log.exception("store compaction to revision %d failed", last)
        last = kv.revision
