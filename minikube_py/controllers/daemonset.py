"""The DaemonSet controller: one pod per eligible node, pinned there by node affinity and
bound by the scheduler; rolling updates within maxUnavailable; status for rollout status."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from minikube_py.api.owners import new_controller_ref
from minikube_py.api.podutil import is_available, is_ready, is_terminating
from minikube_py.api.resources import DAEMONSETS, NODES
from minikube_py.api.scheduling import matches_node_selector_and_affinity, untolerated_taints
from minikube_py.api.selectors import selector_from_label_selector_object
from minikube_py.api.template_hash import template_hash
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop
from minikube_py.controllers.ownedpods import OwnedPods

log = logging.getLogger("minikube_py.controllers.daemonset")

REVISION_LABEL = "controller-revision-hash"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"

# What kube adds to every daemon pod (util.AddOrUpdateDaemonPodTolerations): daemons run
# on nodes that are not ready, unreachable, under pressure or cordoned.
DAEMON_TOLERATIONS: tuple[dict[str, str], ...] = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
HOST_NETWORK_TOLERATION = {"key": "node.kubernetes.io/network-unavailable",
                           "operator": "Exists", "effect": "NoSchedule"}


# --- pure decisions -------------------------------------------------------------------


def daemon_pod_tolerations(pod_spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The template's tolerations plus the daemon defaults it does not already have."""
    tolerations = [dict(t) for t in pod_spec.get("tolerations") or []]
    extra = [*DAEMON_TOLERATIONS, *([HOST_NETWORK_TOLERATION] if pod_spec.get("hostNetwork")
                                    else [])]
    for tol in extra:
        if not any(t.get("key") == tol["key"] and t.get("effect") == tol["effect"]
                   for t in tolerations):
            tolerations.append(dict(tol))
    return tolerations


@dataclass(frozen=True)
class NodeFit:
    should_run: bool  # a daemon pod belongs here (create one if missing)
    should_continue_running: bool  # an existing daemon pod may stay


def daemon_node_fit(pod_spec: Mapping[str, Any], node: Mapping[str, Any]) -> NodeFit:
    """kube's NodeShouldRunDaemonPod: selector/affinity must match; an untolerated
    NoSchedule taint keeps new pods off, an untolerated NoExecute one evicts too."""
    if not matches_node_selector_and_affinity(pod_spec, node):
        return NodeFit(False, False)
    tolerations = daemon_pod_tolerations(pod_spec)
    taints = (node.get("spec") or {}).get("taints") or []
    if untolerated_taints(tolerations, taints, ("NoExecute",)):
        return NodeFit(False, False)
    if untolerated_taints(tolerations, taints, ("NoSchedule",)):
        return NodeFit(False, True)
    return NodeFit(True, True)


