"""The rows the dashboard shows: kubectl's columns, computed from objects."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.dashboard.rows import (
    endpointslice_row,
    event_row,
    go_duration_seconds,
    node_row,
    pod_row,
    pod_status,
    workload_row,
)


def pod(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "ns"},
            "spec": {"nodeName": "n1", "containers": [{"name": "a"}, {"name": "b"}]},
            "status": status}


def test_a_pod_row_has_kubectls_columns() -> None:
    row = pod_row(pod(phase="Running", podIP="10.0.0.5", containerStatuses=[
        {"name": "a", "ready": True, "restartCount": 2, "state": {"running": {}}},
        {"name": "b", "ready": False, "restartCount": 1, "state": {"running": {}}}]))
    assert row == {"key": "ns/p", "name": "p", "namespace": "ns", "status": "Running",
                   "phase": "Running", "ready": "1/2", "restarts": 3, "node": "n1",
                   "ip": "10.0.0.5", "containers": ["a", "b"]}


@pytest.mark.parametrize(("status", "shown"), [
    ({"phase": "Pending"}, "Pending"),
    ({"phase": "Running", "containerStatuses": [
        {"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}, "CrashLoopBackOff"),
    ({"phase": "Failed", "containerStatuses": [
        {"state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}, "OOMKilled"),
    ({"phase": "Failed", "containerStatuses": [
        {"state": {"terminated": {"exitCode": 3}}}]}, "ExitCode:3"),
    ({"phase": "Pending", "initContainerStatuses": [
        {"state": {"terminated": {"exitCode": 0}}}, {"state": {"running": {}}}]}, "Init:1/2"),
    ({"phase": "Pending", "initContainerStatuses": [
        {"state": {"waiting": {"reason": "ImagePullBackOff"}}}]}, "Init:ImagePullBackOff"),
    ({"phase": "Failed", "reason": "Evicted"}, "Evicted"),
])
def test_a_pods_status_is_the_reason_that_matters(status: dict[str, Any], shown: str) -> None:
    assert pod_status(pod(**status)) == shown


def test_a_pod_being_deleted_is_terminating() -> None:
    p = pod(phase="Running")
    p["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert pod_status(p) == "Terminating"


def deployment(generation: int = 2, **status: Any) -> dict[str, Any]:
    return {"kind": "Deployment", "metadata": {"name": "d", "namespace": "ns",
                                               "generation": generation},
            "spec": {"replicas": 2}, "status": status}


def test_a_deployment_is_complete_when_every_replica_is_updated_ready_and_available() -> None:
    row = workload_row(deployment(observedGeneration=2, replicas=2, readyReplicas=2,
                                  updatedReplicas=2, availableReplicas=2))
    assert (row["key"], row["ready"], row["updated"], row["available"], row["state"]) == \
        ("Deployment/ns/d", "2/2", 2, 2, "Complete")


@pytest.mark.parametrize("status", [
    {"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 2,
     "availableReplicas": 2},  # the controller has not seen the new spec yet
    {"observedGeneration": 2, "replicas": 3, "readyReplicas": 2, "updatedReplicas": 2,
     "availableReplicas": 2},  # an old replica is still there
    {"observedGeneration": 2, "replicas": 2, "readyReplicas": 1, "updatedReplicas": 2,
     "availableReplicas": 1},
])
def test_a_deployment_short_of_that_is_progressing(status: dict[str, Any]) -> None:
    assert workload_row(deployment(**status))["state"] == "Progressing"


def test_a_daemonsets_desired_is_the_nodes_it_should_run_on() -> None:
    row = workload_row({"kind": "DaemonSet", "metadata": {"name": "ds", "namespace": "ns"},
                        "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3,
                                   "numberReady": 3, "updatedNumberScheduled": 3,
                                   "numberAvailable": 3}})
    assert (row["ready"], row["state"]) == ("3/3", "Complete")


def test_a_node_row_has_readiness_and_allocatable_in_millicores_and_bytes() -> None:
    row = node_row({"metadata": {"name": "n1", "labels": {
        "node-role.kubernetes.io/control-plane": ""}},
        "status": {"conditions": [{"type": "Ready", "status": "False"}],
                   "allocatable": {"cpu": "4", "memory": "2Gi"},
                   "nodeInfo": {"kubeletVersion": "v1.32.0"}}})
    assert row == {"key": "n1", "name": "n1", "ready": "NotReady", "unschedulable": False,
                   "roles": "control-plane", "version": "v1.32.0", "cpu": 4000,
                   "memory": 2 << 30, "simulated": False}


def test_an_endpointslice_row_lists_its_endpoints_and_their_pods() -> None:
    row = endpointslice_row({
        "metadata": {"name": "web-abc", "namespace": "ns",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["10.0.0.5"], "conditions": {"ready": False},
                       "nodeName": "n1", "targetRef": {"kind": "Pod", "name": "web-1"}}]})
    assert row["service"] == "web"
    assert row["ports"] == "http:8080/TCP"
    assert row["endpoints"] == [{"addresses": ["10.0.0.5"], "ready": False, "node": "n1",
                                 "pod": "web-1"}]


def test_an_event_row_is_sorted_by_when_it_was_last_seen() -> None:
    row = event_row({"metadata": {"name": "e", "namespace": "ns"}, "type": "Warning",
                     "reason": "BackOff", "message": "m", "count": 4,
                     "involvedObject": {"kind": "Pod", "name": "p"},
                     "lastTimestamp": "2026-01-01T00:00:05Z",
                     "eventTime": "2026-01-01T00:00:00.000000Z"})
    assert (row["object"], row["count"], row["time"]) == ("Pod/p", 4, "2026-01-01T00:00:05Z")


@pytest.mark.parametrize(("text", "seconds"), [
    ("10s", 10.0), ("1.5s", 1.5), ("1m30s", 90.0), ("500ms", 0.5), ("1h0m0s", 3600.0),
    ("0s", 0.0), ("", None), ("10", None), ("10x", None), ("s", None), ("1m 2s", None),
])
def test_a_metrics_window_is_a_go_duration(text: str, seconds: float | None) -> None:
    assert go_duration_seconds(text) == seconds
