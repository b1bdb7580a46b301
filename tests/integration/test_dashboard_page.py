"""The dashboard's page in a real headless Chromium against the in-process control plane
(simulated nodes, no containers): node usage as the metrics API gives it, none for a node
without a sample, or "metrics unavailable", the namespace filter, and rows updated in place without a reload."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.resources import NAMESPACES, PODS
from minikube_py.apiserver.http import build_app
from minikube_py.dashboard.server import DashboardServer
from tests.e2e.chromium import NEEDS_CHROMIUM, Page, headless_chromium
from tests.integration.harness import ControlPlane, control_plane

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
async def plane() -> AsyncIterator[ControlPlane]:
    async with control_plane(nodes=2) as plane:
        yield plane


@pytest.fixture
async def dashboard(plane: ControlPlane) -> AsyncIterator[DashboardServer]:
    api = TestServer(build_app(plane.api), host="127.0.0.1")
    await api.start_server()
    server = DashboardServer(plane.api, f"http://127.0.0.1:{api.port}", None)
    await server.start()
    try:
        yield server
    finally:
        await server.close()
        await api.close()


@pytest.fixture
async def page(dashboard: DashboardServer) -> AsyncIterator[Page]:
    async with headless_chromium() as page:
        await page.navigate(dashboard.url)
        await page.wait_for("performance.getEntriesByName('dashboard:filled').length",
                            timeout=20, what="the first rows")
        yield page


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def cell(table: str, key: str, col: str) -> str:
    return (f"document.querySelector('table[data-table={table}] tr[data-key=\"{key}\"] "
            f"td[data-col={col}]')?.textContent")


async def test_a_node_without_a_sample_and_an_unavailable_metrics_api(
        plane: ControlPlane, dashboard: DashboardServer, page: Page) -> None:
    node = "sim-0"  # simulated: no kubelet, so the metrics API has no sample of it
    await page.wait_for("document.getElementById('metrics-note').textContent"
                        ".startsWith('Usage from metrics.k8s.io')", timeout=10,
                        what="the metrics API's first answer")
    assert await page.evaluate(cell("nodes", node, "ready")) == "Ready"
    assert (await page.evaluate(cell("nodes", node, "cpu"))).startswith("\u2013 of ")
    dashboard.hub.publish(dashboard.hub.feed.set_metrics({
        "available": False, "reason": "the metrics API (metrics.k8s.io) is not served",
        "resolution": 10.0}))
    await page.wait_for("document.getElementById('metrics-note').textContent"
                        ".startsWith('Usage: metrics unavailable (the metrics API')",
                        timeout=10, what="the page told the metrics are unavailable")
    assert (await page.evaluate(cell("nodes", node, "cpu"))).startswith("\u2013 of ")


async def test_usage_shows_what_the_metrics_api_said_against_allocatable(
        plane: ControlPlane, dashboard: DashboardServer, page: Page) -> None:
    node = "sim-0"
    allocatable = dashboard.hub.feed.rows("nodes")[node]["cpu"]
    dashboard.hub.publish(dashboard.hub.feed.set_metrics({
        "available": True, "resolution": 10.0,
        "nodes": {node: {"cpu": allocatable // 4, "memory": 512 << 20}}}))
    await page.wait_for(f"{cell('nodes', node, 'cpu')}?.endsWith('(25%)')", timeout=10,
                        what="the node's CPU usage")
    assert await page.evaluate(cell("nodes", node, "cpu")) == \
        f"{allocatable // 4}m of {allocatable / 1000:g} cores (25%)"
    assert (await page.evaluate(cell("nodes", node, "memory"))).startswith("512Mi of ")
    assert await page.evaluate("document.getElementById('metrics-note').textContent") == \
        "Usage from metrics.k8s.io, refreshed every 10 s (metrics cannot be watched)."


async def test_the_namespace_filter_hides_the_other_namespaces_rows(
        plane: ControlPlane, page: Page) -> None:
    await plane.api.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                        "metadata": {"name": "other"}})
    await plane.api.create(PODS, pod("here"), namespace="default")
    await plane.api.create(PODS, pod("there"), namespace="other")
    await page.wait_for(f"{cell('pods', 'other/there', 'name')} === 'there' && "
                        "[...document.getElementById('namespace').options]"
                        ".some(o => o.value === 'other')", timeout=10,
                        what="both pods and the namespace in the filter")
    await page.evaluate("(s => { s.value = 'other'; s.dispatchEvent(new Event('change')); })"
                        "(document.getElementById('namespace'))")
    shown = await page.evaluate(
        "[...document.querySelectorAll('table[data-table=pods] tbody tr')]"
        ".filter(tr => !tr.hidden).map(tr => tr.dataset.key)")
    assert shown == ["other/there"]
    assert await page.evaluate("document.querySelector('[data-count=pods]').textContent") \
        == "1 of 2"
    # A pod added while the filter is on is filtered too.
    await plane.api.create(PODS, pod("later"), namespace="default")
    await page.wait_for(f"{cell('pods', 'default/later', 'name')} === 'later'", timeout=10,
                        what="the new pod's row")
    assert await page.evaluate("document.querySelector('table[data-table=pods] "
                               "tr[data-key=\"default/later\"]').hidden")


async def test_a_changed_object_updates_its_row_in_place(plane: ControlPlane,
                                                         page: Page) -> None:
    await plane.api.create(PODS, pod("web"), namespace="default")
    await page.wait_for(f"{cell('pods', 'default/web', 'name')} === 'web'", timeout=10,
                        what="the pod's row")
    await page.evaluate("window.__row = document.querySelector('table[data-table=pods] "
                        "tr[data-key=\"default/web\"]')")
    await page.wait_for(f"{cell('pods', 'default/web', 'status')} === 'Running'",
                        timeout=10, what="the simulated node to run it")
    assert await page.evaluate("window.__row === document.querySelector("
                               "'table[data-table=pods] tr[data-key=\"default/web\"]')")
    await plane.api.delete(PODS, "web", namespace="default", grace_period_seconds=0)
    await page.wait_for("!document.querySelector('table[data-table=pods] "
                        "tr[data-key=\"default/web\"]')", timeout=10, what="the row to go")


async def test_a_pods_log_can_be_followed_for_each_of_its_containers(
        plane: ControlPlane, page: Page) -> None:
    two = pod("two")
    two["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    await plane.api.create(PODS, two, namespace="default")
    await page.wait_for(f"{cell('pods', 'default/two', 'name')} === 'two'", timeout=10,
                        what="the pod's row")
    await page.evaluate("document.querySelector('table[data-table=pods] "
                        "tr[data-key=\"default/two\"]').click()")
    assert await page.evaluate(
        "(s => !s.hidden && [...s.options].map(o => o.value).join())"
        "(document.getElementById('log-container'))") == "c,sidecar"
    await page.evaluate("(s => { s.value = 'sidecar'; s.dispatchEvent(new Event('change')); })"
                        "(document.getElementById('log-container'))")
    # No kubelet runs these pods: the API refuses their log, and the page says so.
    await page.wait_for("document.getElementById('log-lines').textContent.startsWith('— ')",
                        timeout=10, what="the API's refusal in the log panel")
    # A stream's timing entry is recorded once it has closed, a moment after its last event.
    asked = await page.wait_for(
        "(a => a.length === 2 && a)(performance.getEntriesByType('resource')"
        ".map(r => r.name).filter(n => n.includes('/logs/')))", timeout=10,
        what="both log streams' timing entries")
    assert [a.rsplit("/", 3)[-2:] for a in asked] == [
        ["default", "two?container=c"], ["default", "two?container=sidecar"]]
    assert await page.evaluate("document.getElementById('log-of').textContent") == \
        "default/two (sidecar)"
