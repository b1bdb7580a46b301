"""Where NodeMetrics and PodMetrics come from: each node's kubelet /stats/summary, read over
the API server's kubelet client (as metrics-server scrapes the kubelets), kept for `ttl`
seconds so a burst of requests (kubectl top, an HPA sync, a dashboard) reads each kubelet
once. A kubelet that cannot be read, and a simulated node (no kubelet stats), simply has no
metrics, as metrics-server leaves out a node it could not scrape."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from minikube_py.api.errors import ApiError
from minikube_py.api.nodeutil import SIMULATED_LABEL

log = logging.getLogger("minikube_py.apiserver.metrics")

Obj = dict[str, Any]
# (node) -> the kubelet's base URL ("https://10.0.0.1:10250"); ApiError when it has none.
KubeletUrl = Callable[[Obj], str]
# metrics-server's default --kubelet-request-timeout is 10 s; a laptop's kubelets answer in
# milliseconds, and `kubectl top` should not hang on one that is gone.
KUBELET_TIMEOUT = 5.0


class KubeletSummaries:
    """Each node's latest Summary (None when its kubelet did not answer), refreshed when
    older than `ttl`; concurrent callers share one refresh."""

    def __init__(self, kubelet_url: KubeletUrl, tls: ssl.SSLContext | None, *, ttl: float,
                 timeout: float = KUBELET_TIMEOUT,
                 clock: Callable[[], float] = time.monotonic,
                 fetch: Callable[[str], Awaitable[Obj]] | None = None) -> None:
        self.kubelet_url = kubelet_url
        self.tls = tls
        self.ttl = ttl
        self.timeout = timeout
        self.clock = clock
        self._fetch = fetch
        self._cache: dict[str, tuple[float, Obj | None]] = {}
        self._lock = asyncio.Lock()
        self.fetches = 0  # kubelet reads made (a burst must not grow it per request)

    async def summaries(self, nodes: list[Obj]) -> dict[str, Obj | None]:
        wanted = [n for n in nodes if not _simulated(n)]
        async with self._lock:
            now = self.clock()
            stale = [n for n in wanted
                     if now - self._cache.get(_name(n), (-float("inf"), None))[0] >= self.ttl]
            if stale:
                results = await asyncio.gather(*(self._read(n) for n in stale))
                for node, summary in zip(stale, results, strict=True):
                    self._cache[_name(node)] = (now, summary)
            # Nodes gone from the cluster leave with their answers' age.
            for old in [k for k, (at, _) in self._cache.items() if now - at > 2 * self.ttl]:
                del self._cache[old]
            return {_name(n): self._cache.get(_name(n), (0.0, None))[1] for n in wanted}

    async def _read(self, node: Obj) -> Obj | None:
        try:
            url = self.kubelet_url(node) + "/stats/summary"
        except ApiError as e:
            log.debug("no metrics of node %s: %s", _name(node), e.message)
            return None
        self.fetches += 1
        try:
            summary = await (self._fetch or self._get)(url)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as e:
            log.warning("cannot read the resource usage of node %s from its kubelet: %s",
                        _name(node), e)
            return None
        return summary if isinstance(summary, dict) else None

    async def _get(self, url: str) -> Obj:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.get(url, ssl=self.tls or True) as resp:
            resp.raise_for_status()
            body: Obj = await resp.json(content_type=None)
            return body


def _name(node: Obj) -> str:
    return str((node.get("metadata") or {}).get("name", ""))


def _simulated(node: Obj) -> bool:
    return SIMULATED_LABEL in ((node.get("metadata") or {}).get("labels") or {})
