"""Namespaces: the phase and the `kubernetes` finalizer the namespace controller removes
through the finalize subresource; a deleted namespace stays until that list is empty."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minikube_py.api.resources import NAMESPACES
from minikube_py.api.validation import dns1123_label_errors
from minikube_py.apiserver.kinds.base import (
    Obj,
    Printer,
    Strategy,
    field_at,
    field_text,
    keep_old_status,
)
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, column, since

NAMESPACE_COLUMNS = [column("Name", NAME_DESC, fmt="name"),
                     column("Status", "The status of the namespace"), column("Age", AGE_DESC)]


def namespace_row(ns: Obj, now: float) -> Row:
    meta = ns.get("metadata") or {}
    return [meta.get("name", ""), (ns.get("status") or {}).get("phase", ""),
            since(meta.get("creationTimestamp"), now)]



def _namespace_fields(o: Mapping[str, Any]) -> dict[str, str]:
    return {"status.phase": field_text(field_at(o, "status", "phase"))}


class NamespaceStrategy(Strategy):
    printer = Printer(NAMESPACE_COLUMNS, namespace_row)
    schema = "core.Namespace"
    field_labels = staticmethod(_namespace_fields)
    name_errors = staticmethod(dns1123_label_errors)

    def default(self, obj: Obj) -> None:
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        if name:
            # kube-apiserver labels every namespace with its own name (NamespaceDefaultLabelName).
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        obj.setdefault("spec", {})

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Active"}
        # The namespace controller's finalizer; only the finalize subresource removes it.
        spec = obj.setdefault("spec", {})
        if "kubernetes" not in (spec.get("finalizers") or []):
            spec["finalizers"] = [*(spec.get("finalizers") or []), "kubernetes"]

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        keep_old_status(new, old)
        new["spec"] = old.get("spec")

    def prepare_for_subresource_update(self, subresource: str, body: Obj, old: Obj) -> Obj:
        if subresource != "finalize":
            return super().prepare_for_subresource_update(subresource, body, old)
        new = dict(old)
        new["spec"] = {**(old.get("spec") or {}),
                       "finalizers": (body.get("spec") or {}).get("finalizers") or []}
        return new

    def finalizing(self, obj: Obj) -> bool:
        return bool((obj.get("spec") or {}).get("finalizers"))

    def prepare_for_delete(self, obj: Obj) -> None:
        obj.setdefault("status", {})["phase"] = "Terminating"


STRATEGY = NamespaceStrategy(NAMESPACES)
