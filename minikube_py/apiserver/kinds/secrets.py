"""Secrets: a type (Opaque by default), base64 data and plain stringData."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.resources import SECRETS
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy, field_text
from minikube_py.apiserver.kinds.configmaps import validate_data_maps
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, column, since

SECRET_COLUMNS = [column("Name", NAME_DESC, fmt="name"),
                  column("Type", "The type of the secret"),
                  column("Data", "Number of data entries", typ="integer"),
                  column("Age", AGE_DESC)]


def secret_row(sec: Obj, now: float) -> Row:
    meta = sec.get("metadata") or {}
    return [meta.get("name", ""), sec.get("type", ""), len(sec.get("data") or {}),
            since(meta.get("creationTimestamp"), now)]



def _secret_fields(o: Mapping[str, Any]) -> dict[str, str]:
    return {"type": field_text(o.get("type"))}


class SecretStrategy(Strategy):
    printer = Printer(SECRET_COLUMNS, secret_row)
    schema = "core.Secret"
    field_labels = staticmethod(_secret_fields)

    def default(self, obj: Obj) -> None:
        obj.setdefault("type", "Opaque")

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_data_maps(obj, "data")


STRATEGY = SecretStrategy(SECRETS)
