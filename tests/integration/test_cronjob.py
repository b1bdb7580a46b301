"""CronJob controller over the real API service with an injected clock."""

from __future__ import annotations

import math
import time
from typing import Any

from minikube_py.api.resources import CRONJOBS, EVENTS, JOBS
from minikube_py.api.timefmt import rfc3339
from minikube_py.controllers.base import ControllerContext
from minikube_py.controllers.cronjob import CronJobController
from tests.integration.harness import ControlPlane, FakeClock, control_plane, eventually


def cronjob(name: str = "tick", schedule: str = "* * * * *", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": schedule, **spec, "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "OnFailure",
                "containers": [{"name": "c", "image": "busybox", "command": ["date"]}]}}}}}}


async def job_names(plane: ControlPlane) -> list[str]:
    return sorted(j["metadata"]["name"] for j in
                  (await plane.api.list(JOBS, namespace="default"))["items"])


def start_controller(plane: ControlPlane, clock: FakeClock) -> None:
    ctx = ControllerContext(plane.api, plane.informers, clock=clock)
    plane.start("cronjob", CronJobController(ctx, max_requeue=0.05).run)


async def test_a_job_is_created_at_the_scheduled_minute_and_not_before() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        minute = math.ceil(time.time() / 60) * 60 + 60  # a minute boundary after creation
        clock = FakeClock(minute - 5)
        start_controller(plane, clock)
        await plane.api.create(CRONJOBS, cronjob(), namespace="default")

        async def status_written() -> bool:
            cj = await plane.api.get(CRONJOBS, "tick", namespace="default")
            return cj.get("status") is not None

        await eventually(status_written, plane=plane, what="a first sync")
        assert await job_names(plane) == []
        clock.now = minute + 1

        async def created() -> list[str]:
            return await job_names(plane)

        names = await eventually(created, plane=plane, what="a Job")
        assert names == [f"tick-{minute // 60}"]
        job = await plane.api.get(JOBS, names[0], namespace="default")
        assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"

        async def status_points_at_it() -> dict[str, Any] | None:
            cj = await plane.api.get(CRONJOBS, "tick", namespace="default")
            st = cj.get("status") or {}
            return st if st.get("active") else None

        st = await eventually(status_points_at_it, plane=plane, what="status.active")
        assert st["lastScheduleTime"] == rfc3339(minute)
        assert [r["name"] for r in st["active"]] == names


async def test_forbid_skips_a_run_while_the_previous_job_is_active() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        minute = math.ceil(time.time() / 60) * 60 + 60
        clock = FakeClock(minute + 1)
        start_controller(plane, clock)
        await plane.api.create(CRONJOBS, cronjob(concurrencyPolicy="Forbid"),
                               namespace="default")
        await eventually(lambda: job_names(plane), plane=plane, what="the first Job")
        clock.now = minute + 61

        async def refused() -> bool:
            events = (await plane.api.list(EVENTS, namespace="default"))["items"]
            return any(e["reason"] == "JobAlreadyActive" for e in events)

        await eventually(refused, plane=plane, what="a JobAlreadyActive event")
        assert await job_names(plane) == [f"tick-{minute // 60}"]
        first = await plane.api.get(JOBS, f"tick-{minute // 60}", namespace="default")
        stamp = rfc3339(clock.now)
        first["status"] = {"conditions": [{"type": "Complete", "status": "True",
                                           "lastTransitionTime": stamp}],
                           "completionTime": stamp, "startTime": stamp, "succeeded": 1}
        await plane.api.update(JOBS, first, namespace="default", subresource="status")

        async def second() -> bool:
            return f"tick-{minute // 60 + 1}" in await job_names(plane)

        await eventually(second, plane=plane, what="the skipped run once the first ended")


async def test_a_suspended_cronjob_creates_nothing() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        minute = math.ceil(time.time() / 60) * 60 + 60
        clock = FakeClock(minute + 1)
        start_controller(plane, clock)
        await plane.api.create(CRONJOBS, cronjob(suspend=True), namespace="default")
        await plane.api.create(CRONJOBS, cronjob("witness"), namespace="default")
        await eventually(lambda: job_names(plane), plane=plane, what="the witness's Job")
        assert all(n.startswith("witness-") for n in await job_names(plane))
