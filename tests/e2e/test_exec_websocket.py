"""kubectl 1.32's WebSocket streaming (v5.channel.k8s.io for exec, attach and cp; SPDY tunnelled
in a WebSocket for port-forward) and the official Python client's v4.channel.k8s.io exec and
port-forward, end to end against `serve`: none of them may fall back to SPDY."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
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
from tests.e2e.test_exec import POD_YAML

pytestmark = NEEDS_CONTAINERD
SLOT = 26
# client-go logs these at -v=4 when the WebSocket attempt failed and it tried SPDY instead
# (tools/remotecommand/fallback.go, tools/portforward/fallback_dialer.go).
FALLBACK_LOGS = ("RemoteCommand fallback", "fallback to secondary dialer")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("ws") / "data", SLOT) as serve:
        serve.kubectl("apply", "-f", "-", input=POD_YAML)
        serve.kubectl("wait", "--for=condition=Ready", "pod/web", "--timeout=60s", timeout=90)
        yield serve


def kubectl_v4(cluster: ServeProcess, *args: str, input: str | None = None,
               check: bool = True) -> subprocess.CompletedProcess[str]:
    result = cluster.kubectl("-v=4", *args, input=input, check=check)
    assert not any(text in result.stderr for text in FALLBACK_LOGS), result.stderr
    return result


def test_exec_over_websocket_prints_the_output(cluster: ServeProcess) -> None:
    result = kubectl_v4(cluster, "exec", "web", "--", "sh", "-c", "echo out; echo err >&2")
    assert result.stdout == "out\n"
    assert "err\n" in result.stderr


def test_exec_over_websocket_propagates_the_exit_code(cluster: ServeProcess) -> None:
    result = kubectl_v4(cluster, "exec", "web", "--", "sh", "-c", "exit 3", check=False)
    assert result.returncode == 3, result.stderr


def test_exec_over_websocket_passes_stdin_and_its_end(cluster: ServeProcess) -> None:
    result = kubectl_v4(cluster, "exec", "-i", "web", "--", "sh", "-c", "cat; echo done",
                        input="data\nmore\n")
    assert result.stdout == "data\nmore\ndone\n"


def test_exec_over_websocket_with_a_tty_gets_the_terminals_size(cluster: ServeProcess) -> None:
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    proc = subprocess.Popen([KUBECTL, "exec", "-it", "web", "--", "sh"], stdin=follower,
                            stdout=follower, stderr=follower, env=kubectl_env(cluster),
                            start_new_session=True)
    os.close(follower)
    try:
        read_until(leader, r"/ # ", timeout=20)
        os.write(leader, b"stty size; exit 4\n")  # the size came over the resize channel
        read_until(leader, r"33 101\r?\n", timeout=20)
        assert proc.wait(20) == 4
    finally:
        if proc.poll() is None:
            stop(proc)
        os.close(leader)


def test_attach_over_websocket_streams_the_containers_output(cluster: ServeProcess) -> None:
    proc = subprocess.Popen([KUBECTL, "-v=4", "attach", "web"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=kubectl_env(cluster))
    try:
        assert proc.stdout is not None
        m = read_until(proc.stdout.fileno(), r"tick\ntick\n", timeout=20)  # POD_YAML's loop
        assert not any(text in m.string for text in FALLBACK_LOGS), m.string
    finally:
        stop(proc)


def test_cp_over_websocket_copies_both_ways(cluster: ServeProcess, tmp_path: Path) -> None:
    src, back = tmp_path / "in.bin", tmp_path / "out.bin"
    src.write_bytes(os.urandom(300_000))
    kubectl_v4(cluster, "cp", str(src), "web:/tmp/in.bin")
    kubectl_v4(cluster, "cp", "web:/tmp/in.bin", str(back))
    assert back.read_bytes() == src.read_bytes()


def test_port_forward_over_a_websocket_tunnel_fetches_a_page(cluster: ServeProcess) -> None:
    proc = subprocess.Popen([KUBECTL, "-v=4", "port-forward", "pod/web", "0:8080"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=kubectl_env(cluster))
    try:
        assert proc.stdout is not None
        m = read_until(proc.stdout.fileno(), r"Forwarding from 127\.0\.0\.1:(\d+)", timeout=20)
        assert not any(text in m.string for text in FALLBACK_LOGS), m.string
        for _ in range(2):  # each request is a new pair of streams in the one tunnel
            with urllib.request.urlopen(f"http://127.0.0.1:{m.group(1)}/", timeout=10) as resp:
                assert resp.read() == b"hello from web\n"
    finally:
        stop(proc)
        assert proc.stdout is not None
        rest = proc.stdout.read().decode(errors="replace")
    assert not any(text in rest for text in FALLBACK_LOGS), rest


def test_official_client_stream_exec(cluster: ServeProcess) -> None:
    from kubernetes import client, config
    from kubernetes.stream import stream

    api = client.CoreV1Api(config.new_client_from_config(str(cluster.kubeconfig)))
    out = stream(api.connect_get_namespaced_pod_exec, "web", "default",
                 command=["sh", "-c", "echo over websocket"], stdout=True, stderr=True,
                 stdin=False, tty=False, _request_timeout=20)
    assert out == "over websocket\n"


def test_official_client_portforward_reads_from_the_pod(cluster: ServeProcess) -> None:
    from kubernetes import client, config
    from kubernetes.stream import portforward

    api = client.CoreV1Api(config.new_client_from_config(str(cluster.kubeconfig)))
    pf = portforward(api.connect_get_namespaced_pod_portforward, "web", "default",
                     ports="8080", _request_timeout=20)
    try:
        sock = pf.socket(8080)
        sock.settimeout(10)
        sock.sendall(b"GET / HTTP/1.0\r\nHost: web\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
        sock.close()
        assert reply.startswith(b"HTTP/1.") and reply.endswith(b"hello from web\n"), reply
        assert pf.error(8080) is None
    finally:
        pf.close()


SPDY_ONLY = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false", "KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"}


def test_spdy_exec_still_passes_stdin_and_the_exit_code(cluster: ServeProcess) -> None:
    result = subprocess.run([KUBECTL, "exec", "-i", "web", "--", "sh", "-c", "cat; exit 5"],
                            input="old client\n", capture_output=True, text=True, timeout=60,
                            env={**kubectl_env(cluster), **SPDY_ONLY}, check=False)
    assert (result.returncode, result.stdout) == (5, "old client\n"), result.stderr


def test_spdy_port_forward_still_fetches_a_page(cluster: ServeProcess) -> None:
    proc = subprocess.Popen([KUBECTL, "port-forward", "pod/web", "0:8080"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**kubectl_env(cluster), **SPDY_ONLY})
    try:
        assert proc.stdout is not None
        m = read_until(proc.stdout.fileno(), r"Forwarding from 127\.0\.0\.1:(\d+)", timeout=20)
        with urllib.request.urlopen(f"http://127.0.0.1:{m.group(1)}/", timeout=10) as resp:
            assert resp.read() == b"hello from web\n"
    finally:
        stop(proc)
