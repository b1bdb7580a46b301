"""The CronJob controller: creates a Job from jobTemplate at each scheduled time, honours
concurrencyPolicy, startingDeadlineSeconds and suspend, keeps the Job history limits,
and requeues itself for the next scheduled time."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass

from minikube_py.api.cron import (
    CronSyntaxError,
    missed_runs,
    next_schedule_time,
    parse_schedule,
)
from minikube_py.api.errors import ApiError
from minikube_py.api.owners import controller_ref, new_controller_ref
from minikube_py.api.podutil import parse_time
from minikube_py.api.resources import CRONJOBS, JOBS
from minikube_py.api.timefmt import rfc3339
from minikube_py.client.events import NORMAL, WARNING, object_reference
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop

log = logging.getLogger("minikube_py.controllers.cronjob")

SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
TOO_MANY_MISSED = 100


# --- pure decisions -------------------------------------------------------------------


def job_name_for(cronjob_name: str, scheduled: float) -> str:
    """`<cronjob>-<scheduled time in minutes since the epoch>` (kube's getJobName)."""
    return f"{cronjob_name}-{int(scheduled // 60)}"


def job_finished(job: Obj) -> str | None:
    """"Complete" or "Failed" once the Job is done, else None."""
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return None


@dataclass(frozen=True)
class CronDecision:
    run_at: float | None = None  # create the Job for this scheduled time
    replace: bool = False  # delete the active Jobs first (concurrencyPolicy Replace)
    skip_reason: str = ""  # why a due run is not started (an event)
    next_run: float | None = None  # when to look again


def decide_cron(*, schedule_text: str, time_zone: str | None, suspended: bool,
                concurrency: str, starting_deadline: int | None, created: float,
                last_scheduled: float | None, now: float, active_jobs: int,
                existing_names: frozenset[str], name: str) -> CronDecision:
    """What the CronJob should do at `now`. Raises CronSyntaxError on a bad schedule."""
    schedule = parse_schedule(schedule_text, time_zone)
    next_run = next_schedule_time(schedule, now)
    if suspended:
        return CronDecision(next_run=None)
    earliest = last_scheduled if last_scheduled is not None else created
    if starting_deadline is not None:
        earliest = max(earliest, now - starting_deadline)
    missed = missed_runs(schedule, earliest, now)
    if missed.most_recent is None:
        return CronDecision(next_run=next_run)
    run_at = missed.most_recent
    if starting_deadline is not None and run_at + starting_deadline < now:
        return CronDecision(skip_reason="MissSchedule", next_run=next_run)
    if job_name_for(name, run_at) in existing_names:
        return CronDecision(next_run=next_run)  # already started this one
    if concurrency == "Forbid" and active_jobs:
        # Look again soon: the run may still start once the active Job ends, if within
        # the starting deadline (the Job's completion requeues us too).
        return CronDecision(skip_reason="JobAlreadyActive", next_run=next_run)
    return CronDecision(run_at=run_at, replace=concurrency == "Replace" and active_jobs > 0,
                        skip_reason="TooManyMissedTimes" if missed.count > TOO_MANY_MISSED
                        else "", next_run=next_run)


def jobs_to_prune(finished: list[tuple[str, str, float]], *, successful_limit: int | None,
                  failed_limit: int | None) -> list[str]:
    """Finished Jobs (name, "Complete"/"Failed", start time) beyond the history limits,
    oldest first."""
    out: list[str] = []
    for kind, limit in (("Complete", successful_limit), ("Failed", failed_limit)):
        if limit is None:
            continue
        of_kind = sorted((j for j in finished if j[1] == kind), key=lambda j: (j[2], j[0]))
        if len(of_kind) > limit:
            out += [j[0] for j in of_kind[: len(of_kind) - limit]]
    return out


# --- the controller -------------------------------------------------------------------


class CronJobController:
    name = "cronjob-controller"

    def __init__(self, ctx: ControllerContext, *, workers: int = 1,
                 max_requeue: float = 60.0) -> None:
        """`max_requeue` bounds how long a CronJob sleeps between checks, so a clock that
        jumps (or an injected test clock) is noticed."""
        self.ctx = ctx
        self.client = ctx.client
        self.recorder = ctx.recorder(self.name)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.max_requeue = max_requeue
        self.cronjobs = ctx.informers.informer(CRONJOBS)
        self.jobs = ctx.informers.informer(JOBS)
        self.cronjobs.add_handlers(self.loop.watch_own, lambda _o, new: self.loop.watch_own(new))
        self.jobs.add_handlers(self._job_changed, lambda _o, new: self._job_changed(new),
                               self._job_changed)

    async def run(self) -> None:
        await self.loop.run()

    def _job_changed(self, job: Obj) -> None:
        ref = controller_ref(job)
        if ref is not None and ref.get("kind") == "CronJob":
            self.loop.enqueue_key(f"{job['metadata'].get('namespace')}/{ref.get('name')}")

    def _owned_jobs(self, cj: Obj) -> list[Obj]:
        ns, uid = cj["metadata"].get("namespace"), cj["metadata"]["uid"]
        return [j for j in self.jobs.list()
                if j["metadata"].get("namespace") == ns
                and (controller_ref(j) or {}).get("uid") == uid]

    async def sync(self, key: str) -> None:
        cj = self.cronjobs.get(key)
        if cj is None or (cj.get("metadata") or {}).get("deletionTimestamp"):
            return
        now = self.ctx.clock()
        spec, old_status = cj.get("spec") or {}, cj.get("status") or {}
        jobs = self._owned_jobs(cj)
        status = self._reconcile_active(cj, jobs)
        await self._prune_history(cj, jobs)
        active = status.get("active") or []
        try:
            decision = decide_cron(
                schedule_text=spec.get("schedule") or "", time_zone=spec.get("timeZone"),
                suspended=bool(spec.get("suspend")),
                concurrency=spec.get("concurrencyPolicy") or "Allow",
                starting_deadline=spec.get("startingDeadlineSeconds"),
                created=parse_time(cj["metadata"].get("creationTimestamp")) or now,
                last_scheduled=parse_time(status.get("lastScheduleTime")), now=now,
                active_jobs=len(active),
                existing_names=frozenset(j["metadata"]["name"] for j in jobs),
                name=cj["metadata"]["name"])
        except CronSyntaxError as e:
            self.recorder.record(cj, WARNING, "UnparseableSchedule",
                                 f"unparseable schedule: {spec.get('schedule')!r} : {e}")
            await self._write_status(cj, status, old_status)
            return
        if decision.skip_reason == "MissSchedule":
            self.recorder.record(cj, WARNING, "MissSchedule",
                                 "Missed scheduled time to start a job")
        elif decision.skip_reason == "JobAlreadyActive":
            self.recorder.record(cj, NORMAL, "JobAlreadyActive",
                                 "Not starting job because prior execution is running and "
                                 "concurrency policy is Forbid")
        elif decision.skip_reason == "TooManyMissedTimes":
            self.recorder.record(cj, WARNING, "TooManyMissedTimes",
                                 "too many missed start times. Set or decrease "
                                 ".spec.startingDeadlineSeconds or check clock skew")
        if decision.run_at is not None:
            if decision.replace:
                await self._delete_active(cj, active)
                status["active"] = []
            job = await self._create_job(cj, decision.run_at)
            if job is not None:
                status["active"] = [*(status.get("active") or []), _job_ref(job)]
            status["lastScheduleTime"] = rfc3339(decision.run_at)
        if not status.get("active"):
            status.pop("active", None)
        await self._write_status(cj, status, old_status)
        if decision.next_run is not None:
            delay = min(self.max_requeue, max(0.0, decision.next_run - now) + 0.1)
            self.loop.enqueue_after(key, delay)
        elif decision.skip_reason == "JobAlreadyActive":
            self.loop.enqueue_after(key, self.max_requeue)

    def _reconcile_active(self, cj: Obj, jobs: list[Obj]) -> Obj:
        """status.active is the Jobs of ours still running; record the last success."""
        status = copy.deepcopy(cj.get("status") or {})
        running = {j["metadata"]["uid"]: j for j in jobs if job_finished(j) is None}
        active = [ref for ref in status.get("active") or [] if ref.get("uid") in running]
        known = {ref.get("uid") for ref in active}
        active += [_job_ref(j) for uid, j in running.items() if uid not in known]
        status["active"] = active
        for ref in status_refs_finished(cj, jobs):
            self.recorder.record(cj, NORMAL, "SawCompletedJob",
                                 f"Saw completed job: {ref[0]}, status: {ref[1]}")
        succeeded = [parse_time((j.get("status") or {}).get("completionTime"))
                     for j in jobs if job_finished(j) == "Complete"]
        last = max((t for t in succeeded if t is not None), default=None)
        old_last = parse_time(status.get("lastSuccessfulTime"))
        if last is not None and (old_last is None or last > old_last):
            status["lastSuccessfulTime"] = rfc3339(last)
        return status

    async def _prune_history(self, cj: Obj, jobs: list[Obj]) -> None:
        spec = cj.get("spec") or {}
        finished = []
        for j in jobs:
            kind = job_finished(j)
            if kind is None or j["metadata"].get("deletionTimestamp"):
                continue
            started = parse_time((j.get("status") or {}).get("startTime")) or parse_time(
                j["metadata"].get("creationTimestamp")) or 0.0
            finished.append((j["metadata"]["name"], kind, started))
        for name in jobs_to_prune(finished, successful_limit=spec.get("successfulJobsHistoryLimit"),
                                  failed_limit=spec.get("failedJobsHistoryLimit")):
            try:
                await self.client.delete(JOBS, name, namespace=cj["metadata"]["namespace"],
                                         propagation_policy="Background")
            except ApiError as e:
                if e.code != 404:
                    raise
                continue
            self.recorder.record(cj, NORMAL, "SuccessfulDelete", f"Deleted job {name}")

    async def _delete_active(self, cj: Obj, active: list[Obj]) -> None:
        for ref in active:
            try:
                await self.client.delete(JOBS, ref["name"], namespace=cj["metadata"]["namespace"],
                                         propagation_policy="Background")
            except ApiError as e:
                if e.code != 404:
                    raise
                continue
            self.recorder.record(cj, NORMAL, "SuccessfulDelete",
                                 f"Deleted job {ref['name']}")

    async def _create_job(self, cj: Obj, scheduled: float) -> Obj | None:
        template = copy.deepcopy((cj.get("spec") or {}).get("jobTemplate") or {})
        tmeta = template.get("metadata") or {}
        name = job_name_for(cj["metadata"]["name"], scheduled)
        annotations = dict(tmeta.get("annotations") or {})
        annotations[SCHEDULED_TIMESTAMP_ANNOTATION] = rfc3339(scheduled)
        job = {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": cj["metadata"]["namespace"],
                         "labels": dict(tmeta.get("labels") or {}),
                         "annotations": annotations,
                         "ownerReferences": [new_controller_ref(cj)]},
            "spec": template.get("spec") or {},
        }
        try:
            created = await self.client.create(JOBS, job, namespace=cj["metadata"]["namespace"])
        except ApiError as e:
            if e.code == 409:
                return None  # made on an earlier try; the Job informer tells us about it
            self.recorder.record(cj, WARNING, "FailedCreate", f"Error creating job: {e}")
            raise
        self.recorder.record(cj, NORMAL, "SuccessfulCreate", f"Created job {name}")
        return created

    async def _write_status(self, cj: Obj, status: Obj, old: Obj) -> None:
        if status == old:
            return
        body = copy.deepcopy(cj)
        body["status"] = status
        await self.client.update(CRONJOBS, body, namespace=cj["metadata"]["namespace"],
                                 subresource="status")


def _job_ref(job: Obj) -> Obj:
    ref = object_reference(job)
    ref.setdefault("kind", "Job")
    ref["apiVersion"] = ref.get("apiVersion") or "batch/v1"
    return ref


def status_refs_finished(cj: Obj, jobs: list[Obj]) -> list[tuple[str, str]]:
    """(name, Complete/Failed) of Jobs still listed active in the status that have ended."""
    by_uid = {j["metadata"]["uid"]: j for j in jobs}
    out = []
    for ref in (cj.get("status") or {}).get("active") or []:
        job = by_uid.get(ref.get("uid"))
        kind = job_finished(job) if job is not None else None
        if kind is not None:
            out.append((str(ref.get("name")), kind))
    return out

