"""Pods: defaults, validation (a spec that is immutable but for images and a few
fields), graceful deletion on a node, binding and eviction, and kubectl's columns."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from minikube_py.api import errors
from minikube_py.api.errors import Cause
from minikube_py.api.quantity import QuantityError, parse_quantity
from minikube_py.api.resources import PODS
from minikube_py.api.validation import (
    forbidden,
    int_field,
    invalid_value,
)
from minikube_py.apiserver.kinds.base import (
    BodyKind,
    Obj,
    Printer,
    Strategy,
    created_status,
    field_at,
    field_text,
)
from minikube_py.apiserver.kinds.eviction import evict_pod
from minikube_py.apiserver.kinds.podspec import (
    MAX_INT32,
    default_pod,
    not_found,
    validate_containers,
    validate_pod_spec,
)
from minikube_py.apiserver.objectstore import Delete, Stored
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.rest.context import RestContext
from minikube_py.apiserver.storage import parse_rfc3339
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, column, since


def _pod_fields(o: Mapping[str, Any]) -> dict[str, str]:
    return {
        "spec.nodeName": field_text(field_at(o, "spec", "nodeName")),
        "spec.restartPolicy": field_text(field_at(o, "spec", "restartPolicy")),
        "spec.schedulerName": field_text(field_at(o, "spec", "schedulerName")),
        "spec.serviceAccountName": field_text(field_at(o, "spec", "serviceAccountName")),
        "spec.hostNetwork": field_text(bool(field_at(o, "spec", "hostNetwork"))),
        "status.phase": field_text(field_at(o, "status", "phase")),
        "status.podIP": field_text(field_at(o, "status", "podIP")),
        "status.nominatedNodeName": field_text(field_at(o, "status", "nominatedNodeName")),
    }


def _q(value: Any) -> Any:
    try:
        return parse_quantity(value)
    except (QuantityError, TypeError):
        return None


def pod_qos_class(spec: Obj) -> str:
    """Guaranteed, Burstable or BestEffort from cpu/memory requests and limits (GetPodQOS)."""
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        requests = {k: v for k, v in (res.get("requests") or {}).items()
                    if k in ("cpu", "memory")}
        limits = {k: v for k, v in (res.get("limits") or {}).items() if k in ("cpu", "memory")}
        if any(_q(v) for v in requests.values()) or any(_q(v) for v in limits.values()):
            any_set = True
        if set(limits) != {"cpu", "memory"}:
            guaranteed = False
            continue
        for k, lim in limits.items():
            if _q(requests.get(k, lim)) != _q(lim):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


POD_UPDATE_MESSAGE = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)")


def _active_deadline_out_of_range(ns: Mapping[str, Any]) -> list[Cause]:
    new = ns.get("activeDeadlineSeconds")
    if new is None or (int_field(new) and 0 <= new <= MAX_INT32):
        return []
    return [invalid_value("spec.activeDeadlineSeconds", new,
                          f"must be between 0 and {MAX_INT32}, inclusive")]


def _active_deadline_update(os: Mapping[str, Any], ns: Mapping[str, Any]) -> list[Cause]:
    """activeDeadlineSeconds may be set or shortened, never lengthened or removed."""
    old, new = os.get("activeDeadlineSeconds"), ns.get("activeDeadlineSeconds")
    field = "spec.activeDeadlineSeconds"
    if new is None and old is not None:
        # kube prints the nil pointer as the string "null".
        return [invalid_value(field, "null",
                              "must not update from a positive integer to nil value")]
    if isinstance(old, int) and isinstance(new, int) and old < new:
        return [invalid_value(field, new, "must be less than or equal to previous value")]
    return []


def _only_added_tolerations(os: Mapping[str, Any], ns: Mapping[str, Any]) -> list[Cause]:
    """Every stored toleration stays, but for its tolerationSeconds."""
    def sans_seconds(t: Any) -> Any:
        return {k: v for k, v in t.items() if k != "tolerationSeconds"} \
            if isinstance(t, Mapping) else t

    new = [sans_seconds(t) for t in ns.get("tolerations") or []]
    if all(sans_seconds(t) in new for t in os.get("tolerations") or []):
        return []
    return [forbidden("spec.tolerations",
                      "existing toleration can not be modified except its tolerationSeconds")]


def _only_deleted_scheduling_gates(os: Mapping[str, Any],
                                   ns: Mapping[str, Any]) -> list[Cause]:
    old = {g.get("name") for g in os.get("schedulingGates") or [] if isinstance(g, Mapping)}
    return [forbidden(f"spec.schedulingGates[{i}].name",
                      f"only deletion is allowed, but found new scheduling gate '{g.get('name')}'")
            for i, g in enumerate(ns.get("schedulingGates") or [])
            if isinstance(g, Mapping) and g.get("name") not in old]


def validate_pod_update(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Cause]:
    """Pod specs are immutable but for images, a shorter activeDeadlineSeconds, added (or
    re-timed) tolerations and removed scheduling gates (ValidatePodUpdate)."""
    os, ns = old.get("spec") or {}, new.get("spec") or {}
    if os == ns:
        return []
    out_of_range = _active_deadline_out_of_range(ns)
    if out_of_range:
        return out_of_range  # kube reports nothing else then
    causes = _active_deadline_update(os, ns) + _only_added_tolerations(os, ns) + \
        _only_deleted_scheduling_gates(os, ns)
    # The spec with every permitted change taken back must be the stored one.
    probe = json.loads(json.dumps(ns))
    for key in ("containers", "initContainers"):
        olds = os.get(key) or []
        news = probe.get(key) or []
        if len(olds) == len(news):
            for o, n in zip(olds, news, strict=True):
                if isinstance(n, dict) and "image" in o:
                    n["image"] = o["image"]
    for key in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
        if key in os:
            probe[key] = os[key]
        else:
            probe.pop(key, None)
    if probe.get("terminationGracePeriodSeconds") != os.get("terminationGracePeriodSeconds") \
            and (os.get("terminationGracePeriodSeconds") or 0) < 0:
        probe["terminationGracePeriodSeconds"] = os.get("terminationGracePeriodSeconds")
    if probe != dict(os):
        causes.append(forbidden("spec", POD_UPDATE_MESSAGE))
    return causes


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


def grace_period(obj: Obj, requested: int | None) -> int:
    """Only pods on a node shut down gracefully; everything else goes at once."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0
    if requested is None:
        requested = spec.get("terminationGracePeriodSeconds")
        requested = 30 if requested is None else requested
    return max(0, int(requested)) if requested >= 0 else 1


