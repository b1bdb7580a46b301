"""The disruption controller (kube's pkg/controller/disruption): keeps each
PodDisruptionBudget's status (healthy pods, the pods it wants healthy, how many may go)
in step with its pods, and forgets evictions whose pod was not deleted after all. The
decisions are pure functions of the budget, its pods and the time; the shell reads the
caches and writes status."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from minikube_py.api.disruption import (
    DELETION_TIMEOUT,
    DISRUPTION_ALLOWED,
    SYNC_FAILED,
    budget_selector,
    conditions_up_to_date,
    set_condition,
    with_disruption_allowed_condition,
)
from minikube_py.api.errors import ApiError
from minikube_py.api.owners import controller_ref
from minikube_py.api.podutil import is_ready, parse_time
from minikube_py.api.resources import (
    DEPLOYMENTS,
    PODDISRUPTIONBUDGETS,
    PODS,
    REPLICASETS,
    REPLICATIONCONTROLLERS,
    STATEFULSETS,
)
from minikube_py.api.timefmt import rfc3339
from minikube_py.client.informer import Informer, object_key
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop, split_key
from minikube_py.controllers.deployment_rollout import scaled_value
from minikube_py.tasks import TaskSet

# (kind, namespace, name) -> the controller object in the cache, or None.
FindController = Callable[[str, str, str], Obj | None]
_APPS = ("apps/v1", "extensions/v1beta1")
DISRUPTION_TARGET = "DisruptionTarget"
# A DisruptionTarget=True pod still not being deleted this long after is marked False
# again (kube's stalePodDisruptionTimeout); the kubelet's own marks never go stale.
STALE_DISRUPTION_TIMEOUT = 120.0
_KUBELET_TERMINATION = "TerminationByKubelet"


class BudgetError(Exception):
    """The budget's status cannot be computed (a malformed selector, a pod whose
    controller is unknown): the controller then allows no disruption (kube's failSafe)."""


@dataclass(frozen=True, slots=True)
class Expected:
    """getExpectedPodCount: how many pods there should be, how many must be healthy, and
    the pods no controller owns (they make a percentage or maxUnavailable budget
    undefined, as kube warns)."""

    pods: int
    desired_healthy: int
    unmanaged: tuple[str, ...] = ()


def pods_of_budget(pdb: Obj, pods: Iterable[Obj]) -> list[Obj]:
    """getPodsForPdb: the pods of its namespace its selector matches (a null selector
    none, an empty one all)."""
    try:
        selector = budget_selector(pdb)
    except ApiError as e:
        raise BudgetError(e.message) from e
    if selector is None:
        return []
    ns = pdb["metadata"].get("namespace")
    return [p for p in pods if p["metadata"].get("namespace") == ns
            and selector.matches(p["metadata"].get("labels") or {})]


def _replicas(obj: Obj) -> int:
    replicas = (obj.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def _owned(ref: Obj, kind: str, obj: Obj | None, api_versions: tuple[str, ...]) -> bool:
    return obj is not None and ref.get("kind") == kind and \
        ref.get("apiVersion") in api_versions and obj["metadata"].get("uid") == ref.get("uid")


def controller_scale(ref: Obj, namespace: str, find: FindController) -> tuple[str, int] | None:
    """(uid, replicas) of the controller a pod's controllerRef names, as kube's finders
    look: a ReplicaSet counts its Deployment's replicas when one owns it; a
    ReplicationController or StatefulSet its own."""
    kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
    if kind == "ReplicaSet":
        rs = find("ReplicaSet", namespace, name)
        if rs is None or not _owned(ref, "ReplicaSet", rs, _APPS):
            return None
        owner = controller_ref(rs)
        if owner is None or owner.get("kind") != "Deployment":
            return str(ref["uid"]), _replicas(rs)
        deployment = find("Deployment", namespace, str(owner.get("name") or ""))
        if deployment is None or not _owned(owner, "Deployment", deployment, _APPS):
            return None
        return str(owner["uid"]), _replicas(deployment)
    if kind == "StatefulSet":
        found = find(kind, namespace, name)
        return (str(ref["uid"]), _replicas(found)) \
            if found is not None and _owned(ref, kind, found, _APPS) else None
    if kind == "ReplicationController":
        found = find(kind, namespace, name)
        return (str(ref["uid"]), _replicas(found)) \
            if found is not None and _owned(ref, kind, found, ("v1",)) else None
    return None  # kube asks other kinds' scale subresource; none here has one


def expected_scale(pods: list[Obj], find: FindController) -> tuple[int, tuple[str, ...]]:
    """getExpectedScale: the sum of the replicas of the pods' controllers, each counted
    once, and the pods without a controller."""
    scales: dict[str, int] = {}
    seen: set[str] = set()
    unmanaged: list[str] = []
    for pod in pods:
        ref = controller_ref(pod)
        if ref is None:
            unmanaged.append(pod["metadata"]["name"])
            continue
        if ref.get("uid") in seen:
            continue
        found = controller_scale(ref, pod["metadata"].get("namespace") or "", find)
        if found is None:
            raise BudgetError(f'found no controllers for pod "{pod["metadata"]["name"]}"')
        seen.add(str(ref.get("uid")))
        scales[found[0]] = found[1]
    return sum(scales.values()), tuple(unmanaged)


def expected_pods(pdb: Obj, pods: list[Obj], find: FindController) -> Expected:
    """getExpectedPodCount: an integer minAvailable counts the pods there are; a
    percentage or maxUnavailable counts the controllers' scale."""
    spec = pdb.get("spec") or {}
    high, low = spec.get("maxUnavailable"), spec.get("minAvailable")
    if high is not None:
        count, unmanaged = expected_scale(pods, find)
        unavailable = scaled_value(high, count, round_up=True)
        return Expected(count, max(0, count - unavailable), unmanaged)
    if isinstance(low, int):
        return Expected(len(pods), low)
    if low is not None:
        count, unmanaged = expected_scale(pods, find)
        return Expected(count, scaled_value(low, count, round_up=True), unmanaged)
    return Expected(0, 0)


def _disrupted_at(value: object) -> float | None:
    return parse_time(value) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Disrupted:
    """buildDisruptedPodMap's answer: the evictions still expected to delete their pod,
    when the earliest of them expires, and the pods whose eviction expired undeleted."""

    pods: dict[str, str]
    recheck_at: float | None
    not_deleted: tuple[str, ...] = ()


def disrupted_pods(pdb: Obj, pods: list[Obj], now: float) -> Disrupted:
    """The status.disruptedPods to keep: a pod that is gone or already going is done
    with; one still there two minutes after its eviction was not deleted after all."""
    recorded = (pdb.get("status") or {}).get("disruptedPods") or {}
    kept: dict[str, str] = {}
    expired: list[str] = []
    for pod in pods:
        name = pod["metadata"]["name"]
        if pod["metadata"].get("deletionTimestamp") or name not in recorded:
            continue
        at = _disrupted_at(recorded[name])
        if at is None or at + DELETION_TIMEOUT <= now:
            expired.append(name)  # it counts again
        else:
            kept[name] = recorded[name]
    deadlines = [t + DELETION_TIMEOUT for t in map(_disrupted_at, kept.values())
                 if t is not None]
    return Disrupted(kept, min(deadlines, default=None), tuple(expired))


def healthy_pods(pods: list[Obj], disrupted: dict[str, str], now: float) -> int:
    """countHealthyPods: ready, not being deleted, not about to be by an eviction."""
    count = 0
    for pod in pods:
        name = pod["metadata"]["name"]
        if pod["metadata"].get("deletionTimestamp"):
            continue
        at = _disrupted_at(disrupted.get(name))
        if at is not None and at + DELETION_TIMEOUT > now:
            continue
        count += is_ready(pod)
    return count


def budget_status(pdb: Obj, expected: Expected, healthy: int, disrupted: dict[str, str],
                  now: str) -> Obj | None:
    """updatePdbStatus: the new status, or None when the stored one already says it.
    Nothing may go while no pod is expected, so a budget whose first pods appear before
    this controller looks is safe."""
    allowed = healthy - expected.desired_healthy
    if expected.pods <= 0 or allowed <= 0:
        allowed = 0
    old = pdb.get("status") or {}
    generation = int(pdb["metadata"].get("generation") or 0)
    counts = {"disruptionsAllowed": allowed, "currentHealthy": healthy,
              "desiredHealthy": expected.desired_healthy, "expectedPods": expected.pods}
    if all(old.get(k) == v for k, v in counts.items()) and \
            (old.get("disruptedPods") or {}) == disrupted and \
            conditions_up_to_date(pdb):
        return None
    status: Obj = {"observedGeneration": generation}
    if disrupted:
        status["disruptedPods"] = disrupted
    status.update(counts)
    status["conditions"] = old.get("conditions") or []
    return with_disruption_allowed_condition(status, now)


def fail_safe_status(pdb: Obj, message: str, now: str) -> Obj:
    """failSafe: no disruption allowed, and the condition says why (observedGeneration
    stays, so evictions also wait)."""
    status = dict(pdb.get("status") or {})
    status["disruptionsAllowed"] = 0
    cond = {"type": DISRUPTION_ALLOWED, "status": "False",
            "observedGeneration": int(status.get("observedGeneration") or 0),
            "reason": SYNC_FAILED, "message": message}
    status["conditions"] = set_condition(status.get("conditions") or [], cond, now)
    return status


def stale_disruption_wait(pod: Obj, now: float) -> float | None:
    """nonTerminatingPodHasStaleDisruptionCondition: None when the pod carries no
    DisruptionTarget=True that may go stale (being deleted, finished, or the kubelet's);
    otherwise the seconds until it is stale (0: it is)."""
    if pod["metadata"].get("deletionTimestamp"):
        return None
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return None
    cond = next((c for c in (pod.get("status") or {}).get("conditions") or []
                 if c.get("type") == DISRUPTION_TARGET), None)
    if cond is None or cond.get("status") != "True" or \
            cond.get("reason") == _KUBELET_TERMINATION:
        return None
    since = parse_time(cond.get("lastTransitionTime")) or now
    return max(0.0, since + STALE_DISRUPTION_TIMEOUT - now)


def without_disruption_target(pod: Obj, now: str) -> Obj:
    """The pod with its DisruptionTarget condition turned False (no reason: nothing
    disrupts it any more)."""
    status = dict(pod.get("status") or {})
    status["conditions"] = [
        {"type": DISRUPTION_TARGET, "status": "False", "lastProbeTime": None,
         "lastTransitionTime": now} if c.get("type") == DISRUPTION_TARGET else c
        for c in status.get("conditions") or []]
    return {**pod, "status": status}


def selects(pdb: Obj, pod: Obj) -> bool:
    try:
        return bool(pods_of_budget(pdb, [pod]))
    except BudgetError:
        return False


UNMANAGED_MESSAGE = (
    "Pods selected by this PodDisruptionBudget (selector: {}) were found to be unmanaged. "
    "As a result, the status of the PDB cannot be calculated correctly, which may result "
    "in undefined behavior. To account for these pods please set \".spec.minAvailable\" "
    "field of the PDB to an integer value.")


class StalePodDisruptionCleaner:
    """syncStalePodDisruption: an eviction marked the pod, which then was not deleted."""

    name = "disruption-controller-stale-pods"

    def __init__(self, ctx: ControllerContext, pods: Informer) -> None:
        self.ctx = ctx
        self.pods = pods
        self.loop = ReconcileLoop(self, ctx, workers=1)

    def pod_changed(self, pod: Obj) -> None:
        wait = stale_disruption_wait(pod, self.ctx.clock())
        if wait is not None:
            self.loop.enqueue_after(object_key(pod), wait)

    async def sync(self, key: str) -> None:
        pod = self.pods.get(key)
        if pod is None:
            return
        now = self.ctx.clock()
        wait = stale_disruption_wait(pod, now)
        if wait is None:
            return
        if wait > 0:
            self.loop.enqueue_after(key, wait)
            return
        namespace, _ = split_key(key)
        await self.ctx.client.update(PODS, without_disruption_target(pod, rfc3339(now)),
                                     namespace=namespace, subresource="status")


class DisruptionController:
    name = "disruption-controller"

    def __init__(self, ctx: ControllerContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.recorder = ctx.recorder("controllermanager")
        self.budgets = ctx.informers.informer(PODDISRUPTIONBUDGETS)
        self.pods = ctx.informers.informer(PODS)
        self.caches = {
            "ReplicaSet": ctx.informers.informer(REPLICASETS),
            "Deployment": ctx.informers.informer(DEPLOYMENTS),
            "StatefulSet": ctx.informers.informer(STATEFULSETS),
            "ReplicationController": ctx.informers.informer(REPLICATIONCONTROLLERS),
        }
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.stale = StalePodDisruptionCleaner(ctx, self.pods)
        self.budgets.add_handlers(self.loop.watch_own, lambda _o, n: self.loop.enqueue(n))
        self.pods.add_handlers(self._pod_added, self._pod_updated, self._enqueue_budgets_of)

    def _enqueue_budgets_of(self, pod: Obj, old: Obj | None = None) -> None:
        """The budgets that select the pod now, or did before this change."""
        for pdb in self.budgets.list():
            if selects(pdb, pod) or (old is not None and selects(pdb, old)):
                self.loop.enqueue(pdb)

    def _pod_added(self, pod: Obj) -> None:
        self._enqueue_budgets_of(pod)
        self.stale.pod_changed(pod)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        self._enqueue_budgets_of(new, old)
        self.stale.pod_changed(new)

    def _find(self, kind: str, namespace: str, name: str) -> Obj | None:
        return self.caches[kind].get(f"{namespace}/{name}")

    async def run(self) -> None:
        tasks = TaskSet(self.name)
        try:
            tasks.spawn("budgets", self.loop.run(), critical=True)
            tasks.spawn("stale-pods", self.stale.loop.run(), critical=True)
            await tasks.wait_failure()
        finally:
            await tasks.close()

    async def sync(self, key: str) -> None:
        pdb = self.budgets.get(key)
        if pdb is None:
            return
        now = self.ctx.clock()
        try:
            pods = pods_of_budget(pdb, self.pods.list())
            expected = expected_pods(pdb, pods, self._find)
        except BudgetError as e:
            self.recorder.record(pdb, "Warning", "CalculateExpectedPodCountFailed",
                                 f"Failed to calculate the number of expected pods: {e}")
            await self._write(pdb, fail_safe_status(pdb, str(e), rfc3339(now)))
            return
        if not pods:
            self.recorder.record(pdb, "Normal", "NoPods", "No matching pods found")
        if expected.unmanaged:
            self.recorder.record(pdb, "Warning", "UnmanagedPods", UNMANAGED_MESSAGE.format(
                (pdb.get("spec") or {}).get("selector")))
        disrupted = disrupted_pods(pdb, pods, now)
        for name in disrupted.not_deleted:
            pod = next(p for p in pods if p["metadata"]["name"] == name)
            # kube's message names the budget's namespace twice; this one names the budget.
            self.recorder.record(pod, "Warning", "NotDeleted",
                                 f"Pod was expected by PDB {key} to be deleted but it wasn't")
        status = budget_status(pdb, expected, healthy_pods(pods, disrupted.pods, now),
                               disrupted.pods, rfc3339(now))
        if status is not None:
            await self._write(pdb, status)
        if disrupted.recheck_at is not None:
            self.loop.enqueue_after(key, max(0.0, disrupted.recheck_at - now))

    async def _write(self, pdb: Obj, status: Obj) -> None:
        if status == pdb.get("status"):
            return
        body = {**pdb, "status": status}  # the cached object itself stays as it is
        await self.ctx.client.update(PODDISRUPTIONBUDGETS, body,
                                     namespace=pdb["metadata"].get("namespace"),
                                     subresource="status")
