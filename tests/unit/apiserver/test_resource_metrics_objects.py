"""NodeMetrics and PodMetrics in metrics-server's shape: quantities and windows as Go prints
them, what is left out without a sample, and the kubelet summaries' cache."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from minikube_py.api.nodeutil import SIMULATED_LABEL
from minikube_py.api.timefmt import go_duration
from minikube_py.apiserver.kinds.resourcemetrics import pod_row
from minikube_py.apiserver.metricsapi.objects import (
    cpu_quantity,
    memory_quantity,
    node_metrics,
    pod_metrics,
    pod_metrics_not_found,
    watch_not_supported,
)
from minikube_py.apiserver.metricsapi.source import KubeletSummaries

Obj = dict[str, Any]
NOW = "2026-01-01T00:00:10Z"


@pytest.mark.parametrize(("seconds", "text"), [
    (10.0, "10s"), (10.062, "10.062s"), (1.5, "1.5s"), (0.5, "500ms"), (60.0, "1m0s"),
    (90.25, "1m30.25s"), (3600.0, "1h0m0s"), (0.0, "0s"), (0.0000015, "1.5µs"),
    (0.000000007, "7ns")])
def test_windows_are_gos_duration_text(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


@pytest.mark.parametrize(("nanocores", "text"), [
    (1234567, "1234567n"), (5_000_000, "5m"), (1_500_000, "1500u"), (0, "0"),
    (2_000_000_000, "2")])
def test_cpu_is_a_quantity_of_nanocores(nanocores: int, text: str) -> None:
    assert cpu_quantity(nanocores) == text


@pytest.mark.parametrize(("bytes_", "text"), [
    (1536 * 1024, "1536Ki"), (64 * 1024 * 1024, "64Mi"), (1000001, "1000001"), (0, "0"),
    (512, "512")])
def test_memory_is_a_binary_quantity_of_bytes(bytes_: int, text: str) -> None:
    assert memory_quantity(bytes_) == text


def _usage(rate: int | None, working_set: int | None) -> Obj:
    out: Obj = {"cpu": {"time": "2026-01-01T00:00:05Z", "usageCoreNanoSeconds": 9}}
    if rate is not None:
        out["cpu"]["usageNanoCores"] = rate
    if working_set is not None:
        out["memory"] = {"time": "2026-01-01T00:00:05Z", "workingSetBytes": working_set}
    return out


NODE = {"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}, "uid": "x"}}


def test_node_metrics_have_metrics_servers_shape() -> None:
    summary = {"node": {"nodeName": "n1", **_usage(250_000_000, 4096 * 1024)}, "pods": []}
    assert node_metrics(NODE, summary, 10.0, NOW) == {
        "metadata": {"name": "n1", "creationTimestamp": NOW,
                     "labels": {"kubernetes.io/hostname": "n1"}},
        "timestamp": "2026-01-01T00:00:05Z", "window": "10s",
        "usage": {"cpu": "250m", "memory": "4Mi"}}


def test_a_node_without_a_rate_yet_has_no_metrics() -> None:
    assert node_metrics(NODE, {"node": _usage(None, 1)}, 10.0, NOW) is None
    assert node_metrics(NODE, None, 10.0, NOW) is None


def _pod(phase: str = "Running", uid: str = "u1") -> Obj:
    return {"metadata": {"name": "web", "namespace": "ns", "uid": uid, "labels": {"app": "w"}},
            "spec": {"nodeName": "n1"}, "status": {"phase": phase}}


def _pod_stats(*containers: Obj) -> Obj:
    return {"podRef": {"name": "web", "namespace": "ns", "uid": "u1"},
            "containers": list(containers)}


def test_pod_metrics_list_each_containers_usage() -> None:
    stats = _pod_stats({"name": "a", **_usage(1_000_000, 1024)},
                       {"name": "b", **_usage(3_000_000, 2048)})
    got = pod_metrics(_pod(), stats, 1.5, NOW)
    assert got == {
        "metadata": {"name": "web", "namespace": "ns", "creationTimestamp": NOW,
                     "labels": {"app": "w"}},
        "timestamp": "2026-01-01T00:00:05Z", "window": "1.5s",
        "containers": [{"name": "a", "usage": {"cpu": "1m", "memory": "1Ki"}},
                       {"name": "b", "usage": {"cpu": "3m", "memory": "2Ki"}}]}
    assert pod_row(got, 0.0) == ["web", "4m", "3Ki", "1.5s"]


def test_pods_not_running_or_with_a_container_unsampled_or_another_uid_are_left_out() -> None:
    stats = _pod_stats({"name": "a", **_usage(1, 1)})
    assert pod_metrics(_pod(phase="Pending"), stats, 1.0, NOW) is None
    assert pod_metrics(_pod(uid="other"), stats, 1.0, NOW) is None
    assert pod_metrics(_pod(), _pod_stats({"name": "a", **_usage(1, 1)},
                                          {"name": "b", **_usage(None, 1)}), 1.0, NOW) is None
    assert pod_metrics(_pod(), _pod_stats(), 1.0, NOW) is None


def test_refusals_are_worded_as_metrics_server_and_apimachinery_word_them() -> None:
    missing = pod_metrics_not_found("ns", "web").to_status()
    assert missing["message"] == 'podmetrics.metrics.k8s.io "ns/web" not found'
    assert missing["reason"] == "NotFound" and missing["code"] == 404
    watch = watch_not_supported("pods").to_status()
    assert watch["code"] == 405 and watch["reason"] == "MethodNotAllowed"
    assert watch["message"] == 'watch is not supported on resources of kind "pods.metrics.k8s.io"'


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _node(name: str, labels: dict[str, str] | None = None) -> Obj:
    return {"metadata": {"name": name, "labels": labels or {}}}


def test_a_burst_reads_each_kubelet_once_per_ttl_and_skips_simulated_nodes() -> None:
    clock = Clock()
    asked: list[str] = []

    async def fetch(url: str) -> Obj:
        asked.append(url)
        await asyncio.sleep(0)
        return {"node": {"nodeName": url}}

    summaries = KubeletSummaries(lambda n: f"https://{n['metadata']['name']}:10250", None,
                                 ttl=10.0, clock=clock, fetch=fetch)
    nodes = [_node("a"), _node("b"), _node("sim", {SIMULATED_LABEL: "true"})]

    async def burst() -> list[dict[str, Obj | None]]:
        return await asyncio.gather(*(summaries.summaries(nodes) for _ in range(20)))

    results = asyncio.run(burst())
    assert sorted(asked) == ["https://a:10250/stats/summary", "https://b:10250/stats/summary"]
    assert all(set(r) == {"a", "b"} for r in results)
    clock.now += 10.0
    asyncio.run(summaries.summaries(nodes))
    assert len(asked) == 4 and summaries.fetches == 4


def test_a_kubelet_that_does_not_answer_has_no_summary() -> None:
    async def fetch(url: str) -> Obj:
        raise OSError("connection refused")

    summaries = KubeletSummaries(lambda n: "https://x:1", None, ttl=1.0, fetch=fetch)
    assert asyncio.run(summaries.summaries([_node("a")])) == {"a": None}
