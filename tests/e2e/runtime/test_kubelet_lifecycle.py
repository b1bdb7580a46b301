"""Lifecycle hooks and termination messages with the real kubelet, a real containerd and the
real API service: postStart runs in the container before it counts as started, a failing
postStart kills it, preStop runs before SIGTERM, and the termination-log file becomes the
terminated state's message."""

from __future__ import annotations

from typing import Any

from minikube_py.api.resources import EVENTS, PODS
from tests.e2e.runtime import test_kubelet_e2e as kubelet_e2e
from tests.e2e.runtime.test_kubelet_e2e import (
    RunningKubelet,
    _gone,
    eventually,
    pod_body,
    pod_status,
)

# The real kubelet over the real API service, as in the kubelet scenarios.
api = kubelet_e2e.api
node = kubelet_e2e.node


def with_container(body: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body["spec"]["containers"][0].update(fields)
    return body


def main_state(status: dict[str, Any]) -> dict[str, Any]:
    statuses: list[dict[str, Any]] = status.get("containerStatuses") or [{}]
    return statuses[0].get("state") or {}


async def reasons(api: Any, name: str) -> set[str]:
    events = await api.list(EVENTS, namespace="default")
    return {e.get("reason", "") for e in events["items"]
            if (e.get("involvedObject") or {}).get("name") == name}


async def test_post_start_runs_in_the_container(api: Any, node: RunningKubelet) -> None:
    # The main process waits for the file postStart writes, then exits with its content.
    await api.create(PODS, with_container(pod_body(
        "hooked", ["sh", "-c", "while [ ! -f /tmp/hook ]; do sleep 0.1; done; "
                               "cat /tmp/hook > /dev/termination-log; exit 3"],
        restart_policy="Never"),
        lifecycle={"postStart": {"exec": {"command": ["sh", "-c", "echo from-hook > /tmp/hook"]}}},
        terminationMessagePath="/dev/termination-log"))
    terminated = await eventually(
        lambda: _terminated(api, "hooked"), timeout=30)
    assert terminated["exitCode"] == 3 and terminated["message"] == "from-hook\n"


async def test_a_failing_post_start_kills_the_container(api: Any, node: RunningKubelet) -> None:
    await api.create(PODS, with_container(
        pod_body("badhook", ["sleep", "3600"], restart_policy="Never"),
        lifecycle={"postStart": {"exec": {"command": ["sh", "-c", "exit 1"]}}}))
    await eventually(lambda: _has_reasons(api, "badhook", {"FailedPostStartHook"}), timeout=30)
    await eventually(lambda: _terminated(api, "badhook"), timeout=30)


async def test_fallback_to_logs_on_error(api: Any, node: RunningKubelet) -> None:
    await api.create(PODS, with_container(
        pod_body("crashing", ["sh", "-c", "echo went wrong >&2; exit 1"], restart_policy="Never"),
        terminationMessagePath="/dev/termination-log",
        terminationMessagePolicy="FallbackToLogsOnError"))
    terminated = await eventually(lambda: _terminated(api, "crashing"), timeout=30)
    assert terminated["message"] == "went wrong\n"


async def test_pre_stop_runs_before_the_container_is_stopped(api: Any,
                                                              node: RunningKubelet) -> None:
    body = with_container(
        pod_body("stopping", ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]),
        lifecycle={"preStop": {"exec": {"command": ["sh", "-c", "echo bye > /proc/1/fd/1"]}}})
    await api.create(PODS, body)
    await eventually(lambda: _running(api, "stopping"), timeout=30)
    await api.delete(PODS, "stopping", namespace="default")
    await eventually(lambda: _gone(api, "stopping"), timeout=30)
    assert "Killing" in await reasons(api, "stopping")
    assert "FailedPreStopHook" not in await reasons(api, "stopping")


async def _terminated(api: Any, name: str) -> dict[str, Any] | None:
    result: dict[str, Any] | None = main_state(await pod_status(api, name)).get("terminated")
    return result


async def _running(api: Any, name: str) -> bool:
    return "running" in main_state(await pod_status(api, name))


async def _has_reasons(api: Any, name: str, wanted: set[str]) -> bool:
    return wanted <= await reasons(api, name)
