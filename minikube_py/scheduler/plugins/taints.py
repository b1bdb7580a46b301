"""TaintToleration: taints a pod must tolerate to land on a node."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from minikube_py.api.scheduling import tolerates
from minikube_py.scheduler.equivalence import tolerations_shape
from minikube_py.scheduler.framework import (
    MAX_NODE_SCORE,
    SKIP,
    SUCCESS,
    CycleState,
    NodeInfo,
    Obj,
    Status,
    unresolvable,
)


def _taint_text(taint: dict[str, Any]) -> str:
    return f"{{{taint.get('key')}: {taint.get('value') or ''}}}"


_VERDICTS = "TaintToleration/verdicts"
_SOFT_TAINTS = attrgetter("soft_taints")


def _check(pod: Obj, taints: tuple[Obj, ...]) -> Status:
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    for taint in taints:
        if not any(tolerates(t, taint) for t in tolerations):
            return unresolvable(f"node(s) had untolerated taint {_taint_text(taint)}")
    return SUCCESS


class TaintToleration:
    name = "TaintToleration"
    weight = 1

    shape = staticmethod(tolerations_shape)

    def filter(self, state: CycleState, pod: Obj, node: NodeInfo) -> Status:
        if not node.hard_taints:
            return SUCCESS
        # Nodes tend to share their taints: decide once per distinct set per cycle.
        verdicts: dict[tuple[tuple[str, str, str], ...], Status] = state.setdefault(
            _VERDICTS, {})
        verdict = verdicts.get(node.hard_taint_key)
        if verdict is None:
            verdict = verdicts[node.hard_taint_key] = _check(pod, node.hard_taints)
        return verdict

    def filter_many(self, state: CycleState, pod: Obj, nodes: list[NodeInfo],
                    failed: dict[str, Status]) -> list[NodeInfo]:
        verdicts: dict[tuple[tuple[str, str, str], ...], Status] = state.setdefault(
            _VERDICTS, {})
        survivors = []
        for node in nodes:
            if node.hard_taints:
                verdict = verdicts.get(node.hard_taint_key)
                if verdict is None:
                    verdict = verdicts[node.hard_taint_key] = _check(pod, node.hard_taints)
                if verdict is not SUCCESS:
                    failed[node.name] = verdict
                    continue
            survivors.append(node)
        return survivors

    def pre_score(self, state: CycleState, pod: Obj, feasible: Sequence[NodeInfo]) -> Status:
        return SUCCESS if any(map(_SOFT_TAINTS, feasible)) else SKIP

    def score(self, state: CycleState, pod: Obj, node: NodeInfo) -> int:
        """Fewer intolerable PreferNoSchedule taints score higher."""
        tolerations = (pod.get("spec") or {}).get("tolerations") or []
        bad = sum(1 for taint in node.soft_taints
                  if not any(tolerates(t, taint) for t in tolerations))
        return max(0, MAX_NODE_SCORE - 10 * bad)
