"""EndpointSlices (discovery.k8s.io): what kube-proxy and DNS read a Service's backends from."""

from __future__ import annotations

from minikube_py.api.resources import ENDPOINTSLICES
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



class EndpointSliceStrategy(Strategy):
    printer = Printer(ENDPOINTSLICE_COLUMNS, endpointslice_row)
    schema = "discovery.EndpointSlice"

    def default(self, obj: Obj) -> None:
        """SetDefaults_EndpointPort: an unnamed port is named "", and TCP unless told."""
        for port in obj.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("name", "")
                port.setdefault("protocol", "TCP")


STRATEGY = EndpointSliceStrategy(ENDPOINTSLICES)
