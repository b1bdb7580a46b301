"""The service load balancer (as k3s's ServiceLB or `minikube tunnel`): every Service of type
LoadBalancer that names no other spec.loadBalancerClass gets an address of the pool
(serve --lb-cidr) in status.loadBalancer.ingress; kube-proxy answers on it (proxy/rules.py)
and serve routes the pool onto the pod bridge. Services of another class are left to their
own controller, as kube's cloud controllers leave them.

The pool and the decision for one Service (`AddressPool`, `plan_service`) are pure; the
controller around them reads its cache, writes the status subresource and records events.
After a restart the pool is rebuilt from the addresses Services already show, before any
is handed out.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import SERVICES
from minikube_py.client.events import NORMAL, WARNING
from minikube_py.client.informer import object_key
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop, split_key

log = logging.getLogger("minikube_py.controllers.servicelb")

# The class that names this load balancer; a Service without a class is ours too.
LOAD_BALANCER_CLASS = "minikube-py.io/service-lb"


class AddressPool:
    """Which Service (namespace/name) holds which address of the pool; one address each."""

    def __init__(self, cidr: str) -> None:
        self.cidr = cidr
        net = ipaddress.IPv4Network(cidr) if cidr else None
        if net is None:
            self._first, self._last = 1, 0  # empty
        elif net.prefixlen >= 31:
            self._first, self._last = int(net.network_address), int(net.broadcast_address)
        else:  # not the network's own address nor its broadcast
            self._first = int(net.network_address) + 1
            self._last = int(net.broadcast_address) - 1
        self._holder: dict[int, str] = {}
        self._held: dict[str, int] = {}

    @property
    def size(self) -> int:
        return max(0, self._last - self._first + 1)

    def contains(self, ip: str) -> bool:
        try:
            n = int(ipaddress.IPv4Address(ip))
        except ValueError:
            return False
        return self._first <= n <= self._last

    def holder(self, ip: str) -> str | None:
        return self._holder.get(int(ipaddress.IPv4Address(ip))) if self.contains(ip) else None

    def address_of(self, key: str) -> str | None:
        n = self._held.get(key)
        return None if n is None else str(ipaddress.IPv4Address(n))

    def take(self, key: str, ip: str) -> bool:
        """Give `ip` to `key` (letting go of any other it held); False if it is not in the
        pool or another Service holds it."""
        if not self.contains(ip):
            return False
        n = int(ipaddress.IPv4Address(ip))
        if self._holder.get(n, key) != key:
            return False
        self.release(key)
        self._holder[n], self._held[key] = key, n
        return True

    def allocate(self, key: str) -> str | None:
        """The address `key` holds, else the lowest free one; None when all are taken."""
        held = self.address_of(key)
        if held is not None:
            return held
        for n in range(self._first, self._last + 1):
            if n not in self._holder:
                self._holder[n], self._held[key] = key, n
                return str(ipaddress.IPv4Address(n))
        return None

    def release(self, key: str) -> str | None:
        n = self._held.pop(key, None)
        if n is None:
            return None
        del self._holder[n]
        return str(ipaddress.IPv4Address(n))


def is_ours(svc: Obj) -> bool:
    spec = svc.get("spec") or {}
    return spec.get("type") == "LoadBalancer" and \
        spec.get("loadBalancerClass") in (None, "", LOAD_BALANCER_CLASS)


def ingress_ips(svc: Obj) -> tuple[str, ...]:
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return tuple(str(i.get("ip")) for i in ingress if isinstance(i, dict) and i.get("ip"))


@dataclass(frozen=True, slots=True)
class Plan:
    """What one Service's status should show (None: leave it alone, () no address) and the
    event that says why when it gets none."""

    ingress: tuple[str, ...] | None
    refusal: str = ""  # the AllocationFailed event's message


def plan_service(pool: AddressPool, key: str, svc: Obj | None) -> Plan:
    """Allocate or release `key`'s address in `pool` for the Service as it now is."""
    if svc is None:
        pool.release(key)
        return Plan(None)
    if not is_ours(svc):
        released = pool.release(key)
        # A type changed away from LoadBalancer: its address goes (a Service of another
        # class keeps whatever its own controller wrote).
        spec = svc.get("spec") or {}
        shown = ingress_ips(svc)
        if spec.get("type") != "LoadBalancer" and shown and \
                (released or any(pool.contains(ip) for ip in shown)):
            return Plan(())
        return Plan(None)
    if not pool.size:
        return Plan(None, "no load-balancer addresses: this cluster has no pool (start "
                          "serve with --lb-cidr CIDR)")
    wanted = str((svc.get("spec") or {}).get("loadBalancerIP") or "")
    if wanted:
        if pool.take(key, wanted):
            return Plan((wanted,))
        pool.release(key)
        why = (f"it is in use by Service {pool.holder(wanted)}" if pool.contains(wanted)
               else f"it is not in the load-balancer pool {pool.cidr} (--lb-cidr)")
        return Plan((), f"Failed to allocate IP for \"{key}\": spec.loadBalancerIP "
                        f"{wanted}: {why}")
    ip = pool.allocate(key)
    if ip is None:
        return Plan(None, f"Failed to allocate IP for \"{key}\": no available IPs: the "
                          f"load-balancer pool {pool.cidr} ({pool.size} addresses) is used up")
    return Plan((ip,))


