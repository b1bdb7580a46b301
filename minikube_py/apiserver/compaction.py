"""Periodic store compaction, so old revisions do not pile up under long-lived watches."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from minikube_py.apiserver.service import ApiService

log = logging.getLogger(__name__)


async def compaction_loop(svc: ApiService) -> None:
    """Every interval, compact to the revision seen one interval ago (kube-apiserver's
    compactor), so watches can resume from anything newer than about one interval."""
    last = 0
    while True:
        await asyncio.sleep(svc.compaction_interval)
        try:
            if last > svc.kv.compact_revision:
                await svc.kv.compact(last)
        except Exception:
            log.exception("store compaction to revision %d failed", last)
        last = svc.kv.revision
