"""CronJobs (batch): a schedule and a job template."""

from __future__ import annotations

from minikube_py.api.errors import Cause
from minikube_py.api.resources import CRONJOBS
from minikube_py.api.validation import (
    required,
)
from minikube_py.apiserver.kinds.base import Obj, Printer
from minikube_py.apiserver.kinds.jobs import validate_job_spec
from minikube_py.apiserver.kinds.podspec import (
    default_template,
    validate_replicas,
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
        spec = obj.get("spec") or {}
        causes = validate_replicas(spec, "spec")
        if not spec.get("schedule"):
            causes.append(required("spec.schedule"))
        jt = (spec.get("jobTemplate") or {}).get("spec") or {}
        return causes + validate_job_spec(jt, "spec.jobTemplate.spec")


STRATEGY = CronJobStrategy(CRONJOBS)
