"""What a kind's strategy says about its objects: kube's RESTCreateStrategy,
RESTUpdateStrategy, RESTDeleteStrategy, TableConvertor and scale subresource, in one place.

Every built-in kind has one module under `kinds/` holding its `Strategy` (and everything else
only that kind needs). The request path asks the strategy; it never asks which kind it has.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from minikube_py.api import errors
from minikube_py.api.errors import Cause
from minikube_py.api.fieldpath import BUILTIN_TYPES, TypeTable
from minikube_py.api.resources import Resource
from minikube_py.api.selectors import ObjectFilter
from minikube_py.api.validation import dns1123_subdomain_errors
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, column, since

if TYPE_CHECKING:
    from minikube_py.apiserver.options import RequestOptions
    from minikube_py.apiserver.rest.context import RestContext

Obj = dict[str, Any]
# What a stored kind serves (discovery lists the verbs a kind has).
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
FieldLabels = Callable[[Mapping[str, Any]], dict[str, str]]
# POST handlers of a kind's own subresources (pods/binding): (rest, name, namespace, body,
# options) -> the response object.
PostHandler = Callable[["RestContext", str, "str | None", Obj, "RequestOptions"],
                       Awaitable[Obj]]


@dataclass(frozen=True, slots=True)
class Printer:
    """kubectl's columns for a kind (meta.k8s.io Table): definitions and one row per object."""

    columns: list[Obj]
    row: Callable[[Obj, float], Row]
    conditions: Callable[[Obj], list[Obj] | None] | None = None


def default_row(obj: Obj, now: float) -> Row:
    meta = obj.get("metadata") or {}
    return [meta.get("name", ""), since(meta.get("creationTimestamp"), now)]


DEFAULT_PRINTER = Printer([column("Name", NAME_DESC, fmt="name"), column("Age", AGE_DESC)],
                          default_row)


@dataclass(frozen=True, slots=True)
class ScaleSpec:
    """How `*/scale` shows a kind as an autoscaling/v1 Scale: replicas live in
    spec.replicas and status.replicas; the selector text is the kind's own business."""

    selector: Callable[[Obj], str]
    spec_path: tuple[str, ...] = ("spec", "replicas")
    status_path: tuple[str, ...] = ("status", "replicas")


@dataclass(frozen=True, slots=True)
class BodyKind:
    """The kind of a subresource's body (pods/binding takes a v1 Binding), for discovery and
    for decoding it: `schema` names its message in the schema tables."""

    group: str
    version: str
    kind: str
    schema: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def spec_changed(old: Obj, new: Obj) -> bool:
    """Whether an update changes anything but metadata and status (bumps generation)."""
    keys = (set(old) | set(new)) - {"metadata", "status", "apiVersion", "kind"}
    return any(old.get(k) != new.get(k) for k in keys)


class ReadSource(Protocol):
    """Where a kind that is not stored but read (the resource metrics) gets its objects:
    list items without kind and apiVersion, as a typed list serializes them."""

    async def read_list(self, resource: Resource, namespace: str | None,
                   flt: ObjectFilter) -> list[Obj]: ...

    async def read_one(self, resource: Resource, namespace: str | None, name: str) -> Obj: ...


