"""Endpoints: the backends of a Service, as the endpoints controller writes them; a PUT
may create them."""

from __future__ import annotations

from minikube_py.api.resources import ENDPOINTS
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import (
    AGE_DESC,
    NAME_DESC,
    Row,
    age,
    column,
    list_with_more,
    name,
)

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



class EndpointsStrategy(Strategy):
    allow_create_on_update = True
    printer = Printer(ENDPOINTS_COLUMNS, endpoints_row)
    schema = "core.Endpoints"

    def default(self, obj: Obj) -> None:
        """SetDefaults_Endpoints: ports without a protocol are TCP."""
        for subset in obj.get("subsets") or []:
            if isinstance(subset, dict):
                for port in subset.get("ports") or []:
                    if isinstance(port, dict):
                        port.setdefault("protocol", "TCP")


STRATEGY = EndpointsStrategy(ENDPOINTS)
