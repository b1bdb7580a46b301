"""Pod CIDR bookkeeping, pure: which node-sized subnets of the cluster CIDR are taken, and
the next free one."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


class CidrsExhausted(Exception):
    """Every node-sized subnet of the cluster CIDR is taken."""


@dataclass
class PodCidrAllocator:
    cluster_cidr: str
    node_mask_size: int
    _taken: set[int] = field(default_factory=set)
    _next: int = 0

    def __post_init__(self) -> None:
        self._network = ipaddress.ip_network(self.cluster_cidr, strict=False)
        if self.node_mask_size < self._network.prefixlen:
            raise ValueError(f"node mask /{self.node_mask_size} is larger than the cluster "
                             f"CIDR {self.cluster_cidr}")
        self._size = 1 << (self.node_mask_size - self._network.prefixlen)
        self._step = 1 << (self._network.max_prefixlen - self.node_mask_size)

    def _index(self, cidr: str) -> int | None:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return None
        if net.version != self._network.version or net.prefixlen != self.node_mask_size or \
                not net.subnet_of(self._network):  # type: ignore[arg-type]
            return None
        return (int(net.network_address) - int(self._network.network_address)) // self._step

    def _cidr(self, index: int) -> str:
        address = ipaddress.ip_address(int(self._network.network_address) + index * self._step)
        return f"{address}/{self.node_mask_size}"

    def occupy(self, cidr: str) -> bool:
        """Mark a CIDR a node already has as taken; False if it is not ours to track."""
        index = self._index(cidr)
        if index is None:
            return False
        self._taken.add(index)
        return True

    def release(self, cidr: str) -> None:
        index = self._index(cidr)
        if index is not None:
            self._taken.discard(index)

    def allocate(self) -> str:
        """The next free subnet after the last one handed out (round robin, as kube's
        range allocator does, so a just-released CIDR is not reused at once)."""
        for offset in range(self._size):
            index = (self._next + offset) % self._size
            if index not in self._taken:
                self._taken.add(index)
                self._next = (index + 1) % self._size
                return self._cidr(index)
        raise CidrsExhausted(f"no free /{self.node_mask_size} left in {self.cluster_cidr}")
