"""The orchestrator end to end, with real containers and the real kubectl: a Deployment
that heals, scales, rolls out and rolls back; Services reached by ClusterIP, NodePort and
DNS name; a Job; a DaemonSet; a node failure; namespace and cascading deletion.

One `serve` for the module: a real node plus two simulated nodes (tainted, so only pods
that tolerate them land there) and a short node-monitor grace period."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import urllib.request
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from cri_api.v1 import api_pb2, api_pb2_grpc

from minikube_py.kubelet.cri import CriClient
from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, running_serve, wait_for

pytestmark = NEEDS_CONTAINERD

NODE_IP = "10.244.203.1"


def deployment_yaml(replicas: int = 3, greeting: str = "v1") -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: app}}}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: 1, maxUnavailable: 1}}
  template:
    metadata: {{labels: {{app: app}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: busybox
        env: [{{name: GREETING, value: "{greeting}"}}]
        command: ["sh", "-c", "mkdir -p /www && echo $GREETING $(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{{containerPort: 8080}}]
        readinessProbe:
          tcpSocket: {{port: 8080}}
          periodSeconds: 1
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("orchestration") / "data", 3, "--simulated-nodes", "2",
                       "--node-monitor-grace-period", "4") as serve:
        yield serve


def get_json(cluster: ServeProcess, *args: str) -> Any:
    return cluster.kubectl_json("get", *args)


def app_pods(cluster: ServeProcess) -> list[dict[str, Any]]:
    items = get_json(cluster, "pods", "-l", "app=app")["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in pod.get("status", {}).get("conditions") or [])


def ready_app_pods(cluster: ServeProcess, n: int) -> list[dict[str, Any]] | None:
    pods = app_pods(cluster)
    return pods if len(pods) == n and all(ready(p) for p in pods) else None


def http_get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:  # a service on this machine
            return str(resp.read().decode())
    except OSError:
        return None


def test_deployment_rolls_out_three_running_replicas(cluster: ServeProcess) -> None:
    cluster.kubectl("apply", "-f", "-", input=deployment_yaml())
    cluster.kubectl("rollout", "status", "deployment/app", "--timeout=120s", timeout=150)
    pods = wait_for(lambda: ready_app_pods(cluster, 3), timeout=60, what="3 ready pods")
    assert {p["spec"]["nodeName"] for p in pods} == {cluster.node_name()}


def test_a_deleted_pod_is_replaced(cluster: ServeProcess) -> None:
    victim = app_pods(cluster)[0]["metadata"]["name"]
    cluster.kubectl("delete", "pod", victim, "--wait=false")

    def replaced() -> bool:
        pods = ready_app_pods(cluster, 3)
        return pods is not None and victim not in {p["metadata"]["name"] for p in pods}

    wait_for(replaced, timeout=90, what="a replacement pod")


def test_scale_up_and_down(cluster: ServeProcess) -> None:
    cluster.kubectl("scale", "deployment/app", "--replicas=5")
    wait_for(lambda: ready_app_pods(cluster, 5), timeout=90, what="5 ready pods")
    cluster.kubectl("scale", "deployment/app", "--replicas=2")
    wait_for(lambda: ready_app_pods(cluster, 2), timeout=90, what="2 pods")
    cluster.kubectl("scale", "deployment/app", "--replicas=3")
    wait_for(lambda: ready_app_pods(cluster, 3), timeout=90, what="3 pods again")


def test_expose_reaches_pods_by_cluster_ip_and_node_port(cluster: ServeProcess) -> None:
    cluster.kubectl("expose", "deployment/app", "--port=80", "--target-port=8080")
    cluster.kubectl("expose", "deployment/app", "--name=app-np", "--type=NodePort",
                    "--port=80", "--target-port=8080")
    svc = get_json(cluster, "service", "app")
    ip = svc["spec"]["clusterIP"]
    assert ip.startswith("10.112.3.")
    answers = set()

    def several_pods_answer() -> bool:
        body = http_get(f"http://{ip}/")
        if body:
            answers.add(body.split()[1])
        return len(answers) >= 2

    wait_for(several_pods_answer, timeout=60, what="answers from two pods via the ClusterIP")
    node_port = get_json(cluster, "service", "app-np")["spec"]["ports"][0]["nodePort"]
    body = wait_for(lambda: http_get(f"http://{NODE_IP}:{node_port}/"), timeout=30,
                    what="the NodePort")
    assert body.startswith("v1 app-")


def test_a_pod_reaches_the_service_by_dns_name(cluster: ServeProcess) -> None:
    # Bounded by `timeout`, not wget's own -T: Debian's busybox 1.35 wget crashes with -T.
    cluster.kubectl("run", "client", "--image=busybox", "--restart=Never", "--",
                    "timeout", "10", "wget", "-qO-", "http://app.default.svc.cluster.local")

    def finished() -> str | None:
        phase = get_json(cluster, "pod", "client")["status"].get("phase")
        return phase if phase in ("Succeeded", "Failed") else None

    phase = wait_for(finished, timeout=90, what="the client pod to finish")
    logs = cluster.kubectl("logs", "client").stdout
    assert phase == "Succeeded", logs
    assert logs.startswith("v1 app-")
    short = "app"  # the search path resolves the bare service name too
    cluster.kubectl("run", "client2", "--image=busybox", "--restart=Never", "--",
                    "timeout", "10", "wget", "-qO-", f"http://{short}")
    wait_for(lambda: get_json(cluster, "pod", "client2")["status"].get("phase") == "Succeeded",
             timeout=90, what="client2 to succeed")


def test_scaling_changes_the_endpoints_and_traffic_follows(cluster: ServeProcess) -> None:
    cluster.kubectl("scale", "deployment/app", "--replicas=1")
    only = wait_for(lambda: ready_app_pods(cluster, 1), timeout=90, what="1 pod")[0]

    def one_endpoint() -> bool:
        slices = get_json(cluster, "endpointslices", "-l",
                          "kubernetes.io/service-name=app")["items"]
        ready_ips = [a for s in slices for e in s.get("endpoints") or []
                     if (e.get("conditions") or {}).get("ready") for a in e["addresses"]]
        return ready_ips == [only["status"]["podIP"]]

    wait_for(one_endpoint, timeout=30, what="one ready endpoint")
    ip = get_json(cluster, "service", "app")["spec"]["clusterIP"]
    for _ in range(10):
        body = wait_for(lambda: http_get(f"http://{ip}/"), timeout=10, what="an answer")
        assert body.split()[1] == only["metadata"]["name"]
    cluster.kubectl("scale", "deployment/app", "--replicas=3")
    wait_for(lambda: ready_app_pods(cluster, 3), timeout=90, what="3 pods")


def test_rolling_update_keeps_availability_and_undo_restores(cluster: ServeProcess) -> None:
    cluster.kubectl("apply", "-f", "-", input=deployment_yaml(greeting="v2"))
    lowest_available = 3
    done = False
    deadline_polls = 600
    while not done and deadline_polls:
        deadline_polls -= 1
        status = get_json(cluster, "deployment", "app")["status"]
        lowest_available = min(lowest_available, status.get("availableReplicas", 0))
        done = (status.get("updatedReplicas") == 3 and status.get("availableReplicas") == 3
                and status.get("replicas") == 3)
    assert done, "rollout did not finish"
    assert lowest_available >= 2  # replicas - maxUnavailable
    cluster.kubectl("rollout", "status", "deployment/app", "--timeout=60s", timeout=90)
    ip = get_json(cluster, "service", "app")["spec"]["clusterIP"]
    wait_for(lambda: (http_get(f"http://{ip}/") or "").startswith("v2"), timeout=30,
             what="v2 answers")
    cluster.kubectl("rollout", "undo", "deployment/app")
    cluster.kubectl("rollout", "status", "deployment/app", "--timeout=120s", timeout=150)
    env = get_json(cluster, "deployment", "app")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "GREETING", "value": "v1"}]
    wait_for(lambda: (http_get(f"http://{ip}/") or "").startswith("v1"), timeout=30,
             what="v1 answers again")


def container_pid(cluster: ServeProcess, pod_name: str) -> int:
    """The host PID of the pod's running container, from CRI's verbose status."""
    socket = cluster.data_dir / "containerd" / "containerd.sock"

    async def ask() -> int:
        async with CriClient(socket) as cri:
            running = [c for c in await cri.list_containers()
                       if c.labels.get("io.kubernetes.pod.name") == pod_name
                       and c.state == api_pb2.CONTAINER_RUNNING]
        assert running, f"no running container for {pod_name}"
        async with grpc.aio.insecure_channel(f"unix://{socket}") as channel:
            stub = api_pb2_grpc.RuntimeServiceStub(channel)
            status = await stub.ContainerStatus(
                api_pb2.ContainerStatusRequest(container_id=running[0].id, verbose=True))
        return int(json.loads(status.info["info"])["pid"])
    return asyncio.run(ask())


def test_a_killed_container_is_restarted(cluster: ServeProcess) -> None:
    pod = wait_for(lambda: ready_app_pods(cluster, 3), timeout=60, what="3 pods")[0]
    name = pod["metadata"]["name"]
    os.kill(container_pid(cluster, name), signal.SIGKILL)

    def restarted_and_ready() -> bool:
        p = get_json(cluster, "pod", name)
        return p["status"]["containerStatuses"][0]["restartCount"] >= 1 and ready(p)

    wait_for(restarted_and_ready, timeout=60, what="restart and Ready")


def test_a_job_runs_to_completion(cluster: ServeProcess) -> None:
    cluster.kubectl("create", "job", "hello", "--image=busybox", "--", "echo", "hello job")
    cluster.kubectl("wait", "--for=condition=complete", "job/hello", "--timeout=90s",
                    timeout=120)
    job = get_json(cluster, "job", "hello")
    assert job["status"]["succeeded"] == 1
    assert "hello job" in cluster.kubectl("logs", "job/hello").stdout


DAEMONSET = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      tolerations: [{operator: Exists}]
      containers:
      - {name: agent, image: busybox, command: ["sleep", "3600"]}
"""


