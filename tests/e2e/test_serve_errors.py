"""`serve` fails with a sentence, an exit code and a clean shutdown, never a traceback."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.cluster import ServeProcess, free_port


def run_serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minikube_py", "serve", "--data-dir", str(tmp_path / "data"),
         "--kubelet-port", "0", "--pod-cidr", "10.244.207.0/24", "--bridge", "mkpyt7",
         "--service-cidr", "10.112.7.0/24", *args],
        capture_output=True, text=True, timeout=60, env=env, check=False)


def test_a_busy_api_port_is_reported_plainly(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_serve(tmp_path, "--api-port", str(port))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--api-port" in result.stderr and "Traceback" not in result.stderr


def test_a_missing_system_tool_is_reported_plainly(tmp_path: Path) -> None:
    # Without `ip` (iproute2) on PATH the pod bridge cannot be made.
    env = {**os.environ, "PATH": str(tmp_path)}
    result = run_serve(tmp_path, "--api-port", str(free_port()), env=env)
    assert result.returncode == 1
    assert "error: the pod bridge failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_pod_cidr_is_a_usage_error(tmp_path: Path) -> None:
    result = run_serve(tmp_path, "--api-port", str(free_port()), "--pod-cidr", "10.244.0.0/33")
    assert result.returncode == 2
    assert "Invalid value for --pod-cidr" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="runs containerd: needs root")
@pytest.mark.skipif(shutil.which("containerd") is None, reason="containerd not installed")
def test_serve_stops_when_its_containerd_dies(tmp_path: Path) -> None:
    serve = ServeProcess(tmp_path / "data", pod_cidr="10.244.208.0/24", bridge="mkpyt8",
                         service_cidr="10.112.8.0/24")
    serve.start()
    try:
        pids = subprocess.run(["pgrep", "-f", f"containerd --config {serve.data_dir}"],
                              capture_output=True, text=True, check=False).stdout.split()
        assert len(pids) == 1
        os.kill(int(pids[0]), signal.SIGKILL)
        assert serve.proc is not None
        code = serve.proc.wait(timeout=60)
        assert code == 2
        assert "component 'containerd' stopped" in serve.log
        assert serve.log.rstrip().endswith("stopped")
    finally:
        serve.stop()
        serve.delete()


@pytest.mark.skipif(os.geteuid() != 0, reason="runs containerd: needs root")
@pytest.mark.skipif(shutil.which("containerd") is None, reason="containerd not installed")
def test_a_second_serve_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    serve = ServeProcess(tmp_path / "data", pod_cidr="10.244.212.0/24", bridge="mkpyt9",
                         service_cidr="10.112.12.0/24")
    serve.start()
    try:
        second = run_serve(tmp_path, "--api-port", str(free_port()))
        assert second.returncode == 1
        assert "another minikube-py" in second.stderr and "is serving" in second.stderr
        assert "Traceback" not in second.stderr
        assert serve.proc is not None and serve.proc.poll() is None  # the first one is unharmed
        assert "Ready" in serve.kubectl("get", "nodes").stdout
    finally:
        serve.stop()
        serve.delete()
