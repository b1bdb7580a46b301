"""Ingresses and IngressClasses (networking.k8s.io/v1): stored and served; nothing routes by
them (no ingress controller runs here). An Ingress that names no class gets the default
IngressClass's name at create (admission.DefaultIngressClass)."""

from __future__ import annotations

import re
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.resources import INGRESSCLASSES, INGRESSES
from minikube_py.api.validation import (
    dns1035_label_errors,
    dns1123_subdomain_errors,
    invalid_value,
    not_supported,
    required,
)
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
# The annotation that named an Ingress's class before spec.ingressClassName existed.
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")

INGRESS_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Class", "The name of the IngressClass resource"),
    column("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
    column("Address", "Address is a list of IPs for the load balancer"),
    column("Ports", "Ports of TLS configurations that open"),
    column("Age", AGE_DESC),
]
INGRESSCLASS_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Controller", "Controller that is responsible for handling this class"),
    column("Parameters", "A reference to a resource with additional parameters"),
    column("Age", AGE_DESC),
]


def _hosts(rules: list[Any]) -> str:
    """formatHosts: the first three hosts, then "+ N more..." (N counts every rule past
    the third); "*" when no rule names a host."""
    hosts = [str(r["host"]) for r in rules[:3] if isinstance(r, dict) and r.get("host")]
    if not hosts:
        return "*"
    text = ",".join(hosts)
    return f"{text} + {len(rules) - 3} more..." if len(rules) > 3 else text


def _address(status: Obj | None, wide: bool = False) -> str:
    """ingressLoadBalancerStatusStringer: IPs and hostnames; long lists cut at 16 chars."""
    ingress = ((status or {}).get("loadBalancer") or {}).get("ingress") or []
    addrs = [str(i.get("ip") or i.get("hostname") or "") for i in ingress if isinstance(i, dict)]
    text = ",".join(a for a in addrs if a)
    return text[:13] + "..." if not wide and len(text) > 16 else text


def ingress_row(ing: Obj, now: float) -> Row:
    spec = ing.get("spec") or {}
    return [name(ing), spec.get("ingressClassName") or "<none>", _hosts(spec.get("rules") or []),
            _address(ing.get("status")), "80, 443" if spec.get("tls") else "80", age(ing, now)]


def ingressclass_row(ic: Obj, now: float) -> Row:
    spec = ic.get("spec") or {}
    params = spec.get("parameters")
    text = "<none>"
    if isinstance(params, dict):
        text = str(params.get("kind", ""))
        if params.get("apiGroup") is not None:
            text += "." + str(params["apiGroup"])
        text += "/" + str(params.get("name", ""))
    return [name(ic), spec.get("controller", ""), text, age(ic, now)]