class Strategy:
    """The defaults every hook has; a kind overrides what differs for it."""

    resource: Resource
    # metadata.generation starts at 1 and grows with every spec change (workloads).
    generation: bool = False
    # The status an object is created with, whatever the client sent (None: keep it).
    fresh_status: Obj | None = None
    # A PUT of a missing object creates it (endpoints, events, leases).
    allow_create_on_update: bool = False
    # An immediate delete answers with the object instead of a Success Status (pods).
    return_deleted_object: bool = False
    # Objects expire this many seconds after they are written (events).
    ttl_seconds: int = 0
    name_errors: Callable[[str], list[str]] = staticmethod(dns1123_subdomain_errors)
    printer: Printer = DEFAULT_PRINTER
    scale: ScaleSpec | None = None
    # The message of the schema tables (protobuf_schema) that types this kind.
    schema: str | None = None
    # Field selectors beyond metadata.name and metadata.namespace (kube's GetAttrs).
    field_labels: FieldLabels | None = None
    post_subresources: Mapping[str, PostHandler] = {}
    subresource_kinds: Mapping[str, BodyKind] = {}
    # A kind that is never stored (the review APIs) serves only `create`, which
    # `answer_create` answers instead of writing anything.
    stored: bool = True
    verbs: tuple[str, ...] = ALL_VERBS
    # A kind that is not stored but whose get and list are answered from elsewhere.
    reads: ReadSource | None = None
    # Strategic merge patches need the Go types' patch strategies (custom resources: 415).
    strategic_merge: bool = True
    # The Warning every request of a deprecated version gets (custom resources).
    deprecation: str | None = None
    # How server-side apply merges the kind's lists and maps and records their fields:
    # kube's list types of the built-in kinds; a custom resource's strategy gives the
    # table of its schema (fieldpath.type_table_from_schema).
    merge_types: TypeTable = BUILTIN_TYPES

    def __init__(self, resource: Resource) -> None:
        self.resource = resource

    @property
    def has_status(self) -> bool:
        return "status" in self.resource.subresources

    # --- create -----------------------------------------------------------------------

    def default(self, obj: Obj) -> None:
        """Fill what a client may leave out (SetDefaults_*), on create and every update."""

    def prepare_for_create(self, obj: Obj) -> None:
        """Reset or seed what the server owns on create."""
        if self.fresh_status is not None:
            obj["status"] = copy.deepcopy(self.fresh_status)
        if self.generation:
            obj["metadata"]["generation"] = 1

    def validate(self, obj: Obj) -> list[Cause]:
        """The kind's own rules for a new object (metadata is validated by the caller)."""
        return []

    async def before_create(self, obj: Obj, opts: RequestOptions) -> None:
        """Claim what the object needs from elsewhere (a Service's ClusterIP)."""

    def create_failed(self, obj: Obj) -> None:
        """Give back what before_create claimed, when the write did not happen."""

    async def answer_create(self, obj: Obj, namespace: str | None,
                            opts: RequestOptions) -> Obj:
        """A kind that is not stored: the answer to a create of the typed body."""
        raise errors.method_not_allowed(f"the server does not allow this method on the "
                                        f"requested resource ({self.resource.plural})")

    # --- update -----------------------------------------------------------------------

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """A main-resource PUT/PATCH: what the client may not change here stays as stored."""
        if self.has_status:
            keep_old_status(new, old)
        if self.generation and spec_changed(old, new):
            new["metadata"]["generation"] = int(old["metadata"].get("generation") or 1) + 1

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new)

    def validate_subresource_update(self, subresource: str, new: Obj, old: Obj) -> list[Cause]:
        """The rules for a write through `subresource` (the main rules by default)."""
        return self.validate_update(new, old)

    def prepare_for_subresource_update(self, subresource: str, body: Obj, old: Obj) -> Obj:
        """The object a PUT/PATCH of `subresource` stores: for status, the stored object
        with the body's status (kube's StatusStrategy)."""
        if subresource == "status" and self.has_status:
            new = dict(old)
            new["status"] = body.get("status", old.get("status"))
            new["metadata"] = dict(old["metadata"])
            return new
        raise errors.not_found(f"{self.resource.plural}/{subresource}", "",
                               self.resource.group)

    def prune(self, obj: Obj) -> tuple[str | None, list[str]]:
        """For a kind without a schema table (custom resources), its own typed pass: (a type
        error for the 400, or None; the unknown fields it dropped)."""
        return None, []

    def served_object(self, obj: Obj) -> Obj:
        """A stored object in the shape of the version this strategy serves (the base a
        patch applies to); as stored unless the versions' shapes differ."""
        return obj

    def served_json(self, raw: bytes) -> bytes:
        """An object's JSON (or a watch line) as stored, in the version this strategy serves
        (custom resources are stored in their CRD's storage version)."""
        return raw

    def pod_template(self, obj: Obj) -> Obj | None:
        """The pod template the object carries (metadata and spec), which Pod Security
        admission checks; None for a kind that carries none (pods are checked as pods)."""
        return None

    # --- delete -----------------------------------------------------------------------

    def grace_period(self, obj: Obj, requested: int | None) -> int:
        """Seconds the object stays, marked, before it goes (only pods on a node wait)."""
        return 0

    def finalizing(self, obj: Obj) -> bool:
        """Whether something beyond metadata.finalizers still holds a deleted object."""
        return False

    def prepare_for_delete(self, obj: Obj) -> None:
        """Mark a graceful deletion in the object itself (a Namespace turns Terminating)."""

    def after_delete(self, obj: Obj) -> None:
        """Give back what the object held, once it is gone."""


def created_status() -> Obj:
    """What a POST to a subresource that creates nothing answers (metav1.Status Success,
    its code filled in as 201 by the create handler)."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "code": 201}


def keep_old_status(new: Obj, old: Obj) -> None:
    status = old.get("status")
    if status is None:
        new.pop("status", None)
    else:
        new["status"] = status


def field_text(value: Any) -> str:
    """A field's value as field selectors compare it (booleans as Go prints them)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_at(obj: Mapping[str, Any], *path: str) -> Any:
    """obj[path[0]][path[1]]..., or None where a step is missing or not an object."""
    cur: Any = obj
    for p in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(p)
    return cur
