"""exec, exec -it, attach, cp and port-forward, end to end: the real kubectl against `serve`,
through the API server and the kubelet to containerd's streaming server."""

from __future__ import annotations

import os
import pty
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import (
    KUBECTL,
    NEEDS_CONTAINERD,
    ServeProcess,
    kubectl_env,
    read_until,
    running_serve,
    stop,
)

pytestmark = NEEDS_CONTAINERD

POD_YAML = """
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox
    command: ["sh", "-c", "mkdir -p /www; echo hello from web > /www/index.html; (while true; do echo tick; sleep 1; done) & exec httpd -f -p 8080 -h /www"]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("exec") / "data", 4) as serve:
        serve.kubectl("apply", "-f", "-", input=POD_YAML)
        serve.kubectl("wait", "--for=condition=Ready", "pod/web", "--timeout=60s", timeout=90)
        yield serve


def test_exec_prints_the_command_output(cluster: ServeProcess) -> None:
    result = cluster.kubectl("exec", "web", "--", "echo", "hello")
    assert result.stdout == "hello\n"


def test_exec_exit_code_becomes_kubectls(cluster: ServeProcess) -> None:
    result = cluster.kubectl("exec", "web", "--", "sh", "-c", "exit 3", check=False)
    assert result.returncode == 3, result.stderr


def test_exec_keeps_stdout_and_stderr_apart(cluster: ServeProcess) -> None:
    result = cluster.kubectl("exec", "web", "--", "sh", "-c", "echo out; echo err >&2")
    assert (result.stdout, result.stderr) == ("out\n", "err\n")


def test_exec_with_stdin_passes_input_and_its_end(cluster: ServeProcess) -> None:
    result = cluster.kubectl("exec", "-i", "web", "--", "cat", input="data\nmore\n")
    assert result.stdout == "data\nmore\n"


def test_exec_with_a_tty_runs_an_interactive_shell(cluster: ServeProcess) -> None:
    leader, follower = pty.openpty()
    proc = subprocess.Popen([KUBECTL, "exec", "-it", "web", "--", "sh"], stdin=follower,
                            stdout=follower, stderr=follower, env=kubectl_env(cluster),
                            start_new_session=True)
    os.close(follower)
    try:
        read_until(leader, r"/ # ", timeout=20)  # busybox sh's root prompt
        os.write(leader, b"tty; echo $((6*7))\n")
        read_until(leader, r"/dev/pts/\d+\r?\n42\r?\n", timeout=20)
        os.write(leader, b"exit 0\n")
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            stop(proc)
        os.close(leader)


def test_cp_copies_a_file_into_and_out_of_a_pod(cluster: ServeProcess, tmp_path: Path) -> None:
    src, back = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_bytes(os.urandom(200_000))
    cluster.kubectl("cp", str(src), "web:/tmp/in.txt")
    cluster.kubectl("cp", "web:/tmp/in.txt", str(back))
    assert back.read_bytes() == src.read_bytes()


def test_port_forward_reaches_the_pods_port(cluster: ServeProcess) -> None:
    proc = subprocess.Popen([KUBECTL, "port-forward", "pod/web", "0:8080"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=kubectl_env(cluster))
    try:
        assert proc.stdout is not None
        m = read_until(proc.stdout.fileno(), r"Forwarding from 127\.0\.0\.1:(\d+)", timeout=20)
        for _ in range(2):  # each request is a new stream on the same connection
            url = f"http://127.0.0.1:{m.group(1)}/"
            with urllib.request.urlopen(url, timeout=10) as resp:  # our kubectl, loopback
                assert resp.read() == b"hello from web\n"
    finally:
        stop(proc)


def test_attach_streams_the_containers_output(cluster: ServeProcess) -> None:
    proc = subprocess.Popen([KUBECTL, "attach", "web"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=kubectl_env(cluster))
    try:
        assert proc.stdout is not None
        read_until(proc.stdout.fileno(), r"tick\ntick\n", timeout=20)
    finally:
        stop(proc)


def test_exec_into_a_missing_pod_fails_clearly(cluster: ServeProcess) -> None:
    result = cluster.kubectl("exec", "nosuch", "--", "echo", "hi", check=False)
    assert result.returncode == 1
    assert 'pods "nosuch" not found' in result.stderr


def test_exec_into_a_missing_container_fails_clearly(cluster: ServeProcess) -> None:
    result = cluster.kubectl("exec", "web", "-c", "nope", "--", "echo", "hi", check=False)
    assert result.returncode == 1
    assert "container nope is not valid for pod web" in result.stderr


def test_exec_of_a_missing_binary_reports_the_runtime_error(cluster: ServeProcess) -> None:
    result = cluster.kubectl("exec", "web", "--", "/no/such/binary", check=False)
    assert result.returncode != 0
    assert "/no/such/binary" in result.stderr and "Traceback" not in result.stderr


def test_official_python_client_execs_over_websocket(cluster: ServeProcess) -> None:
    from kubernetes import client, config
    from kubernetes.stream import stream

    api = client.CoreV1Api(config.new_client_from_config(str(cluster.kubeconfig)))
    out = stream(api.connect_get_namespaced_pod_exec, "web", "default",
                 command=["sh", "-c", "echo over websocket"], stdout=True, stderr=True,
                 stdin=False, tty=False, _request_timeout=20)
    assert out == "over websocket\n"
