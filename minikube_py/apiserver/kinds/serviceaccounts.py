"""ServiceAccounts."""

from __future__ import annotations

from minikube_py.api.resources import SERVICEACCOUNTS
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, column, since

SERVICEACCOUNT_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Secrets", "Secrets is a list of the secrets in the same namespace that pods running "
                      "using this ServiceAccount are allowed to use."),
    column("Age", AGE_DESC),
]


def serviceaccount_row(sa: Obj, now: float) -> Row:
    meta = sa.get("metadata") or {}
    return [meta.get("name", ""), len(sa.get("secrets") or []),
            since(meta.get("creationTimestamp"), now)]



class ServiceAccountStrategy(Strategy):
    printer = Printer(SERVICEACCOUNT_COLUMNS, serviceaccount_row)
    schema = "core.ServiceAccount"


STRATEGY = ServiceAccountStrategy(SERVICEACCOUNTS)
