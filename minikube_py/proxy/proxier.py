"""kube-proxy: keeps the node's iptables rules in step with Services and EndpointSlices.

Informer events only mark the state dirty; one task renders and applies, at most once per
`min_sync_period`, rewriting only the chains that changed. Rules already in the kernel stay
until the first sync after the caches are filled, so restarting `serve` leaves no gap.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from minikube_py.api.resources import ENDPOINTSLICES, SERVICES
from minikube_py.client.informer import InformerFactory
from minikube_py.client.interface import ApiClient
from minikube_py.proxy.iptables import (
    Iptables,
    IptablesError,
    SystemIptables,
    ensure_jump_rules,
    owned_chains,
)
from minikube_py.proxy.rules import (
    DEFAULT_SETTINGS,
    ProxyNode,
    ProxySettings,
    Ruleset,
    build_ruleset,
    render_restore,
)
from minikube_py.sysctl import ensure_sysctl

log = logging.getLogger("minikube_py.proxy")

# Pods reach ClusterIPs through the node (routed), and a reply between two pods on the same
# bridge must pass conntrack to be un-DNATed: that needs bridged traffic to see iptables.
SYSCTLS = ("/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/bridge/bridge-nf-call-iptables")


@dataclass
class SyncStats:
    syncs: int = 0
    failures: int = 0
    last_seconds: float = 0.0
    last_payload_lines: int = 0


@dataclass
class KubeProxy:
    client: ApiClient
    informers: InformerFactory
    node_name: str
    node_ips: tuple[str, ...] = ()
    pod_bridge: str = "mkpy0"
    settings: ProxySettings = DEFAULT_SETTINGS
    iptables: Iptables = field(default_factory=SystemIptables)
    clock: Callable[[], float] = time.monotonic
    min_sync_period: float = 0.05
    # Rewrite every chain now and then, in case something outside us changed them.
    full_sync_period: float = 300.0
    set_sysctls: bool = True
    synced: asyncio.Event = field(default_factory=asyncio.Event)
    stats: SyncStats = field(default_factory=SyncStats)
    _dirty: asyncio.Event = field(default_factory=asyncio.Event)
    _written: Ruleset | None = None
    _last_full: float = float("-inf")

    def __post_init__(self) -> None:
        self._services = self.informers.informer(SERVICES)
        self._slices = self.informers.informer(ENDPOINTSLICES)
        for inf in (self._services, self._slices):
            inf.add_handlers(self._changed, lambda _old, _new: self._dirty.set(), self._changed)

    def _changed(self, _obj: dict[str, Any]) -> None:
        self._dirty.set()

    async def run(self) -> None:
        if self.set_sysctls:
            for path in SYSCTLS:
                ensure_sysctl(path)
        await self._services.synced.wait()
        await self._slices.synced.wait()
        backoff = 0.5
        last = float("-inf")
        self._dirty.set()
        while True:
            await self._dirty.wait()
            wait = self.min_sync_period - (self.clock() - last)
            if wait > 0:
                await asyncio.sleep(wait)
            self._dirty.clear()
            last = self.clock()
            try:
                await self.sync()
                backoff = 0.5
            except (IptablesError, OSError) as e:
                self.stats.failures += 1
                self._written = None  # the kernel's state is unknown: rewrite everything
                log.warning("kube-proxy sync failed: %s; retrying in %.1fs", e, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                self._dirty.set()

    async def sync(self) -> None:
        """Render the cache and apply what changed since the last successful sync."""
        t0 = self.clock()
        node = ProxyNode(self.node_name, self.node_ips, self.pod_bridge)
        wanted = build_ruleset(self._services.list(), self._slices.list(), node, self.settings)
        full = self._written is None or t0 - self._last_full >= self.full_sync_period
        if full:
            existing = await owned_chains(self.iptables, self.settings)
            payload = render_restore(wanted, existing=existing)
        else:
            payload = render_restore(wanted, previous=self._written)
        if payload:
            await self.iptables.restore(payload)
        if full:
            await ensure_jump_rules(self.iptables, self.settings)
            self._last_full = t0
        self._written = wanted
        self.stats.syncs += 1
        self.stats.last_seconds = self.clock() - t0
        self.stats.last_payload_lines = payload.count("\n")
        self.synced.set()
        log.debug("kube-proxy synced in %.3fs (%d lines)", self.stats.last_seconds,
                  self.stats.last_payload_lines)
