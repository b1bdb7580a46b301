"""The built-in kinds as the API service registers them, for tests of single stages."""

from typing import Any

from minikube_py.api.resources import Resource
from minikube_py.apiserver.ipalloc import ServiceAllocations
from minikube_py.apiserver.kinds.builtin import builtin_kinds
from minikube_py.apiserver.rest import update
from minikube_py.apiserver.rest.create import validate_new
from minikube_py.apiserver.satokens import TokenIssuer, new_signing_key
from minikube_py.store.memory import MemoryKV

KINDS = builtin_kinds(ServiceAllocations(MemoryKV(), "10.96.0.0/12"),
                      TokenIssuer(new_signing_key(), clock=lambda: 1_700_000_000.0))


def validate_create(resource: Resource, obj: dict[str, Any]) -> None:
    """The create path's validation stage for `resource` (422 Invalid)."""
    validate_new(KINDS.strategy(resource), obj)


def validate_update(resource: Resource, old: dict[str, Any], new: dict[str, Any]) -> None:
    """The update path's validation stage for `resource` (422 Invalid)."""
    update.validate_update(KINDS.strategy(resource), new, old)
