"""Plugins that look only at the node: its name, cordon, and readiness."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from minikube_py.api.scheduling import tolerates
from minikube_py.scheduler.equivalence import tolerations_shape
from minikube_py.scheduler.framework import (
    SKIP,
    SUCCESS,
    CycleState,
    NodeInfo,
    Obj,
    Status,
    unresolvable,
    unschedulable,
)

_WRONG_NAME = unresolvable("node(s) didn't match the requested node name")
_CORDONED = unresolvable("node(s) were unschedulable")
_NOT_READY = unschedulable("node(s) were not ready")
_NOT_READY_TAINT = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
_UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


class NodeName:
    name = "NodeName"

    def shape(self, pod: Obj) -> Hashable:
        return (pod.get("spec") or {}).get("nodeName")

    def pre_filter(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status:
        return SUCCESS if (pod.get("spec") or {}).get("nodeName") else SKIP

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        return SUCCESS if pod["spec"]["nodeName"] == node.name else _WRONG_NAME


class NodeUnschedulable:
    name = "NodeUnschedulable"
    shape = staticmethod(tolerations_shape)

    def pre_filter(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status:
        tolerations = (pod.get("spec") or {}).get("tolerations") or []
        return SKIP if any(tolerates(t, _UNSCHEDULABLE_TAINT) for t in tolerations) else SUCCESS

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        return _CORDONED if node.unschedulable else SUCCESS

    def filter_many(self, state: CycleState, pod: Obj, nodes: list[NodeInfo],
                    failed: dict[str, Status]) -> list[NodeInfo]:
        for node in nodes:
            if node.unschedulable:
                failed[node.name] = _CORDONED
        return [n for n in nodes if not n.unschedulable]


class NodeReady:
    """Only Ready nodes take pods, unless the pod tolerates the not-ready taint (as
    DaemonSet pods do). kube-scheduler gets this from the taint the node controller sets;
    checking the condition too covers the moment before the controller has acted."""

    name = "NodeReady"
    shape = staticmethod(tolerations_shape)

    def pre_filter(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status:
        tolerations = (pod.get("spec") or {}).get("tolerations") or []
        return SKIP if any(tolerates(t, _NOT_READY_TAINT) for t in tolerations) else SUCCESS

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        return SUCCESS if node.ready else _NOT_READY

    def filter_many(self, state: CycleState, pod: Obj, nodes: list[NodeInfo],
                    failed: dict[str, Status]) -> list[NodeInfo]:
        for node in nodes:
            if not node.ready:
                failed[node.name] = _NOT_READY
        return [n for n in nodes if n.ready]
