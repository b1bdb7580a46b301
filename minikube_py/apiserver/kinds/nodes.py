"""Nodes: cluster-scoped, their status written by the kubelet through the main resource
too, and kubectl's columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minikube_py.api.resources import NODES
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy, field_at, field_text
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, column, since

NODE_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Status", "The status of the node"),
    column("Roles", "The roles of the node"),
    column("Age", AGE_DESC),
    column("Version", "Kubelet Version reported by the node."),
    column("Internal-IP", "List of addresses reachable to the node.", priority=1),
    column("External-IP", "List of addresses reachable to the node.", priority=1),
    column("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian "
                       "GNU/Linux 7 (wheezy)).", priority=1),
    column("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. "
                             "3.16.0-0.bpo.4-amd64).", priority=1),
    column("Container-Runtime", "Container runtime version reported by the node through "
                                "runtime remote API (e.g. containerd://1.4.2).", priority=1),
]


def node_roles(labels: dict[str, str]) -> list[str]:
    roles = set()
    for k, v in labels.items():
        if k.startswith("node-role.kubernetes.io/"):
            role = k[len("node-role.kubernetes.io/"):]
            if role:
                roles.add(role)
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    return sorted(roles)


def node_row(node: Obj, now: float) -> Row:
    meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, \
        node.get("status") or {}
    states = []
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            states.append("Ready" if cond.get("status") == "True" else "NotReady")
    if not states:
        states.append("Unknown")
    if spec.get("unschedulable"):
        states.append("SchedulingDisabled")
    info = status.get("nodeInfo") or {}
    addrs = status.get("addresses") or []

    def addr(kind: str) -> str:
        return next((a.get("address") for a in addrs if a.get("type") == kind), "<none>")

    return [meta.get("name", ""), ",".join(states),
            ",".join(node_roles(meta.get("labels") or {})) or "<none>",
            since(meta.get("creationTimestamp"), now), info.get("kubeletVersion", ""),
            addr("InternalIP"), addr("ExternalIP"), info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]



def _node_fields(o: Mapping[str, Any]) -> dict[str, str]:
    return {"spec.unschedulable": field_text(bool(field_at(o, "spec", "unschedulable")))}


class NodeStrategy(Strategy):
    printer = Printer(NODE_COLUMNS, node_row)
    schema = "core.Node"
    field_labels = staticmethod(_node_fields)

    def default(self, obj: Obj) -> None:
        obj.setdefault("spec", {})

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Nodes take status through the main resource too (the kubelet's heartbeat)."""


STRATEGY = NodeStrategy(NODES)
