"""Table rendering: kubectl's columns and cell formats (pod status reasons, job status...)."""

from typing import Any

import pytest

from minikube_py.api.resources import (
    CONTROLLERREVISIONS,
    CRONJOBS,
    DAEMONSETS,
    ENDPOINTS,
    ENDPOINTSLICES,
    JOBS,
    NODES,
    PODS,
    REPLICATIONCONTROLLERS,
    SERVICEACCOUNTS,
    STATEFULSETS,
    Resource,
)
from minikube_py.api.timefmt import rfc3339
from minikube_py.apiserver import tables
from minikube_py.apiserver.kinds.cronjobs import cronjob_row
from minikube_py.apiserver.kinds.daemonsets import daemonset_row
from minikube_py.apiserver.kinds.endpoints import endpoints_row
from minikube_py.apiserver.kinds.endpointslices import endpointslice_row
from minikube_py.apiserver.kinds.jobs import job_row
from minikube_py.apiserver.kinds.nodes import node_row
from minikube_py.apiserver.kinds.pods import pod_row
from minikube_py.apiserver.kinds.replicationcontrollers import replicationcontroller_row
from minikube_py.apiserver.kinds.services import service_row
from minikube_py.apiserver.kinds.statefulsets import statefulset_row
from minikube_py.apiserver.tables_format import format_label_selector, human_duration
from tests.unit.apiserver.kinds import KINDS

NOW = 1_700_000_000.0


def table(resource: Resource, objs: list[dict[str, Any]], now: float,
          **kw: Any) -> dict[str, Any]:
    return tables.table(KINDS.strategy(resource), objs, now, **kw)


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


# --- the workload and network kinds ---------------------------------------------------------

def obj(age_s: float = 300, **body: Any) -> dict[str, Any]:
    meta = body.pop("metadata", {})
    return {"metadata": {"name": "x", "creationTimestamp": rfc3339(NOW - age_s), **meta}, **body}


def template(*images: str, **pod_spec: Any) -> dict[str, Any]:
    return {"spec": {"containers": [{"name": f"c{i}", "image": img}
                                    for i, img in enumerate(images)], **pod_spec}}


def job(*conditions: tuple[str, str], **spec: Any) -> dict[str, Any]:
    return obj(spec={"selector": {"matchLabels": {"batch.kubernetes.io/job-name": "x"}},
                     "template": template("busybox"), **spec},
               status={"succeeded": 0, "conditions": [{"type": t, "status": s}
                                                      for t, s in conditions]})


@pytest.mark.parametrize(
    ("j", "status"),
    [
        (job(), "Running"),
        (job(("Complete", "True")), "Complete"),
        (job(("Failed", "True")), "Failed"),
        (job(("Suspended", "True")), "Suspended"),
        (job(("Suspended", "False")), "Running"),
        (job(("FailureTarget", "True")), "FailureTarget"),
        (job(("SuccessCriteriaMet", "True")), "Running"),
        (job(("FailureTarget", "True"), ("Failed", "True")), "Failed"),
        ({**job(), "metadata": {"name": "x", "deletionTimestamp": rfc3339(NOW)}}, "Terminating"),
        ({**job(("Complete", "True")),
          "metadata": {"name": "x", "deletionTimestamp": rfc3339(NOW)}}, "Complete"),
    ],
)
def test_job_status_column(j: dict[str, Any], status: str) -> None:
    assert job_row(j, NOW)[1] == status


@pytest.mark.parametrize(
    ("spec", "succeeded", "text"),
    [({"completions": 1}, 1, "1/1"), ({"completions": 3, "parallelism": 2}, 1, "1/3"),
     ({}, 0, "0/1"), ({"parallelism": 1}, 0, "0/1"), ({"parallelism": 4}, 2, "2/1 of 4")],
)
def test_job_completions_column(spec: dict[str, Any], succeeded: int, text: str) -> None:
    j = job(**spec)
    j["status"]["succeeded"] = succeeded
    assert job_row(j, NOW)[2] == text


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [(None, None, ""), (NOW - 5, None, "5s"), (NOW - 7200, None, "120m"),
     (NOW - 600, NOW - 418, "3m2s"), (NOW - 4000, NOW - 400, "60m")],
)
def test_job_duration_runs_until_completion(start: float | None, end: float | None,
                                            text: str) -> None:
    j = job()
    if start is not None:
        j["status"]["startTime"] = rfc3339(start)
    if end is not None:
        j["status"]["completionTime"] = rfc3339(end)
    assert job_row(j, NOW)[3] == text


def test_job_row_wide_cells() -> None:
    assert job_row(job(completions=1), NOW) == [
        "x", "Running", "0/1", "", "5m", "c0", "busybox", "batch.kubernetes.io/job-name=x"]


