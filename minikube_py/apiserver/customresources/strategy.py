"""The Strategy of one served version of a CustomResourceDefinition: its schema prunes,
defaults and validates the objects (kube's customresource strategy), its subresources and
printer columns come from the version."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from minikube_py.api import crschema, errors
from minikube_py.api.crdresources import resources_of
from minikube_py.api.errors import Cause
from minikube_py.api.fieldpath import type_table_from_schema
from minikube_py.api.resources import Resource
from minikube_py.apiserver.customresources.printer import custom_printer
from minikube_py.apiserver.discovery import version_priority
from minikube_py.apiserver.jsontypes import type_object
from minikube_py.apiserver.kinds.base import Obj, ScaleSpec, Strategy, field_at, keep_old_status
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.storage import dumps

_META_KEYS = ("apiVersion", "kind", "metadata")
# The head of a stored object (storage.encode writes kind, then apiVersion), alone or as the
# object of a watch line: where conversion None changes the version. {kind} is the
# strategy's own (a Scale answer keeps autoscaling/v1).
_HEAD_VERSION = rb'^(\{(?:"type":"[A-Z]+","object":\{)?"kind":"%s","apiVersion":")[^"\\]*"'


def _path(json_path: str) -> tuple[str, ...]:
    return tuple(p for p in json_path.split(".") if p)


def _content(obj: Obj, *, without_status: bool) -> Obj:
    skip = set(_META_KEYS) | ({"status"} if without_status else set())
    return {k: v for k, v in obj.items() if k not in skip}


class CustomResourceStrategy(Strategy):
    """One (CRD, served version): `crd_name` says which definition it came from."""

    generation = True
    strategic_merge = False
    # Set once the CRD is being deleted: its instances may go, no new one may come.
    terminating = False

    def __init__(self, resource: Resource, crd_name: str, schema: Obj,
                 columns: list[Obj], scale: Obj | None, deprecation: str | None,
                 storage_version: str) -> None:
        super().__init__(resource)
        self.crd_name = crd_name
        self.openapi = schema
        # Server-side apply merges lists and maps as the schema's list and map types say.
        self.merge_types = type_table_from_schema(schema)
        self.printer = custom_printer(columns)
        self.deprecation = deprecation
        self.storage_api_version = f"{resource.group}/{storage_version}"
        self._served_version = f'"{resource.api_version}"'.encode()
        self._head = re.compile(_HEAD_VERSION % re.escape(resource.kind.encode()))
        self._defaults = crschema.has_defaults(schema)
        self.scale = None
        if scale is not None:
            selector = _path(str(scale.get("labelSelectorPath") or ""))
            self.scale = ScaleSpec(
                (lambda obj: str(field_at(obj, *selector) or "")) if selector
                else (lambda obj: ""),
                spec_path=_path(str(scale.get("specReplicasPath") or ".spec.replicas")),
                status_path=_path(str(scale.get("statusReplicasPath") or
                                      ".status.replicas")))

    def prune(self, obj: Obj) -> tuple[str | None, list[str]]:
        """metadata typed as ObjectMeta, the rest pruned along the version's schema."""
        meta = obj.get("metadata")
        typed = type_object("meta.ObjectMeta", meta) if isinstance(meta, dict) else None
        if typed is not None and typed.error is not None:
            return typed.error, []
        unknown = [f"metadata.{u}" for u in typed.unknown] if typed is not None else []
        return None, unknown + crschema.prune(obj, self.openapi)

    def default(self, obj: Obj) -> None:
        crschema.apply_defaults(obj, self.openapi)

    async def before_create(self, obj: Obj, opts: RequestOptions) -> None:
        if self.terminating:
            raise errors.method_not_allowed("create not allowed while custom resource "
                                            "definition is terminating")

    def prepare_for_create(self, obj: Obj) -> None:
        obj["apiVersion"] = self.storage_api_version
        if self.has_status:
            obj.pop("status", None)
        obj["metadata"]["generation"] = 1

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        new["apiVersion"] = self.storage_api_version
        if self.has_status:
            keep_old_status(new, old)
        status_apart = self.has_status
        if _content(new, without_status=status_apart) != _content(old, without_status=status_apart):
            new["metadata"]["generation"] = int(old["metadata"].get("generation") or 1) + 1

    def _defaulted(self, raw: bytes) -> bytes:
        """Defaults applied on read, as kube's decoder does (a default the schema gained
        after the object was stored shows); the bytes kept when nothing changes."""
        value = json.loads(raw)
        obj = value.get("object") if "type" in value and "object" in value else value
        if not isinstance(obj, dict) or obj.get("kind") != self.resource.kind:
            return raw  # a Scale, a Status
        before = copy.deepcopy(obj)
        crschema.apply_defaults(obj, self.openapi)
        if obj == before:
            return raw
        return dumps(value).encode() + (b"\n" if raw.endswith(b"\n") else b"")

    def prepare_for_subresource_update(self, subresource: str, body: Obj, old: Obj) -> Obj:
        new = super().prepare_for_subresource_update(subresource, body, old)
        if "status" not in new:
            new.pop("status", None)
        return new

    def validate(self, obj: Obj) -> list[Cause]:
        return crschema.validate(obj, self.openapi)

    def served_json(self, raw: bytes) -> bytes:
        if self._defaults:
            raw = self._defaulted(raw)
        return self._head.sub(lambda m: m.group(1) + self._served_version[1:], raw, count=1)


def _deprecation(crd: Obj, version: Obj) -> str | None:
    """The version's deprecationWarning, or kube's default: the newest served version of
    equal or greater stability is recommended when there is one."""
    if not version.get("deprecated"):
        return None
    if version.get("deprecationWarning"):
        return str(version["deprecationWarning"])
    spec = crd.get("spec") or {}
    group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
    warning = f"{group}/{version.get('name')} {kind} is deprecated"
    mine = version_priority(str(version.get("name")))
    better = sorted((str(v.get("name")) for v in spec.get("versions") or []
                     if v.get("served") and not v.get("deprecated") and
                     version_priority(str(v.get("name")))[0] <= mine[0]),
                    key=version_priority)
    return f"{warning}; use {group}/{better[0]} {kind}" if better else warning


def strategies_of(crd: Obj) -> list[CustomResourceStrategy]:
    storage = next((str(v.get("name")) for v in (crd.get("spec") or {}).get("versions") or []
                    if v.get("storage")), "")
    out = []
    for resource, version in resources_of(crd):
        schema: Any = (version.get("schema") or {}).get("openAPIV3Schema") or {}
        out.append(CustomResourceStrategy(
            resource, crd["metadata"]["name"], schema,
            list(version.get("additionalPrinterColumns") or []),
            (version.get("subresources") or {}).get("scale"),
            _deprecation(crd, version), storage))
    return out
