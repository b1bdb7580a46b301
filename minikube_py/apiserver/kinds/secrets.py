"""Secrets: a type (Opaque by default), base64 data, and write-only stringData merged into it."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.resources import SECRETS
from minikube_py.api.validation import invalid_value
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy, field_text
from minikube_py.apiserver.kinds.configmaps import immutable_data_errors, validate_data_maps
from minikube_py.apiserver.tables_format import (
    AGE_DESC,
    NAME_DESC,
    Row,
    column,
    since,
)

SECRET_COLUMNS = [column("Name", NAME_DESC, fmt="name"),
                  column("Type", "The type of the secret"),
                  column("Data", "Number of data entries", typ="integer"),
                  column("Age", AGE_DESC)]


def secret_row(sec: Obj, now: float) -> Row:
    meta = sec.get("metadata") or {}
    return [meta.get("name", ""), sec.get("type", ""), len(sec.get("data") or {}),
            since(meta.get("creationTimestamp"), now)]



def merge_string_data(obj: Obj) -> None:
    """stringData is write-only: its entries replace data's, base64-encoded (the v1
    conversion), so readers of a Secret only ever look at data. A stringData of the wrong
    shape stays for validation to report."""
    text, data = obj.get("stringData"), obj.get("data")
    if not isinstance(text, dict) or not all(isinstance(v, str) for v in text.values()):
        return
    if data is not None and not isinstance(data, dict):
        return
    merged = dict(data or {})
    for key, value in text.items():
        merged[key] = base64.b64encode(value.encode("utf-8", "replace")).decode()
    del obj["stringData"]
    if merged:
        obj["data"] = merged


def _secret_fields(o: Mapping[str, Any]) -> dict[str, str]:
    return {"type": field_text(o.get("type"))}


class SecretStrategy(Strategy):
    printer = Printer(SECRET_COLUMNS, secret_row)
    schema = "core.Secret"
    field_labels = staticmethod(_secret_fields)

    def default(self, obj: Obj) -> None:
        obj.setdefault("type", "Opaque")
        merge_string_data(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_data_maps(obj, "data")

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = []
        if new.get("type") != old.get("type"):
            causes.append(invalid_value("type", new.get("type"), "field is immutable"))
        # stringData was merged into data by now, so data alone is compared.
        return causes + immutable_data_errors(new, old, ("data",)) + self.validate(new)


STRATEGY = SecretStrategy(SECRETS)
