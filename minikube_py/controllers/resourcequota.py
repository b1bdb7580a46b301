"""The resource quota controller (kube's pkg/controller/resourcequota): every quota's
status.hard follows spec.hard and status.used is recounted from the objects, when a quota
changes, when a counted object in its namespace changes, and every resync period, so
deletions give their usage back and a new quota is usable as soon as it is counted."""

from __future__ import annotations

from fractions import Fraction

from minikube_py.api import quota as q
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    BUILTIN,
    CONFIGMAPS,
    PODS,
    REPLICATIONCONTROLLERS,
    RESOURCEQUOTAS,
    SECRETS,
    SERVICES,
    Resource,
)
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop, split_key

# Kinds watched for changes (kube's replenishment controllers); quotas on other kinds are
# charged at admission and recounted at the resync.
_WATCHED = (PODS, SERVICES, CONFIGMAPS, SECRETS, REPLICATIONCONTROLLERS)
_FULL = (PODS, SERVICES)  # their usage reads the spec; the others count metadata


def next_used(counted: q.Usage, current: q.Usage, settled: bool) -> q.Usage:
    """What to write as used: the count, except that a lower count than the quota shows
    waits until it has `settled` (admission charges a quota just before it stores the
    object, so a count taken in between is short by it; lowering at once would hand the
    charged unit out twice)."""
    if settled:
        return counted
    return {k: max(v, current.get(k, Fraction(0))) for k, v in counted.items()}


def lowers(counted: q.Usage, current: q.Usage) -> bool:
    return any(v < current.get(k, Fraction(0)) for k, v in counted.items())


class ResourceQuotaController:
    name = "resourcequota-controller"

    def __init__(self, ctx: ControllerContext, *, resync_period: float = 30.0,
                 settle: float = 1.0, workers: int = 2,
                 served: tuple[Resource, ...] = BUILTIN) -> None:
        self.ctx = ctx
        self.settle = settle
        self.served = served
        self.quotas = ctx.informers.informer(RESOURCEQUOTAS)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.quotas.add_handlers(on_add=self.loop.watch_own, on_update=self.loop.watch_own)
        for resource in _WATCHED:
            inf = ctx.informers.informer(resource, metadata_only=resource not in _FULL)
            inf.add_handlers(on_add=self._changed, on_update=lambda _o, n: self._changed(n),
                             on_delete=self._changed)
        self.loop.resync_every(resync_period, self.quotas.keys)
        # quota key -> the resourceVersion at which a lower count was first held back
        self._held: dict[str, str] = {}

    def _changed(self, obj: Obj) -> None:
        ns = (obj.get("metadata") or {}).get("namespace") or ""
        for key in self.quotas.keys():
            if key.startswith(ns + "/"):
                self.loop.enqueue_key(key)

    async def run(self) -> None:
        await self.loop.run()

    async def _objects(self, hard: list[str], ns: str) -> dict[Resource, list[Obj]]:
        out: dict[Resource, list[Obj]] = {}
        for resource in q.counted_resources(hard, self.served):
            try:
                out[resource] = (await self.ctx.client.list(resource, namespace=ns))["items"]
            except ApiError as e:
                if e.code != 404:  # a kind this server does not serve counts nothing
                    raise
        return out

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        try:
            quota = await self.ctx.client.get(RESOURCEQUOTAS, name, namespace=ns)
        except ApiError as e:
            if e.code != 404:
                raise
            self._held.pop(key, None)
            return
        hard = dict((quota.get("spec") or {}).get("hard") or {})
        status = quota.get("status") or {}
        rv = quota["metadata"].get("resourceVersion", "")
        counted = q.recount(quota, await self._objects(list(hard), ns or ""), self.ctx.clock())
        current = q.parse_list(status.get("used"))
        held = lowers(counted, current) and status.get("hard") == hard and \
            self._held.get(key) != rv
        used = next_used(counted, current, settled=not held)
        wanted = {"hard": hard, "used": q.format_list(used)}
        if held:
            self.loop.enqueue_after(key, self.settle)
        if {"hard": status.get("hard"), "used": q.format_list(current)} == wanted and \
                status.get("used", {}).keys() == wanted["used"].keys():
            if held:
                self._held[key] = rv
            else:
                self._held.pop(key, None)
            return
        written = await self.ctx.client.update(RESOURCEQUOTAS, {**quota, "status": wanted},
                                               namespace=ns, subresource="status")
        if held:
            self._held[key] = written["metadata"].get("resourceVersion", "")
        else:
            self._held.pop(key, None)
