"""Storage object in-use protection (kube's pvc-protection and pv-protection controllers):
a claim being deleted keeps its finalizer while a pod that is not finished uses it; a volume
being deleted keeps its finalizer while it is Bound. The finalizers are added at create by
admission; these controllers only ever remove them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.podutil import is_terminal
from minikube_py.api.resources import PERSISTENTVOLUMECLAIMS, PERSISTENTVOLUMES, PODS
from minikube_py.api.storage import PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER
from minikube_py.api.volumes import claim_key
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop, split_key
from minikube_py.controllers.volumebinding import CLAIM, VOLUME, sync_storage_key


def claims_of(pod: Mapping[str, Any]) -> list[str]:
    """namespace/name of every claim the pod's volumes name."""
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    names = [((v.get("persistentVolumeClaim") or {}).get("claimName"))
             for v in (pod.get("spec") or {}).get("volumes") or []]
    return [f"{namespace}/{n}" for n in names if n]


def claim_in_use(claim: Mapping[str, Any], pods: Iterable[Obj]) -> bool:
    """A pod that has not finished names the claim (kube counts a pod being deleted as a
    user until it is gone, since its containers may still write)."""
    key = claim_key(claim)
    return any(not is_terminal(p) and key in claims_of(p) for p in pods)


def releasable(obj: Mapping[str, Any], finalizer: str) -> bool:
    meta = obj.get("metadata") or {}
    return bool(meta.get("deletionTimestamp")) and finalizer in (meta.get("finalizers") or [])


def without_finalizer(obj: Obj, finalizer: str) -> Obj:
    meta = dict(obj["metadata"])
    meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != finalizer]
    return {**obj, "metadata": meta}


class VolumeProtectionController:
    name = "volume-protection-controller"

    def __init__(self, ctx: ControllerContext, *, workers: int = 1) -> None:
        self.ctx = ctx
        self.claims = ctx.informers.informer(PERSISTENTVOLUMECLAIMS)
        self.volumes = ctx.informers.informer(PERSISTENTVOLUMES)
        self.pods = ctx.informers.informer(PODS)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.claims.add_handlers(on_add=self._claim, on_update=lambda _o, n: self._claim(n))
        self.volumes.add_handlers(on_add=self._volume, on_update=lambda _o, n: self._volume(n))
        self.pods.add_handlers(on_update=lambda _o, n: self._pod(n), on_delete=self._pod)

    async def run(self) -> None:
        await self.loop.run()

    def _claim(self, claim: Obj) -> None:
        if releasable(claim, PVC_PROTECTION_FINALIZER):
            self.loop.enqueue_key(CLAIM + claim_key(claim))

    def _volume(self, volume: Obj) -> None:
        if releasable(volume, PV_PROTECTION_FINALIZER):
            self.loop.enqueue_key(VOLUME + volume["metadata"]["name"])

    def _pod(self, pod: Obj) -> None:
        for key in claims_of(pod):
            claim = self.claims.get(key)
            if claim is not None:
                self._claim(claim)

    async def sync(self, key: str) -> None:
        await sync_storage_key(key, self._sync_claim, self._sync_volume)

    async def _sync_claim(self, key: str) -> None:
        claim = self.claims.get(key)
        if claim is None or not releasable(claim, PVC_PROTECTION_FINALIZER):
            return
        if claim_in_use(claim, self.pods.list()):
            return
        namespace, _ = split_key(key)
        # The cache may not have a pod just created: ask the API before letting go.
        live = await self.ctx.client.list(PODS, namespace=namespace)
        if claim_in_use(claim, live.get("items") or []):
            return
        await self._release(PERSISTENTVOLUMECLAIMS, claim, PVC_PROTECTION_FINALIZER)

    async def _sync_volume(self, name: str) -> None:
        volume = self.volumes.get(name)
        if volume is None or not releasable(volume, PV_PROTECTION_FINALIZER):
            return
        if (volume.get("status") or {}).get("phase") == "Bound":
            return
        await self._release(PERSISTENTVOLUMES, volume, PV_PROTECTION_FINALIZER)

    async def _release(self, resource: Any, obj: Obj, finalizer: str) -> None:
        try:
            await self.ctx.client.update(resource, without_finalizer(obj, finalizer),
                                         namespace=obj["metadata"].get("namespace") or None)
        except ApiError as e:
            if e.code != 404:
                raise
