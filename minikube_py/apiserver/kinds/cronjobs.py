"""CronJobs (batch): a schedule and a job template."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minikube_py.api.cron import CronSyntaxError, parse_schedule
from minikube_py.api.errors import Cause
from minikube_py.api.resources import CRONJOBS
from minikube_py.api.validation import (
    int_field,
    invalid_value,
    not_supported,
    required,
)
from minikube_py.apiserver.kinds.base import Obj, Printer
from minikube_py.apiserver.kinds.jobs import validate_job_spec
from minikube_py.apiserver.kinds.podspec import (
    default_template,
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
    column,
    container_cells,
    format_label_selector,
    name,
    since,
)

CRONJOB_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    column("Timezone", "The time zone name for the given schedule, see "
                       "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
    column("Suspend", "This flag tells the controller to suspend subsequent executions, it does "
                      "not apply to already started executions.", typ="boolean"),
    column("Active", "A list of pointers to currently running jobs.", typ="integer"),
    column("Last Schedule", "Information when was the last time the job was successfully "
                            "scheduled."),
    column("Age", AGE_DESC),
    *wide_columns(),
]


def _bool_ptr(value: object) -> str:
    if value is None:
        return "<unset>"
    return "True" if value else "False"


def cronjob_row(cj: Obj, now: float) -> Row:
    spec, st = cj.get("spec") or {}, cj.get("status") or {}
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    last = st.get("lastScheduleTime")
    names, images = container_cells((job_spec.get("template") or {}).get("spec"))
    return [name(cj), spec.get("schedule", ""), spec.get("timeZone") or "<none>",
            _bool_ptr(spec.get("suspend")), len(st.get("active") or []),
            since(last, now) if last else "<none>", age(cj, now), names, images,
            format_label_selector(job_spec.get("selector"))]



# A Job is named after its CronJob plus an 11-character "-<minutes>": 63 - 11.
_MAX_NAME = 52
CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")


def _schedule_errors(spec: Mapping[str, Any]) -> list[Cause]:
    schedule = spec.get("schedule")
    if not schedule:
        return [required("spec.schedule")]
    if not isinstance(schedule, str):
        return []  # the typed pass refuses it first
    time_zone = spec.get("timeZone")
    if time_zone and schedule.strip().startswith(("TZ=", "CRON_TZ=")):
        return [invalid_value("spec.schedule", schedule, "cannot use both timeZone field and "
                              "TZ or CRON_TZ in schedule")]
    try:
        parse_schedule(schedule, time_zone if isinstance(time_zone, str) else None)
    except CronSyntaxError as e:
        field = "spec.timeZone" if str(e).startswith("unknown time zone") else "spec.schedule"
        value = time_zone if field == "spec.timeZone" else schedule
        return [invalid_value(field, value, str(e))]
    return []


def validate_cronjob_spec(spec: Mapping[str, Any]) -> list[Cause]:
    """validateCronJobSpec: a schedule (and time zone) the controller can parse, a known
    concurrency policy, limits that are not negative, and a job template whose selector is
    left to the Job."""
    causes = _schedule_errors(spec)
    policy = spec.get("concurrencyPolicy")
    if policy not in CONCURRENCY_POLICIES:
        causes.append(not_supported("spec.concurrencyPolicy", policy, CONCURRENCY_POLICIES))
    for k in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        if int_field(spec.get(k)) and spec[k] < 0:
            causes.append(invalid_value(f"spec.{k}", spec[k], "must be greater than or equal to 0"))
    jt = (spec.get("jobTemplate") or {}).get("spec") or {}
    causes += validate_job_spec(jt, "spec.jobTemplate.spec")
    if jt.get("selector") is not None:
        causes.append(invalid_value("spec.jobTemplate.spec.selector", jt["selector"],
                                    "`selector` will be auto-generated"))
    if jt.get("manualSelector") is True:
        causes.append(not_supported("spec.jobTemplate.spec.manualSelector", True,
                                    ("nil", "false")))
    return causes


class CronJobStrategy(WorkloadStrategy):
    printer = Printer(CRONJOB_COLUMNS, cronjob_row)
    schema = "batch.CronJob"

    def default(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        jt = spec.setdefault("jobTemplate", {})
        jt.setdefault("metadata", {})
        # SetDefaults_Job belongs to the Job the controller creates, not to this template.
        default_template(jt.setdefault("spec", {}))

    def validate(self, obj: Obj) -> list[Cause]:
        name = (obj.get("metadata") or {}).get("name") or ""
        causes = []
        if len(name) > _MAX_NAME:
            causes.append(invalid_value("metadata.name", name,
                                        f"must be no more than {_MAX_NAME} characters"))
        return causes + validate_cronjob_spec(obj.get("spec") or {})

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        # An old CronJob with a longer name may still be updated (and deleted).
        return validate_cronjob_spec(new.get("spec") or {})

    def pod_template(self, obj: Obj) -> Obj | None:
        job_spec = ((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}
        template = job_spec.get("template") if isinstance(job_spec, dict) else None
        return template if isinstance(template, dict) else None


STRATEGY = CronJobStrategy(CRONJOBS)
