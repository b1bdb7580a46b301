"""Which pods back a Service and on which ports, pure: the content of its Endpoints and
EndpointSlices, computed from the Service and the pods in its namespace."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minikube_py.api.podutil import is_ready, is_terminal

Obj = dict[str, Any]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
SLICE_CONTROLLER = "endpointslice-controller.k8s.io"
HEADLESS_LABEL = "service.kubernetes.io/headless"
MAX_ENDPOINTS_PER_SLICE = 100


def service_selects(service: Obj, pod: Obj) -> bool:
    selector = (service.get("spec") or {}).get("selector") or {}
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def services_selecting(services: Iterable[Obj], pod: Obj, old: Obj | None = None) -> list[Obj]:
    """Services in the pod's namespace that select it now, or did before this change."""
    ns = (pod.get("metadata") or {}).get("namespace")
    return [s for s in services if (s.get("metadata") or {}).get("namespace") == ns and (
        service_selects(s, pod) or (old is not None and service_selects(s, old)))]


def has_selector(service: Obj) -> bool:
    return bool((service.get("spec") or {}).get("selector"))


def is_headless(service: Obj) -> bool:
    return (service.get("spec") or {}).get("clusterIP") == "None"


def resolve_target_port(service_port: Obj, pod: Obj) -> int | None:
    """The pod port a service port sends to: a number as is, a name looked up among the
    pod's container ports of the same protocol (FindPort); None when it has none."""
    target = service_port.get("targetPort")
    if target is None or target == "" or target == 0:
        return int(service_port["port"])
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def pod_ip(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("podIP") or "")


def include_in_endpoints(pod: Obj, publish_not_ready: bool) -> bool:
    """ShouldPodBeInEndpoints: has an IP, not finished, terminating only if not-ready
    addresses are published anyway."""
    if not pod_ip(pod) or is_terminal(pod):
        return False
    return publish_not_ready or not (pod.get("metadata") or {}).get("deletionTimestamp")


def endpoint_hostname(service: Obj, pod: Obj) -> str:
    """The pod's hostname, when its subdomain is this service (in its namespace): the name
    DNS then gives it under the service (`db-1.db.shop.svc.cluster.local`), as kube's
    endpoint controllers do."""
    spec = pod.get("spec") or {}
    hostname = spec.get("hostname") or ""
    same_namespace = ((pod.get("metadata") or {}).get("namespace")
                      == (service.get("metadata") or {}).get("namespace"))
    if hostname and same_namespace and spec.get("subdomain") == service["metadata"]["name"]:
        return str(hostname)
    return ""


def _target_ref(pod: Obj) -> Obj:
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta["name"],
            "uid": meta.get("uid", "")}


def _selected(service: Obj, pods: Iterable[Obj]) -> list[Obj]:
    ns = (service.get("metadata") or {}).get("namespace")
    chosen = [p for p in pods if (p.get("metadata") or {}).get("namespace") == ns
              and service_selects(service, p)]
    return sorted(chosen, key=lambda p: (pod_ip(p), p["metadata"]["name"]))


def _ports_for(service: Obj, pod: Obj) -> list[Obj]:
    out = []
    for sp in (service.get("spec") or {}).get("ports") or []:
        port = resolve_target_port(sp, pod)
        if port is None:
            continue
        entry: Obj = {"name": sp.get("name") or "", "port": port,
                      "protocol": sp.get("protocol") or "TCP"}
        if sp.get("appProtocol"):
            entry["appProtocol"] = sp["appProtocol"]
        out.append(entry)
    return out


# --- core/v1 Endpoints -------------------------------------------------------------------


def endpoints_subsets(service: Obj, pods: Iterable[Obj]) -> list[Obj]:
    """Subsets grouped by port set, addresses sorted (the repacked form kube stores)."""
    spec = service.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[tuple[tuple[str, int, str], ...], tuple[list[Obj], list[Obj], list[Obj]]] = {}
    for pod in _selected(service, pods):
        if not include_in_endpoints(pod, publish):
            continue
        address: Obj = {"ip": pod_ip(pod)}
        hostname = endpoint_hostname(service, pod)
        if hostname:
            address["hostname"] = hostname
        address["targetRef"] = _target_ref(pod)
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            address["nodeName"] = node
        ports = _ports_for(service, pod)
        if not ports and not (is_headless(service) and not spec.get("ports")):
            continue
        key = tuple((p["name"], p["port"], p["protocol"]) for p in ports)
        ready, not_ready, _ports = groups.setdefault(key, ([], [], ports))
        (ready if publish or is_ready(pod) else not_ready).append(address)
    subsets = []
    for ready, not_ready, ports in groups.values():
        subset: Obj = {}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        if ports:
            subset["ports"] = [_endpoints_port(p) for p in ports]
        subsets.append(subset)
    return subsets


