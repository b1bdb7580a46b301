"""The PersistentVolume controller (kube's persistentvolume-binder): binds claims to volumes,
keeps both phases true, hands claims of provisioning classes to their provisioner, and
releases a volume whose claim is gone. The decisions are `volumebinding`'s; this shell reads
the caches, confirms a claim is gone through the API before releasing its volume, and writes
a plan in order."""

from __future__ import annotations

import logging

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    NODES,
    PERSISTENTVOLUMECLAIMS,
    PERSISTENTVOLUMES,
    STORAGECLASSES,
)
from minikube_py.api.volumes import claim_key, class_of
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop
from minikube_py.controllers.volumebinding import (
    CLAIM,
    VOLUME,
    Plan,
    claim_plan,
    claims_to_sync,
    sync_storage_key,
    volume_plan,
)

log = logging.getLogger("minikube_py.controllers.persistentvolume")



class PersistentVolumeController:
    name = "persistentvolume-binder"

    def __init__(self, ctx: ControllerContext, *, workers: int = 1) -> None:
        self.ctx = ctx
        self.claims = ctx.informers.informer(PERSISTENTVOLUMECLAIMS)
        self.volumes = ctx.informers.informer(PERSISTENTVOLUMES)
        self.classes = ctx.informers.informer(STORAGECLASSES)
        self.nodes = ctx.informers.informer(NODES)
        self.recorder = ctx.recorder("persistentvolume-controller")
        # One worker: two claims racing for one volume would each see it free.
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.claims.add_handlers(on_add=self._claim, on_update=lambda _o, n: self._claim(n),
                                 on_delete=self._claim_deleted)
        self.volumes.add_handlers(on_add=self._volume, on_update=lambda _o, n: self._volume(n),
                                  on_delete=self._volume_deleted)
        self.classes.add_handlers(on_add=self._class_changed,
                                  on_update=lambda _o, n: self._class_changed(n))

    async def run(self) -> None:
        await self.loop.run()

    # --- handlers: keys only ------------------------------------------------------------

    def _claim(self, claim: Obj) -> None:
        self.loop.enqueue_key(CLAIM + claim_key(claim))

    def _claim_deleted(self, claim: Obj) -> None:
        for volume in self.volumes.list():
            ref = (volume.get("spec") or {}).get("claimRef") or {}
            if f"{ref.get('namespace')}/{ref.get('name')}" == claim_key(claim):
                self.loop.enqueue_key(VOLUME + volume["metadata"]["name"])

    def _volume(self, volume: Obj) -> None:
        self.loop.enqueue_key(VOLUME + volume["metadata"]["name"])
        for key in claims_to_sync(volume, self._unbound_claims):
            self.loop.enqueue_key(CLAIM + key)

    def _volume_deleted(self, volume: Obj) -> None:
        key = (volume.get("spec") or {}).get("claimRef")
        if key:
            self.loop.enqueue_key(CLAIM + f"{key.get('namespace')}/{key.get('name')}")

    def _class_changed(self, storage_class: Obj) -> None:
        name = storage_class["metadata"]["name"]
        for claim in self._unbound_claims():
            if class_of(claim) == name:
                self._claim(claim)

    def _unbound_claims(self) -> list[Obj]:
        return [c for c in self.claims.list() if not (c.get("spec") or {}).get("volumeName")]

    # --- sync ---------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        await sync_storage_key(key, self._sync_claim, self._sync_volume)

    async def _sync_claim(self, key: str) -> None:
        claim = self.claims.get(key)
        if claim is None:
            return
        await self._apply(claim_plan(claim, self.volumes.view(), self.classes.view(),
                                     self.nodes.view()))

    async def _sync_volume(self, name: str) -> None:
        volume = self.volumes.get(name)
        if volume is None:
            return
        ref = (volume.get("spec") or {}).get("claimRef") or {}
        claim = None
        if ref.get("uid"):
            claim = await self._claim_now(ref.get("namespace", ""), ref.get("name", ""))
        await self._apply(volume_plan(volume, claim))

    async def _claim_now(self, namespace: str, name: str) -> Obj | None:
        """The claim from the cache, or when the cache has none, from the API: a volume is
        released only when its claim is really gone, not when the cache is behind."""
        cached = self.claims.get(f"{namespace}/{name}")
        if cached is not None:
            return cached
        try:
            return await self.ctx.client.get(PERSISTENTVOLUMECLAIMS, name, namespace=namespace)
        except ApiError as e:
            if e.code == 404:
                return None
            raise

    async def _apply(self, plan: Plan) -> None:
        """The plan's writes in order (a later write of an object carries the
        resourceVersion the earlier returned); a failed write stops the rest, and the key
        syncs again with backoff."""
        versions: dict[tuple[str, str, str], str] = {}
        for write in plan.writes:
            meta = write.obj["metadata"]
            ident = (write.resource.plural, meta.get("namespace", ""), meta["name"])
            body = write.obj
            if ident in versions:
                body = {**body, "metadata": {**meta, "resourceVersion": versions[ident]}}
            stored = await self.ctx.client.update(
                write.resource, body, namespace=meta.get("namespace") or None,
                subresource=write.subresource or None)
            versions[ident] = stored["metadata"]["resourceVersion"]
        for event in plan.events:
            self.recorder.record(event.obj, event.type, event.reason, event.message)
