"""Three machines, one cluster (issue 8): `serve` on the host, `minikube-py join` on two
machines of a LAN (network namespaces on a host bridge, tests/e2e/lan.py), each with its own
containerd, bridge and data dir. Pods reach pods, Services, DNS and NodePorts across nodes;
kubectl logs/exec reach a joined node's pod; bad tokens are refused; a node's own
credentials are limited to its own things; a killed node goes NotReady, its pods move, and
it comes back without a token; and nothing is left behind.

One cluster for the module (the tests run in order: the later ones build on the earlier
ones' DaemonSet), checked with kubectl and the official Python client. Skipped, with the
reason, until `minikube-py join` exists."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ipaddress
import json
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from cri_api.v1 import api_pb2
from kubernetes import client, config

from minikube_py.kubelet.cri import CriClient
from minikube_py.pki.jointoken import BootstrapToken, JoinToken
from minikube_py.runtime.containerd import ContainerdConfig
from tests.e2e.cluster import (
    KUBECTL,
    NEEDS_CONTAINERD,
    ServeProcess,
    kubectl_env,
    read_until,
    stop,
    wait_for,
)
from tests.e2e.lan import (
    PROGRESS_LINE,
    JoinProcess,
    Lan,
    Machine,
    lan_up,
    leftovers,
    machine_network,
    sh,
)
from tests.e2e.network import minikube, remembered
from tests.e2e.recorder import recording_proxy


def join_is_built() -> bool:
    return subprocess.run([sys.executable, "-m", "minikube_py", "join", "--help"],
                          capture_output=True, timeout=60, check=False).returncode == 0


pytestmark = [
    *NEEDS_CONTAINERD,
    pytest.mark.skipif(not join_is_built(),
                       reason="`minikube-py join` is not built yet (`join --help` fails)"),
    pytest.mark.timeout(600),  # the first test also starts three machines
]

SLOT = 60
HOST_NODE = f"mkpylan{SLOT}-n1"
CLUSTER_CIDR = f"10.248.{SLOT}.0/22"  # the host's /24 and one for each joined machine
HOST_POD_CIDR = f"10.248.{SLOT}.0/24"
SERVICE_CIDR = f"10.112.{SLOT}.0/24"
GRACE_PERIOD = "6"

# Each pod serves a page naming itself, and says so on stdout (for `kubectl logs`).
WEB = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: busybox
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && echo serving $(hostname) && exec httpd -f -p 8080 -h /www"]
        ports: [{containerPort: 8080}]
        readinessProbe:
          tcpSocket: {port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""

# Tolerates a failed node for 2s only, so it moves soon after its node goes NotReady.
MOVER = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: mover}
spec:
  replicas: 1
  selector: {matchLabels: {app: mover}}
  template:
    metadata: {labels: {app: mover}}
    spec:
      terminationGracePeriodSeconds: 1
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      containers: [{name: c, image: busybox, command: ["sleep", "3600"]}]
"""


@dataclass
class Cluster:
    lan: Lan
    serve: ServeProcess
    agents: list[JoinProcess]  # on the second and the third machine
    stranger: Machine  # a machine that never joins: the bad tokens are tried there
    base: Path
    core: client.CoreV1Api

    @property
    def second(self) -> JoinProcess:
        return self.agents[0]

    @property
    def third(self) -> JoinProcess:
        return self.agents[1]

    @property
    def server_url(self) -> str:
        return f"https://{self.lan.host_ip}:{self.serve.api_port}"

    @property
    def nodes(self) -> list[str]:
        return [HOST_NODE, *(a.node_name for a in self.agents)]


