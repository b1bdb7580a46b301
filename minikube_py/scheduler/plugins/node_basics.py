"""Plugins that look only at the node: its name, cordon, and readiness."""

from __future__ import annotations

from minikube_py.api.scheduling import tolerates
from minikube_py.scheduler.framework import (
    SUCCESS,
    CycleState,
    NodeInfo,
    Obj,
    Status,
    unresolvable,
    unschedulable,
)


class NodeName:
    name = "NodeName"

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        wanted = (pod.get("spec") or {}).get("nodeName")
        if wanted and wanted != node.name:
            return unresolvable("node(s) didn't match the requested node name")
        return SUCCESS


class NodeUnschedulable:
    name = "NodeUnschedulable"

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        if not (node.node.get("spec") or {}).get("unschedulable"):
            return SUCCESS
        taint = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
        if any(tolerates(t, taint) for t in (pod.get("spec") or {}).get("tolerations") or []):
            return SUCCESS
        return unresolvable("node(s) were unschedulable")


class NodeReady:
    """Only Ready nodes take pods. (kube-scheduler gets this from the not-ready taint the
    node controller sets; checking the condition too keeps a fresh cluster safe.)"""

    name = "NodeReady"

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        for cond in (node.node.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "Ready":
                return SUCCESS if cond.get("status") == "True" else unschedulable(
                    "node(s) were not ready")
        return unschedulable("node(s) were not ready")