def test_a_daemonset_lands_on_every_node(cluster: ServeProcess) -> None:
    cluster.kubectl("apply", "-f", "-", input=DAEMONSET)
    nodes = {n["metadata"]["name"] for n in get_json(cluster, "nodes")["items"]}
    assert len(nodes) == 3

    def one_per_node() -> bool:
        pods = get_json(cluster, "pods", "-l", "app=agent")["items"]
        running = [p for p in pods if p["status"].get("phase") == "Running"]
        return sorted(p["spec"]["nodeName"] for p in running) == sorted(nodes)

    wait_for(one_per_node, timeout=90, what="an agent pod Running on each node")
    cluster.kubectl("rollout", "status", "daemonset/agent", "--timeout=60s", timeout=90)


FRAGILE = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: fragile}
spec:
  replicas: 2
  selector: {matchLabels: {app: fragile}}
  template:
    metadata: {labels: {app: fragile}}
    spec:
      nodeSelector: {minikube-py.dev/simulated: "true"}
      tolerations:
      - {key: minikube-py.dev/simulated, operator: Exists}
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      containers: [{name: c, image: busybox}]
"""


def test_a_failed_node_is_tainted_and_its_pods_move(cluster: ServeProcess) -> None:
    cluster.kubectl("apply", "-f", "-", input=FRAGILE)

    def placed() -> dict[str, str] | None:
        pods = get_json(cluster, "pods", "-l", "app=fragile")["items"]
        running = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in pods
                   if p["status"].get("phase") == "Running"
                   and not p["metadata"].get("deletionTimestamp")}
        return running if len(running) == 2 else None

    before = wait_for(placed, timeout=60, what="2 fragile pods Running")
    victim_node = sorted(before.values())[0]
    cluster.kubectl("annotate", "node", victim_node, "minikube-py.dev/heartbeat=paused")

    def unreachable() -> bool:
        node = get_json(cluster, "node", victim_node)
        taints = {t["key"] for t in node["spec"].get("taints") or []}
        ready_status = next(c["status"] for c in node["status"]["conditions"]
                            if c["type"] == "Ready")
        return ready_status == "Unknown" and "node.kubernetes.io/unreachable" in taints

    wait_for(unreachable, timeout=30, what="the node to be NotReady and tainted")
    assert "NotReady" in cluster.kubectl("get", "node", victim_node).stdout

    def moved() -> bool:
        now = placed()
        return now is not None and victim_node not in now.values()

    wait_for(moved, timeout=60, what="the pods to be recreated on the healthy node")
    cluster.kubectl("annotate", "node", victim_node, "minikube-py.dev/heartbeat-")

    def recovered() -> bool:
        node = get_json(cluster, "node", victim_node)
        return not any(t["key"] == "node.kubernetes.io/unreachable"
                       for t in node["spec"].get("taints") or [])

    wait_for(recovered, timeout=30, what="the taint to go away")
    cluster.kubectl("delete", "deployment", "fragile")


def test_deleting_a_namespace_empties_and_removes_it(cluster: ServeProcess) -> None:
    cluster.kubectl("create", "namespace", "scratch")
    cluster.kubectl("-n", "scratch", "create", "configmap", "cfg", "--from-literal=a=1")
    cluster.kubectl("-n", "scratch", "run", "sleeper", "--image=busybox", "--", "sleep", "3600")
    wait_for(lambda: get_json(cluster, "-n", "scratch", "pod", "sleeper")["status"].get(
        "phase") == "Running", timeout=60, what="sleeper Running")
    cluster.kubectl("delete", "namespace", "scratch", "--timeout=120s", timeout=150)
    out = cluster.kubectl("get", "namespace", "scratch", check=False)
    assert out.returncode != 0 and "NotFound" in out.stderr


def test_orphan_deletion_keeps_the_replicaset(cluster: ServeProcess) -> None:
    rs = get_json(cluster, "replicasets", "-l", "app=app")["items"]
    assert rs
    cluster.kubectl("delete", "deployment", "app", "--cascade=orphan")
    wait_for(lambda: "app" not in {d["metadata"]["name"] for d in
                                   get_json(cluster, "deployments")["items"]},
             timeout=30, what="the deployment to go")
    left = get_json(cluster, "replicasets", "-l", "app=app")["items"]
    assert {r["metadata"]["uid"] for r in left} == {r["metadata"]["uid"] for r in rs}
    assert all(not r["metadata"].get("ownerReferences") for r in left)


def test_foreground_deletion_removes_dependents_first(cluster: ServeProcess) -> None:
    names = [r["metadata"]["name"] for r in
             get_json(cluster, "replicasets", "-l", "app=app")["items"]]
    current = max(names, key=lambda n: int(get_json(cluster, "rs", n)["spec"]["replicas"]))
    cluster.kubectl("delete", "rs", current, "--cascade=foreground", "--timeout=90s",
                    timeout=120)
    wait_for(lambda: not [p for p in app_pods(cluster)
                          if p["metadata"]["ownerReferences"][0]["name"] == current],
             timeout=60, what="the replicaset's pods to be gone")
