"""meta.k8s.io/v1 Table output (what `kubectl get` prints), following kube's printers.go."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minikube_py.api.resources import Resource
from minikube_py.apiserver.storage import parse_rfc3339

Obj = dict[str, Any]
Row = list[Any]
_NAME_DESC = "Name must be unique within a namespace."
_AGE_DESC = "CreationTimestamp is a timestamp representing the server time when this object " \
            "was created."


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y{dy}d" if dy else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def since(ts: str | None, now: float) -> str:
    if not ts:
        return "<unknown>"
    try:
        return human_duration(now - parse_rfc3339(ts))
    except ValueError:
        return "<unknown>"


def _col(name: str, desc: str = "", *, priority: int = 0, fmt: str = "",
         typ: str = "string") -> Obj:
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": priority}


# --- pods ------------------------------------------------------------------------------

POD_COLUMNS = [
    _col("Name", _NAME_DESC, fmt="name"),
    _col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    _col("Status", "The aggregate status of the containers in this pod."),
    _col("Restarts", "The number of times the containers in this pod have been restarted and "
                     "when the last container in this pod has restarted."),
    _col("Age", _AGE_DESC),
    _col("IP", "IP address allocated to the pod. Routable at least within the cluster.",
         priority=1),
    _col("Node", "NodeName indicates in which node this pod is scheduled.", priority=1),
    _col("Nominated Node", "nominatedNodeName is set when this pod preempts other pods on the "
                           "node.", priority=1),
    _col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod "
                            "readiness.", priority=1),
]


def _restartable_init(c: Obj | None) -> bool:
    return bool(c) and (c or {}).get("restartPolicy") == "Always"


def _terminated_reason(t: Obj, prefix: str = "") -> str:
    if t.get("reason"):
        return prefix + str(t["reason"])
    if t.get("signal"):
        return f"{prefix}Signal:{t['signal']}"
    return f"{prefix}ExitCode:{t.get('exitCode', 0)}"


def _later(a: str, b: str | None) -> str:
    return str(b) if b and (not a or parse_rfc3339(b) > parse_rfc3339(a)) else a


def pod_row(pod: Obj, now: float) -> Row:
    """printPod: READY, STATUS (the reason logic), RESTARTS, AGE and the wide columns."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    meta = pod.get("metadata") or {}
    containers = spec.get("containers") or []
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total = len(containers) + sum(1 for c in init_specs.values() if _restartable_init(c))
    ready = restarts = sidecar_restarts = 0
    last_restart = sidecar_last = ""
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += cs.get("restartCount", 0)
        term = (cs.get("lastState") or {}).get("terminated")
        if term:
            last_restart = _later(last_restart, term.get("finishedAt"))
        sidecar = _restartable_init(init_specs.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += cs.get("restartCount", 0)
            if term:
                sidecar_last = _later(sidecar_last, term.get("finishedAt"))
        state = cs.get("state") or {}
        if state.get("terminated") and state["terminated"].get("exitCode", 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if state.get("terminated"):
            reason = _terminated_reason(state["terminated"], "Init:")
        elif (state.get("waiting") or {}).get("reason") and \
                state["waiting"]["reason"] != "PodInitializing":
            reason = "Init:" + state["waiting"]["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break
    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True"
                      for c in status.get("conditions") or [])
    if not initializing or initialized:
        restarts, last_restart = sidecar_restarts, sidecar_last
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += cs.get("restartCount", 0)
            term = (cs.get("lastState") or {}).get("terminated")
            if term:
                last_restart = _later(last_restart, term.get("finishedAt"))
            state = cs.get("state") or {}
            if (state.get("waiting") or {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif state.get("terminated"):
                reason = _terminated_reason(state["terminated"])
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in status.get("conditions") or [])
            reason = "Running" if pod_ready else "NotReady"
    if meta.get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    restarts_str = str(restarts)
    if restarts and last_restart:
        restarts_str = f"{restarts} ({since(last_restart, now)} ago)"
    ips = status.get("podIPs") or []
    ip = ips[0].get("ip") if ips else status.get("podIP")
    gates = spec.get("readinessGates") or []
    gates_str = "<none>"
    if gates:
        conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        ok = sum(1 for g in gates if conds.get(g.get("conditionType")) == "True")
        gates_str = f"{ok}/{len(gates)}"
    return [meta.get("name", ""), f"{ready}/{total}", reason, restarts_str,
            since(meta.get("creationTimestamp"), now), ip or "<none>",
            spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>",
            gates_str]


def pod_conditions(pod: Obj) -> list[Obj] | None:
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return [{"type": "Completed", "status": "True", "reason": "Succeeded",
                 "message": "The pod has completed successfully."}]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed",
                 "message": "The pod failed."}]
    return None


# --- nodes -----------------------------------------------------------------------------

NODE_COLUMNS = [
    _col("Name", _NAME_DESC, fmt="name"),
    _col("Status", "The status of the node"),
    _col("Roles", "The roles of the node"),
    _col("Age", _AGE_DESC),
    _col("Version", "Kubelet Version reported by the node."),
    _col("Internal-IP", "List of addresses reachable to the node.", priority=1),
    _col("External-IP", "List of addresses reachable to the node.", priority=1),
    _col("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian "
                     "GNU/Linux 7 (wheezy)).", priority=1),
    _col("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. "
                           "3.16.0-0.bpo.4-amd64).", priority=1),
    _col("Container-Runtime", "Container runtime version reported by the node through runtime "
                              "remote API (e.g. containerd://1.4.2).", priority=1),
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


# --- the rest ----------------------------------------------------------------------------

NAMESPACE_COLUMNS = [_col("Name", _NAME_DESC, fmt="name"),
                     _col("Status", "The status of the namespace"), _col("Age", _AGE_DESC)]


def namespace_row(ns: Obj, now: float) -> Row:
    meta = ns.get("metadata") or {}
    return [meta.get("name", ""), (ns.get("status") or {}).get("phase", ""),
            since(meta.get("creationTimestamp"), now)]


EVENT_COLUMNS = [
    _col("Last Seen", "The time at which the most recent occurrence of this event was "
                      "recorded."),
    _col("Type", "Type of this event (Normal, Warning), new types could be added in the "
                 "future"),
    _col("Reason", "This should be a short, machine understandable string that gives the "
                   "reason for the transition into the object's current status."),
    _col("Object", "The object that this event is about."),
    _col("Subobject", "The path of the field of the object the event is about.", priority=1),
    _col("Source", "The component reporting this event.", priority=1),
    _col("Message", "A human-readable description of the status of this operation."),
    _col("First Seen", "The time at which the event was first recorded.", priority=1),
    _col("Count", "The number of times this event has occurred.", priority=1),
    _col("Name", _NAME_DESC, priority=1, fmt="name"),
]


def event_row(ev: Obj, now: float) -> Row:
    meta = ev.get("metadata") or {}
    inv = ev.get("involvedObject") or ev.get("regarding") or {}
    last = ev.get("lastTimestamp") or ev.get("eventTime") or \
        (ev.get("series") or {}).get("lastObservedTime") or meta.get("creationTimestamp")
    first = ev.get("firstTimestamp") or ev.get("eventTime") or meta.get("creationTimestamp")
    src = ev.get("source") or {}
    source = src.get("component") or ev.get("reportingComponent") or \
        ev.get("reportingController") or ""
    if src.get("host"):
        source += ", " + src["host"]
    count = ev.get("count") or (ev.get("series") or {}).get("count") or 1
    return [since(last, now) if last else "<unknown>", ev.get("type", ""), ev.get("reason", ""),
            f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}",
            inv.get("fieldPath", ""), source, ev.get("message") or ev.get("note") or "",
            since(first, now) if first else "<unknown>", str(count), meta.get("name", "")]


LEASE_COLUMNS = [_col("Name", _NAME_DESC, fmt="name"),
                 _col("Holder", "The holder of the lease"), _col("Age", _AGE_DESC)]


def lease_row(lease: Obj, now: float) -> Row:
    meta = lease.get("metadata") or {}
    return [meta.get("name", ""), (lease.get("spec") or {}).get("holderIdentity") or "",
            since(meta.get("creationTimestamp"), now)]


SERVICE_COLUMNS = [
    _col("Name", _NAME_DESC, fmt="name"),
    _col("Type", "The type of the service"),
    _col("Cluster-IP", "The cluster IP of the service"),
    _col("External-IP", "The external IP of the service"),
    _col("Port(s)", "The ports of the service"),
    _col("Age", _AGE_DESC),
    _col("Selector", "The selector of the service", priority=1),
]


def service_row(svc: Obj, now: float) -> Row:
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    stype = spec.get("type", "ClusterIP")
    ports = []
    for p in spec.get("ports") or []:
        s = f"{p.get('port')}/{p.get('protocol', 'TCP')}"
        if p.get("nodePort"):
            s = f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', 'TCP')}"
        ports.append(s)
    ext = ",".join(spec.get("externalIPs") or [])
    if stype == "ExternalName":
        ext = spec.get("externalName", "")
    elif stype == "LoadBalancer" and not ext:
        ing = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        ext = ",".join(i.get("ip") or i.get("hostname") or "" for i in ing) or "<pending>"
    sel = spec.get("selector") or {}
    return [meta.get("name", ""), stype, spec.get("clusterIP") or "<none>", ext or "<none>",
            ",".join(ports) or "<none>", since(meta.get("creationTimestamp"), now),
            ",".join(f"{k}={v}" for k, v in sorted(sel.items())) or "<none>"]


DEPLOYMENT_COLUMNS = [
    _col("Name", _NAME_DESC, fmt="name"),
    _col("Ready", "Number of the pod with ready state"),
    _col("Up-to-date", "Total number of non-terminated pods targeted by this deployment that "
                       "have the desired template spec.", typ="string"),
    _col("Available", "Total number of available pods (ready for at least minReadySeconds) "
                      "targeted by this deployment.", typ="string"),
    _col("Age", _AGE_DESC),
    _col("Containers", "Names of each container in the template.", priority=1),
    _col("Images", "Images referenced by each container in the template.", priority=1),
    _col("Selector", "Label selector for pods.", priority=1),
]


def _template_info(obj: Obj) -> tuple[str, str, str]:
    spec = obj.get("spec") or {}
    cs = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    sel = spec.get("selector") or {}
    ml = sel.get("matchLabels") if isinstance(sel.get("matchLabels"), dict) else sel
    return (",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs),
            ",".join(f"{k}={v}" for k, v in (ml or {}).items() if isinstance(v, str)) or
            "<none>")


def deployment_row(d: Obj, now: float) -> Row:
    meta, spec, st = d.get("metadata") or {}, d.get("spec") or {}, d.get("status") or {}
    names, images, sel = _template_info(d)
    return [meta.get("name", ""), f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0),
            since(meta.get("creationTimestamp"), now), names, images, sel]


