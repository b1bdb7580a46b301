"""meta.k8s.io/v1 Table output (what `kubectl get` prints), following kube's printers.go."""

from __future__ import annotations

from collections.abc import Callable

from minikube_py.api.resources import Resource
from minikube_py.apiserver import tables_network as network
from minikube_py.apiserver import tables_workloads as workloads
from minikube_py.apiserver.storage import parse_rfc3339
from minikube_py.apiserver.tables_format import (
    AGE_DESC,
    NAME_DESC,
    Obj,
    Row,
    column,
    human_duration,
    since,
)

__all__ = ["PRINTERS", "human_duration", "node_row", "pod_row", "since", "table"]

# --- pods ------------------------------------------------------------------------------

POD_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    column("Status", "The aggregate status of the containers in this pod."),
    column("Restarts", "The number of times the containers in this pod have been restarted and "
                       "when the last container in this pod has restarted."),
    column("Age", AGE_DESC),
    column("IP", "IP address allocated to the pod. Routable at least within the cluster.",
           priority=1),
    column("Node", "NodeName indicates in which node this pod is scheduled.", priority=1),
    column("Nominated Node", "nominatedNodeName is set when this pod preempts other pods on "
                             "the node.", priority=1),
    column("Readiness Gates", "If specified, all readiness gates will be evaluated for pod "
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


# --- the rest ----------------------------------------------------------------------------

NAMESPACE_COLUMNS = [column("Name", NAME_DESC, fmt="name"),
                     column("Status", "The status of the namespace"), column("Age", AGE_DESC)]


def namespace_row(ns: Obj, now: float) -> Row:
    meta = ns.get("metadata") or {}
    return [meta.get("name", ""), (ns.get("status") or {}).get("phase", ""),
            since(meta.get("creationTimestamp"), now)]


EVENT_COLUMNS = [
    column("Last Seen", "The time at which the most recent occurrence of this event was "
                        "recorded."),
    column("Type", "Type of this event (Normal, Warning), new types could be added in the "
                   "future"),
    column("Reason", "This should be a short, machine understandable string that gives the "
                     "reason for the transition into the object's current status."),
    column("Object", "The object that this event is about."),
    column("Subobject", "The path of the field of the object the event is about.", priority=1),
    column("Source", "The component reporting this event.", priority=1),
    column("Message", "A human-readable description of the status of this operation."),
    column("First Seen", "The time at which the event was first recorded.", priority=1),
    column("Count", "The number of times this event has occurred.", priority=1),
    column("Name", NAME_DESC, priority=1, fmt="name"),
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


LEASE_COLUMNS = [column("Name", NAME_DESC, fmt="name"),
                 column("Holder", "The holder of the lease"), column("Age", AGE_DESC)]


def lease_row(lease: Obj, now: float) -> Row:
    meta = lease.get("metadata") or {}
    return [meta.get("name", ""), (lease.get("spec") or {}).get("holderIdentity") or "",
            since(meta.get("creationTimestamp"), now)]


DEFAULT_COLUMNS = [column("Name", NAME_DESC, fmt="name"), column("Age", AGE_DESC)]


def default_row(obj: Obj, now: float) -> Row:
    meta = obj.get("metadata") or {}
    return [meta.get("name", ""), since(meta.get("creationTimestamp"), now)]


CONFIGMAP_COLUMNS = [column("Name", NAME_DESC, fmt="name"),
                     column("Data", "Number of data entries", typ="integer"),
                     column("Age", AGE_DESC)]


def configmap_row(cm: Obj, now: float) -> Row:
    meta = cm.get("metadata") or {}
    n = len(cm.get("data") or {}) + len(cm.get("binaryData") or {})
    return [meta.get("name", ""), n, since(meta.get("creationTimestamp"), now)]


SECRET_COLUMNS = [column("Name", NAME_DESC, fmt="name"),
                  column("Type", "The type of the secret"),
                  column("Data", "Number of data entries", typ="integer"),
                  column("Age", AGE_DESC)]


def secret_row(sec: Obj, now: float) -> Row:
    meta = sec.get("metadata") or {}
    return [meta.get("name", ""), sec.get("type", ""), len(sec.get("data") or {}),
            since(meta.get("creationTimestamp"), now)]


SERVICEACCOUNT_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Secrets", "Secrets is a list of the secrets in the same namespace that pods running "
                      "using this ServiceAccount are allowed to use."),
    column("Age", AGE_DESC),
]


def serviceaccount_row(sa: Obj, now: float) -> Row:
    meta = sa.get("metadata") or {}
    return [meta.get("name", ""), len(sa.get("secrets") or []),
            since(meta.get("creationTimestamp"), now)]


Printer = tuple[list[Obj], Callable[[Obj, float], Row]]
PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "pods"): (POD_COLUMNS, pod_row),
    ("", "nodes"): (NODE_COLUMNS, node_row),
    ("", "namespaces"): (NAMESPACE_COLUMNS, namespace_row),
    ("", "events"): (EVENT_COLUMNS, event_row),
    ("events.k8s.io", "events"): (EVENT_COLUMNS, event_row),
    ("coordination.k8s.io", "leases"): (LEASE_COLUMNS, lease_row),
    ("", "configmaps"): (CONFIGMAP_COLUMNS, configmap_row),
    ("", "secrets"): (SECRET_COLUMNS, secret_row),
    ("", "serviceaccounts"): (SERVICEACCOUNT_COLUMNS, serviceaccount_row),
    ("", "services"): (network.SERVICE_COLUMNS, network.service_row),
    ("", "endpoints"): (network.ENDPOINTS_COLUMNS, network.endpoints_row),
    ("discovery.k8s.io", "endpointslices"): (network.ENDPOINTSLICE_COLUMNS,
                                             network.endpointslice_row),
    ("apps", "deployments"): (workloads.DEPLOYMENT_COLUMNS, workloads.deployment_row),
    ("apps", "replicasets"): (workloads.REPLICASET_COLUMNS, workloads.replicaset_row),
    ("apps", "statefulsets"): (workloads.STATEFULSET_COLUMNS, workloads.statefulset_row),
    ("apps", "daemonsets"): (workloads.DAEMONSET_COLUMNS, workloads.daemonset_row),
    ("apps", "controllerrevisions"): (workloads.CONTROLLERREVISION_COLUMNS,
                                      workloads.controllerrevision_row),
    ("", "replicationcontrollers"): (workloads.REPLICATIONCONTROLLER_COLUMNS,
                                     workloads.replicationcontroller_row),
    ("batch", "jobs"): (workloads.JOB_COLUMNS, workloads.job_row),
    ("batch", "cronjobs"): (workloads.CRONJOB_COLUMNS, workloads.cronjob_row),
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
