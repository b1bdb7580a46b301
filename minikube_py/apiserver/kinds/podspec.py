"""Pod specs and pod templates: defaults, validation and Table cells shared by Pod
and every kind that carries a pod template."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.selectors import selector_from_label_selector_object
from minikube_py.api.validation import (
    dns1123_label_errors,
    duplicate,
    int_field,
    invalid_value,
    not_supported,
    required,
    validate_annotations,
    validate_labels,
    validate_resources,
)
from minikube_py.apiserver.kinds.base import Obj
from minikube_py.apiserver.tables_format import (
    CONTAINERS_DESC,
    IMAGES_DESC,
    Row,
    column,
    container_cells,
    format_label_selector,
    template_spec,
)

RESTART_POLICIES = ("Always", "OnFailure", "Never")


DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")


PROTOCOLS = ("SCTP", "TCP", "UDP")


PULL_POLICIES = ("Always", "IfNotPresent", "Never")


_PORT_RANGE = "must be between 1 and 65535, inclusive"


MAX_INT32 = 2**31 - 1


# --- defaults ---------------------------------------------------------------------

def _image_pull_policy(image: str) -> str:
    # The tag is what follows the last ':' after the last '/', unless pinned by digest.
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last or last.rsplit(":", 1)[1] == "latest":
        return "Always"
    return "IfNotPresent"


def _default_probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        probe["httpGet"].setdefault("path", "/")
        probe["httpGet"].setdefault("scheme", "HTTP")


def _default_container(c: Obj) -> None:
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = _image_pull_policy(c.get("image") or "")
    for p in c.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
    c.setdefault("resources", {})
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(c.get(probe))
    for env in c.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(ref, dict):
            ref.setdefault("apiVersion", "v1")


def _default_volume(v: Obj) -> None:
    for kind in ("configMap", "secret", "projected", "downwardAPI"):
        if isinstance(v.get(kind), dict):
            v[kind].setdefault("defaultMode", 420)
    if isinstance(v.get("hostPath"), dict):
        v["hostPath"].setdefault("type", "")
    if len(v) == 1 and "name" in v:
        v["emptyDir"] = {}


def _requests_from_limits(c: Obj) -> None:
    res = c.get("resources")
    if isinstance(res, dict) and isinstance(res.get("limits"), dict) and res["limits"]:
        requests = res.setdefault("requests", {})
        if isinstance(requests, dict):
            for k, v in res["limits"].items():
                requests.setdefault(k, v)


def default_pod(spec: Obj) -> None:
    """What a Pod gets beyond its spec's defaults: SetDefaults_Pod (requests from limits,
    service links) and the ServiceAccount admission plugin (priority is set at admission,
    by admission.Priority). Pod templates get none of it, so a controller's template reads
    back as it was written."""
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                _requests_from_limits(c)
    spec.setdefault("enableServiceLinks", True)
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec.get("serviceAccount") or "default"
    default_pod_spec(spec)


def default_pod_spec(spec: Obj) -> None:
    """SetDefaults_PodSpec and what it nests: for Pods and pod templates alike."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    # The deprecated serviceAccount follows serviceAccountName (the v1 conversion).
    if spec.get("serviceAccount") and not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    if spec.get("serviceAccountName"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                _default_container(c)
    for v in spec.get("volumes") or []:
        if isinstance(v, dict):
            _default_volume(v)


def default_template(spec: Obj) -> None:
    tmpl = spec.get("template")
    if isinstance(tmpl, dict):
        tmpl.setdefault("metadata", {})
        if isinstance(tmpl.get("spec"), dict):
            default_pod_spec(tmpl["spec"])


# --- validation -------------------------------------------------------------------

def not_found(field: str, value: Any) -> Cause:
    return Cause("FieldValueNotFound", f"Not found: {json.dumps(value)}", field)


def port_errors(port: Any, field: str) -> list[Cause]:
    if not int_field(port):
        return [invalid_value(field, port, _PORT_RANGE)] if port is not None else [required(field)]
    if not 1 <= port <= 65535:
        return [invalid_value(field, port, _PORT_RANGE)]
    return []


def validate_containers(containers: Any, field: str, names: set[str],
                         require_image: bool, volumes: set[str]) -> list[Cause]:
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
            if p.get("containerPort") == 0:  # a port of 0 is no port at all
                causes.append(required(f"{pf}.containerPort"))
            else:
                causes += port_errors(p.get("containerPort"), f"{pf}.containerPort")
            if p.get("hostPort"):
                causes += port_errors(p.get("hostPort"), f"{pf}.hostPort")
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
            elif not isinstance(vm["name"], str) or vm["name"] not in volumes:
                causes.append(not_found(f"{f}.volumeMounts[{j}].name", vm["name"]))
            if not vm.get("mountPath"):
                causes.append(required(f"{f}.volumeMounts[{j}].mountPath"))
    return causes


def validate_pod_spec(spec: Any, field: str, *, require_image: bool = True,
                      claims: Iterable[str] = ()) -> list[Cause]:
    """`claims`: names a container may mount beside the spec's volumes (a StatefulSet's
    volumeClaimTemplates)."""
    if not isinstance(spec, Mapping):
        return [required(field)]
    causes: list[Cause] = []
    names: set[str] = set()
    volumes = {v["name"] for v in spec.get("volumes") or []
               if isinstance(v, Mapping) and isinstance(v.get("name"), str)}
    volumes.update(claims)
    containers = spec.get("containers")
    if not containers:
        causes.append(required(f"{field}.containers"))
    causes += validate_containers(containers, f"{field}.containers", names, require_image,
                                   volumes)
    causes += validate_containers(spec.get("initContainers"), f"{field}.initContainers", names,
                                   require_image, volumes)
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
    grace = spec.get("terminationGracePeriodSeconds")
    if grace is not None and not int_field(grace):
        causes.append(invalid_value(f"{field}.terminationGracePeriodSeconds", grace,
                                    "must be an integer"))
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and (not int_field(deadline) or not 1 <= deadline <= MAX_INT32):
        causes.append(invalid_value(f"{field}.activeDeadlineSeconds", deadline,
                                    f"must be between 1 and {MAX_INT32}, inclusive"))
    return causes


def validate_template(spec: Mapping[str, Any], field: str, *,
                       restart_policies: tuple[str, ...] = ("Always",),
                       claims: Iterable[str] = ()) -> list[Cause]:
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
    causes += validate_pod_spec(pod_spec, f"{field}.template.spec", claims=claims)
    rp = pod_spec.get("restartPolicy")
    if rp is not None and rp in RESTART_POLICIES and rp not in restart_policies:
        causes.append(not_supported(f"{field}.template.spec.restartPolicy", rp, restart_policies))
    return causes


def validate_selector_matches(spec: Mapping[str, Any], field: str,
                              noun: str) -> list[Cause]:
    """A selector that selects something and matches the template; `noun` names the kind
    in kube's message for an empty one (a ReplicaSet's says "deployment" too)."""
    sel = spec.get("selector")
    if sel is None:
        return [required(f"{field}.selector")]
    if not isinstance(sel, Mapping):
        return [invalid_value(f"{field}.selector", sel, "must be a label selector object")]
    if not (sel.get("matchLabels") or sel.get("matchExpressions")):
        return [invalid_value(f"{field}.selector", sel, f"empty selector is invalid for {noun}")]
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


def validate_replicas(spec: Mapping[str, Any], field: str) -> list[Cause]:
    r = spec.get("replicas")
    if r is not None and (not int_field(r) or r < 0):
        return [invalid_value(f"{field}.replicas", r,
                              "must be greater than or equal to 0")]
    return []


# --- Table cells of pod-template kinds -------------------------------------------

SELECTOR_DESC = "Label selector for pods."


def wide(obj: Obj, *, selector: bool = True) -> Row:
    names, images = container_cells(template_spec(obj))
    if not selector:
        return [names, images]
    return [names, images, format_label_selector((obj.get("spec") or {}).get("selector"))]


def wide_columns(*, selector: bool = True) -> list[Obj]:
    cols = [column("Containers", CONTAINERS_DESC, priority=1),
            column("Images", IMAGES_DESC, priority=1)]
    if selector:
        cols.append(column("Selector", SELECTOR_DESC, priority=1))
    return cols
