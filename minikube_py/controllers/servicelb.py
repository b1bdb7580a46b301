"""The service load balancer (as k3s's ServiceLB or `minikube tunnel`): every Service of type
LoadBalancer that names no other spec.loadBalancerClass gets an address in
status.loadBalancer.ingress, and kube-proxy answers on it (proxy/rules.py). With a pool
(serve --lb-cidr, routed onto the pod bridge) each Service gets one address of it; without,
each gets the nodes' own addresses, as k3s's ServiceLB gives, and then a port is one
Service's. Services of another class are left to their own controller, as kube's cloud
controllers leave them.

The pool, the ports and the decision for one Service (`AddressPool`, `plan_service`,
`NodeAddressPorts`, `plan_node_address`) are pure; the controller around them reads its
caches, writes the status subresource and records events. After a restart what Services
hold is rebuilt from the addresses they already show, before anything is handed out.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.nodeutil import SIMULATED_LABEL, node_addresses
from minikube_py.api.resources import NODES, SERVICES
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


def _released(svc: Obj, released: bool, ours: Callable[[str], bool]) -> Plan:
    """A Service that is not ours (any more): a type changed away from LoadBalancer loses
    the address it shows; a Service of another class keeps what its controller wrote."""
    shown = ingress_ips(svc)
    if (svc.get("spec") or {}).get("type") != "LoadBalancer" and shown and \
            (released or any(ours(ip) for ip in shown)):
        return Plan(())
    return Plan(None)


def _wanted_ip(svc: Obj) -> str:
    return str((svc.get("spec") or {}).get("loadBalancerIP") or "")


def plan_service(pool: AddressPool, key: str, svc: Obj | None) -> Plan:
    """Allocate or release `key`'s address in `pool` for the Service as it now is."""
    if svc is None:
        pool.release(key)
        return Plan(None)
    if not is_ours(svc):
        return _released(svc, pool.release(key) is not None, pool.contains)
    wanted = _wanted_ip(svc)
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


# --- without a pool: the nodes' addresses (k3s's ServiceLB) -----------------------------------

Port = tuple[str, int]  # (protocol, port)
NODE_PORT_RANGE = (30000, 32767)


def service_ports(svc: Obj) -> frozenset[Port]:
    return frozenset((str(p.get("protocol") or "TCP"), int(p["port"]))
                     for p in (svc.get("spec") or {}).get("ports") or []
                     if isinstance(p, dict) and p.get("port"))


class NodeAddressPorts:
    """Which Service answers on which port of the nodes' addresses. Every such Service's
    ingress is every node's address, so a port (and protocol) is one Service's; the node's
    own (`reserved`: cluster DNS, the kubelet, the API) and the NodePort range are no one's."""

    def __init__(self, reserved: Iterable[Port] = ()) -> None:
        self.reserved = frozenset(reserved)
        self._holder: dict[Port, str] = {}
        self._held: dict[str, frozenset[Port]] = {}

    def holds(self, key: str) -> bool:
        return key in self._held

    def conflict(self, key: str, ports: frozenset[Port]) -> str:
        """Why `key` may not have `ports` ("" when it may)."""
        for proto, port in sorted(ports, key=lambda p: (p[1], p[0])):
            if (proto, port) in self.reserved:
                return f"port {port}/{proto} of the node addresses is the node's own"
            if NODE_PORT_RANGE[0] <= port <= NODE_PORT_RANGE[1]:
                return (f"port {port}/{proto} is in the NodePort range "
                        f"{NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}")
            holder = self._holder.get((proto, port), key)
            if holder != key:
                return f"port {port}/{proto} of the node addresses is Service {holder}'s"
        return ""

    def claim(self, key: str, ports: frozenset[Port]) -> str:
        """Give `ports` to `key` (instead of what it held); why not, if it may not."""
        why = self.conflict(key, ports)
        if why:
            return why
        self.release(key)
        self._held[key] = ports
        for port in ports:
            self._holder[port] = key
        return ""

    def release(self, key: str) -> bool:
        ports = self._held.pop(key, None)
        for port in ports or ():
            del self._holder[port]
        return ports is not None


