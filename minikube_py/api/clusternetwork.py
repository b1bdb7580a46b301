"""What a joining machine must know of the cluster besides the API's address: its pod and
service ranges and its DNS. `serve` publishes them in the ConfigMap kube-system/CONFIG_MAP
(kubeadm keeps its ClusterConfiguration in kube-system/kubeadm-config the same way), which
bootstrap tokens and nodes may read (a Role in apiserver/rbac/bootstrappolicy.py)."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any

CONFIG_MAP = "minikube-py-cluster-config"
NAMESPACE = "kube-system"
KEY = "ClusterConfiguration"
DEFAULT_HOUSEKEEPING = 10.0


class ClusterConfigError(Exception):
    """The published configuration is missing or unreadable; the message says which."""


@dataclass(frozen=True, slots=True)
class ClusterNetwork:
    cluster_cidr: str
    service_cidr: str
    cluster_domain: str = "cluster.local"
    # The node controller's grace period: a node renews its Lease well within it.
    node_monitor_grace_period: float = 40.0
    # The service load balancer's pool (serve --lb-cidr; "": none): every node routes it
    # onto its bridge and into its pods, as the service range.
    lb_cidr: str = ""
    # How often every kubelet samples usage (serve --housekeeping-interval): one resolution
    # for the resource metrics of the whole cluster.
    housekeeping_interval: float = DEFAULT_HOUSEKEEPING

    @property
    def lease_renew_interval(self) -> float:
        """How often a node renews its Lease: a quarter of the grace period, at most every
        10 s (kube's kubelet: 10 s of its 40 s)."""
        return min(10.0, self.node_monitor_grace_period / 4)

    @property
    def cluster_dns(self) -> str:
        """The DNS service's address: the 10th of the service range (as config.py's)."""
        return str(ipaddress.ip_network(self.service_cidr)[10])

    def to_config_map(self) -> dict[str, Any]:
        doc = {"podSubnet": self.cluster_cidr, "serviceSubnet": self.service_cidr,
               "dnsDomain": self.cluster_domain,
               "nodeMonitorGracePeriodSeconds": self.node_monitor_grace_period,
               **({"loadBalancerSubnet": self.lb_cidr} if self.lb_cidr else {}),
               **({"housekeepingIntervalSeconds": self.housekeeping_interval}
                  if self.housekeeping_interval != DEFAULT_HOUSEKEEPING else {})}
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": CONFIG_MAP, "namespace": NAMESPACE},
                "data": {KEY: json.dumps(doc, indent=2, sort_keys=True) + "\n"}}

    @classmethod
    def from_config_map(cls, cm: dict[str, Any]) -> ClusterNetwork:
        where = f"the ConfigMap {NAMESPACE}/{CONFIG_MAP}"
        try:
            doc = json.loads((cm.get("data") or {})[KEY])
            net = cls(cluster_cidr=str(ipaddress.IPv4Network(doc["podSubnet"])),
                      service_cidr=str(ipaddress.IPv4Network(doc["serviceSubnet"])),
                      cluster_domain=str(doc.get("dnsDomain") or "cluster.local"),
                      node_monitor_grace_period=float(
                          doc.get("nodeMonitorGracePeriodSeconds") or 40.0),
                      lb_cidr=str(ipaddress.IPv4Network(doc["loadBalancerSubnet"]))
                      if doc.get("loadBalancerSubnet") else "",
                      housekeeping_interval=float(
                          doc.get("housekeepingIntervalSeconds") or DEFAULT_HOUSEKEEPING))
        except (KeyError, TypeError, ValueError) as e:
            raise ClusterConfigError(f"{where} is not readable: {e}") from None
        return net

