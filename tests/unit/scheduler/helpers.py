"""Builders for scheduler tests: nodes and pods as the API would hand them out."""

from __future__ import annotations

import itertools
from typing import Any

_uids = itertools.count(1)


def make_node(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: int = 110,
              ready: bool = True, labels: dict[str, str] | None = None,
              taints: list[dict[str, Any]] | None = None,
              unschedulable: bool = False) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {
            "allocatable": {"cpu": cpu, "memory": memory, "pods": str(pods)},
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def make_pod(name: str = "", *, cpu: str | None = None, memory: str | None = None,
             node_name: str = "", node_selector: dict[str, str] | None = None,
             tolerations: list[dict[str, Any]] | None = None,
             affinity: dict[str, Any] | None = None, priority: int = 0) -> dict[str, Any]:
    uid = f"uid-{next(_uids)}"
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    spec: dict[str, Any] = {
        "containers": [{"name": "c", "image": "busybox", "resources": {"requests": requests}}],
        "priority": priority,
    }
    if node_name:
        spec["nodeName"] = node_name
    if node_selector:
        spec["nodeSelector"] = node_selector
    if tolerations:
        spec["tolerations"] = tolerations
    if affinity:
        spec["affinity"] = affinity
    return {"metadata": {"name": name or uid, "namespace": "default", "uid": uid}, "spec": spec}