def cronjob(**status: Any) -> dict[str, Any]:
    return obj(spec={"schedule": "*/1 * * * *", "suspend": False,
                     "jobTemplate": {"spec": {"template": template("busybox", "nginx")}}},
               status=status)


@pytest.mark.parametrize(
    ("cj", "cells"),
    [
        (cronjob(), ["*/1 * * * *", "<none>", "False", 0, "<none>"]),
        (cronjob(active=[{"name": "j1"}], lastScheduleTime=rfc3339(NOW - 42)),
         ["*/1 * * * *", "<none>", "False", 1, "42s"]),
        ({**cronjob(), "spec": {"schedule": "@daily", "timeZone": "Etc/UTC"}},
         ["@daily", "Etc/UTC", "<unset>", 0, "<none>"]),
    ],
)
def test_cronjob_row(cj: dict[str, Any], cells: list[Any]) -> None:
    assert cronjob_row(cj, NOW)[1:6] == cells


def test_cronjob_wide_cells_come_from_the_job_template() -> None:
    assert cronjob_row(cronjob(), NOW)[6:] == ["5m", "c0,c1", "busybox,nginx", "<none>"]


@pytest.mark.parametrize(
    ("node_selector", "text"),
    [(None, "<none>"), ({"kubernetes.io/os": "linux", "a": "b"}, "a=b,kubernetes.io/os=linux")],
)
def test_daemonset_row(node_selector: dict[str, str] | None, text: str) -> None:
    ds = obj(spec={"selector": {"matchLabels": {"app": "d"}},
                   "template": template("pause", nodeSelector=node_selector)},
             status={"desiredNumberScheduled": 3, "currentNumberScheduled": 2,
                     "numberReady": 1, "updatedNumberScheduled": 2, "numberAvailable": 1})
    assert daemonset_row(ds, NOW) == ["x", 3, 2, 1, 2, 1, text, "5m", "c0", "pause", "app=d"]


@pytest.mark.parametrize(
    ("ready", "replicas", "text"), [(None, 3, "0/3"), (2, 3, "2/3"), (1, 1, "1/1")],
)
def test_statefulset_ready_column(ready: int | None, replicas: int, text: str) -> None:
    status = {} if ready is None else {"readyReplicas": ready}
    sts = obj(spec={"replicas": replicas, "template": template("nginx")}, status=status)
    assert statefulset_row(sts, NOW) == ["x", text, "5m", "c0", "nginx"]
    assert [c["name"] for c in table(STATEFULSETS, [sts], NOW)["columnDefinitions"]] == [
        "Name", "Ready", "Age", "Containers", "Images"]


def test_replicationcontroller_selector_is_a_label_map() -> None:
    rc = obj(spec={"replicas": 2, "selector": {"b": "2", "a": "1"}, "template": template("n")},
             status={"replicas": 2, "readyReplicas": 1})
    assert replicationcontroller_row(rc, NOW) == ["x", 2, 2, 1, "5m", "c0", "n", "a=1,b=2"]


@pytest.mark.parametrize(
    ("selector", "text"),
    [
        (None, "<none>"),
        ({}, "<none>"),
        ({"matchLabels": {"z": "1", "a": "2"}}, "a=2,z=1"),
        ({"matchLabels": {"m": "1"}, "matchExpressions": [
            {"key": "z", "operator": "In", "values": ["b", "a"]},
            {"key": "a", "operator": "Exists"},
            {"key": "n", "operator": "DoesNotExist"},
            {"key": "e", "operator": "NotIn", "values": ["x"]}]},
         "a,e notin (x),m=1,!n,z in (a,b)"),
    ],
)
def test_label_selector_cell(selector: dict[str, Any] | None, text: str) -> None:
    assert format_label_selector(selector) == text


def subset(ips: list[str], ports: list[int]) -> dict[str, Any]:
    return {"addresses": [{"ip": ip} for ip in ips], "ports": [{"port": p} for p in ports]}


@pytest.mark.parametrize(
    ("subsets", "text"),
    [
        ([], "<none>"),
        ([{"notReadyAddresses": [{"ip": "10.0.0.9"}], "ports": [{"port": 80}]}], ""),
        ([subset(["10.0.0.1"], [80])], "10.0.0.1:80"),
        ([subset(["10.0.0.1", "10.0.0.2"], [80, 443])],
         "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..."),
        ([subset(["10.0.0.1", "10.0.0.2"], [80]), subset(["10.0.0.3", "10.0.0.4"], [80])],
         "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more..."),
        ([subset(["10.0.0.1", "10.0.0.2"], [])], "10.0.0.1,10.0.0.2"),
        ([subset(["fd00::1"], [53])], "[fd00::1]:53"),
    ],
)
def test_endpoints_column(subsets: list[dict[str, Any]], text: str) -> None:
    assert endpoints_row(obj(subsets=subsets), NOW) == ["x", text, "5m"]