def port_name_errors(value: str) -> list[str]:
    """validation.IsValidPortName (an IANA_SVC_NAME)."""
    errs = []
    if len(value) > 15:
        errs.append("must be no more than 15 characters")
    if not re.fullmatch(r"[-a-z0-9]+", value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if not re.search(r"[a-z]", value):
        errs.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def _backend_errors(backend: Any, field: str) -> list[Cause]:
    """validateIngressBackend: a service (name and port name or number) or a resource."""
    if not isinstance(backend, dict):
        return [invalid_value(field, "", "resource or service backend is required")]
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        return [invalid_value(field, "", "cannot set both resource and service backends")]
    if isinstance(resource, dict):
        causes = []
        for key in ("kind", "name"):
            if not resource.get(key):
                causes.append(required(f"{field}.resource.{key}"))
        return causes
    if not isinstance(service, dict):
        return [invalid_value(field, "", "resource or service backend is required")]
    causes = []
    svc = service.get("name") or ""
    if not svc:
        causes.append(required(f"{field}.service.name"))
    else:
        causes += [invalid_value(f"{field}.service.name", svc, e)
                   for e in dns1035_label_errors(svc)]
    port = service.get("port")
    port = port if isinstance(port, dict) else {}
    port_name, number = port.get("name") or "", port.get("number") or 0
    if port_name and number:
        causes.append(invalid_value(field, "", "cannot set both port name & port number"))
    elif port_name:
        causes += [invalid_value(f"{field}.service.port.name", port_name, e)
                   for e in port_name_errors(str(port_name))]
    elif number:
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(invalid_value(f"{field}.service.port.number", number,
                                        "must be between 1 and 65535, inclusive"))
    else:
        causes.append(required(field, "port name or number is required"))
    return causes


def _path_errors(path: Any, field: str) -> list[Cause]:
    if not isinstance(path, dict):
        return [invalid_value(field, path, "must be an object")]
    causes: list[Cause] = []
    path_type, text = path.get("pathType"), path.get("path") or ""
    if not path_type:
        causes.append(required(f"{field}.pathType", "pathType must be specified"))
    elif path_type not in PATH_TYPES:
        causes.append(not_supported(f"{field}.pathType", path_type, PATH_TYPES))
    if path_type in ("Exact", "Prefix") and not str(text).startswith("/"):
        causes.append(invalid_value(f"{field}.path", text, "must be an absolute path"))
    return causes + _backend_errors(path.get("backend"), f"{field}.backend")


def ingress_spec_errors(spec: Any) -> list[Cause]:
    """ValidateIngressSpec: rules (hosts, paths with a pathType and a backend) or a
    default backend; the class name a DNS subdomain."""
    if not isinstance(spec, dict):
        spec = {}
    causes: list[Cause] = []
    rules = spec.get("rules") or []
    if not rules and spec.get("defaultBackend") is None:
        causes.append(invalid_value("spec", "", "either `defaultBackend` or `rules` must be "
                                                "specified"))
    if spec.get("defaultBackend") is not None:
        causes += _backend_errors(spec["defaultBackend"], "spec.defaultBackend")
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        f = f"spec.rules[{i}]"
        if not isinstance(rule, dict):
            causes.append(invalid_value(f, rule, "must be an object"))
            continue
        host = str(rule.get("host") or "")
        bare = host[2:] if host.startswith("*.") else host
        if host:
            causes += [invalid_value(f"{f}.host", host, e) for e in dns1123_subdomain_errors(bare)]
        http = rule.get("http")
        if http is None:
            continue
        paths = (http or {}).get("paths") or []
        if not paths:
            causes.append(required(f"{f}.http.paths"))
        for j, path in enumerate(paths):
            causes += _path_errors(path, f"{f}.http.paths[{j}]")
    for i, tls in enumerate(spec.get("tls") or []):
        for j, host in enumerate((tls or {}).get("hosts") or []):
            bare = str(host)[2:] if str(host).startswith("*.") else str(host)
            causes += [invalid_value(f"spec.tls[{i}].hosts[{j}]", host, e)
                       for e in dns1123_subdomain_errors(bare)]
    class_name = spec.get("ingressClassName")
    if class_name is not None:
        causes += [invalid_value("spec.ingressClassName", class_name, e)
                   for e in dns1123_subdomain_errors(str(class_name))]
    return causes


class IngressStrategy(Strategy):
    printer = Printer(INGRESS_COLUMNS, ingress_row)
    schema = "networking.Ingress"
    generation = True

    def validate(self, obj: Obj) -> list[Cause]:
        return ingress_spec_errors(obj.get("spec"))


def ingressclass_errors(spec: Any) -> list[Cause]:
    """ValidateIngressClassSpec: a controller (a domain-prefixed path, at most 250
    characters); parameters name a kind and a name, scoped Cluster or Namespace."""
    spec = spec if isinstance(spec, dict) else {}
    causes: list[Cause] = []
    controller = spec.get("controller") or ""
    if not controller:
        causes.append(required("spec.controller"))
    elif len(controller) > 250:
        causes.append(Cause("FieldValueTooLong",
                            "Too long: may not be more than 250 bytes", "spec.controller"))
    params = spec.get("parameters")
    if isinstance(params, dict):
        for key in ("kind", "name"):
            if not params.get(key):
                causes.append(required(f"spec.parameters.{key}"))
        scope = params.get("scope")
        if scope is not None and scope not in ("Cluster", "Namespace"):
            causes.append(not_supported("spec.parameters.scope", scope, ("Cluster", "Namespace")))
        if scope == "Namespace" and not params.get("namespace"):
            causes.append(required("spec.parameters.namespace",
                                   "`parameters.scope` is set to 'Namespace'"))
    return causes


class IngressClassStrategy(Strategy):
    printer = Printer(INGRESSCLASS_COLUMNS, ingressclass_row)
    schema = "networking.IngressClass"
    generation = True

    def validate(self, obj: Obj) -> list[Cause]:
        return ingressclass_errors(obj.get("spec"))

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.validate(new)
        before = (old.get("spec") or {}).get("controller")
        if (new.get("spec") or {}).get("controller") != before:
            causes.append(invalid_value("spec.controller", (new.get("spec") or {}).get(
                "controller"), "field is immutable"))
        return causes


def is_default_class(ic: Obj) -> bool:
    return ((ic.get("metadata") or {}).get("annotations") or {}).get(
        DEFAULT_CLASS_ANNOTATION) == "true"


INGRESS_STRATEGY = IngressStrategy(INGRESSES)
INGRESSCLASS_STRATEGY = IngressClassStrategy(INGRESSCLASSES)
