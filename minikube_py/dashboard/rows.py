"""What the page shows of each object: a small flat row per object, computed here (pure) so
the browser gets only these fields, never whole objects (nor anything secret they carry)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from minikube_py.api.quantity import parse_quantity

Obj = Mapping[str, Any]
Row = dict[str, Any]


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def object_key(obj: Obj) -> str:
    meta = _meta(obj)
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


def _base(obj: Obj) -> Row:
    meta = _meta(obj)
    row: Row = {"key": object_key(obj), "name": meta.get("name", "")}
    if meta.get("namespace"):
        row["namespace"] = meta["namespace"]
    return row


def _condition(obj: Obj, kind: str) -> str:
    return next((c.get("status", "Unknown") for c in (obj.get("status") or {})
                 .get("conditions") or [] if c.get("type") == kind), "Unknown")


def node_row(node: Obj) -> Row:
    status = node.get("status") or {}
    ready = _condition(node, "Ready")
    allocatable = status.get("allocatable") or {}
    labels = _meta(node).get("labels") or {}
    roles = sorted(k.removeprefix("node-role.kubernetes.io/") for k in labels
                   if k.startswith("node-role.kubernetes.io/"))
    row = _base(node)
    row.update(
        ready={"True": "Ready", "False": "NotReady"}.get(ready, "Unknown"),
        unschedulable=bool((node.get("spec") or {}).get("unschedulable")),
        roles=",".join(roles) or "<none>",
        version=(status.get("nodeInfo") or {}).get("kubeletVersion", ""),
        cpu=_millicores(allocatable.get("cpu")),
        memory=_bytes(allocatable.get("memory")),
        simulated=labels.get("minikube-py.dev/simulated") == "true",
    )
    return row


def namespace_row(ns: Obj) -> Row:
    row = _base(ns)
    row["phase"] = (ns.get("status") or {}).get("phase", "Active")
    return row


def _millicores(value: Any) -> int | None:
    try:
        return round(parse_quantity(value) * 1000) if value is not None else None
    except ValueError:
        return None


def _bytes(value: Any) -> int | None:
    try:
        return round(parse_quantity(value)) if value is not None else None
    except ValueError:
        return None


def pod_status(pod: Obj) -> str:
    """The STATUS column of `kubectl get pods`, simplified: a waiting or terminated
    container's reason wins over the phase; Terminating while it is being deleted."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"
    inits = status.get("initContainerStatuses") or []
    for i, c in enumerate(inits):
        state = c.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting") or {}
        if term and term.get("exitCode", 0) == 0:
            continue
        if term:
            reason = "Init:" + (term.get("reason") or f"ExitCode:{term.get('exitCode')}")
        elif waiting.get("reason") not in (None, "", "PodInitializing"):
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(inits)}"
        break
    else:
        for c in reversed(status.get("containerStatuses") or []):
            state = c.get("state") or {}
            if state.get("waiting", {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif state.get("terminated"):
                term = state["terminated"]
                reason = term.get("reason") or (f"Signal:{term['signal']}" if term.get(
                    "signal") else f"ExitCode:{term.get('exitCode')}")
    if _meta(pod).get("deletionTimestamp") and reason not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return str(reason)


def pod_row(pod: Obj) -> Row:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    row = _base(pod)
    row.update(
        status=pod_status(pod),
        phase=status.get("phase", "Pending"),
        ready=f"{sum(1 for c in statuses if c.get('ready'))}/{len(spec.get('containers') or [])}",
        restarts=sum(int(c.get("restartCount") or 0) for c in statuses),
        node=spec.get("nodeName", ""),
        ip=status.get("podIP", ""),
        containers=[c.get("name", "") for c in spec.get("containers") or []],
    )
    return row


def _rollout_state(desired: int, ready: int, updated: int, available: int, current: int,
                   observed: bool) -> str:
    if not observed:
        return "Progressing"
    if desired == 0 and current == 0:
        return "Scaled to 0"
    if updated == desired and ready == desired and available == desired and current == desired:
        return "Complete"
    return "Progressing"


def workload_row(obj: Obj) -> Row:
    """Deployments, StatefulSets and DaemonSets in one table: desired, ready, up-to-date and
    available (kubectl get's columns), and whether the rollout is complete."""
    kind = obj.get("kind", "")
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    observed = int(status.get("observedGeneration") or 0) >= int(_meta(obj).get("generation")
                                                                 or 0)
    if kind == "DaemonSet":
        desired = int(status.get("desiredNumberScheduled") or 0)
        ready = int(status.get("numberReady") or 0)
        updated = int(status.get("updatedNumberScheduled") or 0)
        available = int(status.get("numberAvailable") or 0)
        current = int(status.get("currentNumberScheduled") or 0)
    else:
        desired = int(spec.get("replicas", 1))
        ready = int(status.get("readyReplicas") or 0)
        updated = int(status.get("updatedReplicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        current = int(status.get("replicas") or 0)
    row = _base(obj)
    row.update(
        key=f"{kind}/{row['key']}", kind=kind, desired=desired, ready=f"{ready}/{desired}",
        updated=updated, available=available,
        state=_rollout_state(desired, ready, updated, available, current, observed),
    )
    return row


def service_row(svc: Obj) -> Row:
    spec = svc.get("spec") or {}
    row = _base(svc)
    row.update(
        type=spec.get("type", "ClusterIP"),
        clusterIP=spec.get("clusterIP", ""),
        ports=",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}"
                       for p in spec.get("ports") or []),
    )
    return row


def endpointslice_row(eps: Obj) -> Row:
    row = _base(eps)
    row.update(
        service=(_meta(eps).get("labels") or {}).get("kubernetes.io/service-name", ""),
        ports=",".join(f"{p.get('name') or ''}{':' if p.get('name') else ''}{p.get('port')}/"
                       f"{p.get('protocol', 'TCP')}" for p in eps.get("ports") or []),
        endpoints=[{
            "addresses": list(e.get("addresses") or []),
            "ready": (e.get("conditions") or {}).get("ready") is not False,
            "node": e.get("nodeName", ""),
            "pod": (e.get("targetRef") or {}).get("name", "")
            if (e.get("targetRef") or {}).get("kind") == "Pod" else "",
        } for e in eps.get("endpoints") or []],
    )
    return row


def event_row(event: Obj) -> Row:
    involved = event.get("involvedObject") or {}
    series = event.get("series") or {}
    row = _base(event)
    row.update(
        type=event.get("type", "Normal"),
        reason=event.get("reason", ""),
        object=f"{involved.get('kind', '')}/{involved.get('name', '')}",
        message=event.get("message", ""),
        count=int(series.get("count") or event.get("count") or 1),
        # kubectl sorts events by this: the last time it was seen.
        time=(series.get("lastObservedTime") or event.get("lastTimestamp")
              or event.get("eventTime") or _meta(event).get("creationTimestamp") or ""),
    )
    return row


# The page's tables and the row of each object kind they show.
ROWS: Mapping[str, Callable[[Obj], Row]] = {
    "nodes": node_row, "namespaces": namespace_row, "workloads": workload_row,
    "pods": pod_row, "services": service_row, "endpointslices": endpointslice_row,
    "events": event_row,
}


_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_duration_seconds(text: str) -> float | None:
    """Seconds of a Go Duration's text ("10s", "1m30s", "1.5s", "500ms"; a metrics
    window), None when it is not one."""
    if text in ("0", "0s"):
        return 0.0
    parts = list(_GO_DURATION_PART.finditer(text))
    if not parts or "".join(p.group(0) for p in parts) != text:
        return None
    return sum(float(p.group(1)) * _GO_UNITS[p.group(2)] for p in parts)


def node_usage(metrics: Obj) -> tuple[str, Row]:
    """A NodeMetrics' node name and its usage (millicores, bytes) at the sample's time."""
    usage = metrics.get("usage") or {}
    return str(_meta(metrics).get("name")), {
        "cpu": _millicores(usage.get("cpu")), "memory": _bytes(usage.get("memory")),
        "timestamp": metrics.get("timestamp", ""), "window": metrics.get("window", ""),
    }
