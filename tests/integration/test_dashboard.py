"""The dashboard's server against the real API service: it answers only its own loopback
Host and only GETs, streams a reset then deltas from watches, and sends the browser rows,
never objects as stored (nor what they carry) or credentials."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.resources import NODEMETRICS, PODS
from minikube_py.apiserver.http import build_app
from minikube_py.dashboard.server import DashboardServer
from tests.conditions import until
from tests.integration.harness import ControlPlane, control_plane

SECRET = "s3cr3t-value-of-the-pod"


@pytest.fixture
async def plane() -> AsyncIterator[ControlPlane]:
    async with control_plane(nodes=2) as plane:
        yield plane


@pytest.fixture
async def dashboard(plane: ControlPlane) -> AsyncIterator[DashboardServer]:
    api = TestServer(build_app(plane.api), host="127.0.0.1")
    await api.start_server()
    server = DashboardServer(plane.api, f"http://127.0.0.1:{api.port}", None,
                             cluster="test-cluster")
    await server.start()
    try:
        yield server
    finally:
        await server.close()
        await api.close()


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "annotations": {"note": SECRET}},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "env": [{"name": "PASSWORD", "value": SECRET}]}]}}


class Stream:
    """The frames of one /stream, as an EventSource parses them."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self.resp = resp
        self.raw = b""

    async def next(self) -> tuple[str, Any]:
        while True:
            block = await self.resp.content.readuntil(b"\n\n")
            self.raw += block
            fields = dict(line.split(": ", 1) for line in block.decode().strip().split("\n"))
            if "event" in fields:
                return fields["event"], json.loads(fields["data"])

    async def until(self, event: str, holds: Any, frames: int = 50) -> Any:
        for _ in range(frames):
            kind, data = await self.next()
            if kind == event and holds(data):
                return data
        raise AssertionError(f"no {event} frame that holds in {frames} frames")


async def get(url: str, *, method: str = "GET", host: str | None = None
              ) -> tuple[int, dict[str, str], str]:
    headers = {"Host": host} if host else {}
    async with aiohttp.ClientSession() as s, s.request(method, url, headers=headers) as r:
        return r.status, dict(r.headers), await r.text()


async def test_the_page_is_served_to_its_own_loopback_address(
        dashboard: DashboardServer) -> None:
    status, headers, body = await get(dashboard.url)
    assert status == 200
    assert '<script type="module" src="/static/dashboard.js">' in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    port = dashboard.url.rsplit(":", 1)[1].rstrip("/")
    assert (await get(dashboard.url, host=f"localhost:{port}"))[0] == 200
    for name in ("dashboard.js", "dashboard.css"):
        assert (await get(dashboard.url + f"static/{name}"))[0] == 200
    assert (await get(dashboard.url + "static/other.js"))[0] == 404


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1", "127.0.0.1:1",
                                  "10.0.0.1:{port}", ""])
async def test_a_request_for_another_host_is_refused(dashboard: DashboardServer,
                                                     host: str) -> None:
    """DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 still says
    Host: evil.example."""
    port = dashboard.url.rsplit(":", 1)[1].rstrip("/")
    for path in ("", "stream", "static/dashboard.js", "logs/default/p"):
        status, _, body = await get(dashboard.url + path, host=host.format(port=port) or " ")
        assert status == 403, (path, host)
        assert "not this dashboard's loopback address" in body


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
async def test_only_gets_are_answered(dashboard: DashboardServer, method: str) -> None:
    for path in ("", "stream", "logs/default/p"):
        status, headers, _ = await get(dashboard.url + path, method=method)
        assert status == 405, (method, path)
        assert headers["Allow"] == "GET"


async def test_the_stream_is_a_reset_then_deltas_from_the_watches(
        plane: ControlPlane, dashboard: DashboardServer) -> None:
    async with aiohttp.ClientSession() as s, s.get(dashboard.url + "stream") as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        stream = Stream(resp)
        kind, reset = await stream.next()
        assert kind == "reset"
        assert set(reset) == {"nodes", "namespaces", "workloads", "pods", "services",
                              "endpointslices", "events"}
        assert len(reset["nodes"]) == 2
        assert {"key": "default", "name": "default", "phase": "Active"} in \
            reset["namespaces"]
        kind, metrics = await stream.next()
        assert kind == "metrics"
        # The metrics API answers; simulated nodes have no kubelet, so no samples.
        assert (metrics["available"], metrics["nodes"]) == (True, {})

        await plane.api.create(PODS, pod("web"), namespace="default")
        added = await stream.until("delta", lambda d: any(
            r["key"] == "default/web" for r in d.get("pods", {}).get("upsert", [])))
        row = next(r for r in added["pods"]["upsert"] if r["key"] == "default/web")
        assert row["name"] == "web" and row["namespace"] == "default"
        assert row["containers"] == ["c"] and row["ready"] == "0/1"

        running = await stream.until("delta", lambda d: any(
            r["key"] == "default/web" and r["status"] == "Running"
            for r in d.get("pods", {}).get("upsert", [])))
        assert running["pods"]["delete"] == []

        await plane.api.delete(PODS, "web", namespace="default", grace_period_seconds=0)
        await stream.until("delta", lambda d: "default/web" in d.get("pods", {}).get(
            "delete", []))
        assert SECRET not in stream.raw.decode()


