"""meta.k8s.io/v1 Table output (what `kubectl get` prints): the kind's printer, row by row."""

from __future__ import annotations

from minikube_py.apiserver.kinds.base import Strategy
from minikube_py.apiserver.tables_format import Obj


def _row_object(obj: Obj, include_object: str) -> Obj | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {}}


def table(strategy: Strategy, objs: list[Obj], now: float, *,
          include_object: str = "Metadata", list_meta: Obj | None = None,
          with_columns: bool = True) -> Obj:
    printer = strategy.printer
    rows = []
    for obj in objs:
        row: Obj = {"cells": printer.row(obj, now)}
        if printer.conditions is not None:
            conds = printer.conditions(obj)
            if conds:
                row["conditions"] = conds
        ro = _row_object(strategy.served_object(obj), include_object)
        if ro is not None:
            row["object"] = ro
        rows.append(row)
    out: Obj = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta or {},
                "rows": rows}
    if with_columns:
        out["columnDefinitions"] = printer.columns
    return out
