"""Create: generated names, system fields, defaults, mutating admission, the strategy,
validation, validating admission, then the first write (kube's rest.BeforeCreate and
Store.Create)."""

from __future__ import annotations

import uuid
from typing import Any

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.validation import raise_if, validate_object_meta
from minikube_py.apiserver.admission import Attributes, Operation
from minikube_py.apiserver.bodies import namespace_for
from minikube_py.apiserver.fieldmanager import check_options, record_write
from minikube_py.apiserver.kinds.base import Strategy
from minikube_py.apiserver.objectstore import Written
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.rest.context import RestContext

Obj = dict[str, Any]
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_GENERATE_ATTEMPTS = 8
# Fields a client may send but the server alone sets on a new object.
_SYSTEM_FIELDS = ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink")


async def create(rest: RestContext, strategy: Strategy, body: Obj, namespace: str | None,
                 opts: RequestOptions) -> Written:
    """Create from a typed body (bodies.typed_object) the call may keep and mutate."""
    check_options("CreateOptions", opts)
    resource = strategy.resource
    ns = namespace_for(resource, namespace, body)
    if not strategy.stored:  # a review: answered, never written
        return Written(await strategy.answer_create(body, ns, opts), created=True)
    meta = body["metadata"]
    if meta.get("resourceVersion"):
        raise errors.bad_request("resourceVersion should not be set on objects to be created")
    generate = bool(not meta.get("name") and meta.get("generateName"))
    for attempt in range(_GENERATE_ATTEMPTS):
        obj = await prepare_new(rest, strategy, body, ns, opts, generate_name=generate)
        if opts.dry_run:
            return Written(obj, created=True)
        try:
            return await rest.objects.create(resource, ns, obj, ttl=strategy.ttl_seconds)
        except ApiError as e:
            strategy.create_failed(obj)
            if not (generate and e.code == 409 and attempt < _GENERATE_ATTEMPTS - 1):
                raise
    raise AssertionError("unreachable: the last attempt raises")


async def prepare_new(rest: RestContext, strategy: Strategy, obj: Obj, ns: str | None,
                      opts: RequestOptions, *, generate_name: bool = False,
                      applied: bool = False) -> Obj:
    """Everything before the first write: the object as it will be stored. A name asked
    for by `generateName` is made after mutating admission, before validation, as kube's
    BeforeCreate makes it (mutating plugins see only the prefix, validating ones the name).
    The creator owns the defaulted object's fields, unless an apply (`applied`) already
    said who owns what."""
    meta = obj["metadata"]
    for f in _SYSTEM_FIELDS:
        meta.pop(f, None)
    if generate_name:
        meta.pop("name", None)  # a name made by an attempt before
    meta["uid"] = str(uuid.UUID(int=rest.rng.getrandbits(128), version=4))
    meta["creationTimestamp"] = rest.now()
    strategy.default(obj)
    if not applied:
        record_write(strategy, None, obj, opts, "", rest.now())
    attrs = Attributes(Operation.CREATE, strategy, ns, meta.get("name", ""), obj, None, opts)
    await rest.admission.admit(attrs)
    if generate_name:
        meta["name"] = attrs.name = meta["generateName"] + "".join(
            rest.rng.choice(_NAME_CHARS) for _ in range(5))
    strategy.prepare_for_create(obj)
    validate_new(strategy, obj)
    await rest.admission.validate(attrs)
    await strategy.before_create(obj, opts)
    return obj


def validate_new(strategy: Strategy, obj: Obj) -> None:
    """422 Invalid, with every cause, for an object that may not be created."""
    resource = strategy.resource
    meta = obj.get("metadata") or {}
    causes = validate_object_meta(strategy.name_errors, meta, resource.namespaced)
    causes += strategy.validate(obj)
    raise_if(resource.kind, meta.get("name") or meta.get("generateName") or "", causes,
             resource.group)