async def test_a_page_that_goes_away_is_no_longer_fed(dashboard: DashboardServer) -> None:
    async with aiohttp.ClientSession() as s, s.get(dashboard.url + "stream") as resp:
        await Stream(resp).next()
        assert len(dashboard.hub.subscribers) == 1
    await until(lambda: not dashboard.hub.subscribers, "the subscription to end")


async def test_the_page_gets_rows_not_what_objects_carry(
        plane: ControlPlane, dashboard: DashboardServer) -> None:
    await plane.api.create(PODS, pod("carrier"), namespace="default")
    async with aiohttp.ClientSession() as s, s.get(dashboard.url + "stream") as resp:
        stream = Stream(resp)
        _, reset = await stream.next()
        assert [r["name"] for r in reset["pods"]] == ["carrier"]
        assert SECRET not in stream.raw.decode()
        assert "managedFields" not in stream.raw.decode()


async def test_node_usage_comes_from_node_metrics(plane: ControlPlane) -> None:
    """NodeMetrics read as the metrics API answers them (a fake client stands in for the
    metrics API: this control plane's nodes are simulated, without samples)."""
    from minikube_py.dashboard.feed import Feed
    from minikube_py.dashboard.server import Hub, follow_node_metrics

    class MetricsApi:
        async def list(self, resource: Any, **_: Any) -> dict[str, Any]:
            assert resource is NODEMETRICS
            return {"items": [{"metadata": {"name": "sim-0"}, "timestamp": "t",
                               "window": "10s", "usage": {"cpu": "250m", "memory": "64Mi"}}]}

    hub = Hub(Feed(["nodes"]))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        raise StopAsyncIteration

    with pytest.raises(StopAsyncIteration):
        await follow_node_metrics(MetricsApi(), hub, sleep=sleep)  # type: ignore[arg-type]
    assert hub.feed.metrics == {"available": True, "resolution": 10.0, "nodes": {
        "sim-0": {"cpu": 250, "memory": 64 << 20, "timestamp": "t", "window": "10s"}}}
    assert waits == [10.0]  # the samples' window is the resolution


async def test_a_log_for_a_bad_name_is_refused(dashboard: DashboardServer) -> None:
    status, _, _ = await get(dashboard.url + "logs/default/Bad_Name")
    assert status == 400
    status, _, _ = await get(dashboard.url + "logs/default/web?container=a/b")
    assert status == 400


async def test_a_log_the_api_refuses_is_a_failure_frame(dashboard: DashboardServer) -> None:
    async with aiohttp.ClientSession() as s, s.get(
            dashboard.url + "logs/default/missing?container=c") as resp:
        assert resp.status == 200
        kind, data = await Stream(resp).next()
    assert kind == "failure"
    assert data["code"] == 404
    assert "missing" in data["message"]


@pytest.mark.parametrize(("code", "reason", "says"), [
    (404, "NotFound", "the metrics API (metrics.k8s.io) is not served"),
    (503, "ServiceUnavailable", "503 ServiceUnavailable: no kubelet answered")])
async def test_a_metrics_api_that_does_not_answer_is_metrics_unavailable(
        code: int, reason: str, says: str) -> None:
    """An API server without metrics.k8s.io (404), or one that cannot answer (503): the
    page is told why, and the next read comes a resolution later."""
    from minikube_py.api.errors import ApiError
    from minikube_py.dashboard.feed import Feed
    from minikube_py.dashboard.server import Hub, follow_node_metrics

    class MetricsApi:
        async def list(self, resource: Any, **_: Any) -> dict[str, Any]:
            message = "" if code == 404 else "no kubelet answered"
            raise ApiError(code, reason, message)

    hub = Hub(Feed(["nodes"]))

    async def sleep(seconds: float) -> None:
        assert seconds == 15.0
        raise StopAsyncIteration

    with pytest.raises(StopAsyncIteration):
        await follow_node_metrics(MetricsApi(), hub, sleep=sleep,  # type: ignore[arg-type]
                                  resolution=15.0)
    assert hub.feed.metrics == {"available": False, "reason": says, "resolution": 15.0}
