"""The Job controller: runs pods until `completions` succeed or the Job fails (backoff limit,
active deadline); counts finished pods exactly once through a tracking finalizer."""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from minikube_py.api.errors import ApiError
from minikube_py.api.owners import controller_ref, new_controller_ref
from minikube_py.api.podutil import is_ready, is_terminating, parse_time
from minikube_py.api.resources import JOBS, PODS
from minikube_py.api.timefmt import rfc3339
from minikube_py.client.events import NORMAL, WARNING
from minikube_py.client.interface import STRATEGIC_MERGE_PATCH
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop, split_key
from minikube_py.controllers.ownedpods import OwnedPods

log = logging.getLogger("minikube_py.controllers.job")

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
INDEX_LABEL = "batch.kubernetes.io/job-completion-index"

DEFAULT_BACKOFF_BASE = 10.0  # kube's DefaultJobPodFailureBackOff
DEFAULT_BACKOFF_CAP = 360.0  # kube's MaxJobPodFailureBackOff

BACKOFF_LIMIT_EXCEEDED = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE_EXCEEDED = ("DeadlineExceeded", "Job was active longer than specified deadline")
COMPLETIONS_REACHED = ("CompletionsReached", "Reached expected number of succeeded pods")


# --- pure decisions -------------------------------------------------------------------


@dataclass(frozen=True)
class JobPod:
    name: str
    uid: str
    phase: str
    ready: bool = False
    terminating: bool = False
    tracked: bool = False  # still carries the tracking finalizer
    index: int | None = None
    restarts: int = 0
    created: str = ""
    finished_at: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.phase == "Succeeded"

    @property
    def failed(self) -> bool:
        # A pod deleted before it finished counts as failed (kube's isPodFailed).
        return self.phase == "Failed" or (self.terminating and self.phase != "Succeeded")

    @property
    def active(self) -> bool:
        return not self.succeeded and not self.failed


@dataclass(frozen=True)
class JobSpecFacts:
    parallelism: int
    completions: int | None
    backoff_limit: int
    indexed: bool = False
    restart_on_failure: bool = False
    active_deadline_seconds: int | None = None
    suspended: bool = False


@dataclass(frozen=True)
class JobDecision:
    finish: str | None = None  # "Complete" or "Failed": the Job is done (or about to be)
    reason: str = ""
    message: str = ""
    create: tuple[int | None, ...] = ()  # one entry per pod: its completion index or None
    delete: tuple[str, ...] = ()
    requeue_after: float | None = None


def format_indexes(indexes: Iterable[int]) -> str:
    """{0,1,2,4} -> "0-2,4" (status.completedIndexes)."""
    out: list[str] = []
    run: list[int] = []
    for i in sorted(set(indexes)):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [i]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(out)


def parse_indexes(text: str | None) -> set[int]:
    out: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            out.update(range(int(lo), int(hi or lo) + 1))
        except ValueError:
            continue
    return out


def backoff_remaining(failed: int, last_failure: float | None, now: float, *,
                      base: float, cap: float) -> float:
    """Seconds to wait before replacing a failed pod: base doubling per failure, capped."""
    if failed <= 0 or last_failure is None or base <= 0:
        return 0.0
    delay = min(cap, base * 2.0 ** min(failed - 1, 32))
    return max(0.0, last_failure + delay - now)


def _deletion_order(pods: Sequence[JobPod]) -> list[str]:
    """Pods to remove first: not ready before ready, newest before oldest."""
    not_ready = [p for p in pods if not p.ready]
    ready = [p for p in pods if p.ready]
    return [p.name for p in sorted(not_ready, key=lambda p: p.created, reverse=True)] + \
        [p.name for p in sorted(ready, key=lambda p: p.created, reverse=True)]