def bridge_of(machine: Machine) -> str:
    return f"mkpyt{SLOT}{machine.name.rsplit('-', 1)[1]}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("multinode")
    with ExitStack() as stack:  # every step undone, in reverse, whichever one fails
        lan = stack.enter_context(lan_up(SLOT, 3))
        serve = ServeProcess(base / "server", pod_cidr=HOST_POD_CIDR, bridge=f"mkpyt{SLOT}",
                             service_cidr=SERVICE_CIDR, extra_args=(
                                 "--node-name", HOST_NODE, "--node-ip", lan.host_ip,
                                 "--api-host", lan.host_ip, "--cluster-cidr", CLUSTER_CIDR,
                                 "--node-monitor-grace-period", GRACE_PERIOD))
        stack.callback(serve.delete)
        stack.callback(serve.stop)
        serve.start()
        url = f"https://{lan.host_ip}:{serve.api_port}"
        token = (serve.data_dir / "token").read_text().strip()
        agents = [JoinProcess(m, url, base / m.name, bridge=bridge_of(m))
                  for m in lan.machines[:2]]
        for agent in agents:
            stack.callback(agent.delete)
            stack.callback(agent.stop)
            agent.start(token)
        api_client = config.new_client_from_config(config_file=str(serve.kubeconfig))
        stack.callback(api_client.close)
        yield Cluster(lan, serve, agents, lan.machines[2], base, client.CoreV1Api(api_client))


# --- helpers ---------------------------------------------------------------------------


def is_ready(node: client.V1Node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def web_pods(cluster: Cluster) -> dict[str, client.V1Pod]:
    """The DaemonSet's Running, ready pods by node (official client)."""
    pods = cluster.core.list_namespaced_pod("default", label_selector="app=web").items
    return {p.spec.node_name: p for p in pods
            if p.status.phase == "Running" and not p.metadata.deletion_timestamp
            and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])}


def one_web_pod_per_node(cluster: Cluster) -> dict[str, client.V1Pod] | None:
    pods = web_pods(cluster)
    return pods if sorted(pods) == sorted(cluster.nodes) else None


def wget_from(cluster: Cluster, pod: client.V1Pod, url: str) -> str | None:
    # Bounded by `timeout`, not wget's -T: Debian's busybox 1.35 wget crashes with -T.
    out = cluster.serve.kubectl("exec", pod.metadata.name, "--", "timeout", "5", "wget",
                                "-qO-", url, check=False)
    return out.stdout.strip() if out.returncode == 0 else None


def wget_until(cluster: Cluster, pod: client.V1Pod, url: str, timeout: float = 30) -> str:
    return wait_for(lambda: wget_from(cluster, pod, url), timeout=timeout,
                    what=f"{url} to answer {pod.metadata.name} (on {pod.spec.node_name})")


def node_json(cluster: Cluster, name: str) -> Any:
    return cluster.serve.kubectl_json("get", "node", name)


def condition(node: dict[str, Any], kind: str) -> str | None:
    return next((c["status"] for c in node["status"].get("conditions") or []
                 if c["type"] == kind), None)


