"""What serves custom resources: for every CustomResourceDefinition, its names accepted or
refused (kube's naming controller), its served versions registered once Established (the
establishing controller), and on deletion its instances removed before its cleanup
finalizer goes (the finalizer controller). One `sync(name)` per CRD, idempotent, from a
queue the watch fan-out feeds."""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import TYPE_CHECKING, Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CUSTOMRESOURCEDEFINITIONS, Resource
from minikube_py.apiserver.customresources.strategy import (
    CustomResourceStrategy,
    strategies_of,
)
from minikube_py.apiserver.kinds.customresourcedefinitions import (
    CLEANUP_FINALIZER,
    condition_status,
    set_condition,
)
from minikube_py.apiserver.kinds.registry import KindRegistry
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.storage import resource_prefix
from minikube_py.apiserver.watchcache import CachedEvent

if TYPE_CHECKING:
    from minikube_py.apiserver.service import ApiService

log = logging.getLogger(__name__)
Obj = dict[str, Any]
# How soon a CRD whose instances are still held (finalizers of their own) is looked at again.
CLEANUP_RETRY_SECONDS = 1.0


def name_conflicts(crd: Obj, others: list[Obj], kinds: KindRegistry) -> str | None:
    """Why the CRD's names cannot be accepted (kube's naming controller message), or None:
    another CRD of its group has accepted one of them, or a built-in kind has the plural."""
    spec = crd.get("spec") or {}
    group, names = spec.get("group"), spec.get("names") or {}
    taken_resources: set[Any] = set()
    taken_kinds: set[Any] = set()
    for other in others:
        o_spec = other.get("spec") or {}
        if other["metadata"]["name"] == crd["metadata"]["name"] or o_spec.get("group") != group:
            continue
        acc = (other.get("status") or {}).get("acceptedNames") or {}
        taken_resources |= {acc.get("plural"), acc.get("singular"),
                            *(acc.get("shortNames") or [])}
        taken_kinds |= {acc.get("kind"), acc.get("listKind")}
    for r in kinds.resources():
        if r.group == group and not isinstance(kinds.strategy(r), CustomResourceStrategy):
            taken_resources |= {r.plural, r.singular, *r.short_names}
            taken_kinds |= {r.kind, r.list_kind}
    for key in ("plural", "singular"):
        if names.get(key) and names[key] in taken_resources:
            return f'"{names[key]}" is already in use'
    for short in names.get("shortNames") or []:
        if short in taken_resources:
            return f'"{short}" is already in use'
    for key in ("kind", "listKind"):
        if names.get(key) and names[key] in taken_kinds:
            return f'"{names[key]}" is already in use'
    return None


def desired_status(crd: Obj, conflict: str | None, now: str) -> Obj:
    """The CRD with the naming and establishing controllers' conditions."""
    out = copy.deepcopy(crd)
    status = out.setdefault("status", {})
    if conflict is None:
        status["acceptedNames"] = copy.deepcopy((crd.get("spec") or {}).get("names") or {})
        set_condition(out, "NamesAccepted", "True", "NoConflicts", "no conflicts found", now)
        set_condition(out, "Established", "True", "InitialNamesAccepted",
                      "the initial names have been accepted", now)
    else:
        set_condition(out, "NamesAccepted", "False", "NameConflict", conflict, now)
        if condition_status(out, "Established") != "True":
            set_condition(out, "Established", "False", "NotAccepted",
                          "not all names are accepted", now)
    return out


