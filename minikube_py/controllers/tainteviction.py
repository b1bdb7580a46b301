"""NoExecute taint eviction decisions, pure: when a pod on a tainted node must go."""

from __future__ import annotations

import math
from typing import Any

from minikube_py.api.podutil import parse_time
from minikube_py.api.scheduling import tolerates

Obj = dict[str, Any]


def no_execute_taints(node: Obj) -> list[Obj]:
    return [t for t in (node.get("spec") or {}).get("taints") or []
            if t.get("effect") == "NoExecute"]


def eviction_time(pod: Obj, taints: list[Obj], now: float) -> float | None:
    """When `pod` must be evicted from a node with these NoExecute `taints` (epoch seconds;
    None: never). An untolerated taint evicts at once; otherwise each taint allows the
    tolerationSeconds of the first toleration that tolerates it (kube's
    GetMatchingTolerations), counted from the taint's timeAdded, and the earliest wins."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    due = math.inf
    for taint in taints:
        added = parse_time(taint.get("timeAdded")) or now
        match = next((t for t in tolerations if tolerates(t, taint)), None)
        if match is None:
            return now
        seconds = match.get("tolerationSeconds")
        if seconds is None:
            continue
        due = min(due, added + max(0, int(seconds)))
    return None if due == math.inf else due
