"""Pod garbage collection decisions, pure: which pods the pod GC force-deletes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from minikube_py.api.podutil import is_terminal, parse_time

Obj = dict[str, Any]


def _created(pod: Obj) -> tuple[float, str]:
    meta = pod.get("metadata") or {}
    return parse_time(meta.get("creationTimestamp")) or 0.0, str(meta.get("name"))


def excess_terminated(pods: Iterable[Obj], threshold: int) -> list[Obj]:
    """Terminated (Succeeded/Failed) pods beyond `threshold`, oldest first; 0 disables."""
    if threshold <= 0:
        return []
    done = sorted((p for p in pods if is_terminal(p) and
                   not (p.get("metadata") or {}).get("deletionTimestamp")), key=_created)
    return done[:max(0, len(done) - threshold)]


def orphaned(pods: Iterable[Obj], node_names: set[str]) -> list[Obj]:
    """Pods bound to a node that does not exist."""
    return [p for p in pods
            if (p.get("spec") or {}).get("nodeName")
            and p["spec"]["nodeName"] not in node_names]


def missing_nodes_in_quarantine(pods: Iterable[Obj], node_names: set[str],
                                missing_since: Mapping[str, float], now: float,
                                quarantine: float) -> tuple[dict[str, float], set[str]]:
    """Kube's quarantine for nodes that pods are bound to but the node cache lacks: (when
    each was first seen missing, the ones missing for `quarantine` seconds already). Only
    those, once the API confirms them gone, lose their pods: a node deleted and registered
    again at once keeps them. A node seen again leaves the quarantine."""
    since = {name: missing_since.get(name, now)
             for name in {p["spec"]["nodeName"] for p in orphaned(pods, node_names)}}
    return since, {name for name, first in since.items() if now - first >= quarantine}


def unscheduled_terminating(pods: Iterable[Obj]) -> list[Obj]:
    """Pods being deleted that no kubelet will ever finish: they are bound to no node."""
    return [p for p in pods if (p.get("metadata") or {}).get("deletionTimestamp")
            and not (p.get("spec") or {}).get("nodeName")]


def stuck_on_unready_nodes(pods: Iterable[Obj], unready_nodes: set[str], now: float,
                           grace: float) -> list[Obj]:
    """Pods whose deletion deadline passed `grace` seconds ago on a node that is not
    Ready: their kubelet is not there to finish the job."""
    out = []
    for p in pods:
        meta = p.get("metadata") or {}
        deadline = parse_time(meta.get("deletionTimestamp"))
        if deadline is not None and (p.get("spec") or {}).get("nodeName") in unready_nodes \
                and now - deadline >= grace:
            out.append(p)
    return out