async def bind_pod(rest: RestContext, name: str, namespace: str | None, body: Obj,
                   opts: RequestOptions) -> Obj:
    """POST pods/binding: set spec.nodeName once (409 if already bound or being deleted);
    a dry run checks all that and writes nothing."""
    target: Obj = body["target"] if isinstance(body.get("target"), dict) else {}
    node = target.get("name") or ""
    if not node:
        raise errors.invalid("Binding", name, [errors.Cause(
            "FieldValueRequired", "Required value", "target.name")])
    bmeta: Obj = body["metadata"] if isinstance(body.get("metadata"), dict) else {}
    if (bmeta.get("name") or name) != name:
        raise errors.bad_request("the name of the object does not match the name on the URL")
    ns = namespace or bmeta.get("namespace") or "default"
    uid = bmeta.get("uid")

    async def try_bind(stored: Stored | None) -> Obj | Delete | None:
        assert stored is not None
        pod = stored.obj
        meta, spec = pod["metadata"], pod.setdefault("spec", {})
        if meta.get("deletionTimestamp"):
            raise errors.conflict("pods/binding", name,
                                  f"pod {name} is being deleted, cannot be assigned to a host")
        if spec.get("nodeName"):
            raise errors.conflict("pods/binding", name, f"pod {name} is already assigned to "
                                  f'node "{spec["nodeName"]}"')
        if uid and uid != meta.get("uid"):
            raise errors.conflict("pods/binding", name, "Precondition failed: UID in "
                                  f"precondition: {uid}, UID in object meta: {meta.get('uid')}")
        spec["nodeName"] = node
        conditions = pod.setdefault("status", {}).setdefault("conditions", [])
        conditions[:] = [c for c in conditions if c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True",
                           "lastProbeTime": None, "lastTransitionTime": rest.now()})
        return pod

    await rest.objects.guaranteed_update(PODS, ns, name, try_bind, dry_run=opts.dry_run)
    return created_status()


# What an ephemeral container may not ask for (kube's validateEphemeralContainers): it gets
# no ports, probes, lifecycle hooks or resources of its own.
EPHEMERAL_FORBIDDEN = ("ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
                       "resources", "resizePolicy", "restartPolicy")
