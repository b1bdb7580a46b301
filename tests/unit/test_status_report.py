"""`minikube-py status`'s report: its lines and its exit code, from what serve and the API
answered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from minikube_py.status_commands import (
    NOT_RUNNING,
    RUNNING,
    UNHEALTHY,
    ApiFacts,
    assess,
    duration,
    not_running,
)

SERVE: dict[str, Any] = {
    "pid": 42, "startedAt": 1000.0, "version": "0.1", "dataDir": "/d",
    "apiURL": "https://127.0.0.1:6443", "node": "n",
    "store": {"kind": "embedded", "members": ["n"], "leader": "n", "revision": 7},
    "containerd": {"socket": "/d/containerd/containerd.sock", "running": True},
    "kubeconfig": "/d/kubeconfig", "merged": {"path": "/root/.kube/config", "name": "mp"}}


def node(name: str, ready: bool) -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def test_a_healthy_cluster_is_exit_code_0_with_aligned_lines() -> None:
    report = assess(SERVE, ApiFacts("ok", [node("n", True)], 3), now=1125.0)
    assert report.code == RUNNING
    assert report.text().splitlines() == [
        "minikube-py: Running (pid 42, up 2m05s, version 0.1)",
        "data dir:    /d",
        "api:         https://127.0.0.1:6443 (ok)",
        "store:       embedded, leader n, revision 7",
        "containerd:  Running (socket /d/containerd/containerd.sock)",
        "nodes:       n Ready",
        "pods:        3",
        "kubeconfig:  /d/kubeconfig",
        "merged into: /root/.kube/config (context mp)",
    ]


def test_a_node_not_ready_is_exit_code_2_and_named() -> None:
    report = assess(SERVE, ApiFacts("ok", [node("n", True), node("m", False)], 0), now=1000)
    assert report.code == UNHEALTHY
    assert report.problems == ["node m is not Ready"]


def test_an_api_that_does_not_answer_is_unhealthy() -> None:
    report = assess(SERVE, ApiFacts(error="timed out"), now=1000)
    assert report.code == UNHEALTHY
    assert "api:         https://127.0.0.1:6443 (not answering (timed out))" in report.text()


def test_a_store_without_a_leader_is_unhealthy() -> None:
    serve = {**SERVE, "store": {"kind": "embedded", "members": ["a", "b", "c"], "leader": "",
                                "revision": 9}}
    report = assess(serve, ApiFacts("ok", [], 0), now=1000)
    assert report.code == UNHEALTHY
    assert "store:       embedded, 3 members (a, b, c), leader none, revision 9" in \
        report.text()


def test_an_external_etcd_is_named_by_its_endpoints() -> None:
    serve = {**SERVE, "store": {"kind": "external", "endpoints": "http://127.0.0.1:2379"}}
    report = assess(serve, ApiFacts("ok", [node("n", True)], 0), now=1000)
    assert "store:       external etcd http://127.0.0.1:2379" in report.text()
    assert report.code == RUNNING


def test_not_running_says_how_to_start_it(tmp_path: Path) -> None:
    report = not_running(tmp_path)
    assert report.code == NOT_RUNNING
    assert report.text() == (f"minikube-py: not running: start it with `minikube-py serve "
                             f"--data-dir {tmp_path}`")
    assert "no cluster in" in not_running(tmp_path / "none").text()


def test_durations_read_as_kubectl_ages() -> None:
    assert [duration(s) for s in (5, 65, 3700, 90000)] == ["5s", "1m05s", "1h01m", "1d01h"]


def test_json_has_the_lines_under_camel_case_keys() -> None:
    body = assess(SERVE, ApiFacts("ok", [node("n", True)], 3), now=1000).to_json()
    assert body["code"] == RUNNING and body["problems"] == []
    assert body["dataDir"] == "/d" and body["mergedInto"] == "/root/.kube/config (context mp)"
