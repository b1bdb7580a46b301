"""Jobs (batch): a selector on the job's own uid unless manualSelector, run-to-completion
pod templates, kubectl's columns."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.resources import JOBS
from minikube_py.api.validation import int_field, invalid_value, not_supported, required
from minikube_py.apiserver.kinds.base import Obj, Printer
from minikube_py.apiserver.kinds.podspec import (
    MAX_INT32,
    default_template,
    validate_template,
    wide,
    wide_columns,
)
from minikube_py.apiserver.kinds.workloads import WorkloadStrategy
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


def default_job(obj: Obj) -> None:
    """SetDefaults_Job."""
    spec = obj.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    # With a per-index limit the job-wide one must not stop the job first.
    spec.setdefault("backoffLimit",
                    MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy",
                    "Failed" if spec.get("podFailurePolicy") is not None
                    else "TerminatingOrFailed")
    default_template(spec)
    labels_from_template(obj)


def labels_from_template(obj: Obj) -> None:
    """A Job without labels of its own carries its template's."""
    tmpl = (obj.get("spec") or {}).get("template")
    labels = (tmpl.get("metadata") or {}).get("labels") if isinstance(tmpl, dict) else None
    meta = obj.setdefault("metadata", {})
    if isinstance(labels, dict) and labels and not meta.get("labels"):
        meta["labels"] = dict(labels)


_CONTROLLER_UID = "batch.kubernetes.io/controller-uid"


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
    # A selector the client gave is kept, with the uid added, so validation can refuse
    # it (kube: "`selector` not auto-generated") instead of it being replaced unseen.
    selector = spec.get("selector") if isinstance(spec.get("selector"), dict) else {}
    match = selector.setdefault("matchLabels", {})
    match.setdefault(_CONTROLLER_UID, uid)
    spec["selector"] = selector


def generated_selector_errors(obj: Obj) -> list[Cause]:
    """ValidateGeneratedSelector: without manualSelector the selector must be exactly the
    generated one (the Job's own uid)."""
    spec = obj.get("spec") or {}
    if spec.get("manualSelector"):
        return []
    uid = (obj.get("metadata") or {}).get("uid")
    want = {"matchLabels": {_CONTROLLER_UID: uid}}
    if uid and spec.get("selector") != want:
        return [invalid_value("spec.selector", spec.get("selector"),
                              "`selector` not auto-generated")]
    return []



def _succeeded_field(o: Mapping[str, Any]) -> dict[str, str]:
    return {"status.successful": str((o.get("status") or {}).get("succeeded") or 0)}


_COUNTS = ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
           "ttlSecondsAfterFinished")
COMPLETION_MODES = ("NonIndexed", "Indexed")


def validate_job_spec(spec: Mapping[str, Any], field: str) -> list[Cause]:
    """validateJobSpec: counts that are not negative, a known completion mode (Indexed
    needs completions) and a run-to-completion pod template."""
    causes = [invalid_value(f"{field}.{k}", spec[k], "must be greater than or equal to 0")
              for k in _COUNTS if int_field(spec.get(k)) and spec[k] < 0]
    mode = spec.get("completionMode")
    if mode is not None and mode not in COMPLETION_MODES:
        causes.append(not_supported(f"{field}.completionMode", mode, COMPLETION_MODES))
    if mode == "Indexed" and spec.get("completions") is None:
        causes.append(required(f"{field}.completions", "when completion mode is Indexed"))
    return causes + validate_template(spec, field, restart_policies=("OnFailure", "Never"))


# A suspended Job that never started may still be placed: these template fields may change.
_SCHEDULING_DIRECTIVES = ("nodeSelector", "tolerations", "schedulingGates")
_IMMUTABLE = ("selector", "completionMode", "podFailurePolicy", "backoffLimitPerIndex",
              "managedBy", "successPolicy")


def _comparable_template(template: Any, mutable_scheduling: bool) -> Any:
    if not mutable_scheduling or not isinstance(template, Mapping):
        return template
    out = copy.deepcopy(dict(template))
    meta = dict(out.get("metadata") or {})
    meta.pop("labels", None)
    meta.pop("annotations", None)
    out["metadata"] = meta
    spec = dict(out.get("spec") or {})
    for k in _SCHEDULING_DIRECTIVES:
        spec.pop(k, None)
    affinity = spec.get("affinity")
    if isinstance(affinity, Mapping):
        rest = {k: v for k, v in affinity.items() if k != "nodeAffinity"}
        if rest:
            spec["affinity"] = rest
        else:
            spec.pop("affinity")
    out["spec"] = spec
    return out


def _completions_update(spec: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    """Completions are fixed, but an Indexed Job may scale them with parallelism."""
    new_c, old_c = spec.get("completions"), old.get("completions")
    if new_c == old_c:
        return []
    if spec.get("completionMode") != "Indexed":
        return [invalid_value("spec.completions", new_c, "field is immutable")]
    if new_c is not None and new_c != spec.get("parallelism"):
        return [invalid_value("spec.completions", new_c,
                              "can only be modified in tandem with spec.parallelism")]
    return []


def validate_job_update(new: Obj, old: Obj) -> list[Cause]:
    """ValidateJobSpecUpdate: what a running Job may not change."""
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    causes = _completions_update(spec, old_spec)
    for k in _IMMUTABLE:
        if spec.get(k) != old_spec.get(k):
            causes.append(invalid_value(f"spec.{k}", spec.get(k), "field is immutable"))
    started = bool((old.get("status") or {}).get("startTime"))
    mutable_scheduling = old_spec.get("suspend") is True and not started
    if _comparable_template(spec.get("template"), mutable_scheduling) != \
            _comparable_template(old_spec.get("template"), mutable_scheduling):
        causes.append(invalid_value("spec.template", spec.get("template"), "field is immutable"))
    return causes


class JobStrategy(WorkloadStrategy):
    printer = Printer(JOB_COLUMNS, job_row)
    schema = "batch.Job"
    field_labels = staticmethod(_succeeded_field)

    def default(self, obj: Obj) -> None:
        default_job(obj)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        generate_job_selector(obj)
        # kube defaults again when it reads the stored Job: the generated labels then.
        labels_from_template(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_job_spec(obj.get("spec") or {}, "spec") + \
            generated_selector_errors(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        # The selector is immutable (validate_job_update), so it is checked on create only.
        return validate_job_spec(new.get("spec") or {}, "spec") + \
            validate_job_update(new, old)


STRATEGY = JobStrategy(JOBS)
