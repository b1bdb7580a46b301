"""The Deployment loop: one ReplicaSet per pod template, rolled from old to new by the
RollingUpdate or Recreate strategy; the decisions live in deployment_rollout."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.owners import controller_ref, is_controlled_by, new_controller_ref
from minikube_py.api.podutil import is_terminating
from minikube_py.api.resources import DEPLOYMENTS, PODS, REPLICASETS
from minikube_py.api.selectors import LabelSelector, selector_from_label_selector_object
from minikube_py.api.timefmt import rfc3339
from minikube_py.client.events import NORMAL
from minikube_py.client.informer import object_key
from minikube_py.controllers import deployment_rollout as rollout
from minikube_py.controllers.base import ControllerContext, ReconcileLoop
from minikube_py.controllers.replicaset_decisions import (
    Claim,
    adoption_patch,
    claim_action,
    release_patch,
)

log = logging.getLogger("minikube_py.controllers.deployment")

Obj = dict[str, Any]
COMPONENT = "deployment-controller"


class RolloutError(Exception):
    """A step could not be taken now (e.g. a name collision); retried with backoff."""


def _ns(obj: Obj) -> str:
    return str(obj["metadata"].get("namespace") or "")


def _selector(d: Obj) -> LabelSelector:
    return selector_from_label_selector_object((d.get("spec") or {}).get("selector"))


def _labels(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


class DeploymentController:
    def __init__(self, ctx: ControllerContext, *, workers: int = 2) -> None:
        self.name = COMPONENT
        self._client = ctx.client
        self._clock = ctx.clock
        self._recorder = ctx.recorder(COMPONENT)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self._deployments = ctx.informers.informer(DEPLOYMENTS)
        self._replicasets = ctx.informers.informer(REPLICASETS)
        self._pods = ctx.informers.informer(PODS)
        self._deployments.add_handlers(self.loop.watch_own, lambda _o, n: self.loop.enqueue(n))
        self._replicasets.add_handlers(self._rs_added, self._rs_updated, self._rs_deleted)
        self._pods.add_handlers(on_delete=self._pod_deleted)

    async def run(self) -> None:
        await self.loop.run()

    # --- event handlers ----------------------------------------------------------------

    def _owner_key(self, obj: Obj, ref: Obj | None) -> str | None:
        if ref is None or ref.get("kind") != "Deployment":
            return None
        key = f"{_ns(obj)}/{ref.get('name')}"
        d = self._deployments.get(key)
        if d is None or d["metadata"].get("uid") != ref.get("uid"):
            return None
        return key

    def _enqueue_matching(self, rs: Obj) -> None:
        for d in self._deployments.list():
            if _ns(d) == _ns(rs):
                selector = _selector(d)
                if not selector.empty and selector.matches(_labels(rs)):
                    self.loop.enqueue(d)

    def _rs_added(self, rs: Obj) -> None:
        ref = controller_ref(rs)
        if ref is not None:
            key = self._owner_key(rs, ref)
            if key is not None:
                self.loop.enqueue_key(key)
            return
        if not is_terminating(rs):
            self._enqueue_matching(rs)

    def _rs_updated(self, old: Obj, new: Obj) -> None:
        old_ref, new_ref = controller_ref(old), controller_ref(new)
        if old_ref is not None and (new_ref is None or old_ref.get("uid") != new_ref.get("uid")):
            old_key = self._owner_key(old, old_ref)
            if old_key is not None:
                self.loop.enqueue_key(old_key)
        if new_ref is not None:
            key = self._owner_key(new, new_ref)
            if key is not None:
                self.loop.enqueue_key(key)
            return
        if _labels(old) != _labels(new) or old_ref is not None:
            self._enqueue_matching(new)

    def _rs_deleted(self, rs: Obj) -> None:
        key = self._owner_key(rs, controller_ref(rs))
        if key is not None:
            self.loop.enqueue_key(key)

    def _pod_deleted(self, pod: Obj) -> None:
        """Recreate waits for the last old pod to go."""
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self._replicasets.get(f"{_ns(pod)}/{ref.get('name')}")
        if rs is None:
            return
        key = self._owner_key(rs, controller_ref(rs))
        d = self._deployments.get(key) if key else None
        if d is not None and rollout.is_recreate(d):
            self.loop.enqueue(d)

    # --- sync --------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        cached = self._deployments.get(key)
        if cached is None:
            return
        d = copy.deepcopy(cached)
        if _selector(d).empty:
            # kube refuses to select everything; record that the spec was seen
            if rollout.status_of(d).get("observedGeneration") != d["metadata"].get("generation"):
                status = {**copy.deepcopy(rollout.status_of(d)),
                          "observedGeneration": d["metadata"].get("generation")}
                await self._write_status(d, status)
            return
        rss = await self._claim_replicasets(d)
        if is_terminating(d):
            await self._sync_status(d, rss, rollout.find_new_rs(d, rss))
            return
        d = await self._sync_paused_condition(d)
        if (d.get("spec") or {}).get("paused") or rollout.is_scaling_event(d, rss):
            await self._sync_scale(d, rss)
        elif rollout.is_recreate(d):
            await self._rollout_recreate(d, rss)
        else:
            await self._rollout_rolling(d, rss)

    async def _claim_replicasets(self, d: Obj) -> list[Obj]:
        selector = _selector(d)
        claimed: list[Obj] = []
        owner_current: bool | None = None
        for rs in self._replicasets.list():
            if _ns(rs) != _ns(d):
                continue
            action = claim_action(rs, d, matches=selector.matches(_labels(rs)))
            if action is Claim.KEEP:
                claimed.append(rs)
            elif action is Claim.ADOPT:
                if owner_current is None:
                    owner_current = await self._still_current(d)
                if owner_current:
                    adopted = await self._patch_rs(rs, adoption_patch(rs, new_controller_ref(d)))
                    if adopted is not None:
                        claimed.append(adopted)
            elif action is Claim.RELEASE:
                await self._patch_rs(rs, release_patch(rs, d["metadata"]["uid"]))
        return claimed

    async def _still_current(self, d: Obj) -> bool:
        try:
            fresh = await self._client.get(DEPLOYMENTS, d["metadata"]["name"], namespace=_ns(d))
        except ApiError as e:
            if e.code == 404:
                return False
            raise
        return fresh["metadata"].get("uid") == d["metadata"].get("uid") and \
            not is_terminating(fresh)

    async def _patch_rs(self, rs: Obj, patch: Obj) -> Obj | None:
        try:
            return await self._client.patch(REPLICASETS, rs["metadata"]["name"], patch,
                                            namespace=_ns(rs))
        except ApiError as e:
            if e.code in (404, 409):
                return None
            raise

    # --- the new ReplicaSet and revisions ---------------------------------------------

    async def _sets_with_revision(self, d: Obj, rss: list[Obj], *,
                                  create: bool) -> tuple[Obj, Obj | None, list[Obj]]:
        """(deployment, new set or None, old sets), giving the new set the next revision
        (getAllReplicaSetsAndSyncRevision) and creating it if asked."""
        new_rs = rollout.find_new_rs(d, rss)
        old = [rs for rs in rss if rs is not new_rs]
        next_revision = rollout.max_revision(old) + 1
        if new_rs is not None:
            new_rs = await self._refresh_new_rs(d, new_rs, next_revision)
            d = await self._set_revision(d, new_rs)
            if rollout.progress_deadline(d) is not None and \
                    rollout.find_condition(rollout.status_of(d), rollout.PROGRESSING) is None:
                d = await self._set_progressing(
                    d, "True", "FoundNewReplicaSet",
                    f'Found new replica set "{new_rs["metadata"]["name"]}"')
            return d, new_rs, old
        if not create:
            return d, None, old
        d, new_rs = await self._create_new_rs(d, old, next_revision)
        return d, new_rs, old

    async def _refresh_new_rs(self, d: Obj, rs: Obj, next_revision: int) -> Obj:
        meta = rs.get("metadata") or {}
        annotations = rollout.new_rs_annotations(d, meta.get("annotations") or {},
                                                 next_revision, exists=True)
        min_ready = int((d.get("spec") or {}).get("minReadySeconds") or 0)
        if annotations == (meta.get("annotations") or {}) and \
                int((rs.get("spec") or {}).get("minReadySeconds") or 0) == min_ready:
            return rs
        body = copy.deepcopy(rs)
        body["metadata"]["annotations"] = annotations
        body["spec"]["minReadySeconds"] = min_ready
        return await self._client.update(REPLICASETS, body, namespace=_ns(rs))

    async def _create_new_rs(self, d: Obj, old: list[Obj],
                             next_revision: int) -> tuple[Obj, Obj]:
        collisions = rollout.status_of(d).get("collisionCount")
        template_hash = rollout.pod_template_hash((d.get("spec") or {}).get("template") or {},
                                                  collisions)
        body = rollout.new_replicaset(d, template_hash, 0, {})
        count = rollout.new_rs_replicas(d, [*old, body], body)
        body["spec"]["replicas"] = count
        body["metadata"]["annotations"] = rollout.new_rs_annotations(
            d, {}, next_revision, exists=False)
        name = body["metadata"]["name"]
        existed = False
        try:
            created = await self._client.create(REPLICASETS, body, namespace=_ns(d))
        except ApiError as e:
            if e.code != 409:
                if rollout.progress_deadline(d) is not None:
                    await self._set_progressing(
                        d, "False", "ReplicaSetCreateError",
                        f'Failed to create new replica set "{name}": {e}')
                raise
            created = await self._client.get(REPLICASETS, name, namespace=_ns(d))
            if not (is_controlled_by(created, d) and rollout.equal_ignore_hash(
                    (created.get("spec") or {}).get("template"),
                    (d.get("spec") or {}).get("template"))):
                # Another template hashed to this name: salt the hash and try again.
                status = copy.deepcopy(dict(rollout.status_of(d)))
                status["collisionCount"] = int(collisions or 0) + 1
                await self._write_status(d, status)
                raise RolloutError(f"hash collision for replica set {name}") from e
            existed = True
        if not existed and count > 0:
            self._recorder.record(d, NORMAL, "ScalingReplicaSet",
                                  f"Scaled up replica set {name} from 0 to {count}")
        d = await self._set_revision(d, created)
        if not existed and rollout.progress_deadline(d) is not None:
            d = await self._set_progressing(d, "True", "NewReplicaSetCreated",
                                            f'Created new replica set "{name}"')
        return d, created

    async def _set_revision(self, d: Obj, new_rs: Obj) -> Obj:
        want = str(rollout.revision(new_rs))
        if ((d["metadata"].get("annotations") or {}).get(rollout.REVISION)) == want:
            return d
        # metadata is not part of the status subresource here: a separate patch
        return await self._client.patch(
            DEPLOYMENTS, d["metadata"]["name"],
            {"metadata": {"annotations": {rollout.REVISION: want}}}, namespace=_ns(d))

    async def _set_progressing(self, d: Obj, status: str, reason: str, message: str) -> Obj:
        new_status = copy.deepcopy(dict(rollout.status_of(d)))
        rollout.set_condition(new_status, rollout.new_condition(
            rollout.PROGRESSING, status, reason, message, rfc3339(self._clock())))
        return await self._write_status(d, new_status)

    async def _write_status(self, d: Obj, status: Obj) -> Obj:
        body = copy.deepcopy(d)
        body["status"] = status
        return await self._client.update(DEPLOYMENTS, body, namespace=_ns(d),
                                         subresource="status")

    async def _sync_paused_condition(self, d: Obj) -> Obj:
        cond = rollout.paused_condition(d, rfc3339(self._clock()))
        if cond is None:
            return d
        status = copy.deepcopy(dict(rollout.status_of(d)))
        rollout.set_condition(status, cond)
        return await self._write_status(d, status)

    # --- scaling ReplicaSets -----------------------------------------------------------

    async def _scale(self, d: Obj, rs: Obj, size: int, operation: str | None = None, *,
                     annotations_too: bool = False) -> tuple[bool, Obj]:
        """Resize `rs` (and refresh its replica annotations); records ScalingReplicaSet."""
        current = rollout.replicas(rs)
        want_ann = rollout.replicas_annotations(d)
        ann = (rs.get("metadata") or {}).get("annotations") or {}
        stale_ann = any(ann.get(k) != v for k, v in want_ann.items())
        if current == size and not (annotations_too and stale_ann):
            return False, rs
        body = copy.deepcopy(rs)
        body["spec"]["replicas"] = size
        body["metadata"]["annotations"] = {**ann, **want_ann}
        updated = await self._client.update(REPLICASETS, body, namespace=_ns(rs))
        if current != size:
            op = operation or ("up" if size > current else "down")
            self._recorder.record(
                d, NORMAL, "ScalingReplicaSet",
                f"Scaled {op} replica set {rs['metadata']['name']} from {current} to {size}")
        return current != size, updated

    async def _sync_scale(self, d: Obj, rss: list[Obj]) -> None:
        """Paused, or replicas changed: resize sets without advancing the rollout."""
        d, new_rs, old = await self._sets_with_revision(d, rss, create=False)
        sizes, operation = rollout.scale_targets(d, new_rs, old)
        by_name = {rs["metadata"]["name"]: rs for rs in [*old, new_rs] if rs is not None}
        for name, size in sizes.items():
            await self._scale(d, by_name[name], size, operation,
                              annotations_too=operation is not None)
        if (d.get("spec") or {}).get("paused"):
            await self._cleanup(d, old)
        await self._sync_status(d, [*old, new_rs], new_rs)

    async def _sync_status(self, d: Obj, rss: Sequence[Obj | None], new_rs: Obj | None) -> None:
        status = rollout.calculate_status(d, rss, new_rs, rfc3339(self._clock()))
        if status != rollout.status_of(d):
            await self._write_status(d, status)

    async def _rollout_rolling(self, d: Obj, rss: list[Obj]) -> None:
        d, new_rs, old = await self._sets_with_revision(d, rss, create=True)
        assert new_rs is not None
        target = rollout.rolling_new_rs_target(d, [*old, new_rs], new_rs)
        if target is not None:
            _, new_rs = await self._scale(d, new_rs, target)
            await self._sync_rollout_status(d, [*old, new_rs], new_rs)
            return
        targets = rollout.rolling_old_rs_targets(d, new_rs, rollout.active(old))
        if targets:
            scaled = []
            for rs in old:
                if rs["metadata"]["name"] in targets:
                    _, rs = await self._scale(d, rs, targets[rs["metadata"]["name"]])
                scaled.append(rs)
            await self._sync_rollout_status(d, [*scaled, new_rs], new_rs)
            return
        if rollout.deployment_complete(d, rollout.status_of(d)):
            await self._cleanup(d, old)
        await self._sync_rollout_status(d, [*old, new_rs], new_rs)

    async def _rollout_recreate(self, d: Obj, rss: list[Obj]) -> None:
        d, new_rs, old = await self._sets_with_revision(d, rss, create=False)
        scaled_down = False
        for rs in rollout.active(old):
            scaled, _ = await self._scale(d, rs, 0)
            scaled_down = scaled_down or scaled
        if scaled_down or rollout.old_pods_running(new_rs, old, self._pods_of(d)):
            await self._sync_rollout_status(d, [*old, new_rs], new_rs)
            return
        if new_rs is None:
            d, new_rs, old = await self._sets_with_revision(d, rss, create=True)
        assert new_rs is not None
        _, new_rs = await self._scale(d, new_rs, rollout.replicas(d))
        if rollout.deployment_complete(d, rollout.status_of(d)):
            await self._cleanup(d, old)
        await self._sync_rollout_status(d, [*old, new_rs], new_rs)

    def _pods_of(self, d: Obj) -> list[Obj]:
        ns = _ns(d)
        return [p for p in self._pods.list() if _ns(p) == ns]

    async def _cleanup(self, d: Obj, old: list[Obj]) -> None:
        for rs in rollout.history_to_delete(d, old):
            try:
                await self._client.delete(REPLICASETS, rs["metadata"]["name"], namespace=_ns(rs),
                                          preconditions={"uid": rs["metadata"]["uid"]})
            except ApiError as e:
                if e.code not in (404, 409):
                    raise

    async def _sync_rollout_status(self, d: Obj, rss: Sequence[Obj | None],
                                   new_rs: Obj | None) -> None:
        now = self._clock()
        status = rollout.rollout_status(d, rss, new_rs, now=now, stamp=rfc3339(now))
        if status != rollout.status_of(d):
            await self._write_status(d, status)
            return
        after = rollout.stuck_requeue_after(d, status, now)
        if after is not None:
            self.loop.enqueue_after(object_key(d), after)
