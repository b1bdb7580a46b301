"""The in-process transport: the ApiClient a component in this process uses, acting as its
own identity (system:kube-scheduler, system:node:NAME, ...).

It skips HTTP and serialisation but nothing else: every call is authorized as its user
through the same authorizers as an HTTP request, and goes through the same decode (the typed
pass), admission, strategy and validation. So what a remote node may do is what the local
one is allowed, and a component that asks for too much is refused here first.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import Resource
from minikube_py.apiserver.authn import UserInfo
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.requestinfo import RequestInfo
from minikube_py.apiserver.rest.read import list_body
from minikube_py.apiserver.storage import dumps
from minikube_py.client.interface import MERGE_PATCH, WatchEvent
from minikube_py.store.types import StoreError

if TYPE_CHECKING:
    from minikube_py.apiserver.service import ApiService

Obj = dict[str, Any]


def unavailable(error: StoreError) -> ApiError:
    """What a client is told when the store cannot serve (it failed, or is closing)."""
    return ApiError(503, "ServiceUnavailable", f"the store cannot serve this request: {error}",
                    {"retryAfterSeconds": 1})


@contextlib.contextmanager
def store_unavailable() -> Iterator[None]:
    """In-process components see what remote ones see over HTTP: a store that cannot
    serve is an ApiError 503 (which they handle), not the store's own exception."""
    try:
        yield
    except StoreError as e:
        raise unavailable(e) from e


def _copy(body: Any) -> Any:
    """The caller keeps its dict: the service works on its own copy."""
    return json.loads(dumps(body))


class InProcessClient:
    """Implements minikube_py.client.interface.ApiClient for one user, in-process."""

    def __init__(self, service: ApiService, user: UserInfo) -> None:
        self.service = service
        self.user = user

    def _authorized(self, verb: str, resource: Resource, namespace: str | None,
                    name: str | None = None, subresource: str | None = None,
                    field_selector: str = "", label_selector: str = "") -> RequestOptions:
        strategy = self.service.strategy(resource)
        ns = namespace if resource.namespaced else None
        self.service.authorize(self.user, RequestInfo(
            "", verb, strategy, ns, name, subresource, field_selector=field_selector,
            label_selector=label_selector))
        return RequestOptions(user=self.user)

    async def create(self, resource: Resource, body: Obj, *, namespace: str | None = None,
                     name: str | None = None, subresource: str | None = None) -> Obj:
        ns = namespace or ((body.get("metadata") or {}).get("namespace")
                           if isinstance(body, dict) else None)
        opts = self._authorized("create", resource, ns or "default", name if subresource
                                else None, subresource)
        with store_unavailable():
            if subresource:
                return await self.service.post_subresource(resource, name or "", subresource,
                                                           _copy(body), namespace, opts)
            return (await self.service.create_object(resource, _copy(body), namespace,
                                                     opts)).obj

    async def get(self, resource: Resource, name: str, *, namespace: str | None = None,
                  subresource: str | None = None) -> Obj:
        self._authorized("get", resource, namespace or "default", name, subresource)
        with store_unavailable():
            if subresource:
                return await self.service.get_subresource(resource, name, subresource,
                                                          namespace)
            return await self.service.get_object(resource, name, namespace)

    async def list(self, resource: Resource, *, namespace: str | None = None,
                   label_selector: str = "", field_selector: str = "", limit: int = 0,
                   continue_token: str = "", resource_version: str = "") -> Obj:
        self._authorized("list", resource, namespace, field_selector=field_selector,
                         label_selector=label_selector)
        with store_unavailable():
            flt = self.service.filter(resource, label_selector, field_selector)
            res = await self.service.list_objects(resource, namespace, flt, limit=limit,
                                                  continue_token=continue_token,
                                                  resource_version=resource_version)
            return list_body(resource, res)

    async def update(self, resource: Resource, body: Obj, *, namespace: str | None = None,
                     subresource: str | None = None) -> Obj:
        body = _copy(body)
        meta = (body.get("metadata") or {}) if isinstance(body, dict) else {}
        name = meta.get("name") if isinstance(meta, dict) else None
        ns = namespace or (meta.get("namespace") if isinstance(meta, dict) else None)
        opts = self._authorized("update", resource, ns or "default", name, subresource)
        with store_unavailable():
            written = await self.service.update_object(resource, body, namespace,
                                                       subresource, opts, name=name)
            return written.obj

    async def patch(self, resource: Resource, name: str, patch: Any, *,
                    patch_type: str = MERGE_PATCH, namespace: str | None = None,
                    subresource: str | None = None) -> Obj:
        opts = self._authorized("patch", resource, namespace or "default", name, subresource)
        with store_unavailable():
            written = await self.service.patch_object(resource, name, _copy(patch),
                                                      patch_type, namespace, subresource,
                                                      opts)
            return written.obj

    async def delete(self, resource: Resource, name: str, *, namespace: str | None = None,
                     grace_period_seconds: int | None = None,
                     propagation_policy: str | None = None,
                     preconditions: dict[str, Any] | None = None) -> Obj:
        opts = self._authorized("delete", resource, namespace or "default", name)
        with store_unavailable():
            obj, _ = await self.service.delete_object(
                resource, name, namespace, grace_period_seconds=grace_period_seconds,
                propagation_policy=propagation_policy, preconditions=preconditions,
                opts=opts)
            return obj

    async def watch(self, resource: Resource, *, namespace: str | None = None,
                    resource_version: str = "", label_selector: str = "",
                    field_selector: str = "", allow_bookmarks: bool = False,
                    timeout_seconds: int | None = None) -> AsyncIterator[WatchEvent]:
        self._authorized("watch", resource, namespace, field_selector=field_selector,
                         label_selector=label_selector)
        flt = self.service.filter(resource, label_selector, field_selector)
        events = self.service.watch_events(resource, namespace, flt, resource_version,
                                           allow_bookmarks=allow_bookmarks,
                                           timeout_seconds=timeout_seconds)
        try:
            async for kind, ev in events:
                # One decoded object for every in-process watcher: watch objects are
                # read-only (interface.py), which informers, the one caller, rely on anyway.
                yield WatchEvent(kind, ev if isinstance(ev, dict) else ev.object())
        finally:
            await events.aclose()