def taints(node: dict[str, Any]) -> set[str]:
    return {t["key"] for t in node["spec"].get("taints") or []}


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line a refused join prints (bare, or as its last progress line), and
    nothing else but progress lines (no traceback)."""
    lines = (result.stdout + result.stderr).splitlines()
    errors = [text for ln in lines if (text := PROGRESS_LINE.sub("", ln)).startswith("error: ")]
    other = [ln for ln in lines if ln.strip() and not PROGRESS_LINE.match(ln)
             and not ln.startswith("error: ")]
    assert result.returncode != 0, f"join did not fail:\n{result.stdout}{result.stderr}"
    assert len(errors) == 1 and not other, (errors, other)
    return errors[0]


def new_token(cluster: Cluster, ttl: str) -> JoinToken:
    made = minikube("token", "create", "--ttl", ttl, "--data-dir", str(cluster.serve.data_dir))
    assert made.returncode == 0, made.stderr
    return JoinToken.parse(made.stdout)


def stranger_join(cluster: Cluster, case: str, server: str | None = None) -> JoinProcess:
    return JoinProcess(cluster.stranger, server or cluster.server_url,
                       cluster.base / f"{cluster.stranger.name}-{case}",
                       bridge=bridge_of(cluster.stranger))


def assert_nothing_joined_with(cluster: Cluster, token: JoinToken) -> None:
    """No Node for the stranger, and no CertificateSigningRequest made with the token."""
    node = cluster.serve.kubectl("get", "node", cluster.stranger.name, check=False)
    assert node.returncode != 0 and "NotFound" in node.stderr
    csrs = cluster.serve.kubectl_json("get", "csr")["items"]
    assert f"system:bootstrap:{token.credentials.id}" not in {
        c["spec"].get("username") for c in csrs}


def assert_forbidden(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0 and "(Forbidden)" in result.stderr, \
        f"{result.returncode}: {result.stdout}{result.stderr}"


def sandboxes_of(agent: JoinProcess) -> list[api_pb2.PodSandbox]:
    """The pod sandboxes the machine's own containerd has (its socket is a file on the
    host's filesystem, reachable from outside the machine's network namespace)."""
    async def ask() -> list[api_pb2.PodSandbox]:
        async with CriClient(ContainerdConfig(data_dir=agent.data_dir).socket_path) as cri:
            return await cri.list_pod_sandboxes()
    return asyncio.run(ask())


# --- three nodes, pods on each ---------------------------------------------------------


def test_three_machines_are_ready_nodes(cluster: Cluster) -> None:
    wait_for(lambda: sorted(n.metadata.name for n in cluster.core.list_node().items
                            if is_ready(n)) == sorted(cluster.nodes),
             timeout=30, what="three Ready nodes (official client)")
    nodes = {n["metadata"]["name"]: n for n in cluster.serve.kubectl_json("get", "nodes")["items"]}
    assert sorted(nodes) == sorted(cluster.nodes)
    addresses = {name: {a["type"]: a["address"] for a in n["status"]["addresses"]}["InternalIP"]
                 for name, n in nodes.items()}
    assert addresses == {HOST_NODE: cluster.lan.host_ip,
                         **{a.node_name: a.machine.ip for a in cluster.agents}}
    cidrs = {name: n["spec"]["podCIDR"] for name, n in nodes.items()}
    assert cidrs[HOST_NODE] == HOST_POD_CIDR and len(set(cidrs.values())) == 3
    assert all(ipaddress.IPv4Network(c).subnet_of(ipaddress.IPv4Network(CLUSTER_CIDR))
               for c in cidrs.values())
    for line in cluster.serve.kubectl("get", "nodes").stdout.splitlines()[1:]:
        assert line.split()[1] == "Ready", line


def test_serve_ends_with_the_join_command_and_its_token(cluster: Cluster) -> None:
    token = (cluster.serve.data_dir / "token").read_text().strip()
    assert f"    minikube-py join {cluster.server_url} --token {token}\n" in cluster.serve.log


def test_a_daemonset_runs_one_web_pod_on_each_node(cluster: Cluster) -> None:
    cluster.serve.kubectl("apply", "-f", "-", input=WEB)
    pods = wait_for(lambda: one_web_pod_per_node(cluster), timeout=120,
                    what="a ready web pod on each node (official client)")
    apps = client.AppsV1Api(cluster.core.api_client)
    wait_for(lambda: apps.read_namespaced_daemon_set("web", "default").status.number_ready == 3,
             timeout=30, what="the DaemonSet to count three ready pods")
    for node, pod in pods.items():
        subnet = cluster.serve.kubectl_json("get", "node", node)["spec"]["podCIDR"]
        assert ipaddress.IPv4Address(pod.status.pod_ip) in ipaddress.IPv4Network(subnet)


def test_the_host_nodes_pod_reaches_the_pods_on_the_other_nodes(cluster: Cluster) -> None:
    pods = wait_for(lambda: one_web_pod_per_node(cluster), timeout=60, what="the web pods")
    source = pods[HOST_NODE]
    for agent in cluster.agents:
        target = pods[agent.node_name]
        body = wget_until(cluster, source, f"http://{target.status.pod_ip}:8080/")
        assert body == target.metadata.name


def test_the_host_nodes_pod_reaches_the_service_by_dns_name(cluster: Cluster) -> None:
    """Every node's pod answers in time (the Service balances at random)."""
    pods = wait_for(lambda: one_web_pod_per_node(cluster), timeout=60, what="the web pods")
    names = {p.metadata.name for p in pods.values()}
    answered: set[str] = set()

    def all_answered() -> bool:
        body = wget_from(cluster, pods[HOST_NODE], "http://web.default.svc.cluster.local/")
        if body is not None:
            assert body in names, body
            answered.add(body)
        return answered == names

    wait_for(all_answered, timeout=90, what="answers from the web pod of every node")


