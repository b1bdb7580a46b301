"""The OpenAPI documents kubectl reads (v3 per group-version, one v2 swagger in JSON or
protobuf): schemas and paths.

Built from what a KindRegistry serves and from custom resources' schemas registered here
(`register_custom_schema`), once, then cached with their hashes until something changes,
as kube's handlers do; a changed hash is how kubectl learns its cached copy is stale.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from minikube_py.api.resources import Resource
from minikube_py.apiserver.kinds.base import ALL_VERBS
from minikube_py.apiserver.kinds.registry import KindRegistry
from minikube_py.apiserver.openapi_schemas import (
    definition,
    definition_name,
    list_schema,
    referenced,
)
from minikube_py.apiserver.openapi_v2pb import encode_document
from minikube_py.apiserver.schema_descriptions import DESCRIPTIONS

Obj = dict[str, Any]
Ref = Callable[[str], str]
_INFO = {"title": "Kubernetes", "version": "v1.32.0"}
_PARAMS: dict[str, tuple[str, str]] = {
    "allowWatchBookmarks": ("boolean", "Ask for BOOKMARK events in a watch."),
    "continue": ("string", "The continue token of the previous page of a list."),
    "fieldSelector": ("string", "Only objects whose fields match this selector."),
    "labelSelector": ("string", "Only objects whose labels match this selector."),
    "limit": ("integer", "The most objects to return; the rest follows with continue."),
    "resourceVersion": ("string", "Which version of the collection to read or watch from."),
    "resourceVersionMatch": ("string", "How resourceVersion applies: Exact or NotOlderThan."),
    "sendInitialEvents": ("boolean", "Start a watch with the current objects as ADDED "
                                     "events."),
    "timeoutSeconds": ("integer", "End the list or watch after this many seconds."),
    "watch": ("boolean", "Watch for changes instead of listing."),
    "dryRun": ("string", "All: validate and admit the request without persisting it."),
    "fieldManager": ("string", "The name of the actor making the change."),
    "fieldValidation": ("string", "What to do with unknown or duplicate fields: Ignore, "
                                  "Warn (the default) or Strict."),
    "force": ("boolean", "Take over the fields other managers own (server-side apply)."),
    "gracePeriodSeconds": ("integer", "How long before the object is deleted, in seconds."),
    "ignoreStoreReadErrorWithClusterBreakingPotential": (
        "boolean", "Delete an object that cannot be read (it cannot be decrypted)."),
    "orphanDependents": ("boolean", "Deprecated: use propagationPolicy."),
    "propagationPolicy": ("string", "What happens to dependents: Orphan, Background or "
                                    "Foreground."),
    "pretty": ("string", "Indent the output."),
}
_LIST = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
         "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds",
         "watch")
_WRITE = ("dryRun", "fieldManager", "fieldValidation")
_DELETE = ("dryRun", "gracePeriodSeconds", "ignoreStoreReadErrorWithClusterBreakingPotential",
           "orphanDependents", "propagationPolicy")
_ACTION_PARAMS: dict[str, tuple[str, ...]] = {
    "get": (), "list": _LIST, "post": _WRITE, "put": _WRITE, "patch": (*_WRITE, "force"),
    "delete": _DELETE, "deletecollection": (*_DELETE, *_LIST),
}
_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
                "application/merge-patch+json", "application/strategic-merge-patch+json")
_OPERATION_VERB = {"get": "read", "list": "list", "post": "create", "put": "replace",
                   "patch": "patch", "delete": "delete", "deletecollection": "deleteCollection"}
_STATUS = definition_name("meta.Status")
_DELETE_OPTIONS = definition_name("meta.DeleteOptions")
_PATCH = f"{definition_name('meta.Status').rsplit('.', 1)[0]}.Patch"


def _v3_ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def _v2_ref(name: str) -> str:
    return f"#/definitions/{name}"


@dataclass(frozen=True, slots=True)
class _Kind:
    """A kind the documents describe: a served resource and its definition's name."""

    resource: Resource
    definition: str
    verbs: tuple[str, ...]
    # subresource -> the definition of its body and the body's GVK
    subresources: dict[str, tuple[str, Obj]]


@dataclass(frozen=True, slots=True)
class _Custom:
    resource: Resource
    schema: Obj