EPHEMERAL_MESSAGE = "cannot be set for an Ephemeral Container"


def validate_ephemeral_containers(spec: Mapping[str, Any]) -> list[Cause]:
    """Valid containers (podspec's checks: names unique across the pod, an image, mounts of
    the pod's volumes), whose target is one of the pod's containers and which ask for
    nothing an ephemeral container cannot have."""
    regular = [str(c.get("name") or "") for key in ("containers", "initContainers")
               for c in spec.get(key) or [] if isinstance(c, Mapping)]
    volumes = {v["name"] for v in spec.get("volumes") or []
               if isinstance(v, Mapping) and isinstance(v.get("name"), str)}
    containers = spec.get("ephemeralContainers")
    causes = validate_containers(containers, "spec.ephemeralContainers", set(regular),
                                 True, volumes)
    for i, c in enumerate(containers if isinstance(containers, list) else []):
        if not isinstance(c, Mapping):
            continue  # said above
        f = f"spec.ephemeralContainers[{i}]"
        target = c.get("targetContainerName")
        if target and target not in regular:
            causes.append(not_found(f"{f}.targetContainerName", target))
        for key in EPHEMERAL_FORBIDDEN:
            if c.get(key):
                causes.append(forbidden(f"{f}.{key}", EPHEMERAL_MESSAGE))
        for j, vm in enumerate(c.get("volumeMounts") or []):
            if isinstance(vm, Mapping) and (vm.get("subPath") or vm.get("subPathExpr")):
                causes.append(forbidden(f"{f}.volumeMounts[{j}].subPath", EPHEMERAL_MESSAGE))
    return causes


def validate_ephemeral_update(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Cause]:
    """ValidatePodEphemeralContainersUpdate: ephemeral containers are only ever added."""
    before = {c.get("name"): c for c in (old.get("spec") or {}).get("ephemeralContainers") or []}
    after = (new.get("spec") or {}).get("ephemeralContainers") or []
    now = {c.get("name"): (i, c) for i, c in enumerate(after) if isinstance(c, Mapping)}
    causes: list[Cause] = []
    for name, container in before.items():
        if name not in now:
            causes.append(forbidden("spec.ephemeralContainers", f'existing ephemeral '
                                    f'containers "{name}" may not be removed'))
        elif now[name][1] != container:
            causes.append(forbidden(f"spec.ephemeralContainers[{now[name][0]}]",
                                    f'existing ephemeral containers "{name}" may not be '
                                    "changed"))
    return causes


class PodStrategy(Strategy):
    return_deleted_object = True
    printer = Printer(POD_COLUMNS, pod_row, pod_conditions)
    schema = "core.Pod"
    field_labels = staticmethod(_pod_fields)
    post_subresources = {"binding": bind_pod, "eviction": evict_pod}
    subresource_kinds = {"binding": BodyKind("", "v1", "Binding", "core.Binding"),
                         "eviction": BodyKind("policy", "v1", "Eviction", "policy.Eviction")}

    def default(self, obj: Obj) -> None:
        default_pod(obj.setdefault("spec", {}))

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Pending", "qosClass": pod_qos_class(obj["spec"])}

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_pod_spec(obj.get("spec"), "spec")

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + validate_pod_update(old, new)

    def prepare_for_subresource_update(self, subresource: str, body: Obj, old: Obj) -> Obj:
        """pods/ephemeralcontainers: the stored pod with the body's ephemeral containers,
        nothing else of it (kube's EphemeralContainersStrategy)."""
        if subresource != "ephemeralcontainers":
            return super().prepare_for_subresource_update(subresource, body, old)
        new = copy.deepcopy(old)
        containers = (body.get("spec") or {}).get("ephemeralContainers") if isinstance(
            body.get("spec"), dict) else None
        if containers:
            new["spec"]["ephemeralContainers"] = containers
        else:
            new["spec"].pop("ephemeralContainers", None)
        return new

    def validate_subresource_update(self, subresource: str, new: Obj, old: Obj) -> list[Cause]:
        if subresource != "ephemeralcontainers":
            return super().validate_subresource_update(subresource, new, old)
        return (validate_ephemeral_containers(new.get("spec") or {})
                + validate_ephemeral_update(old, new))

    def grace_period(self, obj: Obj, requested: int | None) -> int:
        return grace_period(obj, requested)


STRATEGY = PodStrategy(PODS)
