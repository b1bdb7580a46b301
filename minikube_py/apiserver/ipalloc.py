"""ClusterIP and NodePort allocation from the service ranges (in memory, seeded from storage)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from typing import Any

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import SERVICES
from minikube_py.apiserver import storage
from minikube_py.store.types import KV, prefix_end


class ServiceIPAllocator:
    """Hands out service IPs in order; 10.96.0.1 is `kubernetes` and 10.96.0.10 is kube-dns."""

    def __init__(self, cidr: str = "10.96.0.0/12", reserved: tuple[str, ...] = ("10.96.0.10",)):
        self.network = ipaddress.IPv4Network(cidr)
        self._used: set[int] = set()
        # Reserved addresses are never handed out by allocate(), only to whoever asks by name.
        self._reserved = {int(ipaddress.IPv4Address(r)) for r in reserved}
        self._first = int(self.network.network_address) + 1
        self._last = int(self.network.broadcast_address) - 1
        self._next = self._first + 1  # .1 is handed out only on request (the kubernetes service)
        self.loaded = False

    def contains(self, ip: str) -> bool:
        try:
            return ipaddress.IPv4Address(ip) in self.network
        except ValueError:
            return False

    def mark_used(self, ip: str) -> None:
        if self.contains(ip):
            self._used.add(int(ipaddress.IPv4Address(ip)))

    def reserve(self, ip: str) -> bool:
        """Claim a specific address; False if it is taken."""
        n = int(ipaddress.IPv4Address(ip))
        if n in self._used:
            return False
        self._used.add(n)
        return True

    def allocate(self) -> str:
        size = self._last - self._first + 1
        for _ in range(size):
            n = self._next
            self._next = self._next + 1 if self._next < self._last else self._first
            if n not in self._used and n not in self._reserved:
                self._used.add(n)
                return str(ipaddress.IPv4Address(n))
        raise ApiError(500, "InternalError",
                       "Internal error occurred: failed to allocate a serviceIP: range is full")

    def release(self, ip: str) -> None:
        if self.contains(ip):
            self._used.discard(int(ipaddress.IPv4Address(ip)))


class NodePortAllocator:
    def __init__(self, first: int = 30000, last: int = 32767) -> None:
        self.first, self.last = first, last
        self._used: set[int] = set()
        self._next = first

    def mark_used(self, port: int) -> None:
        self._used.add(port)

    def reserve(self, port: int) -> bool:
        if port in self._used or not self.first <= port <= self.last:
            return False
        self._used.add(port)
        return True

    def allocate(self) -> int:
        for _ in range(self.last - self.first + 1):
            p = self._next
            self._next = p + 1 if p < self.last else self.first
            if p not in self._used:
                self._used.add(p)
                return p
        raise ApiError(500, "InternalError", "failed to allocate a nodePort: range is full")

    def release(self, port: int) -> None:
        self._used.discard(port)


class ServiceAllocations:
    """ClusterIPs and NodePorts of all services, loaded from storage on first use."""

    def __init__(self, kv: KV, cidr: str) -> None:
        self.kv = kv
        self.ips = ServiceIPAllocator(cidr)
        self.node_ports = NodePortAllocator()
        self._loaded = False
        self._lock = asyncio.Lock()

    async def _load(self) -> None:
        if self._loaded:
            return
        res = await self.kv.range(storage.list_prefix(SERVICES, None),
                                  prefix_end(storage.list_prefix(SERVICES, None)))
        for kv in res.kvs:
            spec = json.loads(kv.value).get("spec") or {}
            for ip in spec.get("clusterIPs") or [spec.get("clusterIP") or ""]:
                self.ips.mark_used(ip)
            for p in spec.get("ports") or []:
                if p.get("nodePort"):
                    self.node_ports.mark_used(p["nodePort"])
        self._loaded = True

    async def allocate(self, obj: dict[str, Any]) -> None:
        spec = obj["spec"]
        async with self._lock:
            await self._load()
            if spec["type"] != "ExternalName":
                ip = spec.get("clusterIP")
                if ip and ip != "None":
                    if not self.ips.contains(ip) or not self.ips.reserve(ip):
                        why = ("provided IP is already allocated" if self.ips.contains(ip)
                               else f"provided IP is not in the valid range. The range of valid "
                                    f"IPs is {self.ips.network}")
                        raise errors.invalid("Service", obj["metadata"]["name"], [errors.Cause(
                            "FieldValueInvalid", f'Invalid value: "{ip}": {why}',
                            "spec.clusterIPs")])
                elif not ip:
                    ip = self.ips.allocate()
                spec["clusterIP"] = ip
                spec["clusterIPs"] = [ip]
            if spec["type"] in ("NodePort", "LoadBalancer"):
                for p in spec.get("ports") or []:
                    if p.get("nodePort"):
                        self.node_ports.reserve(p["nodePort"])
                    else:
                        p["nodePort"] = self.node_ports.allocate()

    def release(self, obj: dict[str, Any]) -> None:
        spec = obj.get("spec") or {}
        for ip in spec.get("clusterIPs") or []:
            if ip != "None":
                self.ips.release(ip)
        for p in spec.get("ports") or []:
            if p.get("nodePort"):
                self.node_ports.release(p["nodePort"])