def target_node(pod: Mapping[str, Any]) -> str | None:
    """The node a daemon pod is for: its nodeName, or the node its affinity pins it to."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    terms = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get(
        "nodeSelectorTerms") or []
    for term in terms:
        for f in term.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("operator") == "In" and \
                    len(f.get("values") or []) == 1:
                return str(f["values"][0])
    return None


def pin_to_node(pod_spec: dict[str, Any], node_name: str) -> None:
    """Replace the required node affinity's matchFields with metadata.name = node_name
    (kube's ReplaceDaemonSetPodNodeNameNodeAffinity); the scheduler then binds it there."""
    field_req = {"key": "metadata.name", "operator": "In", "values": [node_name]}
    affinity = pod_spec.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        terms = [{"matchFields": [field_req]}]
    else:
        terms = [{**t, "matchFields": [field_req]} for t in terms]
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": terms}


def resolve_max_unavailable(value: Any, desired: int) -> int:
    """An int, or a percentage of the desired number rounded up (at least 1 when desired)."""
    if isinstance(value, str) and value.endswith("%"):
        try:
            pct = int(value[:-1])
        except ValueError:
            pct = 0
        n = -(-desired * pct // 100)
    else:
        try:
            n = int(value)
        except (TypeError, ValueError):
            n = 1
    return max(n, 1) if desired else n


@dataclass(frozen=True)
class DaemonPod:
    name: str
    node: str
    revision: str
    created: str  # creationTimestamp; equal strings sort by name
    ready: bool
    available: bool
    failed: bool
    terminating: bool
    bound: bool = True  # the scheduler has put it on its node


@dataclass
class DaemonPlan:
    create_on: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)


def plan_daemon_pods(fits: Mapping[str, NodeFit], pods: Iterable[DaemonPod], revision: str,
                     *, rolling_update: bool, max_unavailable: int) -> DaemonPlan:
    """Which nodes need a pod and which pods must go, from the facts of this sync."""
    plan = DaemonPlan()
    by_node: dict[str, list[DaemonPod]] = {}
    for pod in pods:
        by_node.setdefault(pod.node, []).append(pod)
    for node in sorted(set(fits) | set(by_node)):
        fit = fits.get(node, NodeFit(False, False))
        here = sorted(by_node.get(node, []), key=lambda p: (p.created, p.name))
        live = [p for p in here if not p.terminating]
        if fit.should_run or (fit.should_continue_running and live
                              and all(p.bound for p in live)):
            failed = [p for p in live if p.failed]
            plan.delete += [p.name for p in failed]  # recreated on a later sync
            live = [p for p in live if not p.failed]
            if not live and not failed and fit.should_run and \
                    not any(p.terminating for p in here):
                plan.create_on.append(node)
            # Duplicates: keep the oldest (the one most likely serving).
            plan.delete += [p.name for p in live[1:]]
        else:
            plan.delete += [p.name for p in live]
    if rolling_update:
        plan.delete += _rolling_update_deletions(fits, by_node, revision, max_unavailable,
                                                 set(plan.delete))
    return plan


def _rolling_update_deletions(fits: Mapping[str, NodeFit], by_node: Mapping[str, list[DaemonPod]],
                              revision: str, max_unavailable: int,
                              already: set[str]) -> list[str]:
    """Old-revision pods to delete now: unavailable ones freely, then available ones while
    the number of unavailable daemon nodes stays within maxUnavailable."""
    unavailable = 0
    old_available: list[DaemonPod] = []
    old_unavailable: list[DaemonPod] = []
    for node, fit in fits.items():
        if not fit.should_run:
            continue
        live = [p for p in by_node.get(node, []) if not p.terminating and p.name not in already]
        if not live or not any(p.available for p in live):
            unavailable += 1
        for p in live:
            if p.revision != revision:
                (old_available if p.available else old_unavailable).append(p)
    budget = max_unavailable - unavailable
    out = [p.name for p in old_unavailable]
    for p in sorted(old_available, key=lambda p: p.node):
        if budget <= 0:
            break
        out.append(p.name)
        budget -= 1
    return out


@dataclass(frozen=True)
class DaemonStatusCounts:
    desired: int
    current: int
    misscheduled: int
    ready: int
    available: int
    updated: int


def daemon_status_counts(fits: Mapping[str, NodeFit], pods: Iterable[DaemonPod],
                         revision: str) -> DaemonStatusCounts:
    by_node: dict[str, list[DaemonPod]] = {}
    for pod in pods:
        if not pod.terminating:
            by_node.setdefault(pod.node, []).append(pod)
    desired = current = misscheduled = ready = available = updated = 0
    for node in set(fits) | set(by_node):
        fit = fits.get(node, NodeFit(False, False))
        here = by_node.get(node, [])
        if fit.should_run:
            desired += 1
            if here:
                current += 1
                ready += any(p.ready for p in here)
                available += any(p.available for p in here)
                updated += any(p.revision == revision for p in here)
        elif here:
            misscheduled += 1
    return DaemonStatusCounts(desired, current, misscheduled, ready, available, updated)


# --- the controller -------------------------------------------------------------------


def daemon_revision(ds: Obj) -> str:
    return template_hash((ds.get("spec") or {}).get("template") or {},
                         (ds.get("status") or {}).get("collisionCount"))


class DaemonSetController:
    name = "daemonset-controller"

    def __init__(self, ctx: ControllerContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.daemonsets = ctx.informers.informer(DAEMONSETS)
        self.nodes = ctx.informers.informer(NODES)
        self.daemonsets.add_handlers(self.loop.watch_own,
                                     lambda _o, new: self.loop.watch_own(new))
        self.pods = OwnedPods(ctx, self.loop, self.daemonsets, kind="DaemonSet",
                              recorder=ctx.recorder(self.name))
        self.nodes.add_handlers(self._node_changed, self._node_updated, self._node_changed)

    async def run(self) -> None:
        await self.loop.run()

    # -- handlers: only enqueue ------------------------------------------------------

    def _node_changed(self, node: Obj) -> None:
        for ds in self.daemonsets.list():
            self.loop.enqueue(ds)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        def facts(n: Obj) -> Any:
            return ((n.get("metadata") or {}).get("labels"), (n.get("spec") or {}).get("taints"))
        if facts(old) != facts(new):
            self._node_changed(new)

    # -- reconcile -------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        ds = self.daemonsets.get(key)
        if ds is None or is_terminating(ds):
            return
        spec = ds.get("spec") or {}
        template_spec = (spec.get("template") or {}).get("spec") or {}
        revision = daemon_revision(ds)
        now = self.ctx.clock()
        min_ready = int(spec.get("minReadySeconds") or 0)
        selector = selector_from_label_selector_object(spec.get("selector"))
        pods = [p for p in self.pods.controlled_by(ds)
                if selector.matches(p["metadata"].get("labels"))]
        facts = [DaemonPod(
            name=p["metadata"]["name"], node=target_node(p) or "",
            revision=(p["metadata"].get("labels") or {}).get(REVISION_LABEL, ""),
            created=p["metadata"].get("creationTimestamp") or "", ready=is_ready(p),
            available=is_available(p, min_ready, now),
            failed=(p.get("status") or {}).get("phase") == "Failed",
            terminating=is_terminating(p),
            bound=bool((p.get("spec") or {}).get("nodeName"))) for p in pods]
        fits = {n["metadata"]["name"]: daemon_node_fit(template_spec, n)
                for n in self.nodes.list()}
        if self.pods.satisfied(key):
            strategy = spec.get("updateStrategy") or {}
            rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
            desired = sum(1 for f in fits.values() if f.should_run)
            max_unavailable = resolve_max_unavailable(
                (strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1), desired)
            plan = plan_daemon_pods(fits, facts, revision, rolling_update=rolling,
                                    max_unavailable=max_unavailable)
            await self._apply(ds, plan, pods, revision)
        await self._write_status(ds, daemon_status_counts(fits, facts, revision), min_ready, now)
        if min_ready and any(f.ready and not f.available for f in facts):
            self.loop.enqueue_after(key, 1.0)

    async def _apply(self, ds: Obj, plan: DaemonPlan, pods: list[Obj], revision: str) -> None:
        await self.pods.create(ds, [self._new_pod(ds, node, revision) for node in plan.create_on])
        by_name = {p["metadata"]["name"]: p for p in pods}
        await self.pods.delete(ds, [by_name[name] for name in dict.fromkeys(plan.delete)])

    def _new_pod(self, ds: Obj, node: str, revision: str) -> Obj:
        template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
        meta = template.get("metadata") or {}
        labels = dict(meta.get("labels") or {})
        labels[REVISION_LABEL] = revision
        labels[TEMPLATE_GENERATION_LABEL] = str(ds["metadata"].get("generation") or 1)
        pod_meta: Obj = {
            "generateName": f"{ds['metadata']['name']}-",
            "namespace": ds["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [new_controller_ref(ds)],
        }
        if meta.get("annotations"):
            pod_meta["annotations"] = dict(meta["annotations"])
        spec = template.get("spec") or {}
        spec["tolerations"] = daemon_pod_tolerations(spec)
        pin_to_node(spec, node)
        return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}

    async def _write_status(self, ds: Obj, counts: DaemonStatusCounts, min_ready: int,
                            now: float) -> None:
        old = ds.get("status") or {}
        status: Obj = {
            "desiredNumberScheduled": counts.desired,
            "currentNumberScheduled": counts.current,
            "numberMisscheduled": counts.misscheduled,
            "numberReady": counts.ready,
            "numberAvailable": counts.available,
            "numberUnavailable": counts.desired - counts.available,
            "updatedNumberScheduled": counts.updated,
            "observedGeneration": ds["metadata"].get("generation") or 1,
        }
        if old.get("collisionCount") is not None:
            status["collisionCount"] = old["collisionCount"]
        for k in ("numberAvailable", "numberUnavailable"):
            if not status[k]:
                status[k] = None  # kube omits zero counts (omitempty); None deletes
        if all(old.get(k) == v for k, v in status.items()):
            return
        # A merge patch: only this controller writes these fields, so a stale cached
        # DaemonSet need not cost a conflict and a retry.
        await self.client.patch(DAEMONSETS, ds["metadata"]["name"], {"status": status},
                                namespace=ds["metadata"]["namespace"], subresource="status")