@pytest.mark.parametrize(
    ("ports", "addresses", "cells"),
    [
        ([], [], ["<unset>", "<unset>"]),
        ([{"port": 80, "name": "http"}, {"name": "dns"}, {}], [["10.0.0.1"]],
         ["80,dns,*", "10.0.0.1"]),
        ([{"port": p} for p in (1, 2, 3, 4, 5)], [["a", "b"], ["c"], ["d"]],
         ["1,2,3 + 2 more...", "a,b,c + 1 more..."]),
    ],
)
def test_endpointslice_row(ports: list[dict[str, Any]], addresses: list[list[str]],
                           cells: list[str]) -> None:
    es = obj(addressType="IPv4", ports=ports,
             endpoints=[{"addresses": a} for a in addresses])
    assert endpointslice_row(es, NOW) == ["x", "IPv4", *cells, "5m"]


@pytest.mark.parametrize(
    ("refs", "text"),
    [
        ([], "<none>"),
        ([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "d"}], "<none>"),
        ([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "d", "controller": True}],
         "daemonset.apps/d"),
        ([{"apiVersion": "v1", "kind": "Pod", "name": "p", "controller": True}], "pod/p"),
    ],
)
def test_controllerrevision_row(refs: list[dict[str, Any]], text: str) -> None:
    cr = obj(metadata={"ownerReferences": refs}, revision=2)
    assert table(CONTROLLERREVISIONS, [cr], NOW)["rows"][0]["cells"] == ["x", text, 2, "5m"]


@pytest.mark.parametrize(("secrets", "count"), [(None, 0), ([{"name": "t"}], 1)])
def test_serviceaccount_secrets_column(secrets: list[dict[str, str]] | None, count: int) -> None:
    sa = obj(secrets=secrets)
    assert table(SERVICEACCOUNTS, [sa], NOW)["rows"][0]["cells"] == ["x", count, "5m"]


@pytest.mark.parametrize(
    ("resource", "names"),
    [
        (JOBS, ["Name", "Status", "Completions", "Duration", "Age", "Containers", "Images",
                "Selector"]),
        (CRONJOBS, ["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age",
                    "Containers", "Images", "Selector"]),
        (DAEMONSETS, ["Name", "Desired", "Current", "Ready", "Up-to-date", "Available",
                      "Node Selector", "Age", "Containers", "Images", "Selector"]),
        (REPLICATIONCONTROLLERS, ["Name", "Desired", "Current", "Ready", "Age", "Containers",
                                  "Images", "Selector"]),
        (ENDPOINTS, ["Name", "Endpoints", "Age"]),
        (ENDPOINTSLICES, ["Name", "AddressType", "Ports", "Endpoints", "Age"]),
        (SERVICEACCOUNTS, ["Name", "Secrets", "Age"]),
        (CONTROLLERREVISIONS, ["Name", "Controller", "Revision", "Age"]),
    ],
)
def test_column_names_match_kubectl(resource: Resource, names: list[str]) -> None:
    cols = table(resource, [], NOW)["columnDefinitions"]
    assert [c["name"] for c in cols] == names
    wide = [c["name"] for c in cols if c["priority"] == 1]
    assert wide == [n for n in names if n in ("Containers", "Images", "Selector")]


@pytest.mark.parametrize(("spec", "status", "shown"), [
    ({"type": "LoadBalancer"}, {}, "<pending>"),
    ({"type": "LoadBalancer"}, {"loadBalancer": {"ingress": [{"ip": "10.112.200.2"},
                                                             {"ip": "10.112.200.1"}]}},
     "10.112.200.1,10.112.200.2"),
    ({"type": "LoadBalancer", "externalIPs": ["198.51.100.7"]},
     {"loadBalancer": {"ingress": [{"ip": "10.112.200.1", "ipMode": "VIP"}]}},
     "10.112.200.1,198.51.100.7"),
    ({"type": "LoadBalancer", "externalIPs": ["198.51.100.7"]}, {}, "198.51.100.7"),
    ({"type": "ClusterIP", "externalIPs": ["198.51.100.7"]}, {}, "198.51.100.7"),
    ({"type": "NodePort"}, {}, "<none>"),
])
def test_service_external_ip_column(spec: dict[str, Any], status: dict[str, Any],
                                    shown: str) -> None:
    row = service_row({"metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:00:00Z"},
                       "spec": {"clusterIP": "10.96.0.5", **spec}, "status": status}, 0.0)
    assert row[3] == shown
