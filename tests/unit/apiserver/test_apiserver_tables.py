"""Table rendering: kubectl's pod status reason logic and node columns."""

from typing import Any

import pytest

from minikube_py.api.resources import NODES, PODS
from minikube_py.api.timefmt import rfc3339
from minikube_py.apiserver.tables import human_duration, node_row, pod_row, table

NOW = 1_700_000_000.0


def pod(status: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "creationTimestamp": rfc3339(NOW - 65), **meta},
            "spec": {"containers": [{"name": "c"}], "nodeName": "n1"}, "status": status}


def running(ready: bool = True) -> dict[str, Any]:
    return {"name": "c", "ready": ready, "restartCount": 0, "state": {"running": {}}}


@pytest.mark.parametrize(
    ("status", "ready", "reason"),
    [
        ({"phase": "Pending"}, "0/1", "Pending"),
        ({"phase": "Pending", "containerStatuses": [
            {"name": "c", "state": {"waiting": {"reason": "ContainerCreating"}}}]},
         "0/1", "ContainerCreating"),
        ({"phase": "Running", "containerStatuses": [running()]}, "1/1", "Running"),
        ({"phase": "Running", "containerStatuses": [
            {"name": "c", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]},
         "0/1", "CrashLoopBackOff"),
        ({"phase": "Succeeded", "containerStatuses": [
            {"name": "c", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]},
         "0/1", "Completed"),
        ({"phase": "Failed", "containerStatuses": [
            {"name": "c", "state": {"terminated": {"exitCode": 2}}}]}, "0/1", "ExitCode:2"),
        ({"phase": "Pending", "reason": "SchedulingGated", "conditions": [
            {"type": "PodScheduled", "reason": "SchedulingGated", "status": "False"}]},
         "0/1", "SchedulingGated"),
    ],
)
def test_pod_status_column(status: dict[str, Any], ready: str, reason: str) -> None:
    row = pod_row(pod(status), NOW)
    assert row[1:3] == [ready, reason]
    assert row[4] == "65s"


def test_deleted_pod_shows_terminating() -> None:
    row = pod_row(pod({"phase": "Running", "containerStatuses": [running()]},
                      deletionTimestamp=rfc3339(NOW)), NOW)
    assert row[2] == "Terminating"


def test_init_container_progress() -> None:
    p = pod({"phase": "Pending", "initContainerStatuses": [
        {"name": "i", "state": {"running": {}}}]})
    p["spec"]["initContainers"] = [{"name": "i"}]
    assert pod_row(p, NOW)[2] == "Init:0/1"


def test_restarts_show_time_since_last() -> None:
    st = running()
    st.update(restartCount=2, lastState={"terminated": {"finishedAt": rfc3339(NOW - 30)}})
    assert pod_row(pod({"phase": "Running", "containerStatuses": [st]}), NOW)[3] == "2 (30s ago)"


def test_wide_columns_ip_and_node() -> None:
    row = pod_row(pod({"phase": "Running", "podIP": "10.244.0.5",
                       "podIPs": [{"ip": "10.244.0.5"}]}), NOW)
    assert row[5:] == ["10.244.0.5", "n1", "<none>", "<none>"]


def node(ready: str = "True", unschedulable: bool = False, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": "n1", "creationTimestamp": rfc3339(NOW - 3600),
                         "labels": labels},
            "spec": {"unschedulable": unschedulable},
            "status": {"conditions": [{"type": "Ready", "status": ready}],
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.2"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian",
                                    "kernelVersion": "6.1", "containerRuntimeVersion":
                                    "containerd://1.6"}}}


@pytest.mark.parametrize(
    ("n", "status", "roles"),
    [
        (node(), "Ready", "<none>"),
        (node("False"), "NotReady", "<none>"),
        (node(unschedulable=True), "Ready,SchedulingDisabled", "<none>"),
        (node(**{"node-role.kubernetes.io/control-plane": ""}), "Ready", "control-plane"),
    ],
)
def test_node_row(n: dict[str, Any], status: str, roles: str) -> None:
    row = node_row(n, NOW)
    assert row[:5] == ["n1", status, roles, "60m", "v1.32.0"]
    assert row[5:] == ["10.0.0.2", "<none>", "Debian", "6.1", "containerd://1.6"]


def test_table_carries_partial_object_metadata() -> None:
    t = table(PODS, [pod({"phase": "Pending"})], NOW)
    assert t["kind"] == "Table"
    assert [c["name"] for c in t["columnDefinitions"]][:5] == [
        "Name", "Ready", "Status", "Restarts", "Age"]
    assert t["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    assert table(NODES, [node()], NOW, include_object="Object")["rows"][0]["object"]["spec"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (119, "119s"), (150, "2m30s"), (600, "10m"), (3 * 3600 + 60, "3h1m"),
     (10 * 3600, "10h"), (3 * 86400, "3d"), (800 * 86400, "2y70d")],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text