def test_the_third_nodes_pod_reaches_the_node_port_on_the_second_node(cluster: Cluster) -> None:
    pods = wait_for(lambda: one_web_pod_per_node(cluster), timeout=60, what="the web pods")
    node_port = cluster.serve.kubectl_json("get", "service", "web")["spec"]["ports"][0]["nodePort"]
    url = f"http://{cluster.second.machine.ip}:{node_port}/"
    body = wget_until(cluster, pods[cluster.third.node_name], url)
    assert body in {p.metadata.name for p in pods.values()}


@pytest.mark.parametrize("which", [0, 1], ids=["second", "third"])
def test_kubectl_logs_and_exec_reach_a_pod_on_a_joined_node(cluster: Cluster, which: int) -> None:
    node = cluster.agents[which].node_name
    pod = wait_for(lambda: one_web_pod_per_node(cluster), timeout=60, what="the web pods")[node]
    name = pod.metadata.name
    assert f"serving {name}" in cluster.serve.kubectl("logs", name).stdout
    assert cluster.serve.kubectl("exec", name, "--", "cat", "/www/index.html").stdout == \
        f"{name}\n"


def test_kubectl_port_forward_and_cp_reach_a_pod_on_a_joined_node(cluster: Cluster,
                                                                    tmp_path: Path) -> None:
    node = cluster.third.node_name
    pod = wait_for(lambda: one_web_pod_per_node(cluster), timeout=60, what="the web pods")[node]
    name = pod.metadata.name
    copied = tmp_path / "index.html"
    cluster.serve.kubectl("cp", f"{name}:/www/index.html", str(copied))
    assert copied.read_text() == f"{name}\n"
    proc = subprocess.Popen([KUBECTL, "port-forward", f"pod/{name}", "0:8080"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=kubectl_env(cluster.serve))
    try:
        assert proc.stdout is not None
        found = read_until(proc.stdout.fileno(), r"Forwarding from 127\.0\.0\.1:(\d+)",
                           timeout=20)
        url = f"http://127.0.0.1:{found.group(1)}/"  # our kubectl, on loopback
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.read().decode() == f"{name}\n"
    finally:
        stop(proc)


# --- join tokens -----------------------------------------------------------------------


def test_a_token_naming_another_ca_is_refused_before_sending_credentials(
        cluster: Cluster) -> None:
    good = new_token(cluster, "1h")
    bad = JoinToken(hashlib.sha256(b"the CA of some other cluster").hexdigest(),
                    good.credentials)
    with recording_proxy(cluster.lan.host_ip, cluster.server_url, cluster.serve.pki) as front:
        line = refusal(stranger_join(cluster, "wrong-ca", front.url).run_to_exit(str(bad)))
    assert "CA" in line, line
    assert front.requests, "join never asked the server for its CA"
    assert not [r for r in front.requests if r.carries(good.credentials.secret)]
    assert_nothing_joined_with(cluster, good)


def test_a_token_with_a_wrong_secret_is_refused(cluster: Cluster) -> None:
    good = new_token(cluster, "1h")
    bad = JoinToken(good.ca_hash, BootstrapToken(good.credentials.id, "0" * 16))
    refusal(stranger_join(cluster, "wrong-secret").run_to_exit(str(bad)))
    assert_nothing_joined_with(cluster, good)


def test_an_expired_token_is_refused(cluster: Cluster) -> None:
    token = new_token(cluster, "1s")

    def expired() -> bool:
        secret = cluster.serve.kubectl("-n", "kube-system", "get", "secret",
                                       token.credentials.secret_name, "-o",
                                       "jsonpath={.data.expiration}", check=False)
        if secret.returncode != 0:
            return "NotFound" in secret.stderr  # the token cleaner was quicker
        expiration = datetime.fromisoformat(base64.b64decode(secret.stdout).decode())
        return datetime.now(UTC) > expiration

    wait_for(expired, timeout=30, what="the token to expire")
    refusal(stranger_join(cluster, "expired").run_to_exit(str(token)))
    assert_nothing_joined_with(cluster, token)


def test_a_deleted_token_is_refused(cluster: Cluster) -> None:
    token = new_token(cluster, "1h")
    deleted = minikube("token", "delete", token.credentials.id, "--data-dir",
                       str(cluster.serve.data_dir))
    assert deleted.returncode == 0, deleted.stderr
    refusal(stranger_join(cluster, "deleted").run_to_exit(str(token)))
    assert_nothing_joined_with(cluster, token)


# --- what a node's own credentials may do ---------------------------------------------


def test_a_joined_nodes_kubeconfig_holds_its_own_client_certificate(cluster: Cluster) -> None:
    doc = yaml.safe_load(cluster.second.kubeconfig.read_text())
    (user,) = doc["users"]
    assert "token" not in user["user"]
    assert {"client-certificate-data", "client-certificate"} & set(user["user"])
    whoami = cluster.second.kubectl("auth", "whoami", "-o", "json", check=True)
    info = json.loads(whoami.stdout)["status"]["userInfo"]
    assert info["username"] == f"system:node:{cluster.second.node_name}"
    assert "system:nodes" in info["groups"]


def test_a_node_may_not_patch_another_nodes_node(cluster: Cluster) -> None:
    other = cluster.third.node_name
    assert_forbidden(cluster.second.kubectl(
        "patch", "node", other, "--type=merge", "-p",
        '{"metadata":{"labels":{"e2e.minikube-py.dev/touched":"yes"}}}'))
    labels = node_json(cluster, other)["metadata"].get("labels") or {}
    assert "e2e.minikube-py.dev/touched" not in labels


def test_a_node_may_not_patch_another_nodes_lease(cluster: Cluster) -> None:
    other = cluster.third.node_name
    assert_forbidden(cluster.second.kubectl(
        "-n", "kube-node-lease", "patch", "lease", other, "--type=merge", "-p",
        '{"spec":{"holderIdentity":"someone-else"}}'))
    lease = cluster.serve.kubectl_json("-n", "kube-node-lease", "get", "lease", other)
    assert lease["spec"]["holderIdentity"] == other


def test_a_node_may_not_read_a_secret_none_of_its_pods_use(cluster: Cluster) -> None:
    made = cluster.serve.kubectl("create", "secret", "generic", "unused-by-any-pod",
                                 "--from-literal=k=v", check=False)
    assert made.returncode == 0 or "AlreadyExists" in made.stderr, made.stderr
    assert_forbidden(cluster.second.kubectl("get", "secret", "unused-by-any-pod"))


def test_a_node_may_not_delete_a_pod_of_another_node(cluster: Cluster) -> None:
    pod = wait_for(lambda: one_web_pod_per_node(cluster), timeout=60,
                   what="the web pods")[cluster.third.node_name]
    assert_forbidden(cluster.second.kubectl("delete", "pod", pod.metadata.name, "--wait=false"))
    now = cluster.core.read_namespaced_pod(pod.metadata.name, "default")
    assert now.metadata.uid == pod.metadata.uid and not now.metadata.deletion_timestamp


CHECKED = {"status": {"conditions": [{"type": "e2e.minikube-py.dev/Checked", "status": "True"}]}}


def patch_status_as(agent: JoinProcess, pod: client.V1Pod) -> client.V1Pod:
    """PATCH pods/status with the node's own credentials, as a kubelet does (not `kubectl
    patch --subresource=status`: it reads pods/status first, which kube's system:node role
    does not allow)."""
    api_client = config.new_client_from_config(config_file=str(agent.kubeconfig))
    try:
        return client.CoreV1Api(api_client).patch_namespaced_pod_status(
            pod.metadata.name, "default", CHECKED)
    finally:
        api_client.close()


def test_a_node_may_update_the_status_of_its_own_pods(cluster: Cluster) -> None:
    pod = wait_for(lambda: one_web_pod_per_node(cluster), timeout=60,
                   what="the web pods")[cluster.second.node_name]
    patched = patch_status_as(cluster.second, pod)
    assert "e2e.minikube-py.dev/Checked" in {c.type for c in patched.status.conditions}


def test_a_node_may_not_update_the_status_of_another_nodes_pods(cluster: Cluster) -> None:
    pod = wait_for(lambda: one_web_pod_per_node(cluster), timeout=60,
                   what="the web pods")[cluster.third.node_name]
    with pytest.raises(client.ApiException) as refused:
        patch_status_as(cluster.second, pod)
    assert refused.value.status == 403
    now = cluster.core.read_namespaced_pod(pod.metadata.name, "default")
    assert "e2e.minikube-py.dev/Checked" not in {c.type for c in now.status.conditions}


# --- a machine dies and comes back ----------------------------------------------------


def running_movers(cluster: Cluster) -> dict[str, str]:
    """The mover Deployment's Running pods (not being deleted): name -> node."""
    pods = cluster.serve.kubectl_json("get", "pods", "-l", "app=mover")["items"]
    return {p["metadata"]["name"]: p["spec"]["nodeName"] for p in pods
            if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")}


def test_a_killed_agent_goes_not_ready_and_its_pods_move(cluster: Cluster) -> None:
    victim = cluster.third.node_name
    healthy = [n for n in cluster.nodes if n != victim]
    # Only the victim takes new pods while the mover is placed.
    for node in healthy:
        cluster.serve.kubectl("cordon", node)
    try:
        cluster.serve.kubectl("apply", "-f", "-", input=MOVER)
        placed = wait_for(lambda: running_movers(cluster), timeout=90, what="the mover Running")
    finally:
        for node in healthy:
            cluster.serve.kubectl("uncordon", node)
    assert list(placed.values()) == [victim]

    cluster.third.kill()

    def not_ready() -> bool:
        node = node_json(cluster, victim)
        return condition(node, "Ready") != "True" and "node.kubernetes.io/unreachable" in taints(node)

    wait_for(not_ready, timeout=60, what=f"{victim} to go NotReady and be tainted")
    assert "NotReady" in cluster.serve.kubectl("get", "node", victim).stdout

    def moved() -> dict[str, str] | None:
        now = running_movers(cluster)
        return now if now and victim not in now.values() else None

    now = wait_for(moved, timeout=90, what="the mover to be recreated on a healthy node")
    assert set(now.values()) <= set(healthy) and not set(now) & set(placed)


def test_a_restarted_agent_is_ready_again_without_a_token(cluster: Cluster) -> None:
    cluster.third.start(token=None)
    victim = cluster.third.node_name

    def recovered() -> bool:
        node = node_json(cluster, victim)
        return condition(node, "Ready") == "True" and not taints(node) & {
            "node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"}

    wait_for(recovered, timeout=60, what=f"{victim} Ready and untainted again")


def test_the_restarted_node_runs_each_of_its_pods_in_one_sandbox(cluster: Cluster) -> None:
    """Its pods (the web pod it kept, not the mover that left) each Running once by the
    API and each in exactly one ready sandbox of the machine's containerd."""
    node = cluster.third.node_name

    def one_sandbox_each() -> list[client.V1Pod] | None:
        pods = [p for p in cluster.core.list_pod_for_all_namespaces().items
                if p.spec.node_name == node]
        api = Counter(p.metadata.uid for p in pods if p.status.phase == "Running"
                      and not p.metadata.deletion_timestamp)
        ready = Counter(s.labels.get("io.kubernetes.pod.uid", "?") for s in sandboxes_of(
            cluster.third) if s.state == api_pb2.SANDBOX_READY)
        return pods if api == ready and len(pods) == len(api) else None

    pods = wait_for(one_sandbox_each, timeout=90,
                    what=f"one ready sandbox per pod of {node}, and no other")
    assert [p.metadata.labels.get("app") for p in pods] == ["web"]


# --- the server goes away --------------------------------------------------------------


def test_joined_nodes_wait_for_a_restarting_server_and_keep_their_pods(
        cluster: Cluster) -> None:
    """serve stopped and started again: each agent says it lost the server and that it is
    back, its pods keep running (the same pods, not made again), and pods on different
    nodes still reach each other."""
    before = {node: pod.metadata.uid for node, pod in wait_for(
        lambda: one_web_pod_per_node(cluster), timeout=60, what="the web pods").items()}
    offsets = [len(a.log) for a in cluster.agents]
    assert cluster.serve.stop() == 0, cluster.serve.log
    for agent, offset in zip(cluster.agents, offsets, strict=True):
        wait_for(lambda a=agent, o=offset: "lost the API server" in a.log[o:], timeout=30,
                 what=f"{agent.node_name} to say it lost the server")
    cluster.serve.start()
    for agent, offset in zip(cluster.agents, offsets, strict=True):
        wait_for(lambda a=agent, o=offset: f"the API server at {cluster.server_url} is back"
                 in a.log[o:], timeout=60, what=f"{agent.node_name} to say the server is back")
        assert agent.proc is not None and agent.proc.poll() is None, agent.log
    wait_for(lambda: sorted(n.metadata.name for n in cluster.core.list_node().items
                            if is_ready(n)) == sorted(cluster.nodes),
             timeout=60, what="every node Ready after the restart")
    after = wait_for(lambda: one_web_pod_per_node(cluster), timeout=60, what="the web pods")
    assert {node: pod.metadata.uid for node, pod in after.items()} == before
    second = after[cluster.second.node_name]
    assert wget_until(cluster, after[HOST_NODE],
                      f"http://{second.status.pod_ip}:8080/") == second.metadata.name


# --- leaving ---------------------------------------------------------------------------


def test_cleanup_leaves_nothing_behind(cluster: Cluster) -> None:
    """Agents stopped (exit 0) and deleted, then serve: no namespace, veth, bridge, route or
    iptables chain of the cluster is left, on any machine or on the host."""
    for agent in cluster.agents:
        assert agent.stop() == 0, agent.log
        deleted = agent.delete()
        assert deleted.returncode == 0, deleted.stdout + deleted.stderr
        assert not agent.data_dir.exists()
    for machine in cluster.lan:
        left = machine_network(machine.name)
        assert left["links"] == ["eth0", "lo"], (machine.name, left)
        assert left["iptables"] == [], (machine.name, left)
        assert [r.split()[0] for r in left["routes"]] == [str(cluster.lan.subnet)], \
            (machine.name, left)
    prefix = remembered(cluster.serve)["host"]["iptablesPrefix"]
    assert cluster.serve.stop() == 0, cluster.serve.log
    cluster.serve.delete()
    cluster.lan.down()
    assert leftovers(cluster.lan.bridge) == []
    host_links = sh("ip", "-br", "link", "show").stdout
    assert f"mkpyt{SLOT}" not in host_links
    routes = sh("ip", "-4", "route", "show", "table", "all").stdout
    for net in (CLUSTER_CIDR, HOST_POD_CIDR, SERVICE_CIDR, f"10.248.{SLOT + 1}.",
                f"10.248.{SLOT + 2}.", f"10.248.{SLOT + 3}.", str(cluster.lan.subnet)):
        assert net not in routes, (net, routes)
    assert "via 10.200.0." not in routes
    assert prefix not in sh("iptables-save").stdout