def plan_node_address(claims: NodeAddressPorts, key: str, svc: Obj | None,
                      node_ips: tuple[str, ...]) -> Plan:
    """Claim or release `key`'s ports on the nodes' addresses for the Service as it now is;
    its ingress is every node's address (or the one of them its loadBalancerIP names)."""
    if svc is None:
        claims.release(key)
        return Plan(None)
    if not is_ours(svc):
        return _released(svc, claims.release(key), node_ips.__contains__)
    wanted = _wanted_ip(svc)
    if wanted and wanted not in node_ips:
        claims.release(key)
        return Plan((), f"Failed to allocate IP for \"{key}\": spec.loadBalancerIP {wanted}: "
                        f"it is not a node's address (this cluster has no load-balancer pool: "
                        f"start serve with --lb-cidr CIDR for one)")
    why = claims.claim(key, service_ports(svc))
    if why:
        claims.release(key)
        return Plan((), f"Failed to allocate IP for \"{key}\": {why}")
    if not node_ips:
        return Plan(None, f"Failed to allocate IP for \"{key}\": no node has an address yet")
    return Plan((wanted,) if wanted else node_ips)


def node_ips(nodes: Iterable[Obj]) -> tuple[str, ...]:
    """The InternalIPs of the nodes that run pods (not the simulated ones), sorted."""
    found = {ip for node in nodes
             if not ((node.get("metadata") or {}).get("labels") or {}).get(SIMULATED_LABEL)
             for ip in node_addresses(node, "InternalIP")}
    return tuple(sorted(found, key=lambda ip: ipaddress.ip_address(ip).packed))


class ServiceLbController:
    """With `lb_cidr`, Services get addresses of that pool; without, the nodes' addresses
    (each port once: `reserved` are the node's own)."""

    name = "service-lb-controller"

    def __init__(self, ctx: ControllerContext, *, lb_cidr: str = "",
                 reserved: Iterable[Port] = (), workers: int = 1) -> None:
        self.ctx = ctx
        self.pool = AddressPool(lb_cidr)
        self.claims = NodeAddressPorts(reserved)
        self.recorder = ctx.recorder("service-lb-controller")
        self.services = ctx.informers.informer(SERVICES)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        # Services that found no address, with why: they wait for one to be released (or
        # their own change), rather than retry in a loop that can only fail again.
        self._waiting: dict[str, str] = {}
        self._node_ips: tuple[str, ...] = ()
        self.services.add_handlers(self._seen, lambda _o, n: self._seen(n), self._deleted)
        if not self.pool.size:
            self.nodes = ctx.informers.informer(NODES)
            self.nodes.add_handlers(self._nodes_changed, lambda _o, _n: self._nodes_changed(),
                                    self._nodes_changed)

    def _seen(self, svc: Obj) -> None:
        # Before the first sync (the cache's initial list) this rebuilds what Services hold
        # from the addresses they show; later it only confirms what sync handed out.
        key = object_key(svc)
        if is_ours(svc) and ingress_ips(svc) and not self._holds(key):
            if self.pool.size:
                for ip in ingress_ips(svc):
                    if self.pool.take(key, ip):
                        break
            else:
                self.claims.claim(key, service_ports(svc))
        self.loop.enqueue(svc)

    def _holds(self, key: str) -> bool:
        return self.pool.address_of(key) is not None or self.claims.holds(key)

    def _deleted(self, svc: Obj) -> None:
        key = object_key(svc)
        if self.pool.release(key) is not None or self.claims.release(key):
            self._wake_waiting()
        self._waiting.pop(key, None)

    def _nodes_changed(self, _node: Obj | None = None) -> None:
        ips = node_ips(self.nodes.list())
        if ips != self._node_ips:
            self._node_ips = ips
            for svc in self.services.list():
                if is_ours(svc) or ingress_ips(svc):
                    self.loop.enqueue(svc)

    def _wake_waiting(self) -> None:
        for key in sorted(self._waiting):
            self.loop.enqueue_key(key)

    async def run(self) -> None:
        await self.loop.run()

    def _plan(self, key: str, svc: Obj | None) -> Plan:
        if self.pool.size:
            return plan_service(self.pool, key, svc)
        return plan_node_address(self.claims, key, svc, self._node_ips)

    async def sync(self, key: str) -> None:
        svc = self.services.get(key)
        held = (self.pool.address_of(key), self.claims.holds(key))
        plan = self._plan(key, svc)
        if any(held) and (self.pool.address_of(key), self.claims.holds(key)) != held:
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
