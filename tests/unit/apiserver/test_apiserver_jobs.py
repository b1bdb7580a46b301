"""Jobs through the API service: the generated selector, never a client's replaced unseen."""

from typing import Any

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CRONJOBS, JOBS
from minikube_py.apiserver.service import ApiService


def job(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "c", "image": "busybox"}]}},
                     **spec}}


async def test_a_job_gets_a_selector_on_its_own_uid(svc: ApiService) -> None:
    out = await svc.create(JOBS, job(), namespace="default")
    uid = out["metadata"]["uid"]
    assert out["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert out["spec"]["template"]["metadata"]["labels"]["job-name"] == "j"


async def test_a_selector_without_manual_selector_is_refused_not_replaced(
        svc: ApiService) -> None:
    with pytest.raises(ApiError) as e:
        await svc.create(JOBS, job(selector={"matchLabels": {"app": "x"}}), namespace="default")
    assert e.value.code == 422
    assert e.value.causes[0].field == "spec.selector"
    assert "`selector` not auto-generated" in e.value.causes[0].message


async def test_a_manual_selector_is_kept(svc: ApiService) -> None:
    body = job(manualSelector=True, selector={"matchLabels": {"app": "x"}})
    body["spec"]["template"]["metadata"] = {"labels": {"app": "x"}}
    out = await svc.create(JOBS, body, namespace="default")
    assert out["spec"]["selector"] == {"matchLabels": {"app": "x"}}


def cronjob(schedule: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"schedule": schedule, "jobTemplate": {"spec": job()["spec"]}, **spec}}


@pytest.mark.parametrize(("schedule", "spec", "field"), [
    ("x x x x x", {}, "spec.schedule"),
    ("* * *", {}, "spec.schedule"),
    ("61 * * * *", {}, "spec.schedule"),
    ("@sometimes", {}, "spec.schedule"),
    ("0 * * * *", {"timeZone": "Mars/Olympus_Mons"}, "spec.timeZone"),
    ("TZ=UTC 0 * * * *", {"timeZone": "UTC"}, "spec.schedule"),
])
async def test_a_cronjob_with_a_schedule_the_controller_cannot_parse_is_invalid(
        svc: ApiService, schedule: str, spec: dict[str, Any], field: str) -> None:
    with pytest.raises(ApiError) as e:
        await svc.create(CRONJOBS, cronjob(schedule, **spec), namespace="default")
    assert e.value.code == 422
    assert [c.field for c in e.value.causes] == [field]


async def test_a_cronjob_with_a_good_schedule_is_created(svc: ApiService) -> None:
    out = await svc.create(CRONJOBS, cronjob("*/5 * * * *", timeZone="Europe/Paris"),
                           namespace="default")
    assert out["spec"]["schedule"] == "*/5 * * * *"
