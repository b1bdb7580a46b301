"""Services: defaults, ClusterIP and NodePort allocation on create (given back on delete),
the immutable ClusterIP, and kubectl's columns."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.resources import SERVICES, Resource
from minikube_py.api.validation import (
    dns1035_label_errors,
    dns1123_label_errors,
    duplicate,
    forbidden,
    invalid_value,
    not_supported,
    qualified_name_errors,
    required,
    validate_labels,
)
from minikube_py.apiserver.ipalloc import ServiceAllocations
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.kinds.podspec import PROTOCOLS, port_errors
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.tables_format import (
    AGE_DESC,
    NAME_DESC,
    Row,
    age,
    column,
    format_labels,
    name,
)

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


# DefaultClientIPServiceAffinitySeconds: three hours.
_CLIENT_IP_AFFINITY_SECONDS = 10800


def _default_session_affinity(spec: Obj) -> None:
    affinity = spec.setdefault("sessionAffinity", "None")
    if affinity == "None":
        spec.pop("sessionAffinityConfig", None)
    elif affinity == "ClientIP":
        config = spec.get("sessionAffinityConfig")
        client_ip = config.get("clientIP") if isinstance(config, dict) else None
        if not isinstance(client_ip, dict) or client_ip.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {
                "clientIP": {"timeoutSeconds": _CLIENT_IP_AFFINITY_SECONDS}}


def _default_service(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    _default_session_affinity(spec)
    if spec["type"] != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("ipFamilies", ["IPv4"])
    if _externally_accessible(spec):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    for p in spec.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
            if p.get("targetPort") in (None, 0, ""):
                p["targetPort"] = p.get("port")


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
        causes += port_errors(p.get("port"), f"{f}.port")
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
            causes += port_errors(tp, f"{f}.targetPort")
        elif isinstance(tp, str) and dns1035_label_errors(tp) and not tp.isdigit():
            causes.append(invalid_value(f"{f}.targetPort", tp, "must contain only alpha-numeric "
                                        "characters (a-z, 0-9), and hyphens (-)"))
    return causes + _external_errors(spec)


# The traffic policy kube-proxy serves here: Local (node-local endpoints only, with a health
# check node port for the load balancer) is refused, not silently served as Cluster.
TRAFFIC_POLICIES = ("Cluster",)


def _external_errors(spec: Mapping[str, Any]) -> list[Cause]:
    """How a Service is reached from outside the cluster: external IPs, the load balancer's
    address, class and source ranges, and the traffic policy."""
    causes: list[Cause] = []
    stype = spec.get("type", "ClusterIP")
    for i, ip in enumerate(spec.get("externalIPs") or []):
        causes += [invalid_value(f"spec.externalIPs[{i}]", ip, e) for e in _external_ip_errors(ip)]
    lb_ip = spec.get("loadBalancerIP")
    if lb_ip:
        causes += [invalid_value("spec.loadBalancerIP", lb_ip, e) for e in _external_ip_errors(lb_ip)]
    ranges = spec.get("loadBalancerSourceRanges") or []
    if ranges and stype != "LoadBalancer":
        causes.append(forbidden("spec.loadBalancerSourceRanges",
                                "may only be used when `type` is 'LoadBalancer'"))
    for i, cidr in enumerate(ranges):
        try:
            net = ipaddress.ip_network(str(cidr).strip(), strict=False)
        except ValueError:
            causes.append(invalid_value(f"spec.loadBalancerSourceRanges[{i}]", cidr,
                                        "must be a list of IP ranges. For example, "
                                        "10.240.0.0/24,10.250.0.0/24 "))
            continue
        if net.version != 4:
            causes.append(invalid_value(f"spec.loadBalancerSourceRanges[{i}]", cidr,
                                        "only IPv4 ranges are supported (IPv4 single-stack)"))
    lb_class = spec.get("loadBalancerClass")
    if lb_class is not None:
        if stype != "LoadBalancer":
            causes.append(forbidden("spec.loadBalancerClass",
                                    "may only be used when `type` is 'LoadBalancer'"))
        causes += [invalid_value("spec.loadBalancerClass", lb_class, e)
                   for e in qualified_name_errors(str(lb_class))]
    policy = spec.get("externalTrafficPolicy")
    if policy not in (None, "", *TRAFFIC_POLICIES):
        causes.append(not_supported("spec.externalTrafficPolicy", policy, TRAFFIC_POLICIES))
    if spec.get("healthCheckNodePort"):
        causes.append(forbidden("spec.healthCheckNodePort", "may only be set when `type` is "
                                "'LoadBalancer' and `externalTrafficPolicy` is 'Local' (which "
                                "this cluster does not serve)"))
    return causes


def _external_ip_errors(value: Any) -> list[str]:
    try:
        ip = ipaddress.ip_address(str(value))
    except ValueError:
        return ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]
    if ip.version != 4:
        return ["only IPv4 addresses are supported (IPv4 single-stack)"]
    if ip.is_unspecified:
        return ["may not be unspecified (0.0.0.0)"]
    if ip.is_loopback:
        return ["may not be in the loopback range (127.0.0.0/8, ::1/128)"]
    if ip.is_link_local:
        return ["may not be in the link-local range (169.254.0.0/16, fe80::/10)"]
    if ip.is_multicast:
        return ["may not be in the multicast range (224.0.0.0/4, ff00::/8)"]
    return []


def _cluster_ips(old_spec: Mapping[str, Any], spec: Mapping[str, Any]) -> list[Any]:
    """The new clusterIPs as kube reads them (normalizeClusterIPs): a client that changed
    only the singular clusterIP means the list to follow it."""
    ips = list(spec.get("clusterIPs") or [])
    ip = spec.get("clusterIP") or ""
    if ip and ip != (old_spec.get("clusterIP") or "") and \
            ips == list(old_spec.get("clusterIPs") or []):
        return [ip]
    return ips or ([ip] if ip else [])


def _validate_service_update(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Cause]:
    """An allocated ClusterIP stays (validateUpgradeDowngradeClusterIPs); a Service that
    is or becomes an ExternalName may drop it."""
    ospec, nspec = old.get("spec") or {}, new.get("spec") or {}
    if "ExternalName" in (ospec.get("type"), nspec.get("type")):
        return []
    old_ips = list(ospec.get("clusterIPs") or []) or \
        ([ospec["clusterIP"]] if ospec.get("clusterIP") else [])
    new_ips = _cluster_ips(ospec, nspec)
    if old_ips == ["None"] and new_ips == ["None"]:
        return []
    for i, (was, now) in enumerate(zip(old_ips, new_ips, strict=False)):
        if was != now:
            return [invalid_value(f"spec.clusterIPs[{i}]", new_ips, "may not change once set")]
    # A load balancer's class names who serves it: it stays while the type does.
    if ospec.get("type") == nspec.get("type") == "LoadBalancer" and \
            ospec.get("loadBalancerClass") != nspec.get("loadBalancerClass"):
        return [invalid_value("spec.loadBalancerClass", nspec.get("loadBalancerClass"),
                              "may not change once set")]
    return []


def _externally_accessible(spec: Mapping[str, Any]) -> bool:
    stype = spec.get("type", "ClusterIP")
    return stype in ("NodePort", "LoadBalancer") or \
        (stype == "ClusterIP" and bool(spec.get("externalIPs")))


def drop_type_dependent_fields(spec: Obj, old_spec: Mapping[str, Any]) -> None:
    """As kube's service storage does on an update that changes the type (`kubectl patch
    -p '{"spec":{"type":"ClusterIP"}}'` of a load balancer): what the new type cannot have
    goes, unless the update itself set it (then validation says no). The node ports dropped
    stay allocated until the next start (no update releases them yet)."""
    node_types = ("NodePort", "LoadBalancer")
    ports, old_ports = spec.get("ports") or [], old_spec.get("ports") or []
    if old_spec.get("type") in node_types and spec.get("type") not in node_types and \
            [p.get("nodePort") for p in ports if isinstance(p, dict)] == \
            [p.get("nodePort") for p in old_ports if isinstance(p, dict)]:
        for p in ports:
            if isinstance(p, dict):
                p.pop("nodePort", None)
    if spec.get("type") != "LoadBalancer":
        spec.pop("allocateLoadBalancerNodePorts", None)
        if old_spec.get("type") == "LoadBalancer" and \
                spec.get("loadBalancerClass") == old_spec.get("loadBalancerClass"):
            spec.pop("loadBalancerClass", None)
    if _externally_accessible(old_spec) and not _externally_accessible(spec) and \
            spec.get("externalTrafficPolicy") == old_spec.get("externalTrafficPolicy"):
        spec.pop("externalTrafficPolicy", None)


SERVICE_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Type", "The type of the service"),
    column("Cluster-IP", "The cluster IP of the service"),
    column("External-IP", "The external IP of the service"),
    column("Port(s)", "The ports of the service"),
    column("Age", AGE_DESC),
    column("Selector", "The selector of the service", priority=1),
]


def service_row(svc: Obj, now: float) -> Row:
    spec = svc.get("spec") or {}
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
    elif stype == "LoadBalancer":
        # kubectl's getServiceExternalIP: the ingress addresses (sorted, once each), then
        # the external IPs; <pending> while there are neither.
        ing = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        shown = sorted({i.get("ip") or i.get("hostname") or "" for i in ing} - {""})
        ext = ",".join([*shown, *(spec.get("externalIPs") or [])]) or "<pending>"
    return [name(svc), stype, spec.get("clusterIP") or "<none>", ext or "<none>",
            ",".join(ports) or "<none>", age(svc, now), format_labels(spec.get("selector"))]



class ServiceStrategy(Strategy):
    fresh_status: Obj | None = {"loadBalancer": {}}
    printer = Printer(SERVICE_COLUMNS, service_row)
    schema = "core.Service"
    name_errors = staticmethod(dns1035_label_errors)

    def __init__(self, resource: Resource, allocations: ServiceAllocations) -> None:
        super().__init__(resource)
        self._allocations = allocations

    def default(self, obj: Obj) -> None:
        _default_service(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_service(obj)

    async def before_create(self, obj: Obj, opts: RequestOptions) -> None:
        if not opts.dry_run:
            await self._allocations.allocate(obj)

    def create_failed(self, obj: Obj) -> None:
        self._allocations.release(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        # An update that leaves the ClusterIP out keeps the allocated one.
        spec, old_spec = new.setdefault("spec", {}), old.get("spec") or {}
        for f in ("clusterIP", "clusterIPs"):
            if not spec.get(f) and old_spec.get(f):
                spec[f] = old_spec[f]
        drop_type_dependent_fields(spec, old_spec)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + _validate_service_update(old, new)

    def after_delete(self, obj: Obj) -> None:
        self._allocations.release(obj)


def strategy(allocations: ServiceAllocations) -> ServiceStrategy:
    return ServiceStrategy(SERVICES, allocations)
