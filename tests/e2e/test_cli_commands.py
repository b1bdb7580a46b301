"""What a laptop-cluster user runs beside serve: `status`, `stop`, `service --url`, and the
context serve merges into their kubeconfig (and `delete` takes out again, byte for byte)."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from minikube_py.datalock import DataDirLock
from minikube_py.stop_command import process_alive
from tests.e2e.cluster import (
    KUBECTL,
    NEEDS_CONTAINERD,
    ServeProcess,
    free_port,
    running_serve,
    wait_for,
)

pytestmark = NEEDS_CONTAINERD

SLOT = 70
CONTEXT = "minikube-py-data"  # the data dir is .../data, not the default


def minikube(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minikube_py", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def kubectl_on(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "KUBECONFIG": str(kubeconfig),
           "HOME": str(kubeconfig.parent), "KUBECACHEDIR": str(kubeconfig.parent / "cache")}
    return subprocess.run([KUBECTL, *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


def answer(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:  # a service this test made
            return str(resp.read().decode())
    except OSError:
        return None


@pytest.fixture(scope="module")
def user_kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A kubeconfig of the user's, written by kubectl, with two contexts already; and its
    bytes before serve started."""
    path = tmp_path_factory.mktemp("home") / "config"
    for args in (("set-cluster", "kind-a", "--server=https://127.0.0.1:1"),
                 ("set-credentials", "kind-a", "--token=t"),
                 ("set-context", "kind-a", "--cluster=kind-a", "--user=kind-a"),
                 ("set-context", "other", "--cluster=kind-a", "--namespace=x"),
                 ("use-context", "kind-a")):
        assert kubectl_on(path, "config", *args).returncode == 0
    return path, path.read_bytes()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory,
            user_kubeconfig: tuple[Path, bytes]) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("cli") / "data", SLOT,
                       merged_kubeconfig=user_kubeconfig[0]) as serve:
        yield serve


def test_status_of_a_running_cluster_is_exit_0_and_shows_the_node_ready(
        cluster: ServeProcess) -> None:
    result = minikube("status", "--data-dir", str(cluster.data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(":", 1) for line in result.stdout.splitlines())
    assert lines["minikube-py"].strip().startswith("Running (pid ")
    assert lines["api"].strip() == f"{cluster.api_url} (ok)"
    assert lines["nodes"].strip() == f"{cluster.node_name()} Ready"
    assert lines["store"].strip().startswith(f"embedded, leader {cluster.node_name()}")
    assert lines["containerd"].strip().startswith("Running (socket ")


def test_serve_merged_its_context_beside_the_others_and_made_it_current(
        cluster: ServeProcess, user_kubeconfig: tuple[Path, bytes]) -> None:
    path, _ = user_kubeconfig
    contexts = kubectl_on(path, "config", "get-contexts", "-o", "name").stdout.split()
    assert sorted(contexts) == sorted(["kind-a", "other", CONTEXT])
    assert kubectl_on(path, "config", "current-context").stdout.strip() == CONTEXT
    nodes = kubectl_on(path, "--context", CONTEXT, "get", "nodes")
    assert nodes.returncode == 0, nodes.stderr
    assert " Ready " in nodes.stdout
    assert f"merged into: {path} (context {CONTEXT})" in minikube(
        "status", "--data-dir", str(cluster.data_dir)).stdout


def test_service_urls_of_a_node_port_and_a_cluster_ip_service_answer_from_the_host(
        cluster: ServeProcess) -> None:
    cluster.kubectl("create", "deployment", "web", "--image=busybox", "--",
                    "sh", "-c", "echo hi from web > /tmp/index.html; "
                    "exec httpd -f -p 8080 -h /tmp")
    cluster.kubectl("expose", "deployment/web", "--port=80", "--target-port=8080")
    cluster.kubectl("expose", "deployment/web", "--name=web-np", "--type=NodePort",
                    "--port=80", "--target-port=8080")
    cluster.kubectl("rollout", "status", "deployment/web", "--timeout=90s", timeout=120)
    for name in ("web", "web-np"):
        result = minikube("service", name, "--url", "--data-dir", str(cluster.data_dir))
        assert result.returncode == 0, result.stderr
        urls = result.stdout.split()
        assert len(urls) == 1, urls
        wait_for(lambda url=urls[0]: answer(url), timeout=30, what=f"{urls[0]} to answer")
        assert answer(urls[0]) == "hi from web\n"
    node_port = cluster.kubectl_json("get", "service", "web-np")["spec"]["ports"][0]
    assert minikube("service", "web-np", "--url", "--data-dir", str(cluster.data_dir)) \
        .stdout.strip().endswith(f":{node_port['nodePort']}")


def test_service_of_a_missing_service_is_refused_as_kube_says_it(cluster: ServeProcess) -> None:
    result = minikube("service", "nope", "-n", "kube-system", "--url", "--data-dir",
                      str(cluster.data_dir))
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: service nope not found in namespace kube-system"


def test_stop_stops_serve_and_leaves_the_pods_running(cluster: ServeProcess) -> None:
    url = minikube("service", "web", "--url", "--data-dir", str(cluster.data_dir)).stdout.strip()
    assert cluster.proc is not None
    pid = cluster.proc.pid
    result = minikube("stop", "--data-dir", str(cluster.data_dir), timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == (f"stopping minikube-py (pid {pid}) on "
                                             f"{cluster.data_dir}...")
    assert result.stdout.splitlines()[-1].startswith("stopped (")
    assert cluster.proc.wait(10) == 0
    assert not process_alive(pid)
    assert DataDirLock(cluster.data_dir).holder() is None
    assert answer(url) == "hi from web\n"  # the containers run on in their shims
    again = minikube("stop", "--data-dir", str(cluster.data_dir))
    assert (again.returncode, again.stdout.strip()) == (
        0, f"not running: nothing serves {cluster.data_dir}")


def test_status_of_a_stopped_cluster_is_exit_1(cluster: ServeProcess) -> None:
    result = minikube("status", "--data-dir", str(cluster.data_dir))
    assert result.returncode == 1
    assert result.stdout.strip() == (f"minikube-py: not running: start it with `minikube-py "
                                     f"serve --data-dir {cluster.data_dir}`")


def test_a_restart_on_another_port_replaces_our_merged_entry(
        cluster: ServeProcess, user_kubeconfig: tuple[Path, bytes]) -> None:
    path, _ = user_kubeconfig
    cluster.api_port = free_port()
    cluster.start()
    server = kubectl_on(path, "config", "view", "-o",
                        f"jsonpath={{.clusters[?(@.name==\"{CONTEXT}\")].cluster.server}}")
    assert server.stdout == cluster.api_url
    assert kubectl_on(path, "config", "get-contexts", "-o", "name").stdout.split().count(
        CONTEXT) == 1
    assert kubectl_on(path, "--context", CONTEXT, "get", "nodes").returncode == 0
    assert minikube("stop", "--data-dir", str(cluster.data_dir), timeout=90).returncode == 0


def test_delete_takes_our_context_out_byte_for_byte(
        cluster: ServeProcess, user_kubeconfig: tuple[Path, bytes]) -> None:
    path, original = user_kubeconfig
    result = minikube("delete", "--data-dir", str(cluster.data_dir), timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"removed context {CONTEXT} from {path}" in result.stdout
    assert path.read_bytes() == original
