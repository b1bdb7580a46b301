"""Facts about Node objects that several components read: pod ranges and addresses."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def node_pod_cidrs(node: Obj) -> list[str]:
    """spec.podCIDRs, with the older single spec.podCIDR first when only it is set."""
    spec = node.get("spec") or {}
    cidrs = list(spec.get("podCIDRs") or [])
    if spec.get("podCIDR") and spec["podCIDR"] not in cidrs:
        cidrs.insert(0, spec["podCIDR"])
    return cidrs


# The label of kwok-like nodes that run no containers (minikube_py/simnode): no traffic
# reaches them.
SIMULATED_LABEL = "minikube-py.dev/simulated"


def node_addresses(node: Obj, kind: str) -> list[str]:
    """The node's status addresses of one type ("InternalIP", "Hostname", ...), in order."""
    return [str(a["address"]) for a in (node.get("status") or {}).get("addresses") or []
            if isinstance(a, dict) and a.get("type") == kind and a.get("address")]