REPLICASET_COLUMNS = [
    _col("Name", _NAME_DESC, fmt="name"),
    _col("Desired", "Number of desired pods.", typ="integer"),
    _col("Current", "Number of actual running pods.", typ="integer"),
    _col("Ready", "Number of pods ready.", typ="integer"),
    _col("Age", _AGE_DESC),
    _col("Containers", "Names of each container in the template.", priority=1),
    _col("Images", "Images referenced by each container in the template.", priority=1),
    _col("Selector", "Label selector for pods.", priority=1),
]


def replicaset_row(rs: Obj, now: float) -> Row:
    meta, spec, st = rs.get("metadata") or {}, rs.get("spec") or {}, rs.get("status") or {}
    names, images, sel = _template_info(rs)
    return [meta.get("name", ""), spec.get("replicas", 0), st.get("replicas", 0),
            st.get("readyReplicas", 0), since(meta.get("creationTimestamp"), now), names,
            images, sel]


DEFAULT_COLUMNS = [_col("Name", _NAME_DESC, fmt="name"), _col("Age", _AGE_DESC)]


def default_row(obj: Obj, now: float) -> Row:
    meta = obj.get("metadata") or {}
    return [meta.get("name", ""), since(meta.get("creationTimestamp"), now)]


CONFIGMAP_COLUMNS = [_col("Name", _NAME_DESC, fmt="name"),
                     _col("Data", "Number of data entries", typ="integer"), _col("Age", _AGE_DESC)]