def _endpoints_port(port: Obj) -> Obj:
    out = {k: v for k, v in port.items() if k != "name"}
    if port.get("name"):
        out["name"] = port["name"]
    return out


def desired_endpoints(service: Obj, pods: Iterable[Obj]) -> Obj:
    meta = service["metadata"]
    labels = dict(meta.get("labels") or {})
    if is_headless(service):
        labels[HEADLESS_LABEL] = ""
    body: Obj = {"apiVersion": "v1", "kind": "Endpoints",
                 "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
                 "subsets": endpoints_subsets(service, pods)}
    if labels:
        body["metadata"]["labels"] = labels
    return body


# --- discovery.k8s.io/v1 EndpointSlices --------------------------------------------------


def slice_endpoint(service: Obj, pod: Obj) -> Obj:
    ready = is_ready(pod)
    terminating = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
    endpoint: Obj = {
        "addresses": [pod_ip(pod)],
        "conditions": {"ready": ready and not terminating, "serving": ready,
                       "terminating": terminating},
    }
    hostname = endpoint_hostname(service, pod)
    if hostname:
        endpoint["hostname"] = hostname
    endpoint["targetRef"] = _target_ref(pod)
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        endpoint["nodeName"] = node
    return endpoint


def desired_slices(service: Obj, pods: Iterable[Obj]) -> list[tuple[list[Obj], list[Obj]]]:
    """(ports, endpoints) of each slice the service needs: one group per distinct port
    set, at most MAX_ENDPOINTS_PER_SLICE endpoints each. Terminating pods stay in, marked
    (kube's EndpointSlice terminating condition)."""
    spec = service.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[tuple[tuple[str, int, str], ...], tuple[list[Obj], list[Obj]]] = {}
    for pod in _selected(service, pods):
        if not pod_ip(pod) or is_terminal(pod):
            continue
        ports = _ports_for(service, pod)
        if spec.get("ports") and not ports:
            continue
        endpoint = slice_endpoint(service, pod)
        if publish:
            endpoint["conditions"]["ready"] = True
        key = tuple((p["name"], p["port"], p["protocol"]) for p in ports)
        groups.setdefault(key, (ports, []))[1].append(endpoint)
    if not groups:
        # A placeholder slice still says "this service has no endpoints" (as kube keeps).
        return [([], [])]
    out = []
    for ports, endpoints in groups.values():
        for i in range(0, len(endpoints), MAX_ENDPOINTS_PER_SLICE):
            out.append((ports, endpoints[i:i + MAX_ENDPOINTS_PER_SLICE]))
    return out


def slice_labels(service: Obj) -> dict[str, str]:
    labels = {k: v for k, v in ((service.get("metadata") or {}).get("labels") or {}).items()
              if k not in (SERVICE_NAME_LABEL, MANAGED_BY_LABEL)}
    labels[SERVICE_NAME_LABEL] = service["metadata"]["name"]
    labels[MANAGED_BY_LABEL] = SLICE_CONTROLLER
    if is_headless(service):
        labels[HEADLESS_LABEL] = ""
    return labels


def slice_body(service: Obj, ports: list[Obj], endpoints: list[Obj]) -> Obj:
    """A slice's managed content (metadata name and resourceVersion are added by the caller)."""
    meta = service["metadata"]
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {
            "namespace": meta["namespace"], "labels": slice_labels(service),
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": meta["name"],
                                 "uid": meta.get("uid", ""), "controller": True,
                                 "blockOwnerDeletion": True}],
        },
        "addressType": "IPv4", "ports": ports, "endpoints": endpoints,
    }


def same_slice_content(have: Obj, want: Obj) -> bool:
    hm, wm = have.get("metadata") or {}, want.get("metadata") or {}
    return bool((have.get("endpoints") or []) == want["endpoints"] and
                (have.get("ports") or []) == want["ports"] and
                have.get("addressType") == want["addressType"] and
                (hm.get("labels") or {}) == wm["labels"] and
                (hm.get("ownerReferences") or []) == wm["ownerReferences"])
