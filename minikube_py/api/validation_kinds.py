"""Per-kind validation (pods, pod templates, services, workloads) on create and update."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.resources import Resource
from minikube_py.api.selectors import selector_from_label_selector_object
from minikube_py.api.validation import (
    config_key_errors,
    dns1035_label_errors,
    dns1123_label_errors,
    duplicate,
    forbidden,
    int_field,
    invalid_value,
    not_supported,
    raise_if,
    required,
    validate_annotations,
    validate_labels,
    validate_object_meta,
    validate_resources,
    validate_string_map,
    validate_update_meta,
)

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PROTOCOLS = ("SCTP", "TCP", "UDP")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_PORT_RANGE = "must be between 1 and 65535, inclusive"

POD_UPDATE_MESSAGE = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)")


def _port_errors(port: Any, field: str) -> list[Cause]:
    if not int_field(port):
        return [invalid_value(field, port, _PORT_RANGE)] if port is not None else [required(field)]
    if not 1 <= port <= 65535:
        return [invalid_value(field, port, _PORT_RANGE)]
    return []


def _validate_containers(containers: Any, field: str, names: set[str],
                         require_image: bool) -> list[Cause]:
    causes: list[Cause] = []
    if not isinstance(containers, list):
        return [invalid_value(field, containers, "must be a list")] if containers else []
    for i, c in enumerate(containers):
        f = f"{field}[{i}]"
        if not isinstance(c, Mapping):
            causes.append(invalid_value(f, c, "must be an object"))
            continue
        name = c.get("name") or ""
        if not name:
            causes.append(required(f"{f}.name"))
        else:
            causes += [invalid_value(f"{f}.name", name, e) for e in dns1123_label_errors(name)]
            if name in names:
                causes.append(duplicate(f"{f}.name", name))
            names.add(name)
        if require_image and not (c.get("image") or "").strip():
            causes.append(required(f"{f}.image"))
        policy = c.get("imagePullPolicy")
        if policy and policy not in PULL_POLICIES:
            causes.append(not_supported(f"{f}.imagePullPolicy", policy, PULL_POLICIES))
        port_names: set[str] = set()
        for j, p in enumerate(c.get("ports") or []):
            pf = f"{f}.ports[{j}]"
            causes += _port_errors(p.get("containerPort"), f"{pf}.containerPort")
            if p.get("hostPort"):
                causes += _port_errors(p.get("hostPort"), f"{pf}.hostPort")
            if p.get("protocol") and p["protocol"] not in PROTOCOLS:
                causes.append(not_supported(f"{pf}.protocol", p["protocol"], PROTOCOLS))
            if p.get("name"):
                if p["name"] in port_names:
                    causes.append(duplicate(f"{pf}.name", p["name"]))
                port_names.add(p["name"])
        for j, env in enumerate(c.get("env") or []):
            if not env.get("name"):
                causes.append(required(f"{f}.env[{j}].name"))
        causes += validate_resources(c.get("resources"), f"{f}.resources")
        for j, vm in enumerate(c.get("volumeMounts") or []):
            if not vm.get("name"):
                causes.append(required(f"{f}.volumeMounts[{j}].name"))
            if not vm.get("mountPath"):
                causes.append(required(f"{f}.volumeMounts[{j}].mountPath"))
    return causes


def validate_pod_spec(spec: Any, field: str, *, require_image: bool = True) -> list[Cause]:
    if not isinstance(spec, Mapping):
        return [required(field)]
    causes: list[Cause] = []
    names: set[str] = set()
    containers = spec.get("containers")
    if not containers:
        causes.append(required(f"{field}.containers"))
    causes += _validate_containers(containers, f"{field}.containers", names, require_image)
    causes += _validate_containers(spec.get("initContainers"), f"{field}.initContainers", names,
                                   require_image)
    causes += validate_labels(spec.get("nodeSelector"), f"{field}.nodeSelector")
    rp = spec.get("restartPolicy")
    if rp is not None and rp not in RESTART_POLICIES:
        causes.append(not_supported(f"{field}.restartPolicy", rp, RESTART_POLICIES))
    dp = spec.get("dnsPolicy")
    if dp is not None and dp not in DNS_POLICIES:
        causes.append(not_supported(f"{field}.dnsPolicy", dp, DNS_POLICIES))
    vol_names: set[str] = set()
    for i, v in enumerate(spec.get("volumes") or []):
        vname = v.get("name") or ""
        if not vname:
            causes.append(required(f"{field}.volumes[{i}].name"))
        elif vname in vol_names:
            causes.append(duplicate(f"{field}.volumes[{i}].name", vname))
        vol_names.add(vname)
    for k in ("terminationGracePeriodSeconds", "activeDeadlineSeconds"):
        val = spec.get(k)
        if val is not None and (not int_field(val) or (k == "activeDeadlineSeconds" and val <= 0)):
            causes.append(invalid_value(f"{field}.{k}", val, "must be greater than 0"
                                        if k == "activeDeadlineSeconds" else "must be an integer"))
    return causes


def validate_pod_update(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Cause]:
    """Pod specs are immutable but for images, activeDeadlineSeconds and added tolerations."""
    os, ns = old.get("spec") or {}, new.get("spec") or {}
    if os == ns:
        return []
    probe = json.loads(json.dumps(ns))
    for key in ("containers", "initContainers"):
        olds = os.get(key) or []
        news = probe.get(key) or []
        if len(olds) == len(news):
            for o, n in zip(olds, news, strict=True):
                if isinstance(n, dict) and "image" in o:
                    n["image"] = o["image"]
    probe["activeDeadlineSeconds"] = os.get("activeDeadlineSeconds")
    if probe.get("activeDeadlineSeconds") is None:
        probe.pop("activeDeadlineSeconds", None)
    old_tol = os.get("tolerations") or []
    new_tol = ns.get("tolerations") or []
    if all(t in new_tol for t in old_tol):
        if old_tol:
            probe["tolerations"] = old_tol
        else:
            probe.pop("tolerations", None)
    if probe.get("terminationGracePeriodSeconds") != os.get("terminationGracePeriodSeconds") \
            and (os.get("terminationGracePeriodSeconds") or 0) < 0:
        probe["terminationGracePeriodSeconds"] = os.get("terminationGracePeriodSeconds")
    # Removing scheduling gates is the one other permitted change.
    if "schedulingGates" in os:
        probe["schedulingGates"] = os["schedulingGates"]
    if probe != dict(os):
        return [forbidden("spec", POD_UPDATE_MESSAGE)]
    return []


def _validate_template(spec: Mapping[str, Any], field: str, *,
                       restart_policies: tuple[str, ...] = ("Always",)) -> list[Cause]:
    causes: list[Cause] = []
    tmpl = spec.get("template")
    if not isinstance(tmpl, Mapping):
        return [required(f"{field}.template")]
    tmeta = tmpl.get("metadata") or {}
    if not isinstance(tmeta, Mapping):
        return [invalid_value(f"{field}.template.metadata", tmeta, "must be an object")]
    causes += validate_labels(tmeta.get("labels"), f"{field}.template.metadata.labels")
    causes += validate_annotations(tmeta.get("annotations"),
                                   f"{field}.template.metadata.annotations")
    pod_spec = tmpl.get("spec") or {}
    if not isinstance(pod_spec, Mapping):
        return [*causes, invalid_value(f"{field}.template.spec", pod_spec, "must be an object")]
    causes += validate_pod_spec(pod_spec, f"{field}.template.spec")
    rp = pod_spec.get("restartPolicy")
    if rp is not None and rp in RESTART_POLICIES and rp not in restart_policies:
        causes.append(not_supported(f"{field}.template.spec.restartPolicy", rp, restart_policies))
    return causes


def _validate_selector_matches(spec: Mapping[str, Any], field: str) -> list[Cause]:
    sel = spec.get("selector")
    if not sel:
        return [required(f"{field}.selector")]
    if not isinstance(sel, Mapping):
        return [invalid_value(f"{field}.selector", sel, "must be a label selector object")]
    if not (sel.get("matchLabels") or sel.get("matchExpressions")):
        return [invalid_value(f"{field}.selector", sel,
                              "empty selector is invalid for deployment")]
    match_label_errors = validate_labels(sel.get("matchLabels"), f"{field}.selector.matchLabels")
    if match_label_errors:
        return match_label_errors
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    try:
        matches = selector_from_label_selector_object(sel).matches(labels)
    except Exception:  # a malformed operator is reported as the invalid selector it is
        matches = False
    if not matches:
        return [invalid_value(f"{field}.template.metadata.labels", labels,
                              "`selector` does not match template `labels`")]
    return []


def _validate_replicas(spec: Mapping[str, Any], field: str) -> list[Cause]:
    r = spec.get("replicas")
    if r is not None and (not int_field(r) or r < 0):
        return [invalid_value(f"{field}.replicas", r,
                              "must be greater than or equal to 0")]
    return []


def _validate_workload(obj: Mapping[str, Any], plural: str) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes = _validate_replicas(spec, "spec")
    if plural == "jobs":
        causes += _validate_template(spec, "spec", restart_policies=("OnFailure", "Never"))
    elif plural == "cronjobs":
        if not spec.get("schedule"):
            causes.append(required("spec.schedule"))
        jt = (spec.get("jobTemplate") or {}).get("spec") or {}
        causes += _validate_template(jt, "spec.jobTemplate.spec",
                                     restart_policies=("OnFailure", "Never"))
    else:
        causes += _validate_template(spec, "spec")
        if plural != "replicationcontrollers":
            causes += _validate_selector_matches(spec, "spec")
    return causes


def _validate_service(obj: Mapping[str, Any]) -> list[Cause]:
    spec = obj.get("spec") or {}
    if not isinstance(spec, Mapping):
        return [invalid_value("spec", spec, "must be an object")]
    causes: list[Cause] = validate_labels(spec.get("selector"), "spec.selector")
    stype = spec.get("type", "ClusterIP")
    if stype not in SERVICE_TYPES:
        causes.append(not_supported("spec.type", stype, SERVICE_TYPES))
    ports = spec.get("ports") or []
    if stype == "ExternalName":
        if not spec.get("externalName"):
            causes.append(required("spec.externalName"))
    elif not ports and spec.get("clusterIP") != "None":
        causes.append(required("spec.ports"))
    names: set[str] = set()
    for i, p in enumerate(ports):
        f = f"spec.ports[{i}]"
        causes += _port_errors(p.get("port"), f"{f}.port")
        if len(ports) > 1 and not p.get("name"):
            causes.append(required(f"{f}.name"))
        if p.get("name"):
            causes += [invalid_value(f"{f}.name", p["name"], e)
                       for e in dns1123_label_errors(p["name"])]
            if p["name"] in names:
                causes.append(duplicate(f"{f}.name", p["name"]))
            names.add(p["name"])
        if p.get("protocol") and p["protocol"] not in PROTOCOLS:
            causes.append(not_supported(f"{f}.protocol", p["protocol"], PROTOCOLS))
        tp = p.get("targetPort")
        if isinstance(tp, int) and not isinstance(tp, bool):
            causes += _port_errors(tp, f"{f}.targetPort")
        elif isinstance(tp, str) and dns1035_label_errors(tp) and not tp.isdigit():
            causes.append(invalid_value(f"{f}.targetPort", tp, "must contain only alpha-numeric "
                                        "characters (a-z, 0-9), and hyphens (-)"))
    return causes


def _validate_data(obj: Mapping[str, Any], binary_field: str) -> list[Cause]:
    """ConfigMap data/binaryData and Secret data/stringData: config keys, string values;
    binary values base64 (the decoder's check, repeated for the in-process path)."""
    causes: list[Cause] = []
    text_field = "data" if binary_field != "data" else "stringData"
    text, binary = obj.get(text_field), obj.get(binary_field)
    causes += validate_string_map(text, text_field) + validate_string_map(binary, binary_field)
    if causes:
        return causes
    for fname, bag in ((text_field, text or {}), (binary_field, binary or {})):
        for key, value in bag.items():
            causes += [invalid_value(f"{fname}[{key}]", key, e) for e in config_key_errors(key)]
            if fname == binary_field and not _is_base64(value):
                causes.append(invalid_value(f"{fname}[{key}]", "<binary>",
                                            "must be base64-encoded"))
    if binary_field == "binaryData":
        causes += [invalid_value(f"data[{key}]", key, "duplicate of key present in binaryData")
                   for key in (text or {}) if key in (binary or {})]
    return causes


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _validate_service_update(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Cause]:
    oip = (old.get("spec") or {}).get("clusterIP")
    nip = (new.get("spec") or {}).get("clusterIP")
    if oip and nip and oip != nip and (new.get("spec") or {}).get("type") != "ExternalName":
        return [invalid_value("spec.clusterIP", nip, "field is immutable")]
    return []


def _validate_kind(resource: Resource, obj: Mapping[str, Any]) -> list[Cause]:
    plural = resource.plural
    if resource.group == "" and plural == "pods":
        return validate_pod_spec(obj.get("spec"), "spec")
    if resource.group == "" and plural == "services":
        return _validate_service(obj)
    if resource.group == "" and plural == "configmaps":
        return _validate_data(obj, "binaryData")
    if resource.group == "" and plural == "secrets":
        return _validate_data(obj, "data")
    if plural in ("deployments", "replicasets", "statefulsets", "daemonsets", "jobs",
                  "cronjobs", "replicationcontrollers"):
        return _validate_workload(obj, plural)
    return []


def validate_create(resource: Resource, obj: Mapping[str, Any]) -> None:
    """Raise 422 Invalid for an object that may not be created."""
    meta = obj.get("metadata") or {}
    causes = validate_object_meta(resource.plural, meta, resource.namespaced)
    causes += _validate_kind(resource, obj)
    raise_if(resource.kind, meta.get("name") or meta.get("generateName") or "", causes,
             resource.group)


def validate_update(resource: Resource, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """Raise 422 Invalid for an update that may not happen."""
    meta = new.get("metadata") or {}
    causes = validate_update_meta(old, new)
    causes += validate_object_meta(resource.plural, meta, resource.namespaced)
    causes += _validate_kind(resource, new)
    if resource.group == "" and resource.plural == "pods":
        causes += validate_pod_update(old, new)
    elif resource.group == "" and resource.plural == "services":
        causes += _validate_service_update(old, new)
    elif resource.plural in ("deployments", "replicasets", "statefulsets", "daemonsets"):
        if (old.get("spec") or {}).get("selector") != (new.get("spec") or {}).get("selector"):
            causes.append(invalid_value("spec.selector", (new.get("spec") or {}).get("selector"),
                                        "field is immutable"))
    raise_if(resource.kind, meta.get("name") or "", causes, resource.group)
