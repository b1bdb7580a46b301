"""The async prober shell (scripted handlers) and the http/tcp handlers against loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from minikube_py.kubelet.pod_status import EXITED, RUNNING, ContainerRun
from minikube_py.kubelet.probe_handlers import (
    ProbeTarget,
    exec_timeout_message,
    probe_http,
    probe_tcp,
    resolve_port,
)
from minikube_py.kubelet.probe_state import (
    READINESS,
    ProbeOutcome,
    ProbeResult,
    ProbeSpec,
    probe_spec,
)
from minikube_py.kubelet.prober import ProbeManager

UID = "u1"


class Events:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str]] = []

    def record(self, obj: dict[str, Any], event_type: str, reason: str, message: str) -> None:
        self.recorded.append((reason, message))


def pod(period: float = 0.05, **probe: Any) -> dict[str, Any]:
    container = {"name": "main", "readinessProbe": {
        "exec": {"command": ["true"]}, "periodSeconds": period, "failureThreshold": 1, **probe}}
    return {"metadata": {"uid": UID, "name": "p", "namespace": "default"},
            "spec": {"containers": [container]}}


def runs(state: str = RUNNING, cid: str = "c1") -> dict[str, list[ContainerRun]]:
    return {"main": [ContainerRun(cid, state, started_at=time.time())]}


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def manager(runner: Callable[[ProbeSpec, ProbeTarget], Awaitable[ProbeOutcome]],
            changes: list[str], events: Events | None = None, **kw: Any) -> ProbeManager:
    return ProbeManager(cri_client=None, recorder=events or Events(),  # type: ignore[arg-type]
                        on_change=changes.append, runner=runner, **kw)


async def test_a_readiness_flip_requests_a_sync_and_is_visible_by_container_id() -> None:
    results = iter([ProbeResult.FAILURE, ProbeResult.SUCCESS])
    changes: list[str] = []
    events = Events()

    async def runner(spec: ProbeSpec, target: ProbeTarget) -> ProbeOutcome:
        return ProbeOutcome(next(results, ProbeResult.SUCCESS), "nope")

    m = manager(runner, changes, events)
    m.track_pod(pod(), runs(), "10.0.0.2")
    await eventually(lambda: changes == [UID])
    state = m.probe_state(UID, "main", "c1")
    assert state is not None and state.ready
    assert m.probe_state(UID, "main", "other-id") is None
    assert events.recorded == [("Unhealthy", "Readiness probe failed: nope")]
    await m.close()


async def test_a_new_container_id_starts_from_fresh_results() -> None:
    changes: list[str] = []

    async def runner(spec: ProbeSpec, target: ProbeTarget) -> ProbeOutcome:
        return ProbeOutcome(ProbeResult.SUCCESS)

    m = manager(runner, changes)
    m.track_pod(pod(), runs(cid="c1"), "10.0.0.2")
    await eventually(lambda: len(changes) == 1)
    m.track_pod(pod(period=3600, initialDelaySeconds=3600), runs(cid="c2"), "10.0.0.2")
    fresh = m.probe_state(UID, "main", "c2")
    assert fresh is not None and not fresh.ready
    await m.close()


async def test_probing_stops_when_the_container_exits_or_the_pod_is_forgotten() -> None:
    calls: list[str] = []

    async def runner(spec: ProbeSpec, target: ProbeTarget) -> ProbeOutcome:
        calls.append(target.container_id)
        return ProbeOutcome(ProbeResult.SUCCESS)

    m = manager(runner, [])
    m.track_pod(pod(), runs(), "10.0.0.2")
    await eventually(lambda: len(calls) >= 2)
    m.track_pod(pod(), runs(EXITED), "10.0.0.2")
    assert m.probed_containers == 0
    m.track_pod(pod(), runs(cid="c2"), "10.0.0.2")
    probing = [t for t in asyncio.all_tasks() if t.get_name().startswith(f"prober:{UID}:")]
    assert probing
    m.forget_pod(UID)
    assert m.probed_containers == 0
    await asyncio.gather(*probing, return_exceptions=True)
    assert all(t.cancelled() for t in probing)
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith(f"prober:{UID}:")]
    await m.close()


async def test_a_prober_that_breaks_is_logged_and_replaced_by_the_next_sync(
        caplog: pytest.LogCaptureFixture) -> None:
    calls = 0

    async def runner(spec: ProbeSpec, target: ProbeTarget) -> ProbeOutcome:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("prober bug")
        return ProbeOutcome(ProbeResult.SUCCESS)

    changes: list[str] = []
    m = manager(runner, changes)
    m.track_pod(pod(), runs(), "10.0.0.2")
    await eventually(lambda: m.probed_containers == 0)
    assert any(r.exc_info and "prober bug" in str(r.exc_info[1]) for r in caplog.records)
    m.track_pod(pod(), runs(), "10.0.0.2")  # the same container, synced again
    await eventually(lambda: changes == [UID])  # probed afresh: readiness turned True
    await m.close()


async def test_concurrency_is_bounded_node_wide() -> None:
    running = peak = 0
    probed: set[str] = set()

    async def runner(spec: ProbeSpec, target: ProbeTarget) -> ProbeOutcome:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        probed.add(target.container_id)
        return ProbeOutcome(ProbeResult.SUCCESS)

    m = manager(runner, [], max_concurrent=3)
    for i in range(10):
        p = pod()
        p["metadata"]["uid"] = f"u{i}"
        m.track_pod(p, runs(cid=f"c{i}"), "10.0.0.2")
    # Every container probed at least once: ten probes went through three slots.
    await eventually(lambda: len(probed) == 10)
    assert peak == 3
    await m.close()


def test_named_and_numeric_ports_resolve() -> None:
    c = {"ports": [{"name": "http", "containerPort": 8080}]}
    assert [resolve_port(p, c) for p in (80, "81", "http", "nope", 0)] == [
        80, 81, 8080, None, None]


@pytest.fixture
async def loopback_server() -> AsyncIterator[tuple[int, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        status = {"/ok": 200, "/redirect": 302, "/missing": 404}.get(request.path, 500)
        return web.Response(status=status, text=request.path)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield port, seen
    await runner.cleanup()


@pytest.mark.parametrize(("path", "result"), [
    ("/ok", ProbeResult.SUCCESS), ("/redirect", ProbeResult.SUCCESS),
    ("/missing", ProbeResult.FAILURE), ("/boom", ProbeResult.FAILURE)])
async def test_http_probe_succeeds_on_2xx_and_3xx(
        loopback_server: tuple[int, list[dict[str, str]]], path: str,
        result: ProbeResult) -> None:
    port, _ = loopback_server
    spec = probe_spec(READINESS, {"httpGet": {"path": path, "port": "web"}})
    target = ProbeTarget("c1", {"ports": [{"name": "web", "containerPort": port}]}, "127.0.0.1")
    async with aiohttp.ClientSession() as session:
        outcome = await probe_http(session, spec, target)
    assert outcome.result is result


@pytest.mark.parametrize(("path", "message"), [
    ("/missing", "HTTP probe failed with statuscode: 404"),
    ("/boom", "HTTP probe failed with statuscode: 500")])
async def test_http_probe_failure_is_kubes_text_without_the_body(
        loopback_server: tuple[int, list[dict[str, str]]], path: str, message: str) -> None:
    port, _ = loopback_server
    spec = probe_spec(READINESS, {"httpGet": {"path": path, "port": port}})
    async with aiohttp.ClientSession() as session:
        outcome = await probe_http(session, spec, ProbeTarget("c1", {}, "127.0.0.1"))
    assert (outcome.result, outcome.output) == (ProbeResult.FAILURE, message)


async def test_http_probe_refused_reads_as_gos_dial_error() -> None:
    spec = probe_spec(READINESS, {"httpGet": {"path": "/ok", "port": 1}})
    async with aiohttp.ClientSession() as session:
        outcome = await probe_http(session, spec, ProbeTarget("c1", {}, "127.0.0.1"))
    assert outcome.output == (
        'Get "http://127.0.0.1:1/ok": dial tcp 127.0.0.1:1: connect: connection refused')


@pytest.mark.parametrize(("port", "message"), [
    ("metrics", "port metrics not found"), (0, "invalid port number: 0"),
    (70000, "invalid port number: 70000")])
async def test_probe_ports_that_cannot_be_used_say_why(port: Any, message: str) -> None:
    target = ProbeTarget("c1", {"ports": [{"name": "web", "containerPort": 80}]}, "127.0.0.1")
    tcp = await probe_tcp(probe_spec(READINESS, {"tcpSocket": {"port": port}}), target)
    async with aiohttp.ClientSession() as session:
        http = await probe_http(session, probe_spec(READINESS, {"httpGet": {"port": port}}),
                                target)
    assert tcp.output == http.output == message


def test_an_exec_probe_timeout_quotes_the_command_as_kube_does() -> None:
    assert exec_timeout_message(["sh", "-c", 'echo "hi"; sleep 10']) == (
        'command "sh -c echo \\"hi\\"; sleep 10" timed out')


async def test_http_probe_sends_headers_and_reports_refused_connections(
        loopback_server: tuple[int, list[dict[str, str]]]) -> None:
    port, seen = loopback_server
    spec = probe_spec(READINESS, {"httpGet": {"path": "/ok", "port": port, "httpHeaders": [
        {"name": "X-Probe", "value": "yes"}]}})
    async with aiohttp.ClientSession() as session:
        assert (await probe_http(session, spec, ProbeTarget("c1", {}, "127.0.0.1"))).result \
            is ProbeResult.SUCCESS
        assert seen[-1]["X-Probe"] == "yes" and seen[-1]["User-Agent"].startswith("kube-probe/")
        https = probe_spec(READINESS, {"httpGet": {"port": port, "scheme": "HTTPS"}})
        outcome = await probe_http(session, https, ProbeTarget("c1", {}, "127.0.0.1"))
        assert outcome.result is ProbeResult.FAILURE and "not supported" in outcome.output


async def test_tcp_probe(loopback_server: tuple[int, list[dict[str, str]]]) -> None:
    port, _ = loopback_server
    target = ProbeTarget("c1", {}, "127.0.0.1")
    ok = await probe_tcp(probe_spec(READINESS, {"tcpSocket": {"port": port}}), target)
    assert ok.result is ProbeResult.SUCCESS
    refused = await probe_tcp(probe_spec(READINESS, {"tcpSocket": {"port": 1}}), target)
    assert refused.result is ProbeResult.FAILURE
    assert refused.output == "dial tcp 127.0.0.1:1: connect: connection refused"
