"""ConfigMaps: data and binaryData keys and values."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.resources import CONFIGMAPS
from minikube_py.api.validation import (
    config_key_errors,
    forbidden,
    invalid_value,
    validate_string_map,
)
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, column, since


def validate_data_maps(obj: Mapping[str, Any], binary_field: str) -> list[Cause]:
    """ConfigMap data/binaryData and Secret data/stringData: config keys, string values;
    binary values base64 (the decoder's check, repeated for the in-process path)."""
    causes: list[Cause] = []
    text_field = "data" if binary_field != "data" else "stringData"
    text, binary = obj.get(text_field), obj.get(binary_field)
    causes += validate_string_map(text, text_field) + validate_string_map(binary, binary_field)
    if causes:
        return causes
    for fname, bag in ((text_field, text or {}), (binary_field, binary or {})):
        for key, value in bag.items():
            causes += [invalid_value(f"{fname}[{key}]", key, e) for e in config_key_errors(key)]
            if fname == binary_field and not _is_base64(value):
                causes.append(invalid_value(f"{fname}[{key}]", "<binary>",
                                            "must be base64-encoded"))
    if binary_field == "binaryData":
        causes += [invalid_value(f"data[{key}]", key, "duplicate of key present in binaryData")
                   for key in (text or {}) if key in (binary or {})]
    return causes


_WHEN_IMMUTABLE = "field is immutable when `immutable` is set"


def immutable_data_errors(new: Mapping[str, Any], old: Mapping[str, Any],
                          fields: tuple[str, ...]) -> list[Cause]:
    """An object stored with `immutable: true` keeps that flag and these fields."""
    if old.get("immutable") is not True:
        return []
    causes = [] if new.get("immutable") is True else [forbidden("immutable", _WHEN_IMMUTABLE)]
    return causes + [forbidden(f, _WHEN_IMMUTABLE) for f in fields if new.get(f) != old.get(f)]


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


CONFIGMAP_COLUMNS = [column("Name", NAME_DESC, fmt="name"),
                     column("Data", "Number of data entries", typ="integer"),
                     column("Age", AGE_DESC)]


def configmap_row(cm: Obj, now: float) -> Row:
    meta = cm.get("metadata") or {}
    n = len(cm.get("data") or {}) + len(cm.get("binaryData") or {})
    return [meta.get("name", ""), n, since(meta.get("creationTimestamp"), now)]



class ConfigMapStrategy(Strategy):
    printer = Printer(CONFIGMAP_COLUMNS, configmap_row)
    schema = "core.ConfigMap"

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_data_maps(obj, "binaryData")

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return immutable_data_errors(new, old, ("data", "binaryData")) + self.validate(new)


STRATEGY = ConfigMapStrategy(CONFIGMAPS)
