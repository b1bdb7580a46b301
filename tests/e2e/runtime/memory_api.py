"""A small dict-backed ApiClient so the kubelet can be driven against a real containerd before
the real ApiService exists. Only what the kubelet uses: no validation, no admission."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from minikube_py.api.errors import ApiError, already_exists, conflict, not_found
from minikube_py.api.resources import Resource
from minikube_py.client.interface import WatchEvent

Key = tuple[str, str, str]  # (plural, namespace, name)


def _matches(obj: dict[str, Any], field_selector: str) -> bool:
    for term in filter(None, field_selector.split(",")):
        path, _, want = term.partition("=")
        value: Any = obj
        for part in path.split("."):
            value = (value or {}).get(part) if isinstance(value, dict) else None
        if str(value or "") != want:
            return False
    return True


class MemoryApi:
    def __init__(self) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.rv = 0
        self._watchers: list[tuple[Resource, str, asyncio.Queue[WatchEvent]]] = []

    def _emit(self, resource: Resource, kind: str, obj: dict[str, Any]) -> None:
        for r, selector, q in self._watchers:
            if r == resource and _matches(obj, selector):
                q.put_nowait(WatchEvent(kind, copy.deepcopy(obj)))

    def _bump(self, obj: dict[str, Any]) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)

    async def create(self, resource: Resource, body: dict[str, Any], *,
                     namespace: str | None = None, name: str | None = None,
                     subresource: str | None = None) -> dict[str, Any]:
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        ns = (namespace or meta.get("namespace") or "default") if resource.namespaced else ""
        if resource.namespaced:
            meta["namespace"] = ns
        key = (resource.plural, ns, meta["name"])
        if key in self.objects:
            raise already_exists(resource.plural, meta["name"])
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        obj.setdefault("kind", resource.kind)
        obj.setdefault("apiVersion", resource.api_version)
        self._bump(obj)
        self.objects[key] = obj
        self._emit(resource, "ADDED", obj)
        return copy.deepcopy(obj)

    def _key(self, resource: Resource, name: str, namespace: str | None) -> Key:
        return (resource.plural, (namespace or "default") if resource.namespaced else "", name)

    async def get(self, resource: Resource, name: str, *, namespace: str | None = None,
                  subresource: str | None = None) -> dict[str, Any]:
        obj = self.objects.get(self._key(resource, name, namespace))
        if obj is None:
            raise not_found(resource.plural, name)
        return copy.deepcopy(obj)

    async def list(self, resource: Resource, *, namespace: str | None = None,
                   label_selector: str = "", field_selector: str = "", limit: int = 0,
                   continue_token: str = "", resource_version: str = "") -> dict[str, Any]:
        items = [copy.deepcopy(o) for (p, ns, _), o in self.objects.items()
                 if p == resource.plural and (namespace is None or ns == namespace)
                 and _matches(o, field_selector)]
        return {"kind": resource.list_kind, "apiVersion": resource.api_version,
                "metadata": {"resourceVersion": str(self.rv)}, "items": items}

    async def update(self, resource: Resource, body: dict[str, Any], *,
                     namespace: str | None = None, subresource: str | None = None,
                     ) -> dict[str, Any]:
        meta = body["metadata"]
        key = self._key(resource, meta["name"], namespace or meta.get("namespace"))
        current = self.objects.get(key)
        if current is None:
            raise not_found(resource.plural, meta["name"])
        if meta.get("resourceVersion") and meta["resourceVersion"] != current["metadata"][
                "resourceVersion"]:
            raise conflict(resource.plural, meta["name"], "the object has been modified")
        if subresource == "status":
            obj = copy.deepcopy(current)
            obj["status"] = copy.deepcopy(body.get("status") or {})
        else:
            obj = copy.deepcopy(body)
            obj["metadata"]["uid"] = current["metadata"]["uid"]
            if "status" in current:
                obj["status"] = current["status"]
        self._bump(obj)
        self.objects[key] = obj
        self._emit(resource, "MODIFIED", obj)
        return copy.deepcopy(obj)

    async def patch(self, resource: Resource, name: str, patch: Any, **kw: Any) -> dict[str, Any]:
        obj = await self.get(resource, name, namespace=kw.get("namespace"))
        obj.update(patch)
        obj["metadata"].pop("resourceVersion", None)
        return await self.update(resource, obj, namespace=kw.get("namespace"))

    async def delete(self, resource: Resource, name: str, *, namespace: str | None = None,
                     grace_period_seconds: int | None = None,
                     propagation_policy: str | None = None,
                     preconditions: dict[str, Any] | None = None) -> dict[str, Any]:
        key = self._key(resource, name, namespace)
        obj = self.objects.get(key)
        if obj is None:
            raise not_found(resource.plural, name)
        if preconditions and preconditions.get("uid") not in (None, obj["metadata"]["uid"]):
            raise conflict(resource.plural, name, "Precondition failed: UID")
        grace = grace_period_seconds
        if grace is None:
            grace = int((obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
        # Pods on a node are deleted gracefully: the kubelet finishes the deletion.
        if resource.plural == "pods" and grace > 0 and (obj.get("spec") or {}).get("nodeName"):
            if not obj["metadata"].get("deletionTimestamp"):
                obj["metadata"]["deletionTimestamp"] = datetime.now(UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ")
                obj["metadata"]["deletionGracePeriodSeconds"] = grace
                self._bump(obj)
                self._emit(resource, "MODIFIED", obj)
            return copy.deepcopy(obj)
        del self.objects[key]
        self._bump(obj)
        self._emit(resource, "DELETED", obj)
        return {"kind": "Status", "status": "Success"}

    async def watch(self, resource: Resource, *, namespace: str | None = None,
                    resource_version: str = "", label_selector: str = "",
                    field_selector: str = "", allow_bookmarks: bool = False,
                    timeout_seconds: int | None = None) -> AsyncIterator[WatchEvent]:
        q: asyncio.Queue[WatchEvent] = asyncio.Queue()
        entry = (resource, field_selector, q)
        self._watchers.append(entry)
        try:
            while True:
                yield await q.get()
        finally:
            self._watchers.remove(entry)


__all__ = ["ApiError", "MemoryApi"]
