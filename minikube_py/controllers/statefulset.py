"""The StatefulSet controller: pods with stable names `<set>-<ordinal>`, created in order
(OrderedReady) or all at once (Parallel), removed from the highest ordinal, rolled to a new
revision from the highest ordinal down to the partition."""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.owners import controller_ref, new_controller_ref
from minikube_py.api.podutil import is_available, is_ready, is_terminating
from minikube_py.api.resources import CONTROLLERREVISIONS, PERSISTENTVOLUMECLAIMS, STATEFULSETS
from minikube_py.api.selectors import selector_from_label_selector_object
from minikube_py.api.template_hash import template_hash
from minikube_py.client.events import WARNING
from minikube_py.client.informer import object_key
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop
from minikube_py.controllers.ownedpods import OwnedPods, PodEventMessages
from minikube_py.controllers.statefulclaims import (
    claim_name,
    new_claim,
    owner_refs_differ,
    templates,
    wanted_owner_refs,
    with_claim_volumes,
)

log = logging.getLogger("minikube_py.controllers.statefulset")

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
REVISION_HASH_LABEL = "controller.kubernetes.io/hash"


# --- pure decisions -------------------------------------------------------------------


@dataclass(frozen=True)
class SetPod:
    ordinal: int
    name: str
    revision: str
    running_ready: bool = False
    terminating: bool = False
    failed: bool = False


@dataclass
class SetPlan:
    create: list[tuple[int, str]] = field(default_factory=list)  # (ordinal, revision)
    delete: list[str] = field(default_factory=list)


def parse_ordinal(set_name: str, pod_name: str) -> int | None:
    prefix = f"{set_name}-"
    if not pod_name.startswith(prefix):
        return None
    tail = pod_name[len(prefix):]
    return int(tail) if tail.isdigit() and (tail == "0" or not tail.startswith("0")) else None


def plan_statefulset(pods: Mapping[int, SetPod], *, replicas: int, start: int = 0,
                     parallel: bool = False, rolling_update: bool = True, partition: int = 0,
                     current_revision: str, update_revision: str) -> SetPlan:
    """kube's StatefulSet control loop in one pass: fill missing ordinals, remove condemned
    ones from the top, then roll one pod to the update revision. OrderedReady stops at the
    first pod that is not Running and Ready; Parallel does not wait."""
    plan = SetPlan()
    ordered = not parallel
    wanted = range(start, start + replicas)
    for ordinal in wanted:
        pod = pods.get(ordinal)
        if pod is None:
            revision = current_revision if rolling_update and ordinal < start + partition \
                else update_revision
            plan.create.append((ordinal, revision))
            if ordered:
                return plan
            continue
        if pod.failed and not pod.terminating:
            plan.delete.append(pod.name)  # recreated on a later pass
            if ordered:
                return plan
            continue
        if ordered and (pod.terminating or not pod.running_ready):
            return plan
    condemned = sorted((p for o, p in pods.items() if o not in wanted),
                       key=lambda p: p.ordinal, reverse=True)
    for pod in condemned:
        if pod.terminating:
            if ordered:
                return plan
            continue
        if ordered and any(not p.running_ready for p in pods.values() if p is not pod):
            return plan  # scale down only from a healthy set
        plan.delete.append(pod.name)
        if ordered:
            return plan
    if not rolling_update or plan.create or plan.delete:
        return plan
    for ordinal in reversed(range(start + max(partition, 0), start + replicas)):
        pod = pods.get(ordinal)
        if pod is None:
            return plan
        if pod.revision != update_revision and not pod.terminating:
            plan.delete.append(pod.name)
            return plan
        if pod.terminating or not pod.running_ready:
            return plan
    return plan


# --- the controller -------------------------------------------------------------------


# kube's StatefulPodControl events
STATEFUL_POD_MESSAGES = PodEventMessages(
    created="create Pod {pod} in StatefulSet {owner} successful",
    create_failed="create Pod {pod} in StatefulSet {owner} failed error: {error}",
    deleted="delete Pod {pod} in StatefulSet {owner} successful",
    delete_failed="delete Pod {pod} in StatefulSet {owner} failed error: {error}",
)


def revision_name(sts: Obj) -> str:
    spec = sts.get("spec") or {}
    collisions = (sts.get("status") or {}).get("collisionCount")
    return f"{sts['metadata']['name']}-{template_hash(spec.get('template') or {}, collisions)}"