def decide_job(spec: JobSpecFacts, pods: Sequence[JobPod], *, succeeded: int, failed: int,
               completed_indexes: set[int], start_time: float | None, now: float,
               pending_finish: tuple[str, str, str] | None = None,
               backoff_base: float = DEFAULT_BACKOFF_BASE,
               backoff_cap: float = DEFAULT_BACKOFF_CAP) -> JobDecision:
    """What to do this sync. `succeeded`/`failed` are the totals counted so far including
    pods finished since; `pending_finish` is an interim (type, reason, message) already in
    the Job's conditions (FailureTarget / SuccessCriteriaMet)."""
    active = [p for p in pods if p.active]
    everyone_active = tuple(p.name for p in active)
    if pending_finish is not None:
        kind, reason, message = pending_finish
        return JobDecision(kind, reason, message, delete=everyone_active)
    if spec.suspended:
        return JobDecision(delete=everyone_active)
    restarts = sum(p.restarts for p in active) if spec.restart_on_failure else 0
    past_restarts = restarts > 0 if spec.backoff_limit == 0 else restarts >= spec.backoff_limit
    if failed > spec.backoff_limit or (spec.restart_on_failure and past_restarts):
        return JobDecision("Failed", *BACKOFF_LIMIT_EXCEEDED, delete=everyone_active)
    if spec.active_deadline_seconds is not None and start_time is not None:
        deadline = start_time + spec.active_deadline_seconds
        if now >= deadline:
            return JobDecision("Failed", *DEADLINE_EXCEEDED, delete=everyone_active)
    deadline_in = (start_time + spec.active_deadline_seconds - now
                   if spec.active_deadline_seconds is not None and start_time is not None
                   else None)
    if spec.indexed and spec.completions is not None:
        done_indexes = completed_indexes & set(range(spec.completions))
        if len(done_indexes) >= spec.completions:
            return JobDecision("Complete", *COMPLETIONS_REACHED, delete=everyone_active)
    elif spec.completions is not None and succeeded >= spec.completions:
        return JobDecision("Complete", *COMPLETIONS_REACHED, delete=everyone_active)
    elif spec.completions is None and succeeded > 0 and not active:
        return JobDecision("Complete", *COMPLETIONS_REACHED)
    want = _wanted_active(spec, succeeded, len(active), completed_indexes)
    if len(active) > want:
        return JobDecision(delete=tuple(_deletion_order(active)[: len(active) - want]),
                           requeue_after=deadline_in)
    missing = want - len(active)
    if missing <= 0:
        return JobDecision(requeue_after=deadline_in)
    last_failure = max((p.finished_at for p in pods if p.failed and p.finished_at is not None),
                       default=None)
    wait = backoff_remaining(failed, last_failure, now, base=backoff_base, cap=backoff_cap)
    if wait > 0:
        return JobDecision(requeue_after=min(wait, deadline_in) if deadline_in else wait)
    if spec.indexed and spec.completions is not None:
        busy = {p.index for p in active} | completed_indexes
        free = [i for i in range(spec.completions) if i not in busy][:missing]
        return JobDecision(create=tuple(free), requeue_after=deadline_in)
    return JobDecision(create=(None,) * missing, requeue_after=deadline_in)


def _wanted_active(spec: JobSpecFacts, succeeded: int, active: int,
                   completed_indexes: set[int]) -> int:
    if spec.completions is None:
        # Work-queue jobs: once one pod succeeded, the rest finish on their own.
        return active if succeeded > 0 else spec.parallelism
    done = len(completed_indexes) if spec.indexed else succeeded
    return max(0, min(spec.parallelism, spec.completions - done))


# --- the controller -------------------------------------------------------------------


def _condition(job: Obj, kind: str) -> Obj | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind and c.get("status") == "True":
            return dict(c)
    return None


def is_finished(job: Obj) -> bool:
    return _condition(job, "Complete") is not None or _condition(job, "Failed") is not None


