"""Leases (coordination.k8s.io): node heartbeats and leader election; a PUT may create one."""

from __future__ import annotations

from minikube_py.api.resources import LEASES
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, column, since

LEASE_COLUMNS = [column("Name", NAME_DESC, fmt="name"),
                 column("Holder", "The holder of the lease"), column("Age", AGE_DESC)]


def lease_row(lease: Obj, now: float) -> Row:
    meta = lease.get("metadata") or {}
    return [meta.get("name", ""), (lease.get("spec") or {}).get("holderIdentity") or "",
            since(meta.get("creationTimestamp"), now)]



class LeaseStrategy(Strategy):
    allow_create_on_update = True
    printer = Printer(LEASE_COLUMNS, lease_row)
    schema = "coordination.Lease"


STRATEGY = LeaseStrategy(LEASES)
