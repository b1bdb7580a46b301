"""APIServices (apiregistration.k8s.io/v1): stored and served. The API server keeps a Local
APIService for every group-version it serves, Available (kube's autoregistration), so
`kubectl get apiservices` lists them. An APIService naming a Service (an aggregated API
server) is stored, but nothing proxies to it: it is created Available=False, saying so,
rather than pretending to serve its group."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.resources import APISERVICES, Resource
from minikube_py.api.validation import (
    dns1123_label_errors,
    dns1123_subdomain_errors,
    int_field,
    invalid_value,
    required,
)
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, age, column, name

LOCAL_MESSAGE = "Local APIServices are always available"
NOT_PROXIED_REASON = "ServiceNotProxied"
NOT_PROXIED_MESSAGE = ("minikube-py does not proxy aggregated API servers: requests for "
                       "this group-version are not served")

# kube's apiVersionPriorities for the built-in groups: (groupPriorityMinimum,
# versionPriority). Others get the aggregator's defaults.
BUILTIN_PRIORITIES: dict[str, tuple[int, int]] = {
    "v1": (18000, 1), "apiregistration.k8s.io/v1": (18000, 15), "apps/v1": (17800, 15),
    "events.k8s.io/v1": (17750, 15), "authentication.k8s.io/v1": (17700, 15),
    "authorization.k8s.io/v1": (17600, 15), "autoscaling/v1": (17500, 15),
    "autoscaling/v2": (17500, 30), "batch/v1": (17400, 15),
    "certificates.k8s.io/v1": (17300, 15), "networking.k8s.io/v1": (17200, 15),
    "policy/v1": (17100, 15), "rbac.authorization.k8s.io/v1": (17000, 15),
    "storage.k8s.io/v1": (16800, 15), "apiextensions.k8s.io/v1": (16700, 15),
    "admissionregistration.k8s.io/v1": (16700, 15), "scheduling.k8s.io/v1": (16600, 15),
    "coordination.k8s.io/v1": (16500, 15), "node.k8s.io/v1": (16300, 15),
    "discovery.k8s.io/v1": (16200, 15), "flowcontrol.apiserver.k8s.io/v1": (16100, 21),
}
DEFAULT_PRIORITIES = (1000, 15)

APISERVICE_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Service", "The reference to the service that hosts this API endpoint."),
    column("Available", "Whether this service is available."),
    column("Age", AGE_DESC),
]


def _available(api: Obj) -> Obj | None:
    for c in (api.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Available":
            return c  # type: ignore[no-any-return]
    return None


def apiservice_row(api: Obj, now: float) -> Row:
    service = (api.get("spec") or {}).get("service")
    where = f"{service.get('namespace', '')}/{service.get('name', '')}" if service else "Local"
    cond = _available(api)
    if cond is None:
        available = "Unknown"
    elif cond.get("status") == "True":
        available = "True"
    else:
        available = f"{cond.get('status')} ({cond.get('reason', '')})"
    return [name(api), where, available, age(api, now)]


def apiservice_name(group: str, version: str) -> str:
    """`version.group` (core's is `v1.`)."""
    return f"{version}.{group}"


def local_apiservices(resources: Iterable[Resource]) -> list[Obj]:
    """One Local APIService per served group-version, as kube's autoregister controller
    keeps them."""
    seen: dict[tuple[str, str], None] = {}
    for r in resources:
        seen.setdefault((r.group, r.version), None)
    out = []
    for group, version in seen:
        gv = f"{group}/{version}" if group else version
        group_min, version_priority = BUILTIN_PRIORITIES.get(gv, DEFAULT_PRIORITIES)
        out.append({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                    "metadata": {"name": apiservice_name(group, version),
                                 "labels": {"kube-aggregator.kubernetes.io/automanaged":
                                            "onstart"}},
                    "spec": {"group": group, "version": version,
                             "groupPriorityMinimum": group_min,
                             "versionPriority": version_priority}})
    return out


def _condition(status: str, reason: str, message: str, now: str) -> Obj:
    return {"type": "Available", "status": status, "lastTransitionTime": now,
            "reason": reason, "message": message}


def apiservice_errors(api: Obj) -> list[Cause]:
    """ValidateAPIService: the name is version.group; group and version are names; the
    priorities are in range; a Service, when named, is complete; TLS checked one way."""
    spec: Any = api.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    causes: list[Cause] = []
    group, version = spec.get("group") or "", spec.get("version") or ""
    meta_name = name(api)
    if meta_name != apiservice_name(group, version):
        causes.append(invalid_value("metadata.name", meta_name,
                                    'must be `spec.version+"."+spec.group`'))
    if group:
        causes += [invalid_value("spec.group", group, e)
                   for e in dns1123_subdomain_errors(group)]
    if not version:
        causes.append(required("spec.version"))
    else:
        causes += [invalid_value("spec.version", version, e)
                   for e in dns1123_label_errors(version)]
    for field, top in (("groupPriorityMinimum", 20000), ("versionPriority", 1000)):
        value: Any = spec.get(field)
        if not int_field(value) or not 0 < value <= top:
            causes.append(invalid_value(f"spec.{field}", value,
                                        f"must be positive and less than {top}"))
    if spec.get("insecureSkipTLSVerify") and spec.get("caBundle"):
        causes.append(invalid_value("spec.insecureSkipTLSVerify",
                                    spec.get("insecureSkipTLSVerify"),
                                    "may not be true if caBundle is present"))
    service = spec.get("service")
    if isinstance(service, dict):
        if not service.get("namespace"):
            causes.append(required("spec.service.namespace"))
        if not service.get("name"):
            causes.append(required("spec.service.name"))
        port = service.get("port")
        if port is not None and (not int_field(port) or not 1 <= int(port) <= 65535):
            causes.append(invalid_value("spec.service.port", port,
                                        "port is not valid: must be between 1 and 65535, "
                                        "inclusive"))
    elif service is not None:
        causes.append(invalid_value("spec.service", service, "must be an object"))
    return causes


def apiservice_name_errors(value: str) -> list[str]:
    """kube's ValidateAPIServiceName: `version.group`, the version a DNS label and the group,
    when there is one, a DNS subdomain (core's is `v1.`, with its trailing dot)."""
    version, dot, group = value.partition(".")
    if not dot:
        return ['must be of the form "version.group"']
    return dns1123_label_errors(version) + (dns1123_subdomain_errors(group) if group else [])


class APIServiceStrategy(Strategy):
    printer = Printer(APISERVICE_COLUMNS, apiservice_row)
    schema = "apiregistration.APIService"
    name_errors = staticmethod(apiservice_name_errors)

    def default(self, obj: Obj) -> None:
        service = (obj.get("spec") or {}).get("service")
        if isinstance(service, dict):
            service.setdefault("port", 443)

    def prepare_for_create(self, obj: Obj) -> None:
        """Local ones are available; an aggregated one is stored, and says it is not
        proxied (no availability controller here would ever make it so)."""
        now = (obj.get("metadata") or {}).get("creationTimestamp") or ""
        local = not (obj.get("spec") or {}).get("service")
        obj["status"] = {"conditions": [
            _condition("True", "Local", LOCAL_MESSAGE, now) if local
            else _condition("False", NOT_PROXIED_REASON, NOT_PROXIED_MESSAGE, now)]}

    def validate(self, obj: Obj) -> list[Cause]:
        return apiservice_errors(obj)


STRATEGY = APIServiceStrategy(APISERVICES)