def crd_versions(crd: Obj) -> list[tuple[Resource, Obj]]:
    """The served versions of a CRD as (resource, openAPIV3Schema); a version without a
    schema is described as an object that keeps unknown fields."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    for v in spec.get("versions") or []:
        if not v.get("served", True):
            continue
        subs = tuple(s for s in ("status", "scale") if s in (v.get("subresources") or {}))
        resource = Resource(spec.get("group", ""), v.get("name", ""), names.get("plural", ""),
                            names.get("kind", ""), spec.get("scope") != "Cluster",
                            tuple(names.get("shortNames") or ()),
                            tuple(names.get("categories") or ()), subs)
        schema = (v.get("schema") or {}).get("openAPIV3Schema") or \
            {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        out.append((resource, schema))
    return out


def custom_definition_name(group: str, version: str, kind: str) -> str:
    """kube's name of a custom resource's definition: the group reversed (com.example.v1.Foo)."""
    return ".".join([*reversed(group.split(".")), version, kind])


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _gvk(group: str, version: str, kind: str) -> list[Obj]:
    return [{"group": group, "kind": kind, "version": version}]


def _camel_group(r: Resource) -> str:
    group = r.group.removesuffix(".k8s.io") if r.group else "core"
    return "".join(p[:1].upper() + p[1:] for p in group.split(".")) + r.version.capitalize()


class OpenAPIDocuments:
    """The v2 and v3 documents of what `kinds` serves, plus the custom resources registered
    here; built on first use, `invalidate()` after the registry changes."""

    def __init__(self, kinds: KindRegistry) -> None:
        self._kinds = kinds
        self._custom: dict[tuple[str, str, str], _Custom] = {}
        # The custom resources the registry serves (their strategies carry the CRD
        # version's schema), found again whenever the registry changes.
        self._served_custom: dict[tuple[str, str, str], _Custom] = {}
        self._generation = -1
        self._v3: dict[str, bytes] = {}
        self._v2: bytes | None = None
        self._v2_protobuf: bytes | None = None

    def _follow_registry(self) -> None:
        """The documents of the registry as it is now: a CRD served or gone since they
        were built drops them."""
        if self._generation == self._kinds.generation:
            return
        self._generation = self._kinds.generation
        self._served_custom = {}
        for r in self._kinds.resources():
            schema = getattr(self._kinds.strategy(r), "openapi", None)
            if isinstance(schema, dict):
                self._served_custom[(r.group, r.version, r.kind)] = _Custom(r, schema)
        self.invalidate()

    def _customs(self) -> dict[tuple[str, str, str], _Custom]:
        return {**self._served_custom, **self._custom}

    # --- custom resources ----------------------------------------------------------------

    def register_custom_schema(self, resource: Resource, schema: Obj) -> None:
        """Describe a custom resource by its CRD's openAPIV3Schema (for one version);
        registering it again replaces the schema."""
        key = (resource.group, resource.version, resource.kind)
        self._custom[key] = _Custom(resource, copy.deepcopy(schema))
        self.invalidate()

    def unregister_custom_schema(self, group: str, version: str, kind: str) -> None:
        if self._custom.pop((group, version, kind), None) is not None:
            self.invalidate()

    def register_crd(self, crd: Obj) -> None:
        """Describe every served version of a CustomResourceDefinition (apiextensions.k8s.io/v1)
        by its schema; versions it no longer serves are dropped."""
        self.unregister_crd(crd)
        for resource, schema in crd_versions(crd):
            self._custom[(resource.group, resource.version, resource.kind)] = \
                _Custom(resource, copy.deepcopy(schema))
        self.invalidate()

    def unregister_crd(self, crd: Obj) -> None:
        spec = crd.get("spec") or {}
        group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
        gone = [k for k in self._custom if k[0] == group and k[2] == kind]
        for k in gone:
            del self._custom[k]
        if gone:
            self.invalidate()

    def invalidate(self) -> None:
        self._v3 = {}
        self._v2 = None
        self._v2_protobuf = None

    # --- documents -----------------------------------------------------------------------

    def v3_root(self) -> Obj:
        self._follow_registry()
        return {"paths": {p: {"serverRelativeURL": f"/openapi/v3/{p}?hash={content_hash(b)}"}
                          for p, b in self._v3_all().items()}}

    def v3_document(self, gv_path: str) -> bytes | None:
        return self._v3_all().get(gv_path)

    def v2_document(self) -> bytes:
        self._follow_registry()
        if self._v2 is None:
            self._v2 = json.dumps(self._v2_spec()).encode()
        return self._v2

    def v2_protobuf(self) -> bytes:
        """The v2 document as client-go asks for it (gnostic's protobuf)."""
        if self._v2_protobuf is None:
            self._v2_protobuf = encode_document(json.loads(self.v2_document()))
        return self._v2_protobuf

    def v3_spec(self, gv_path: str) -> Obj | None:
        body = self.v3_document(gv_path)
        return json.loads(body) if body is not None else None

    def _v3_all(self) -> dict[str, bytes]:
        self._follow_registry()
        if not self._v3:
            by_gv: dict[str, list[_Kind]] = {}
            for k in self._described():
                by_gv.setdefault(_gv_path(k.resource.group, k.resource.version), []).append(k)
            self._v3 = {gv: json.dumps(self._v3_spec(kinds)).encode()
                        for gv, kinds in by_gv.items()}
        return self._v3

    def _described(self) -> list[_Kind]:
        out: list[_Kind] = []
        for r in self._kinds.resources():
            key = (r.group, r.version, r.kind)
            if key in self._customs():
                continue
            strategy = self._kinds.strategy(r)
            if strategy.schema is None:
                continue
            subs = {name: (definition_name(body.schema),
                           _gvk(body.group, body.version, body.kind)[0])
                    for name, body in self._kinds.subresource_kinds(strategy).items()}
            if "status" in r.subresources:
                subs["status"] = (definition_name(strategy.schema),
                                  _gvk(r.group, r.version, r.kind)[0])
            out.append(_Kind(r, definition_name(strategy.schema), tuple(strategy.verbs), subs))
        for c in self._customs().values():
            r = c.resource
            name = custom_definition_name(r.group, r.version, r.kind)
            subs = {s: (name, _gvk(r.group, r.version, r.kind)[0])
                    for s in r.subresources if s == "status"}
            if "scale" in r.subresources:
                subs["scale"] = (definition_name("autoscaling.Scale"),
                                 _gvk("autoscaling", "v1", "Scale")[0])
            out.append(_Kind(r, name, ALL_VERBS, subs))
        return out

    # --- schemas -------------------------------------------------------------------------

    def _schemas(self, kinds: list[_Kind], ref: Ref, *, v3: bool) -> Obj:
        """The definitions `kinds` need: each kind (with its GVKs) and its List, everything
        they reference, and the Status, DeleteOptions and Patch the paths name."""
        by_name = {definition_name(m): m for m in self._served_messages()}
        gvks: dict[str, list[Obj]] = {}
        for r in self._kinds.resources():
            s = self._kinds.strategy(r)
            if s.schema is not None and (r.group, r.version, r.kind) not in self._customs():
                gvks.setdefault(definition_name(s.schema), []).extend(
                    _gvk(r.group, r.version, r.kind))
            for body in self._kinds.subresource_kinds(s).values():
                entry = _gvk(body.group, body.version, body.kind)
                if entry[0] not in gvks.setdefault(definition_name(body.schema), []):
                    gvks[definition_name(body.schema)].extend(entry)
        roots = {"meta.Status", "meta.DeleteOptions", "meta.ListMeta", "meta.ObjectMeta"}
        out: Obj = {}
        customs = []
        for k in kinds:
            bodies = (k.definition, *(d for d, _ in k.subresources.values()))
            roots.update(by_name[n] for n in bodies if n in by_name)
            if (k.resource.group, k.resource.version, k.resource.kind) in self._customs():
                customs.append(k)
        for m in referenced(roots):
            name = definition_name(m)
            schema = definition(m, ref, wrap_refs=v3, kind=name in gvks)
            if name in gvks:
                schema["x-kubernetes-group-version-kind"] = gvks[name]
            out[name] = schema
        out[_PATCH] = {"type": "object", "description": "A patch of an object, in the form "
                                                       "its Content-Type names."}
        for k in kinds:
            r = k.resource
            if k in customs:
                out[k.definition] = self._custom_schema(k, ref, v3=v3)
            lst = list_schema(k.definition, r.list_kind, ref, wrap_refs=v3)
            lst["x-kubernetes-group-version-kind"] = _gvk(r.group, r.version, r.list_kind)
            out[f"{k.definition}List"] = lst
        return dict(sorted(out.items()))

    def _served_messages(self) -> set[str]:
        out: set[str] = set()
        for r in self._kinds.resources():
            s = self._kinds.strategy(r)
            if s.schema is not None:
                out.add(s.schema)
            out.update(b.schema for b in self._kinds.subresource_kinds(s).values())
        return out | {"meta.Status", "meta.DeleteOptions", "meta.ListMeta", "meta.ObjectMeta",
                      "autoscaling.Scale"}

    def _custom_schema(self, k: _Kind, ref: Ref, *, v3: bool) -> Obj:
        r = k.resource
        schema = copy.deepcopy(self._customs()[(r.group, r.version, r.kind)].schema)
        if not v3:
            schema = _swagger2(schema)
        props = schema.setdefault("properties", {})
        for name in ("apiVersion", "kind"):
            props.setdefault(name, {"type": "string", "description": DESCRIPTIONS[f"*.{name}"]})
        meta = {"$ref": ref(definition_name("meta.ObjectMeta"))}
        props["metadata"] = ({"allOf": [meta]} if v3 else meta) | \
            {"description": DESCRIPTIONS["*.metadata"]}
        schema.setdefault("type", "object")
        schema["x-kubernetes-group-version-kind"] = _gvk(r.group, r.version, r.kind)
        return schema

    # --- paths ---------------------------------------------------------------------------

    def _v3_spec(self, kinds: list[_Kind]) -> Obj:
        paths: Obj = {}
        for k in kinds:
            paths.update(_kind_paths(k, _v3_ref, v3=True))
        return {"openapi": "3.0.0", "info": _INFO, "paths": paths,
                "components": {"schemas": self._schemas(kinds, _v3_ref, v3=True)}}

    def _v2_spec(self) -> Obj:
        kinds = self._described()
        paths: Obj = {}
        for k in kinds:
            paths.update(_kind_paths(k, _v2_ref, v3=False))
        return {"swagger": "2.0", "info": _INFO, "paths": paths,
                "definitions": self._schemas(kinds, _v2_ref, v3=False)}


def content_hash(body: bytes) -> str:
    """kube's hash of a document (its ETag and the `hash` of its URL)."""
    return hashlib.sha512(body).hexdigest().upper()


_NOT_SWAGGER2 = frozenset({"nullable", "anyOf", "oneOf", "not", "allOf"})


def _swagger2(schema: Any) -> Any:
    """A CRD schema as swagger 2.0 can say it (kube drops what it cannot, as here)."""
    if isinstance(schema, list):
        return [_swagger2(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    return {k: _swagger2(v) for k, v in schema.items() if k not in _NOT_SWAGGER2}


def _parameter(name: str, *, v3: bool, where: str = "query") -> Obj:
    type_, description = _PARAMS.get(name, ("string", f"The {name} of the object."))
    p: Obj = {"name": name, "in": where, "description": description}
    if where == "path":
        p["required"] = True
    typed = {"type": type_, "uniqueItems": True}
    if v3:
        p["schema"] = typed
    else:
        p.update(typed)
    return p


def _operation(k: _Kind, action: str, ref: Ref, *, v3: bool, subresource: str = "") -> Obj:
    """One operation: `action` is kube's x-kubernetes-action, or list_all for the list
    across namespaces; a subresource's operations take and answer its body's kind."""
    r = k.resource
    body, gvk = k.subresources[subresource] if subresource else \
        (k.definition, _gvk(r.group, r.version, r.kind)[0])
    namespaced = "Namespaced" if r.namespaced and action != "list_all" else ""
    kind = r.kind + subresource.capitalize()
    verb = "list" if action == "list_all" else action
    suffix = "ForAllNamespaces" if action == "list_all" else ""
    op_id = f"{_OPERATION_VERB[verb]}{_camel_group(r)}{namespaced}{kind}{suffix}"
    response = {"list": f"{k.definition}List", "delete": _STATUS,
                "deletecollection": _STATUS}.get(verb, body)
    params = [_parameter(n, v3=v3) for n in _ACTION_PARAMS[verb]]
    op: Obj = {"operationId": op_id, "description": f"{_OPERATION_VERB[verb]} {kind}",
               "tags": [_camel_group(r)], "parameters": params,
               "x-kubernetes-action": verb, "x-kubernetes-group-version-kind": gvk}
    codes = {"post": ("200", "201", "202"), "delete": ("200", "202")}.get(verb, ("200",))
    if v3:
        op["responses"] = {c: {"description": "OK", "content": {
            "application/json": {"schema": {"$ref": ref(response)}}}} for c in codes}
    else:
        op["produces"] = ["application/json", "application/yaml",
                          "application/vnd.kubernetes.protobuf"]
        op["consumes"] = ["*/*"]
        op["schemes"] = ["https"]
        op["responses"] = {c: {"description": "OK", "schema": {"$ref": ref(response)}}
                           for c in codes}
    request = {"post": body, "put": body, "patch": _PATCH,
               "delete": _DELETE_OPTIONS, "deletecollection": _DELETE_OPTIONS}.get(verb)
    if request is not None:
        if v3:
            types = _PATCH_TYPES if verb == "patch" else ("*/*",)
            op["requestBody"] = {"required": verb in ("post", "put", "patch"), "content": {
                t: {"schema": {"$ref": ref(request)}} for t in types}}
        else:
            params.insert(0, {"name": "body", "in": "body", "required": verb in ("post", "put",
                                                                                 "patch"),
                              "schema": {"$ref": ref(request)}})
            if verb == "patch":
                op["consumes"] = list(_PATCH_TYPES)
    return op


def _declared_field_validation(k: _Kind, ref: Ref, *, v3: bool) -> Obj:
    """A create-only kind's (the review APIs') PATCH, which the server refuses with a 405.

    kubectl asks whether a kind supports fieldValidation by its PATCH operation's parameters;
    without one, it validates on the client, after listing CustomResourceDefinitions to see
    whether the kind is custom, and until apiextensions.k8s.io is served that list fails, so
    `kubectl create -f` of a SelfSubjectAccessReview would need --validate=false. Declaring
    the parameter has kubectl leave validation to the server's Strict decoding instead, as
    it does for every other kind."""
    op = _operation(k, "patch", ref, v3=v3)
    op["description"] = f"not served ({k.resource.kind} is create-only): declares the " \
                        "fieldValidation the server applies to its creates"
    return op


def _kind_paths(k: _Kind, ref: Ref, *, v3: bool) -> Obj:
    """get/list/create/update/patch/delete of a kind, its subresources, and its list across
    namespaces, as kube's installer lays them out."""
    r = k.resource
    base = "/" + _gv_path(r.group, r.version)
    scope = f"{base}/namespaces/{{namespace}}" if r.namespaced else base
    collection, item = f"{scope}/{r.plural}", f"{scope}/{r.plural}/{{name}}"
    common = [_parameter("namespace", v3=v3, where="path")] if r.namespaced else []
    pretty = _parameter("pretty", v3=v3)
    verbs = set(k.verbs)
    paths: Obj = {}

    def ops(pairs: list[tuple[str, str, str]], sub: str = "") -> Obj:
        return {method: _operation(k, action, ref, v3=v3, subresource=sub)
                for method, action, verb in pairs if verb in verbs}

    coll = ops([("get", "list", "list"), ("post", "post", "create"),
                ("delete", "deletecollection", "deletecollection")])
    if "create" in verbs and "patch" not in verbs:
        coll["patch"] = _declared_field_validation(k, ref, v3=v3)
    if coll:
        paths[collection] = {**coll, "parameters": [*common, pretty]}
    one = ops([("get", "get", "get"), ("put", "put", "update"), ("patch", "patch", "patch"),
               ("delete", "delete", "delete")])
    if one:
        name = _parameter("name", v3=v3, where="path")
        paths[item] = {**one, "parameters": [name, *common, pretty]}
    for sub in k.subresources:
        if sub not in ("status", "scale"):
            continue
        sub_ops = ops([("get", "get", "get"), ("put", "put", "update"),
                       ("patch", "patch", "patch")], sub)
        if sub_ops:
            name = _parameter("name", v3=v3, where="path")
            paths[f"{item}/{sub}"] = {**sub_ops, "parameters": [name, *common, pretty]}
    if r.namespaced and "list" in verbs:
        paths[f"{base}/{r.plural}"] = {"get": _operation(k, "list_all", ref, v3=v3),
                                       "parameters": [pretty]}
    return paths

