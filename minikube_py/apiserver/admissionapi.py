"""What admission plugins see and implement (kube's admission.Attributes and its Interface):
mutating plugins may change the object before the kind validates it; validating plugins
look at the object as it will be stored, and may only refuse it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.apiserver.kinds.base import Strategy
from minikube_py.apiserver.options import RequestOptions

Obj = dict[str, Any]


class Operation(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


@dataclass(slots=True)
class Attributes:
    """What a plugin sees of one write (kube's admission.Attributes)."""

    operation: Operation
    strategy: Strategy
    namespace: str | None
    name: str
    obj: Obj | None  # the new object; None for a deletion
    old: Obj | None  # the stored object for updates and deletions
    opts: RequestOptions
    subresource: str | None = None  # e.g. "status" for a status update


class AdmissionPlugin(Protocol):
    """A mutating plugin: runs after defaulting, before the kind's validation."""

    async def admit(self, attrs: Attributes) -> None: ...


class ValidatingPlugin(Protocol):
    """A validating plugin: runs after the kind's validation, on the object as it will be
    stored; it refuses with an ApiError and changes nothing."""

    async def validate(self, attrs: Attributes) -> None: ...


def refused(attrs: Attributes, why: str) -> ApiError:
    """kube's admission.NewForbidden: `pods "x" is forbidden: why`."""
    r = attrs.strategy.resource
    return ApiError(403, "Forbidden",
                    f'{errors.qualified(r.plural, r.group)} "{attrs.name}" is forbidden: {why}',
                    {"name": attrs.name, "kind": r.plural, **({"group": r.group}
                                                              if r.group else {})})