def configmap_row(cm: Obj, now: float) -> Row:
    meta = cm.get("metadata") or {}
    n = len(cm.get("data") or {}) + len(cm.get("binaryData") or {})
    return [meta.get("name", ""), n, since(meta.get("creationTimestamp"), now)]


SECRET_COLUMNS = [_col("Name", _NAME_DESC, fmt="name"), _col("Type", "The type of the secret"),
                  _col("Data", "Number of data entries", typ="integer"), _col("Age", _AGE_DESC)]


def secret_row(sec: Obj, now: float) -> Row:
    meta = sec.get("metadata") or {}
    return [meta.get("name", ""), sec.get("type", ""), len(sec.get("data") or {}),
            since(meta.get("creationTimestamp"), now)]


Printer = tuple[list[Obj], Callable[[Obj, float], Row]]
PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "pods"): (POD_COLUMNS, pod_row),
    ("", "nodes"): (NODE_COLUMNS, node_row),
    ("", "namespaces"): (NAMESPACE_COLUMNS, namespace_row),
    ("", "events"): (EVENT_COLUMNS, event_row),
    ("events.k8s.io", "events"): (EVENT_COLUMNS, event_row),
    ("coordination.k8s.io", "leases"): (LEASE_COLUMNS, lease_row),
    ("", "services"): (SERVICE_COLUMNS, service_row),
    ("apps", "deployments"): (DEPLOYMENT_COLUMNS, deployment_row),
    ("apps", "replicasets"): (REPLICASET_COLUMNS, replicaset_row),
    ("", "configmaps"): (CONFIGMAP_COLUMNS, configmap_row),
    ("", "secrets"): (SECRET_COLUMNS, secret_row),
}


def _row_object(obj: Obj, include_object: str) -> Obj | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {}}


def table(resource: Resource, objs: list[Obj], now: float, *, include_object: str = "Metadata",
          list_meta: Obj | None = None, with_columns: bool = True) -> Obj:
    columns, row_fn = PRINTERS.get((resource.group, resource.plural),
                                   (DEFAULT_COLUMNS, default_row))
    rows = []
    for obj in objs:
        row: Obj = {"cells": row_fn(obj, now)}
        if resource.plural == "pods" and resource.group == "":
            conds = pod_conditions(obj)
            if conds:
                row["conditions"] = conds
        ro = _row_object(obj, include_object)
        if ro is not None:
            row["object"] = ro
        rows.append(row)
    out: Obj = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta or {},
                "rows": rows}
    if with_columns:
        out["columnDefinitions"] = columns
    return out
