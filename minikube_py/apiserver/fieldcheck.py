"""Unknown-field detection for fieldValidation=Strict/Warn, from a compact field table."""

from __future__ import annotations

from typing import Any

from minikube_py.api.resources import Resource

_COMMON_TOP = frozenset({"apiVersion", "kind", "metadata"})
_TOP: dict[str, frozenset[str]] = {
    "ConfigMap": frozenset({"data", "binaryData", "immutable"}),
    "Secret": frozenset({"data", "stringData", "type", "immutable"}),
    "Endpoints": frozenset({"subsets"}),
    "Event": frozenset({
        "involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp",
        "count", "type", "eventTime", "series", "action", "related", "reportingComponent",
        "reportingInstance", "regarding", "note", "reportingController", "deprecatedSource",
        "deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount"}),
    "ServiceAccount": frozenset({"secrets", "imagePullSecrets", "automountServiceAccountToken"}),
    "EndpointSlice": frozenset({"addressType", "endpoints", "ports"}),
    "ControllerRevision": frozenset({"data", "revision"}),
}
_META = frozenset({
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
    "annotations", "ownerReferences", "finalizers", "managedFields"})
_POD_SPEC = frozenset({
    "volumes", "initContainers", "containers", "ephemeralContainers", "restartPolicy",
    "terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy", "nodeSelector",
    "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "nodeName",
    "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace", "securityContext",
    "imagePullSecrets", "hostname", "subdomain", "affinity", "schedulerName", "tolerations",
    "hostAliases", "priorityClassName", "priority", "dnsConfig", "readinessGates",
    "runtimeClassName", "enableServiceLinks", "preemptionPolicy", "overhead",
    "topologySpreadConstraints", "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates",
    "resourceClaims", "resources"})
_CONTAINER = frozenset({
    "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources",
    "resizePolicy", "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe",
    "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath",
    "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce",
    "tty", "targetContainerName"})
_POD_TEMPLATE_KINDS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job",
                       "ReplicationController"}


def _unknown(obj: Any, allowed: frozenset[str], path: str, out: list[str]) -> None:
    if isinstance(obj, dict):
        for k in obj:
            if k not in allowed:
                out.append(f"{path}{k}")


def _check_pod_spec(spec: Any, path: str, out: list[str]) -> None:
    if not isinstance(spec, dict):
        return
    _unknown(spec, _POD_SPEC, path, out)
    for key in ("containers", "initContainers"):
        for i, c in enumerate(spec.get(key) or []):
            _unknown(c, _CONTAINER, f"{path}{key}[{i}].", out)


def check_unknown_fields(resource: Resource, obj: dict[str, Any]) -> list[str]:
    """Paths (like "spec.containers[0].imag") of fields the kind does not declare."""
    out: list[str] = []
    top = _COMMON_TOP | _TOP.get(resource.kind, frozenset({"spec", "status"}))
    _unknown(obj, top, "", out)
    _unknown(obj.get("metadata"), _META, "metadata.", out)
    kind = resource.kind
    if kind == "Pod":
        _check_pod_spec(obj.get("spec"), "spec.", out)
    elif kind in _POD_TEMPLATE_KINDS:
        tmpl = (obj.get("spec") or {}).get("template") or {}
        _check_pod_spec(tmpl.get("spec") if isinstance(tmpl, dict) else None,
                        "spec.template.spec.", out)
    return out