class ServiceLbController:
    name = "service-lb-controller"

    def __init__(self, ctx: ControllerContext, *, lb_cidr: str = "", workers: int = 1) -> None:
        self.ctx = ctx
        self.pool = AddressPool(lb_cidr)
        self.recorder = ctx.recorder("service-lb-controller")
        self.services = ctx.informers.informer(SERVICES)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        # Services that found no address, with why: they wait for one to be released (or
        # their own change), rather than retry in a loop that can only fail again.
        self._waiting: dict[str, str] = {}
        self.services.add_handlers(self._seen, lambda _o, n: self._seen(n), self._deleted)

    def _seen(self, svc: Obj) -> None:
        # Before the first sync (the cache's initial list) this rebuilds the pool from the
        # addresses Services show; later it only confirms what sync handed out.
        key = object_key(svc)
        if is_ours(svc) and self.pool.address_of(key) is None:
            for ip in ingress_ips(svc):
                if self.pool.take(key, ip):
                    break
        self.loop.enqueue(svc)

    def _deleted(self, svc: Obj) -> None:
        key = object_key(svc)
        if self.pool.release(key) is not None:
            self._wake_waiting()
        self._waiting.pop(key, None)

    def _wake_waiting(self) -> None:
        for key in sorted(self._waiting):
            self.loop.enqueue_key(key)

    async def run(self) -> None:
        await self.loop.run()

    async def sync(self, key: str) -> None:
        svc = self.services.get(key)
        held = self.pool.address_of(key)
        plan = plan_service(self.pool, key, svc)
        if held is not None and self.pool.address_of(key) != held:
            self._wake_waiting()
        if svc is None:
            self._waiting.pop(key, None)
            return
        if plan.refusal:
            if self._waiting.get(key) != plan.refusal:  # one event per reason
                self._waiting[key] = plan.refusal
                self.recorder.record(svc, WARNING, "AllocationFailed", plan.refusal)
                log.warning("service %s: %s", key, plan.refusal)
        else:
            self._waiting.pop(key, None)
        if plan.ingress is None or plan.ingress == ingress_ips(svc):
            return
        await self._write_status(key, svc, plan.ingress)

    async def _write_status(self, key: str, svc: Obj, ips: tuple[str, ...]) -> None:
        namespace, name = split_key(key)
        ensuring = bool(ips)
        self.recorder.record(svc, NORMAL, "EnsuringLoadBalancer" if ensuring
                             else "DeletingLoadBalancer",
                             "Ensuring load balancer" if ensuring else "Deleting load balancer")
        ingress: Any = [{"ip": ip, "ipMode": "VIP"} for ip in ips] or None
        try:
            await self.ctx.client.patch(
                SERVICES, name, {"status": {"loadBalancer": {"ingress": ingress}}},
                namespace=namespace, subresource="status")
        except ApiError as e:
            if e.code == 404:
                return  # deleted meanwhile: its delete releases the address
            raise
        self.recorder.record(svc, NORMAL, "EnsuredLoadBalancer" if ensuring
                             else "DeletedLoadBalancer",
                             "Ensured load balancer" if ensuring else "Deleted load balancer")
        log.info("service %s: load balancer %s", key, ",".join(ips) or "removed")
