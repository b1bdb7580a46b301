"""Job controller over the real API service, scheduler and simulated nodes. The test plays
the kubelet's part of ending pods: it patches their status Succeeded or Failed."""

from __future__ import annotations

import math
import time
from typing import Any

from minikube_py.api.resources import JOBS, PODS
from minikube_py.api.timefmt import rfc3339
from minikube_py.controllers.base import ControllerContext
from minikube_py.controllers.job import JobController
from tests.integration.harness import (
    ControlPlane,
    FakeClock,
    control_plane,
    controller_manager,
    crowd_the_pod_cache,
    eventually,
    history,
    pods_created_since,
)


def job(name: str = "work", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {**spec, "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}}}}


async def job_pods(plane: ControlPlane, name: str = "work") -> list[dict[str, Any]]:
    found = await plane.api.list(PODS, namespace="default",
                                 label_selector=f"batch.kubernetes.io/job-name={name}")
    items: list[dict[str, Any]] = found["items"]
    return items


async def finish_pod(plane: ControlPlane, pod: dict[str, Any], phase: str) -> None:
    now = rfc3339(plane.ctx.clock())
    code = 0 if phase == "Succeeded" else 1
    await plane.api.patch(PODS, pod["metadata"]["name"], {"status": {
        "phase": phase,
        "containerStatuses": [{"name": "c", "ready": False, "restartCount": 0,
                               "image": "busybox", "imageID": "",
                               "state": {"terminated": {
                                   "exitCode": code, "startedAt": now, "finishedAt": now,
                                   "reason": "Completed" if code == 0 else "Error"}}}]}},
        namespace="default", subresource="status")


async def running(plane: ControlPlane, n: int, name: str = "work") -> list[dict[str, Any]]:
    """Exactly `n` pods of the job running (not finished, not being deleted)."""
    pods = [p for p in await job_pods(plane, name)
            if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
    return pods if len(pods) == n else []


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or []
                 if c["type"] == kind and c["status"] == "True"), None)


async def test_a_job_runs_completions_with_parallelism_and_completes() -> None:
    async with control_plane(nodes=2) as plane:
        plane.start("job", JobController(plane.ctx, backoff_base=0).run)
        await plane.api.create(JOBS, job(completions=3, parallelism=2), namespace="default")
        for expected in (2, 2, 1):  # never more than parallelism, never more than needed

            async def n_running(n: int = expected) -> list[dict[str, Any]]:
                return await running(plane, n)

            pods = await eventually(n_running, plane=plane, what=f"{expected} running pods")
            await finish_pod(plane, pods[0], "Succeeded")

        async def complete() -> dict[str, Any] | None:
            got = await plane.api.get(JOBS, "work", namespace="default")
            return got if condition(got, "Complete") else None

        got = await eventually(complete, plane=plane, what="Complete condition")
        st = got["status"]
        assert st["succeeded"] == 3 and not st.get("failed") and not st.get("active")
        assert st["startTime"] and st["completionTime"]
        assert condition(got, "SuccessCriteriaMet") is not None
        assert condition(got, "Complete")["reason"] == "CompletionsReached"  # type: ignore[index]
        pods = await job_pods(plane)
        assert all(p["metadata"]["labels"]["job-name"] == "work" for p in pods)
        assert not any(p["metadata"].get("finalizers") for p in pods)


async def test_a_job_whose_pods_keep_failing_fails_with_backoff_limit_exceeded() -> None:
    async with control_plane(nodes=1) as plane:
        plane.start("job", JobController(plane.ctx, backoff_base=0).run)
        await plane.api.create(JOBS, job(backoffLimit=1), namespace="default")
        for _ in range(2):
            pods = await eventually(lambda: running(plane, 1), plane=plane, what="a running pod")
            await finish_pod(plane, pods[0], "Failed")

        async def failed() -> dict[str, Any] | None:
            got = await plane.api.get(JOBS, "work", namespace="default")
            return got if condition(got, "Failed") else None

        got = await eventually(failed, plane=plane, what="Failed condition")
        cond = condition(got, "Failed")
        assert cond is not None and cond["reason"] == "BackoffLimitExceeded"
        assert cond["message"] == "Job has reached the specified backoff limit"
        assert got["status"]["failed"] == 2 and not got["status"].get("succeeded")
        assert len(await job_pods(plane)) == 2  # failed pods stay for their logs


async def test_a_job_past_its_active_deadline_fails_and_its_pods_are_deleted() -> None:
    async with control_plane(nodes=1) as plane:
        # The deadline counts from status.startTime, which has whole seconds (as in kube):
        # on the wall clock a 1 s deadline would pass 0 to 1 s after the start, maybe
        # before the pod runs. The Job's clock stands still until the test moves it.
        clock = FakeClock(float(math.floor(time.time())))
        ctx = ControllerContext(plane.api, plane.informers, clock=clock)
        plane.start("job", JobController(ctx, backoff_base=0).run)
        await plane.api.create(JOBS, job(activeDeadlineSeconds=1), namespace="default")
        await eventually(lambda: running(plane, 1), plane=plane, what="a running pod")
        clock.now += 1

        async def failed() -> dict[str, Any] | None:
            got = await plane.api.get(JOBS, "work", namespace="default")
            return got if condition(got, "Failed") else None

        got = await eventually(failed, plane=plane, what="Failed condition")
        assert condition(got, "Failed")["reason"] == "DeadlineExceeded"  # type: ignore[index]
        await eventually(lambda: _none_left(plane), plane=plane, what="pods deleted")


async def test_a_suspended_job_creates_no_pods_until_resumed() -> None:
    async with control_plane(nodes=1) as plane:
        plane.start("job", JobController(plane.ctx, backoff_base=0).run)
        await plane.api.create(JOBS, job(suspend=True), namespace="default")

        async def suspended() -> bool:
            got = await plane.api.get(JOBS, "work", namespace="default")
            return condition(got, "Suspended") is not None

        await eventually(suspended, plane=plane, what="Suspended condition")
        assert await job_pods(plane) == []
        await plane.api.patch(JOBS, "work", {"spec": {"suspend": False}}, namespace="default")
        await eventually(lambda: running(plane, 1), plane=plane, what="a running pod")


async def test_a_restarted_controller_creates_only_the_missing_pods() -> None:
    async with control_plane(nodes=2) as plane:
        async with controller_manager(plane) as before:
            before.start("job", JobController(before.ctx, backoff_base=0).run)
            await plane.api.create(JOBS, job(completions=4, parallelism=2),
                                   namespace="default")
            await eventually(lambda: running(plane, 2), plane=plane, what="2 running pods")
        await crowd_the_pod_cache(plane)
        await plane.api.patch(JOBS, "work", {"spec": {"parallelism": 3}}, namespace="default")
        async with history(plane, PODS) as pods, controller_manager(plane) as after:
            after.start("job", JobController(after.ctx, backoff_base=0).run)

            async def three_active() -> bool:
                got = await plane.api.get(JOBS, "work", namespace="default")
                return (got.get("status") or {}).get("active") == 3

            await eventually(three_active, plane=plane, what="3 active pods")
            await eventually(lambda: running(plane, 3), plane=plane, what="3 running pods")
            created = await pods_created_since(plane, pods)
        assert len(created) == 1


async def _none_left(plane: ControlPlane) -> bool:
    return not await job_pods(plane)
