"""Container probes with the real kubelet, a real containerd and the real API service: readiness
(httpGet, exec) drives Ready, liveness (tcpSocket) restarts, startup gates readiness."""

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


def probed_pod(name: str, command: str, **probes: dict[str, Any]) -> dict[str, Any]:
    body = pod_body(name, ["sh", "-c", command],
                    ports=[{"name": "http", "containerPort": 8080}])
    body["spec"]["containers"][0].update(probes)
    return body


def exec_probe(*command: str, **fields: Any) -> dict[str, Any]:
    return {"exec": {"command": list(command)}, "periodSeconds": 1, **fields}


def main_status(status: dict[str, Any]) -> dict[str, Any]:
    statuses: list[dict[str, Any]] = status.get("containerStatuses") or [{}]
    return statuses[0]


def condition(status: dict[str, Any], ctype: str) -> str:
    return next((c["status"] for c in status.get("conditions") or [] if c["type"] == ctype), "")


async def readiness(api: Any, name: str) -> tuple[str, bool, str, str]:
    """(phase, containerStatuses[0].ready, ContainersReady, Ready)."""
    st = await pod_status(api, name)
    return (st.get("phase", ""), bool(main_status(st).get("ready")),
            condition(st, "ContainersReady"), condition(st, "Ready"))


async def pod_events(api: Any, name: str) -> list[tuple[str, str]]:
    events = (await api.list(EVENTS, namespace="default"))["items"]
    return [(e["reason"], e["message"]) for e in events if e["involvedObject"]["name"] == name]


async def delete(api: Any, name: str) -> None:
    await api.delete(PODS, name, namespace="default", grace_period_seconds=1)
    await eventually(lambda: _gone(api, name))


NOT_READY = ("Running", False, "False", "False")
READY = ("Running", True, "True", "True")


async def test_http_readiness_makes_the_pod_ready_once_it_serves(
        api: Any, node: RunningKubelet) -> None:
    await api.create(PODS, probed_pod(
        "web", "sleep 3; mkdir -p /www; echo ok > /www/index.html; "
               "exec httpd -f -p 8080 -h /www",
        readinessProbe={"httpGet": {"path": "/index.html", "port": "http"},
                        "periodSeconds": 1}))

    async def is_(expected: tuple[str, bool, str, str]) -> bool:
        return await readiness(api, "web") == expected

    await eventually(lambda: is_(NOT_READY))
    await eventually(lambda: is_(READY))
    events = await pod_events(api, "web")
    # Go's words, as kube's prober: `Get "URL": dial tcp IP:PORT: connect: ...`.
    assert any(r == "Unhealthy" and m.startswith("Readiness probe failed: Get \"http://")
               and m.endswith(":8080: connect: connection refused") for r, m in events), events
    await delete(api, "web")


async def test_exec_readiness_follows_the_file(api: Any, node: RunningKubelet) -> None:
    await api.create(PODS, probed_pod(
        "flip", "sleep 3; touch /tmp/ready; sleep 5; rm /tmp/ready; exec sleep 3600",
        readinessProbe=exec_probe("cat", "/tmp/ready", failureThreshold=1)))

    async def is_(expected: tuple[str, bool, str, str]) -> bool:
        return await readiness(api, "flip") == expected

    await eventually(lambda: is_(NOT_READY))
    await eventually(lambda: is_(READY))
    await eventually(lambda: is_(NOT_READY))
    st = main_status(await pod_status(api, "flip"))
    assert st["restartCount"] == 0 and "running" in st["state"]
    # The message is the command's output, as kube's.
    assert ("Unhealthy", "Readiness probe failed: cat: can't open '/tmp/ready': No such file "
            "or directory\n") in await pod_events(api, "flip")
    await delete(api, "flip")


async def test_failing_liveness_restarts_the_container(api: Any, node: RunningKubelet) -> None:
    await api.create(PODS, probed_pod(
        "sick", "exec sleep 3600",
        livenessProbe={"tcpSocket": {"port": 9999}, "periodSeconds": 1, "failureThreshold": 2,
                       "terminationGracePeriodSeconds": 1}))
    first = await eventually(lambda: _running_with_restarts(api, "sick", 0))

    # The first restart is immediate; the second waits out the 10 s crash-loop back-off.
    second = await eventually(lambda: _running_with_restarts(api, "sick", 2), timeout=60)
    assert second["containerID"] != first["containerID"]
    assert second["lastState"]["terminated"]["exitCode"] == 137  # `sleep` ignores SIGTERM
    events = await pod_events(api, "sick")
    assert ("Killing", "Container main failed liveness probe, will be restarted") in events
    assert any(r == "Unhealthy" and m.startswith("Liveness probe failed: dial tcp ")
               and m.endswith(":9999: connect: connection refused") for r, m in events), events
    await delete(api, "sick")


async def test_startup_probe_gates_readiness(api: Any, node: RunningKubelet) -> None:
    # Readiness checks the same file as startup: had it run before startup succeeded, it
    # would have failed and left a "Readiness probe failed" event.
    await api.create(PODS, probed_pod(
        "slow", "sleep 3; touch /tmp/started; exec sleep 3600",
        startupProbe=exec_probe("cat", "/tmp/started", failureThreshold=30),
        readinessProbe=exec_probe("cat", "/tmp/started")))

    async def started_and_ready(started: bool, ready: bool) -> bool:
        st = await pod_status(api, "slow")
        cs = main_status(st)
        return (st.get("phase") == "Running" and cs.get("started") is started
                and cs.get("ready") is ready)

    await eventually(lambda: started_and_ready(False, False))
    await eventually(lambda: started_and_ready(True, True))
    events = await pod_events(api, "slow")
    assert any(m.startswith("Startup probe failed: ") for _, m in events), events
    assert not any(m.startswith("Readiness probe failed") for _, m in events), events
    await delete(api, "slow")


async def _running_with_restarts(api: Any, name: str, restarts: int) -> dict[str, Any] | None:
    cs = main_status(await pod_status(api, name))
    ok = "running" in (cs.get("state") or {}) and cs.get("restartCount", 0) >= restarts
    return cs if ok else None
