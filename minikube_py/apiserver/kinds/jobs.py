"""Jobs (batch): a selector on the job's own uid unless manualSelector, run-to-completion
pod templates, kubectl's columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.resources import JOBS
from minikube_py.apiserver.kinds.base import Obj, Printer
from minikube_py.apiserver.kinds.podspec import (
    default_template,
    validate_replicas,
    validate_template,
    wide,
    wide_columns,
)
from minikube_py.apiserver.kinds.workloads import (
    WorkloadStrategy,
)
from minikube_py.apiserver.tables_format import (
    AGE_DESC,
    NAME_DESC,
    Row,
    age,
    between,
    column,
    name,
    since,
)

JOB_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Status", "Status of the job."),
    column("Completions", "The number of pods which reached phase Succeeded."),
    column("Duration", "Time required to complete the job."),
    column("Age", AGE_DESC),
    *wide_columns(),
]


def _job_condition(job: Obj, kind: str) -> bool:
    # Like kube's hasJobCondition: the first condition of that type decides.
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return bool(cond.get("status") == "True")
    return False


def job_status(job: Obj) -> str:
    if _job_condition(job, "Complete"):
        return "Complete"
    if _job_condition(job, "Failed"):
        return "Failed"
    if (job.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    # 1.32 has no SuccessCriteriaMet case (a later kubectl added one): such a job reads Running.
    for kind in ("Suspended", "FailureTarget"):
        if _job_condition(job, kind):
            return kind
    return "Running"


def job_completions(job: Obj) -> str:
    spec = job.get("spec") or {}
    succeeded = (job.get("status") or {}).get("succeeded", 0)
    if spec.get("completions") is not None:
        return f"{succeeded}/{spec['completions']}"
    parallelism = spec.get("parallelism") or 0
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def job_duration(job: Obj, now: float) -> str:
    st = job.get("status") or {}
    if not st.get("startTime"):
        return ""
    if not st.get("completionTime"):
        return since(st["startTime"], now)
    return between(st["startTime"], st["completionTime"])


def job_row(job: Obj, now: float) -> Row:
    return [name(job), job_status(job), job_completions(job), job_duration(job, now),
            age(job, now), *wide(job)]


def default_job_spec(spec: Obj) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    default_template(spec)


def generate_job_selector(obj: Obj) -> None:
    """Jobs get a selector on their own uid unless spec.manualSelector (batch's defaulting)."""
    spec = obj.setdefault("spec", {})
    if spec.get("manualSelector"):
        return
    meta = obj["metadata"]
    uid, name = meta["uid"], meta.get("name") or ""  # validation refuses a missing name
    labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
              "controller-uid": uid, "job-name": name}
    tmeta = spec.setdefault("template", {}).setdefault("metadata", {})
    tmeta["labels"] = {**(tmeta.get("labels") or {}), **labels}
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}



def _succeeded_field(o: Mapping[str, Any]) -> dict[str, str]:
    return {"status.successful": str((o.get("status") or {}).get("succeeded") or 0)}


def validate_job_template(spec: Mapping[str, Any], field: str) -> list[Cause]:
    return validate_template(spec, field, restart_policies=("OnFailure", "Never"))


class JobStrategy(WorkloadStrategy):
    printer = Printer(JOB_COLUMNS, job_row)
    schema = "batch.Job"
    field_labels = staticmethod(_succeeded_field)

    def default(self, obj: Obj) -> None:
        default_job_spec(obj.setdefault("spec", {}))

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        generate_job_selector(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        spec = obj.get("spec") or {}
        return validate_replicas(spec, "spec") + validate_job_template(spec, "spec")


STRATEGY = JobStrategy(JOBS)
