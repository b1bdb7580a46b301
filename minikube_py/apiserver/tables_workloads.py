"""Table rows for the workload controllers' objects (apps/*, batch/*, replicationcontrollers)."""

from __future__ import annotations

from minikube_py.apiserver.tables_format import (
    AGE_DESC,
    CONTAINERS_DESC,
    IMAGES_DESC,
    NAME_DESC,
    Obj,
    Row,
    age,
    between,
    column,
    container_cells,
    format_label_selector,
    format_labels,
    name,
    since,
    template_spec,
)

_SELECTOR_DESC = "Label selector for pods."


def _wide(obj: Obj, *, selector: bool = True) -> Row:
    names, images = container_cells(template_spec(obj))
    if not selector:
        return [names, images]
    return [names, images, format_label_selector((obj.get("spec") or {}).get("selector"))]


def _wide_columns(*, selector: bool = True) -> list[Obj]:
    cols = [column("Containers", CONTAINERS_DESC, priority=1),
            column("Images", IMAGES_DESC, priority=1)]
    if selector:
        cols.append(column("Selector", _SELECTOR_DESC, priority=1))
    return cols


DEPLOYMENT_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Ready", "Number of the pod with ready state"),
    column("Up-to-date", "Total number of non-terminated pods targeted by this deployment that "
                         "have the desired template spec."),
    column("Available", "Total number of available pods (ready for at least minReadySeconds) "
                        "targeted by this deployment."),
    column("Age", AGE_DESC),
    *_wide_columns(),
]


def deployment_row(d: Obj, now: float) -> Row:
    spec, st = d.get("spec") or {}, d.get("status") or {}
    return [name(d), f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0), age(d, now),
            *_wide(d)]


REPLICASET_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Desired", "Number of desired pods.", typ="integer"),
    column("Current", "Number of actual running pods.", typ="integer"),
    column("Ready", "Number of pods ready.", typ="integer"),
    column("Age", AGE_DESC),
    *_wide_columns(),
]


def replicaset_row(rs: Obj, now: float) -> Row:
    spec, st = rs.get("spec") or {}, rs.get("status") or {}
    return [name(rs), spec.get("replicas", 0), st.get("replicas", 0), st.get("readyReplicas", 0),
            age(rs, now), *_wide(rs)]


# A ReplicationController's selector is a plain label map, not a LabelSelector.
REPLICATIONCONTROLLER_COLUMNS = REPLICASET_COLUMNS


def replicationcontroller_row(rc: Obj, now: float) -> Row:
    spec, st = rc.get("spec") or {}, rc.get("status") or {}
    names, images = container_cells(template_spec(rc))
    return [name(rc), spec.get("replicas", 0), st.get("replicas", 0), st.get("readyReplicas", 0),
            age(rc, now), names, images, format_labels(spec.get("selector"))]


STATEFULSET_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Ready", "Number of the pod with ready state"),
    column("Age", AGE_DESC),
    *_wide_columns(selector=False),
]


def statefulset_row(sts: Obj, now: float) -> Row:
    spec, st = sts.get("spec") or {}, sts.get("status") or {}
    return [name(sts), f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 0)}", age(sts, now),
            *_wide(sts, selector=False)]


DAEMONSET_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Desired", "The total number of nodes that should be running the daemon pod.",
           typ="integer"),
    column("Current", "The number of nodes that are running at least 1 daemon pod and are "
                      "supposed to run the daemon pod.", typ="integer"),
    column("Ready", "The number of nodes that should be running the daemon pod and have one or "
                    "more of the daemon pod running and ready.", typ="integer"),
    column("Up-to-date", "The total number of nodes that are running updated daemon pod",
           typ="integer"),
    column("Available", "The number of nodes that should be running the daemon pod and have one "
                        "or more of the daemon pod running and available.", typ="integer"),
    column("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on "
                            "a node."),
    column("Age", AGE_DESC),
    *_wide_columns(),
]


def daemonset_row(ds: Obj, now: float) -> Row:
    st = ds.get("status") or {}
    counts = [st.get(k, 0) for k in ("desiredNumberScheduled", "currentNumberScheduled",
                                     "numberReady", "updatedNumberScheduled", "numberAvailable")]
    return [name(ds), *counts, format_labels(template_spec(ds).get("nodeSelector")),
            age(ds, now), *_wide(ds)]


JOB_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Status", "Status of the job."),
    column("Completions", "The number of pods which reached phase Succeeded."),
    column("Duration", "Time required to complete the job."),
    column("Age", AGE_DESC),
    *_wide_columns(),
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
            age(job, now), *_wide(job)]


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
    *_wide_columns(),
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


CONTROLLERREVISION_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Controller", "Controller of the object"),
    column("Revision", "Revision indicates the revision of the state represented by Data."),
    column("Age", AGE_DESC),
]


def controller_name(obj: Obj) -> str:
    """kind.group/name of the controlling owner (formatResourceName), "<none>" without one."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            api_version = str(ref.get("apiVersion", ""))
            group = api_version.rpartition("/")[0]
            kind = str(ref.get("kind", ""))
            group_kind = f"{kind}.{group}" if group else kind
            return f"{group_kind.lower()}/{ref.get('name', '')}" if group_kind else \
                str(ref.get("name", ""))
    return "<none>"


def controllerrevision_row(cr: Obj, now: float) -> Row:
    return [name(cr), controller_name(cr), cr.get("revision", 0), age(cr, now)]
