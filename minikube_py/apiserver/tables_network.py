"""Table rows for services and the objects that list their backends (endpoints, slices)."""

from __future__ import annotations

from minikube_py.apiserver.tables_format import (
    AGE_DESC,
    NAME_DESC,
    Obj,
    Row,
    age,
    column,
    format_labels,
    list_with_more,
    name,
)

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
    elif stype == "LoadBalancer" and not ext:
        ing = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        ext = ",".join(i.get("ip") or i.get("hostname") or "" for i in ing) or "<pending>"
    return [name(svc), stype, spec.get("clusterIP") or "<none>", ext or "<none>",
            ",".join(ports) or "<none>", age(svc, now), format_labels(spec.get("selector"))]


ENDPOINTS_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Endpoints", "The set of all endpoints is the union of all subsets."),
    column("Age", AGE_DESC),
]


def format_endpoints(ep: Obj) -> str:
    """formatEndpoints: ip:port per (address, port), ready addresses only, the first three."""
    subsets = ep.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    total = 0
    for ss in subsets:
        ips = [str(a.get("ip", "")) for a in ss.get("addresses") or []]
        # A headless service may have no ports: then the bare IPs are listed.
        for port in ss.get("ports") or [None]:
            total += len(ips)
            for ip in ips:
                if port is None:
                    shown.append(ip)
                else:
                    host = f"[{ip}]" if ":" in ip else ip
                    shown.append(f"{host}:{port.get('port', 0)}")
    return list_with_more(shown, total, empty="")


def endpoints_row(ep: Obj, now: float) -> Row:
    return [name(ep), format_endpoints(ep), age(ep, now)]


ENDPOINTSLICE_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("AddressType", "addressType specifies the type of address carried by this "
                          "EndpointSlice."),
    column("Ports", "ports specifies the list of network ports exposed by each endpoint in "
                    "this slice."),
    column("Endpoints", "endpoints is a list of unique endpoints in this slice."),
    column("Age", AGE_DESC),
]


def _slice_port(port: Obj) -> str:
    if port.get("port") is not None:
        return str(port["port"])
    if port.get("name") is not None:
        return str(port["name"])
    return "*"


def endpointslice_row(es: Obj, now: float) -> Row:
    ports = [_slice_port(p) for p in es.get("ports") or []]
    addrs = [str(a) for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    return [name(es), es.get("addressType", ""), list_with_more(ports, len(ports)),
            list_with_more(addrs, len(addrs)), age(es, now)]
