"""The walking skeleton, end to end: `serve` with a real containerd, driven by the real
kubectl. A pod runs, answers on its IP, logs, survives a restart of `serve` (adopted, not
recreated), and leaves nothing in containerd once deleted."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from minikube_py.kubelet.cri import CriClient
from minikube_py.runtime.images import ImageSpec, build_busybox_layer, build_oci_archive
from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, running_serve, wait_for

pytestmark = NEEDS_CONTAINERD

POD_YAML = """
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: httpd
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo hello from $(hostname) > /www/index.html && echo serving on 8080 && exec httpd -f -v -p 8080 -h /www"]
    ports: [{containerPort: 8080}]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("skeleton") / "data", 1) as serve:
        yield serve


def sandboxes(socket: Path, pod_name: str) -> list[str]:
    async def ask() -> list[str]:
        async with CriClient(socket) as cri:
            return [s.id for s in await cri.list_pod_sandboxes()
                    if s.metadata.name == pod_name]
    return asyncio.run(ask())


def pod_phase(cluster: ServeProcess, name: str) -> str:
    pod = cluster.kubectl_json("get", "pod", name)
    return str(pod.get("status", {}).get("phase"))



def http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:  # a pod on this machine
        return resp.read().decode()


def test_node_registers_and_is_ready(cluster: ServeProcess) -> None:
    out = cluster.kubectl("get", "nodes", "-o", "wide").stdout
    assert " Ready " in out, out
    assert "v1.32.0" in out and "containerd://" in out


def test_default_namespaces_exist(cluster: ServeProcess) -> None:
    out = cluster.kubectl("get", "namespaces").stdout.split()
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert ns in out


def test_pod_runs_and_answers_on_its_ip(cluster: ServeProcess) -> None:
    cluster.kubectl("apply", "-f", "-", input=POD_YAML)
    cluster.kubectl("wait", "--for=condition=Ready", "pod/web", "--timeout=90s", timeout=120)
    wide = cluster.kubectl("get", "pods", "-o", "wide").stdout
    pod = cluster.kubectl_json("get", "pod", "web")
    ip, node = pod["status"]["podIP"], pod["spec"]["nodeName"]
    assert "Running" in wide and ip in wide and node in wide, wide
    assert ip.startswith("10.244.201.")
    body = wait_for(lambda: _try_get(f"http://{ip}:8080/"), timeout=30, what="httpd")
    assert body.startswith("hello from web")


def _try_get(url: str) -> str | None:
    try:
        return http_get(url)
    except OSError:
        return None


def test_logs_show_the_container_output(cluster: ServeProcess) -> None:
    logs = wait_for(lambda: cluster.kubectl("logs", "web").stdout, timeout=30, what="logs")
    assert "serving on 8080" in logs


def test_apply_again_with_a_change_patches_the_pod(cluster: ServeProcess) -> None:
    changed = POD_YAML.replace("labels: {app: web}", "labels: {app: web, tier: front}")
    out = cluster.kubectl("apply", "-f", "-", input=changed).stdout
    assert "configured" in out
    labels = cluster.kubectl_json("get", "pod", "web")["metadata"]["labels"]
    assert labels == {"app": "web", "tier": "front"}


def test_restart_keeps_objects_and_adopts_the_running_pod(cluster: ServeProcess) -> None:
    before = cluster.kubectl_json("get", "pod", "web")
    socket = cluster.data_dir / "containerd" / "containerd.sock"
    sandbox_ids = sandboxes(socket, "web")
    assert len(sandbox_ids) == 1
    assert cluster.stop() == 0
    cluster.start()
    after = cluster.kubectl_json("get", "pod", "web")
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert pod_phase(cluster, "web") == "Running"
    assert sandboxes(socket, "web") == sandbox_ids  # adopted: no second sandbox
    # Writes after the restart continue the revision sequence upward.
    cluster.kubectl("label", "pod", "web", "restarted=yes")
    relabelled = cluster.kubectl_json("get", "pod", "web")
    assert int(relabelled["metadata"]["resourceVersion"]) > int(
        before["metadata"]["resourceVersion"])
    ip = after["status"]["podIP"]
    assert http_get(f"http://{ip}:8080/").startswith("hello from web")


def test_image_load_makes_a_local_image_runnable(cluster: ServeProcess, tmp_path: Path) -> None:
    # An image no registry has: the busybox layer with its own name and default command.
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    layer = build_busybox_layer(Path("/bin/busybox").read_bytes(), applets)
    archive = tmp_path / "hello.tar"
    archive.write_bytes(build_oci_archive(layer, [ImageSpec(
        "example.local/hello:1", None, ["sh", "-c", "echo loaded image says hi"])]))
    out = subprocess.run([sys.executable, "-m", "minikube_py", "image", "load", str(archive),
                          "--data-dir", str(cluster.data_dir)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert "example.local/hello:1" in out.stdout
    cluster.kubectl("run", "hello", "--image=example.local/hello:1", "--restart=Never",
                    "--image-pull-policy=Never")
    wait_for(lambda: pod_phase(cluster, "hello") == "Succeeded", timeout=60,
             what="the loaded image's pod to succeed")
    assert "loaded image says hi" in cluster.kubectl("logs", "hello").stdout
    cluster.kubectl("delete", "pod", "hello")


def test_image_load_without_a_cluster_says_so(tmp_path: Path) -> None:
    archive = tmp_path / "empty.tar"
    archive.write_bytes(b"")
    out = subprocess.run([sys.executable, "-m", "minikube_py", "image", "load", str(archive),
                          "--data-dir", str(tmp_path / "nothing")],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode != 0
    assert "no containerd socket" in out.stderr and "Traceback" not in out.stderr


def test_version_reports_the_kubernetes_api() -> None:
    out = subprocess.run([sys.executable, "-m", "minikube_py", "version"], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    assert out.startswith("minikube-py 0.1.0") and "v1.32.0" in out


def test_delete_removes_the_sandbox_from_containerd(cluster: ServeProcess) -> None:
    socket = cluster.data_dir / "containerd" / "containerd.sock"
    cluster.kubectl("delete", "pod", "web", "--timeout=60s", timeout=90)
    assert "web" not in cluster.kubectl("get", "pods").stdout
    wait_for(lambda: not sandboxes(socket, "web"), timeout=30, what="sandbox removal")


def test_stopping_serve_stops_its_containerd(cluster: ServeProcess) -> None:
    assert cluster.stop() == 0
    assert cluster.log.rstrip().endswith("stopped"), cluster.log[-500:]
    pids = subprocess.run(["pgrep", "-f", f"containerd --config {cluster.data_dir}"],
                          capture_output=True, text=True, check=False).stdout.split()
    assert pids == [], f"containerd still running: {pids}"