def _pod_facts(pod: Obj) -> JobPod:
    meta, status = pod["metadata"], pod.get("status") or {}
    statuses = [*(status.get("initContainerStatuses") or []),
                *(status.get("containerStatuses") or [])]
    finished = [parse_time(((s.get("state") or {}).get("terminated") or {}).get("finishedAt"))
                for s in statuses]
    known = [f for f in finished if f is not None]
    index = (meta.get("annotations") or {}).get(INDEX_ANNOTATION)
    return JobPod(
        name=meta["name"], uid=meta.get("uid", ""), phase=status.get("phase") or "Pending",
        ready=is_ready(pod), terminating=is_terminating(pod),
        tracked=TRACKING_FINALIZER in (meta.get("finalizers") or []),
        index=int(index) if index is not None and str(index).isdigit() else None,
        restarts=sum(int(s.get("restartCount") or 0) for s in statuses),
        created=meta.get("creationTimestamp") or "",
        finished_at=max(known) if known else None)


class JobController:
    name = "job-controller"

    def __init__(self, ctx: ControllerContext, *, workers: int = 2,
                 backoff_base: float = DEFAULT_BACKOFF_BASE,
                 backoff_cap: float = DEFAULT_BACKOFF_CAP) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.recorder = ctx.recorder(self.name)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.jobs = ctx.informers.informer(JOBS)
        # A deleted Job is synced once more: it releases the finalizers of its pods.
        self.jobs.add_handlers(self.loop.watch_own, lambda _o, new: self.loop.watch_own(new),
                               self.loop.watch_own)
        self.pods = OwnedPods(ctx, self.loop, self.jobs, kind="Job", recorder=self.recorder)

    async def run(self) -> None:
        await self.loop.run()

    # -- reconcile --------------------------------------------------------------------

    def _owned_pods(self, namespace: str | None, name: str, uid: str | None) -> list[Obj]:
        """The pods whose controller is the Job `name` (the one with `uid`, if given)."""
        out = []
        for p in self.pods.in_namespace(namespace):
            ref = controller_ref(p)
            if ref is None or ref.get("kind") != "Job" or ref.get("name") != name:
                continue
            if uid is None or ref.get("uid") == uid:
                out.append(p)
        return out

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        job = self.jobs.get(key)
        if job is None:
            await self._release_all(self._owned_pods(namespace, name, None))
            return
        uid = job["metadata"]["uid"]
        pods = self._owned_pods(namespace, name, uid)
        if is_terminating(job):
            await self._release_all(pods)  # being deleted: start nothing, hold no pod
            return
        if is_finished(job):
            await self._release_all(pods)
            await self._expire(job, key)
            return
        if not self.pods.satisfied(key):
            return
        await self._sync_job(job, key, pods)

    async def _sync_job(self, job: Obj, key: str, pods: list[Obj]) -> None:
        now = self.ctx.clock()
        spec, status = job.get("spec") or {}, dict(job.get("status") or {})
        facts = [_pod_facts(p) for p in pods]
        uncounted = status.get("uncountedTerminatedPods") or {}
        counted = set(uncounted.get("succeeded") or []) | set(uncounted.get("failed") or [])
        new_ok = [p for p in facts if p.tracked and p.succeeded and p.uid not in counted]
        new_bad = [p for p in facts if p.tracked and p.failed and p.uid not in counted]
        succeeded = int(status.get("succeeded") or 0) + len(new_ok)
        failed = int(status.get("failed") or 0) + len(new_bad)
        completed = parse_indexes(status.get("completedIndexes")) | {
            p.index for p in new_ok if p.index is not None}
        suspended = bool(spec.get("suspend"))
        # The start as status.startTime keeps it (whole seconds), so that this sync and
        # every later one agree on when the active deadline passes.
        start = None if suspended else (parse_time(status.get("startTime")) or math.floor(now))
        interim = _condition(job, "FailureTarget") or _condition(job, "SuccessCriteriaMet")
        pending = None
        if interim is not None:
            kind = "Failed" if interim["type"] == "FailureTarget" else "Complete"
            pending = (kind, interim.get("reason", ""), interim.get("message", ""))
        template_spec = ((spec.get("template") or {}).get("spec") or {})
        parallelism, backoff_limit = spec.get("parallelism"), spec.get("backoffLimit")
        spec_facts = JobSpecFacts(
            parallelism=1 if parallelism is None else int(parallelism),
            completions=spec.get("completions"),
            backoff_limit=6 if backoff_limit is None else int(backoff_limit),
            indexed=spec.get("completionMode") == "Indexed",
            restart_on_failure=template_spec.get("restartPolicy") == "OnFailure",
            active_deadline_seconds=spec.get("activeDeadlineSeconds"),
            suspended=suspended)
        decision = decide_job(spec_facts, facts, succeeded=succeeded, failed=failed,
                              completed_indexes=completed, start_time=start, now=now,
                              pending_finish=pending, backoff_base=self.backoff_base,
                              backoff_cap=self.backoff_cap)
        by_name = {p["metadata"]["name"]: p for p in pods}
        await self.pods.delete(job, [by_name[name] for name in decision.delete])
        await self.pods.create(job, [_new_pod(job, index) for index in decision.create])
        # Count what finished, then let those pods go: counting comes first so a crash in
        # between never loses a pod, and uncountedTerminatedPods stops counting twice.
        now_tracked = {p.uid for p in facts if p.tracked}
        new_uncounted = {
            "succeeded": [u for u in uncounted.get("succeeded") or [] if u in now_tracked]
            + [p.uid for p in new_ok],
            "failed": [u for u in uncounted.get("failed") or [] if u in now_tracked]
            + [p.uid for p in new_bad],
        }
        deleting = set(decision.delete)
        still_active = [p for p in facts if p.active and p.name not in deleting]
        terminating = sum(1 for p in facts if p.terminating and not is_terminal_phase(p.phase))
        status.update({
            "active": len(still_active) + len(decision.create),
            "ready": sum(1 for p in still_active if p.ready),
            "succeeded": succeeded, "failed": failed, "terminating": terminating,
            "uncountedTerminatedPods": {k: v for k, v in new_uncounted.items() if v},
        })
        if spec_facts.indexed:
            status["completedIndexes"] = format_indexes(completed)
        conditions = list(status.get("conditions") or [])
        if start is not None and not status.get("startTime"):
            status["startTime"] = rfc3339(now)
        conditions = _set_suspended(conditions, suspended, now, status)
        if decision.finish is not None:
            conditions = self._finish_conditions(job, conditions, decision, status, facts,
                                                 deleting, now)
        status["conditions"] = conditions
        for k in ("active", "terminating", "ready", "succeeded", "failed"):
            if not status.get(k) and k not in ("ready", "terminating"):
                status.pop(k, None)
        if not status["conditions"]:
            del status["conditions"]
        if status != (job.get("status") or {}):
            body = copy.deepcopy(job)
            body["status"] = status
            await self.client.update(JOBS, body, namespace=job["metadata"]["namespace"],
                                     subresource="status")
        counted_now = {f.uid for f in (*new_ok, *new_bad)} | counted
        await self._release_all([p for p in pods if p["metadata"]["uid"] in counted_now])
        if decision.requeue_after is not None and decision.finish is None:
            self.loop.enqueue_after(key, max(decision.requeue_after, 0.001))

    def _finish_conditions(self, job: Obj, conditions: list[Obj], decision: JobDecision,
                           status: Obj, facts: Sequence[JobPod], deleting: set[str],
                           now: float) -> list[Obj]:
        interim = "FailureTarget" if decision.finish == "Failed" else "SuccessCriteriaMet"
        stamp = rfc3339(now)
        if not any(c.get("type") == interim for c in conditions):
            conditions.append(_new_condition(interim, decision.reason, decision.message, stamp))
        # The terminal condition waits until no pod of the Job is still running.
        lingering = [p for p in facts if (p.active or (p.terminating and p.tracked))
                     and not is_terminal_phase(p.phase)]
        if lingering or deleting:
            return conditions
        conditions.append(_new_condition(decision.finish or "", decision.reason,
                                         decision.message, stamp))
        if decision.finish == "Complete":
            status["completionTime"] = stamp
            self.recorder.record(job, NORMAL, "Completed", "Job completed")
        else:
            self.recorder.record(job, WARNING, decision.reason, decision.message)
        status["active"] = 0
        return conditions

    async def _release_all(self, pods: Iterable[Obj]) -> None:
        """Remove the tracking finalizer (the pod was counted, or its Job is gone)."""
        for pod in pods:
            meta = pod["metadata"]
            finalizers = meta.get("finalizers") or []
            if TRACKING_FINALIZER not in finalizers:
                continue
            try:
                # Only our finalizer goes, whatever else changed meanwhile: the kubelet
                # writing the pod's status must not cost a conflict and a retry.
                await self.client.patch(PODS, meta["name"], release_finalizer_patch(),
                                        patch_type=STRATEGIC_MERGE_PATCH,
                                        namespace=meta.get("namespace"))
            except ApiError as e:
                if e.code != 404:
                    raise

    async def _expire(self, job: Obj, key: str) -> None:
        """ttlSecondsAfterFinished (kube's TTL-after-finished controller)."""
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        status = job.get("status") or {}
        finished = parse_time(status.get("completionTime"))
        if finished is None:
            cond = _condition(job, "Complete") or _condition(job, "Failed") or {}
            finished = parse_time(cond.get("lastTransitionTime"))
        if finished is None:
            return
        remaining = finished + int(ttl) - self.ctx.clock()
        if remaining > 0:
            self.loop.enqueue_after(key, remaining)
            return
        try:
            await self.client.delete(JOBS, job["metadata"]["name"],
                                     namespace=job["metadata"]["namespace"],
                                     propagation_policy="Background",
                                     preconditions={"uid": job["metadata"]["uid"]})
        except ApiError as e:
            if e.code not in (404, 409):
                raise