class CustomResourceServing:
    """Keeps the kind registry serving exactly the Established CRDs' versions."""

    def __init__(self, service: ApiService) -> None:
        self._svc = service
        self._served: dict[str, list[Resource]] = {}
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        # The resourceVersion each definition was last synced at, for settle().
        self._synced: dict[str, int] = {}
        self._synced_changed = asyncio.Condition()

    @staticmethod
    def prefixes() -> tuple[bytes, ...]:
        return (resource_prefix(CUSTOMRESOURCEDEFINITIONS).encode(),)

    def on_event(self, ev: CachedEvent) -> None:
        """A CRD changed (from the watch fan-out): sync it."""
        self._queue.put_nowait(ev.key.rsplit(b"/", 1)[-1].decode())

    async def load(self) -> None:
        """Serve the CRDs already stored (at API server start), before the first request."""
        listed = await self._svc.list_objects(CUSTOMRESOURCEDEFINITIONS, None,
                                              self._svc.filter(CUSTOMRESOURCEDEFINITIONS))
        for crd in listed.items:
            self._serve(crd)
            self._queue.put_nowait(crd["metadata"]["name"])

    async def run(self) -> None:
        while True:
            name = await self._queue.get()
            try:
                await self.sync(name)
            except ApiError as e:
                if e.code != 409:  # a conflict: the newer CRD is queued already
                    log.warning("custom resource definition %s: %s", name, e.message)
                    self._retry(name)
            except Exception:
                # A bug: logged with its traceback, and the definition is synced again at
                # its next change; one definition must not stop serving the others (nor the
                # API server: this task is critical).
                log.exception("custom resource definition %s: sync failed", name)

    def _retry(self, name: str) -> None:
        asyncio.get_running_loop().call_later(CLEANUP_RETRY_SECONDS,
                                              self._queue.put_nowait, name)

    async def sync(self, name: str) -> None:
        crd = await self._svc.read_stored(CUSTOMRESOURCEDEFINITIONS, None, name)
        if crd is None:
            gone = self._served.get(name) or []
            self._stop_serving(name)
            for resource in gone[:1]:  # the versions share one prefix
                self._svc.fanout.close_watchers(resource_prefix(resource).encode())
            return
        if crd["metadata"].get("deletionTimestamp"):
            await self._finalize(crd)
            return
        listed = await self._svc.list_objects(CUSTOMRESOURCEDEFINITIONS, None,
                                              self._svc.filter(CUSTOMRESOURCEDEFINITIONS))
        conflict = name_conflicts(crd, listed.items, self._svc.kinds)
        wanted = desired_status(crd, conflict, self._svc.now())
        if wanted.get("status") != crd.get("status"):
            crd = (await self._svc.update_object(CUSTOMRESOURCEDEFINITIONS, wanted, None,
                                                 "status", name=name)).obj
        self._serve(crd)
        async with self._synced_changed:
            self._synced[name] = int(crd["metadata"].get("resourceVersion") or 0)
            self._synced_changed.notify_all()

    async def settle(self, name: str, resource_version: str, timeout: float) -> None:
        """Until the definition written at `resource_version` has been synced (served when
        Established), or `timeout`: a create answers once its kinds are served, so a client
        that creates a CRD and then an instance (one `kubectl apply -f` of both) finds the
        kind in discovery. kube establishes asynchronously; clients then race it."""
        wanted = int(resource_version or 0)
        try:
            async with asyncio.timeout(timeout), self._synced_changed:
                await self._synced_changed.wait_for(
                    lambda: self._synced.get(name, 0) >= wanted)
        except TimeoutError:
            log.info("custom resource definition %s not settled within %.1fs", name, timeout)

    def _serve(self, crd: Obj) -> None:
        name = crd["metadata"]["name"]
        self._stop_serving(name)
        if condition_status(crd, "Established") != "True":
            return
        served = []
        for strategy in strategies_of(crd):
            if self._svc.kinds.find(strategy.resource.group, strategy.resource.version,
                                    strategy.resource.plural) is not None:
                continue  # held by another definition: it keeps it
            self._svc.kinds.register(strategy)
            served.append(strategy.resource)
        self._served[name] = served

    def _stop_serving(self, name: str) -> None:
        for resource in self._served.pop(name, []):
            self._svc.kinds.unregister(resource)

    async def _finalize(self, crd: Obj) -> None:
        """Delete every instance, then drop the cleanup finalizer (the CRD then goes)."""
        name = crd["metadata"]["name"]
        if CLEANUP_FINALIZER not in (crd["metadata"].get("finalizers") or []):
            return
        served = self._served.get(name) or []
        for resource in served:
            strategy = self._svc.kinds.strategy(resource)
            if isinstance(strategy, CustomResourceStrategy):
                strategy.terminating = True
        if served:
            resource = served[0]
            remaining = await self._delete_instances(resource)
            if remaining:
                self._set_terminating(crd, "InstanceDeletionInProgress",
                                      "CustomResource deletion is in progress")
                await self._svc.update_object(CUSTOMRESOURCEDEFINITIONS, crd, None, "status",
                                              name=name)
                self._retry(name)
                return
        done = copy.deepcopy(crd)
        self._set_terminating(done, "InstanceDeletionCompleted", "removed all instances",
                              status="False")
        done = (await self._svc.update_object(CUSTOMRESOURCEDEFINITIONS, done, None,
                                              "status", name=name)).obj
        done["metadata"]["finalizers"] = [f for f in done["metadata"].get("finalizers") or []
                                          if f != CLEANUP_FINALIZER]
        await self._svc.update_object(CUSTOMRESOURCEDEFINITIONS, done, None, name=name)

    def _set_terminating(self, crd: Obj, reason: str, message: str,
                         status: str = "True") -> None:
        set_condition(crd, "Terminating", status, reason, message, self._svc.now())

    async def _delete_instances(self, resource: Resource) -> int:
        """Delete the instances (every namespace); how many are still there after."""
        everything = self._svc.filter(resource)
        await self._svc.delete_collection(resource, None, everything, opts=RequestOptions())
        left = await self._svc.list_objects(resource, None, everything, limit=1)
        return len(left.items)
