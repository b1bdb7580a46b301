"""The one interface through which components (scheduler, kubelet, controllers, proxy, DNS)
talk to the API server, whether in-process or over HTTP.

Every method raises `minikube_py.api.errors.ApiError` for a failure the API reports
(NotFound, Conflict, Invalid, Gone, ...). Returned objects belong to the caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from minikube_py.api.resources import Resource

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK (ERROR is raised as ApiError instead)
    object: dict[str, Any]


class ApiClient(Protocol):
    async def create(
        self,
        resource: Resource,
        body: dict[str, Any],
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """POST. `name` + `subresource` address a subresource of an existing object
        (e.g. pods/binding); otherwise the name comes from the body. The namespace
        defaults to the body's metadata.namespace."""
        ...

    async def get(
        self,
        resource: Resource,
        name: str,
        *,
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> dict[str, Any]: ...

    async def list(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_token: str = "",
        resource_version: str = "",
    ) -> dict[str, Any]:
        """A {Kind}List; namespace None on a namespaced resource lists all namespaces."""
        ...

    async def update(
        self,
        resource: Resource,
        body: dict[str, Any],
        *,
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """PUT; optimistic concurrency on body.metadata.resourceVersion when set."""
        ...

    async def patch(
        self,
        resource: Resource,
        name: str,
        patch: Any,
        *,
        patch_type: str = MERGE_PATCH,
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> dict[str, Any]: ...

    async def delete(
        self,
        resource: Resource,
        name: str,
        *,
        namespace: str | None = None,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        preconditions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Returns the object as it stands after the call (with deletionTimestamp when the
        deletion is graceful or waits on finalizers), or a Success Status once it is gone."""
        ...

    def watch(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
        allow_bookmarks: bool = False,
        timeout_seconds: int | None = None,
    ) -> AsyncIterator[WatchEvent]:
        """Events after `resource_version` ("" or "0": current state as ADDED events first).
        Raises ApiError(410) when that version is compacted. Close with `aclose()`."""
        ...