def release_finalizer_patch() -> Obj:
    """A strategic merge patch removing only the tracking finalizer, whatever the other
    finalizers are now (kube's removeTrackingFinalizerPatch)."""
    return {"metadata": {"$deleteFromPrimitiveList/finalizers": [TRACKING_FINALIZER]}}


def is_terminal_phase(phase: str) -> bool:
    return phase in ("Succeeded", "Failed")


def _new_condition(kind: str, reason: str, message: str, stamp: str) -> Obj:
    return {"type": kind, "status": "True", "lastProbeTime": stamp,
            "lastTransitionTime": stamp, "reason": reason, "message": message}


def _set_suspended(conditions: list[Obj], suspended: bool, now: float, status: Obj) -> list[Obj]:
    current = next((c for c in conditions if c.get("type") == "Suspended"), None)
    if suspended and (current is None or current.get("status") != "True"):
        conditions = [c for c in conditions if c.get("type") != "Suspended"]
        conditions.append(_new_condition("Suspended", "JobSuspended", "Job suspended",
                                         rfc3339(now)))
        status.pop("startTime", None)
    elif not suspended and current is not None and current.get("status") == "True":
        conditions = [c for c in conditions if c.get("type") != "Suspended"]
        resumed = _new_condition("Suspended", "JobResumed", "Job resumed", rfc3339(now))
        resumed["status"] = "False"
        conditions.append(resumed)
        status["startTime"] = rfc3339(now)
    return conditions


def _new_pod(job: Obj, index: int | None) -> Obj:
    template = copy.deepcopy((job.get("spec") or {}).get("template") or {})
    tmeta = template.get("metadata") or {}
    name = job["metadata"]["name"]
    labels = dict(tmeta.get("labels") or {})
    annotations = dict(tmeta.get("annotations") or {})
    spec = template.get("spec") or {}
    generate = f"{name}-"
    if index is not None:
        annotations[INDEX_ANNOTATION] = str(index)
        labels[INDEX_LABEL] = str(index)
        generate = f"{name}-{index}-"
        spec.setdefault("hostname", f"{name}-{index}")
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            env = c.setdefault("env", [])
            if not any(e.get("name") == "JOB_COMPLETION_INDEX" for e in env):
                env.append({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
                    "fieldPath": f"metadata.annotations['{INDEX_ANNOTATION}']"}}})
    meta: Obj = {"generateName": generate, "namespace": job["metadata"]["namespace"],
                 "labels": labels, "ownerReferences": [new_controller_ref(job)],
                 "finalizers": [TRACKING_FINALIZER]}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