class StatefulSetController:
    name = "statefulset-controller"

    def __init__(self, ctx: ControllerContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.recorder = ctx.recorder(self.name)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.sets = ctx.informers.informer(STATEFULSETS)
        self.revisions = ctx.informers.informer(CONTROLLERREVISIONS)
        self.claims = ctx.informers.informer(PERSISTENTVOLUMECLAIMS)
        self.sets.add_handlers(self.loop.watch_own, lambda _o, new: self.loop.watch_own(new))
        self.pods = OwnedPods(ctx, self.loop, self.sets, kind="StatefulSet",
                              recorder=self.recorder, messages=STATEFUL_POD_MESSAGES)

    async def run(self) -> None:
        await self.loop.run()

    async def sync(self, key: str) -> None:
        sts = self.sets.get(key)
        if sts is None or is_terminating(sts):
            return
        name = sts["metadata"]["name"]
        spec, status = sts.get("spec") or {}, sts.get("status") or {}
        update_revision = revision_name(sts)
        await self._ensure_revision(sts, update_revision)
        current_revision = status.get("currentRevision") or update_revision
        selector = selector_from_label_selector_object(spec.get("selector"))
        owned: dict[int, Obj] = {}
        for p in self.pods.controlled_by(sts):
            meta = p["metadata"]
            if not selector.matches(meta.get("labels")):
                continue
            ordinal = parse_ordinal(name, meta["name"])
            if ordinal is not None:
                owned[ordinal] = p
        facts = {o: SetPod(o, p["metadata"]["name"],
                           (p["metadata"].get("labels") or {}).get(REVISION_LABEL, ""),
                           running_ready=(p.get("status") or {}).get("phase") == "Running"
                           and is_ready(p),
                           terminating=is_terminating(p),
                           failed=(p.get("status") or {}).get("phase") == "Failed")
                 for o, p in owned.items()}
        replicas = 1 if spec.get("replicas") is None else int(spec["replicas"])
        strategy = spec.get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        start = int((spec.get("ordinals") or {}).get("start") or 0)
        if self.pods.satisfied(key):
            plan = plan_statefulset(
                facts, replicas=replicas, start=start,
                parallel=spec.get("podManagementPolicy") == "Parallel", rolling_update=rolling,
                partition=int((strategy.get("rollingUpdate") or {}).get("partition") or 0),
                current_revision=current_revision, update_revision=update_revision)
            await self._claim_owners(sts, owned, range(start, start + replicas))
            await self._apply(sts, plan, owned)
        await self._write_status(sts, owned, replicas, current_revision, update_revision, rolling)

    async def _apply(self, sts: Obj, plan: SetPlan, owned: Mapping[int, Obj]) -> None:
        for ordinal, _revision in plan.create:
            await self._ensure_claims(sts, ordinal)
        await self.pods.create(sts, [self._new_pod(sts, ordinal, revision)
                                     for ordinal, revision in plan.create])
        by_name = {p["metadata"]["name"]: p for p in owned.values()}
        await self.pods.delete(sts, [by_name[name] for name in plan.delete])

    def _template_for(self, sts: Obj, revision: str) -> Obj:
        """The pod template of `revision` (from its ControllerRevision), or the current one."""
        namespace = sts["metadata"]["namespace"]
        if revision != revision_name(sts):
            stored = self.revisions.get(f"{namespace}/{revision}")
            template = (((stored or {}).get("data") or {}).get("spec") or {}).get("template")
            if isinstance(template, dict):
                template = copy.deepcopy(template)
                template.pop("$patch", None)
                return template
        return copy.deepcopy((sts.get("spec") or {}).get("template") or {})

    def _new_pod(self, sts: Obj, ordinal: int, revision: str) -> Obj:
        set_name = sts["metadata"]["name"]
        name = f"{set_name}-{ordinal}"
        template = self._template_for(sts, revision)
        tmeta = template.get("metadata") or {}
        labels = {**(tmeta.get("labels") or {}), POD_NAME_LABEL: name,
                  POD_INDEX_LABEL: str(ordinal), REVISION_LABEL: revision}
        meta: Obj = {"name": name, "namespace": sts["metadata"]["namespace"], "labels": labels,
                     "ownerReferences": [new_controller_ref(sts)]}
        if tmeta.get("annotations"):
            meta["annotations"] = dict(tmeta["annotations"])
        spec = template.get("spec") or {}
        spec["hostname"] = name
        service = (sts.get("spec") or {}).get("serviceName")
        if service:
            spec["subdomain"] = service
        with_claim_volumes(sts, spec, ordinal)
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}

    async def _ensure_claims(self, sts: Obj, ordinal: int) -> None:
        """Every claim of the ordinal exists before its pod is made (kube's
        createPersistentVolumes); a claim still being deleted holds the pod back."""
        namespace = sts["metadata"]["namespace"]
        pod = f"{sts['metadata']['name']}-{ordinal}"
        for template in templates(sts):
            name = claim_name(template, sts["metadata"]["name"], ordinal)
            existing = self.claims.get(f"{namespace}/{name}")
            if existing is not None:
                if is_terminating(existing):
                    message = (f"create Pod {pod} in StatefulSet {sts['metadata']['name']} "
                               f"failed error: pvc {name} is being deleted")
                    self.recorder.record(sts, WARNING, "FailedCreate", message)
                    raise RuntimeError(message)
                continue
            try:
                await self.client.create(PERSISTENTVOLUMECLAIMS, new_claim(sts, template, ordinal),
                                         namespace=namespace)
            except ApiError as e:
                if e.code == 409:
                    continue
                self.recorder.record(sts, WARNING, "FailedCreate",
                                     f"create Claim {name} for Pod {pod} in StatefulSet "
                                     f"{sts['metadata']['name']} failed error: {e.message}")
                raise
            self.recorder.record(sts, "Normal", "SuccessfulCreate",
                                 f"create Claim {name} Pod {pod} in StatefulSet "
                                 f"{sts['metadata']['name']} success")

    async def _claim_owners(self, sts: Obj, owned: Mapping[int, Obj], wanted: range) -> None:
        """The owner references persistentVolumeClaimRetentionPolicy asks of each claim of
        the set's ordinals, written before a condemned pod is deleted."""
        namespace = sts["metadata"]["namespace"]
        for ordinal in sorted(set(owned) | set(wanted)):
            for template in templates(sts):
                claim = self.claims.get(
                    f"{namespace}/{claim_name(template, sts['metadata']['name'], ordinal)}")
                if claim is None or is_terminating(claim):
                    continue
                refs = wanted_owner_refs(sts, claim, condemned=ordinal not in wanted,
                                         pod=owned.get(ordinal))
                if owner_refs_differ(claim, refs):
                    await self.client.patch(
                        PERSISTENTVOLUMECLAIMS, claim["metadata"]["name"],
                        {"metadata": {"ownerReferences": refs or None}}, namespace=namespace)

    async def _ensure_revision(self, sts: Obj, revision: str) -> None:
        """A ControllerRevision per template, as `kubectl rollout history/undo` expect."""
        namespace = sts["metadata"]["namespace"]
        uid = sts["metadata"]["uid"]
        mine = [r for r in self.revisions.list()
                if r["metadata"].get("namespace") == namespace
                and (controller_ref(r) or {}).get("uid") == uid]
        top = max((int(r.get("revision") or 0) for r in mine), default=0)
        existing = next((r for r in mine if r["metadata"]["name"] == revision), None)
        if existing is not None:
            if int(existing.get("revision") or 0) < top:
                await self.client.patch(CONTROLLERREVISIONS, revision, {"revision": top + 1},
                                        namespace=namespace)
            return
        spec = sts.get("spec") or {}
        template = {**copy.deepcopy(spec.get("template") or {}), "$patch": "replace"}
        labels = dict(((spec.get("template") or {}).get("metadata") or {}).get("labels") or {})
        labels[REVISION_HASH_LABEL] = revision.rsplit("-", 1)[-1]
        body = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
                "metadata": {"name": revision, "namespace": namespace, "labels": labels,
                             "ownerReferences": [new_controller_ref(sts)]},
                "data": {"spec": {"template": template}}, "revision": top + 1}
        try:
            await self.client.create(CONTROLLERREVISIONS, body, namespace=namespace)
        except ApiError as e:
            if e.code != 409:
                raise

    async def _write_status(self, sts: Obj, pods: Mapping[int, Obj], replicas: int,
                            current_revision: str, update_revision: str, rolling: bool) -> None:
        now = self.ctx.clock()
        min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
        live = [p for p in pods.values() if not is_terminating(p)]

        def revision(p: Obj) -> str:
            return str((p["metadata"].get("labels") or {}).get(REVISION_LABEL, ""))

        ready = sum(1 for p in pods.values()
                    if (p.get("status") or {}).get("phase") == "Running" and is_ready(p))
        counts: dict[str, Any] = {
            "replicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": sum(1 for p in live if is_available(p, min_ready, now)),
            "currentReplicas": sum(1 for p in live if revision(p) == current_revision),
            "updatedReplicas": sum(1 for p in live if revision(p) == update_revision),
        }
        if rolling and counts["updatedReplicas"] == counts["replicas"] == replicas and \
                ready == replicas and current_revision != update_revision:
            current_revision = update_revision  # the rollout is complete
            counts["currentReplicas"] = counts["updatedReplicas"]
        old = sts.get("status") or {}
        status: Obj = {
            "observedGeneration": sts["metadata"].get("generation") or 1,
            **counts,
            "currentRevision": current_revision,
            "updateRevision": update_revision,
            "collisionCount": old.get("collisionCount") or 0,
        }
        for k in ("readyReplicas", "currentReplicas", "updatedReplicas"):
            if not status[k]:
                status[k] = None  # omitempty, as kube serialises them; None deletes
        if any(old.get(k) != v for k, v in status.items()):
            # A merge patch: only this controller writes these fields.
            await self.client.patch(STATEFULSETS, sts["metadata"]["name"], {"status": status},
                                    namespace=sts["metadata"]["namespace"],
                                    subresource="status")
        if min_ready and any(is_ready(p) and not is_available(p, min_ready, now) for p in live):
            self.loop.enqueue_after(object_key(sts), 1.0)
