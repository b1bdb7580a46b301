"""Drive a real `minikube-py serve` process from tests: start, stop, kubectl, and HTTPS
requests of the tests' own (with the cluster's CA, as the admin or as anyone else)."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from minikube_py.pki.cluster import KeyPair, PkiLayout
from minikube_py.pki.tls import client_context

KUBECTL = "/usr/bin/kubectl"

# The marks of every scenario that runs `serve` with its own containerd.
NEEDS_CONTAINERD = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="runs containers: needs root"),
    pytest.mark.skipif(shutil.which("containerd") is None, reason="containerd not installed"),
    pytest.mark.skipif(not os.path.exists(KUBECTL), reason=f"no kubectl at {KUBECTL}"),
]
T = TypeVar("T")


@contextmanager
def running_serve(data_dir: Path, slot: int, *extra_args: str,
                  merged_kubeconfig: Path | None = None) -> Iterator[ServeProcess]:
    """A started `serve` with slot N's own network (`slot_serve`), so test clusters never
    collide; stopped and deleted after. It merges its context into `merged_kubeconfig`
    (default: a file of its own beside the data dir)."""
    serve = slot_serve(data_dir, slot, *extra_args)
    if merged_kubeconfig is not None:
        serve.merged_kubeconfig = merged_kubeconfig
    serve.start()
    try:
        yield serve
    finally:
        serve.stop()
        serve.delete()


def slot_serve(data_dir: Path, slot: int, *extra_args: str) -> ServeProcess:
    """A `serve` (not started) with slot N's own network: bridge mkpytN, services
    10.112.N.0/24, pods 10.244.(200+N).0/24 for N < 56, 10.244.(100+N).0/24 above."""
    third = 200 + slot if slot < 56 else 100 + slot
    return ServeProcess(data_dir, pod_cidr=f"10.244.{third}.0/24", bridge=f"mkpyt{slot}",
                        service_cidr=f"10.112.{slot}.0/24", extra_args=extra_args)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], T | None], *, timeout: float, what: str,
             interval: float = 0.1) -> T:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def wait_for_line(proc: subprocess.Popen[bytes] | None, log: Callable[[], str], offset: int,
                  line: str, *, timeout: float, what: str) -> None:
    """Wait until `line` appears in the process's log after `offset`; fail at once (with the
    log) if the process exits first, and after `timeout` seconds."""
    def printed() -> bool:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}:\n{log()}")
        return line in log()[offset:]

    wait_for(printed, timeout=timeout, what=f"{what} to print {line!r}; log:\n{log()}")


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float, *, what: str,
                 log: Callable[[], str]) -> int:
    """SIGTERM, as Ctrl-C would, and the exit code (0 for a clean stop; that of an earlier
    exit when it already ended); kill -9 and fail when it does not stop in time."""
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else 0
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"{what} did not stop within {timeout}s:\n{log()}") from None


def run_kubectl(kubeconfig: Path, cache_dir: Path, *args: str, input: str | None = None,
                check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """kubectl as whoever `kubeconfig` names, with a cache (and HOME) of the test's own."""
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "KUBECACHEDIR": str(cache_dir),
           "HOME": str(cache_dir.parent)}
    result = subprocess.run([KUBECTL, *args], input=input, capture_output=True, text=True,
                            env=env, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(
            f"kubectl {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}")
    return result


class ServeProcess:
    """`python -m minikube_py serve` on its own data dir, API port, bridge and pod subnet,
    so it never collides with a cluster the developer runs."""

    def __init__(self, data_dir: Path, *, pod_cidr: str, bridge: str, service_cidr: str,
                 extra_args: tuple[str, ...] = ()) -> None:
        self.data_dir = data_dir
        self.api_port = free_port()
        self.pod_cidr = pod_cidr
        self.bridge = bridge
        self.service_cidr = service_cidr
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-serve.log"
        self.kube_cache = data_dir.parent / f"{data_dir.name}-kubecache"
        # The kubeconfig serve merges its context into (never the machine user's).
        self.merged_kubeconfig = data_dir.parent / f"{data_dir.name}-merged-kubeconfig"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def pki(self) -> PkiLayout:
        return PkiLayout(self.data_dir / "pki")

    @property
    def api_url(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    def tls(self, identity: KeyPair | None) -> ssl.SSLContext:
        """A client context trusting this cluster's CA, presenting `identity` (None: no
        client certificate, an anonymous client)."""
        return client_context(self.pki.ca.cert, identity)

    def https_get(self, url: str, identity: KeyPair | None,
                  timeout: float = 10) -> tuple[int, str]:
        """GET over HTTPS (the API's own URL when `url` is a path); the status and body,
        also for an error status."""
        if url.startswith("/"):
            url = self.api_url + url
        try:
            with urllib.request.urlopen(url, timeout=timeout,  # this cluster, on loopback
                                        context=self.tls(identity)) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def flags(self) -> list[str]:
        """This cluster's serve flags (its API port, bridge and ranges)."""
        return ["--api-port", str(self.api_port), "--kubelet-port", "0",
                "--pod-cidr", self.pod_cidr, "--bridge", self.bridge,
                "--service-cidr", self.service_cidr]

    def start(self, timeout: float = 120, *, flags: bool = True) -> float:
        """Start and wait for 'cluster ready'; returns the seconds it took. Without `flags`,
        serve gets only --data-dir and runs on what the data dir remembers."""
        t0 = time.monotonic()
        offset = len(self.log)
        args = [*self.flags, *self.extra_args] if flags else []
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "minikube_py", "serve", "--data-dir", str(self.data_dir),
                 *args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "KUBECONFIG": str(self.merged_kubeconfig)},
            )

        wait_for_line(self.proc, lambda: self.log, offset, "cluster ready", timeout=timeout,
                      what="serve")
        return time.monotonic() - t0

    def stop(self, timeout: float = 60) -> int:
        return stop_process(self.proc, timeout, what="serve", log=lambda: self.log)

    def delete(self) -> None:
        """Remove whatever the cluster left on the machine (containers, bridge, data)."""
        subprocess.run([sys.executable, "-m", "minikube_py", "delete", "--data-dir",
                        str(self.data_dir)], capture_output=True, timeout=120, check=False)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return run_kubectl(self.kubeconfig, self.kube_cache, *args, input=input, check=check,
                           timeout=timeout)

    def node_name(self) -> str:
        """The real (kubelet-run) node of this cluster."""
        nodes = self.kubectl_json("get", "nodes", "-l", "!minikube-py.dev/simulated")["items"]
        assert len(nodes) == 1, nodes
        return str(nodes[0]["metadata"]["name"])

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)


# --- kubectl that keeps running (port-forward, attach) ----------------------------------

def kubectl_env(cluster: ServeProcess) -> dict[str, str]:
    return {**os.environ, "KUBECONFIG": str(cluster.kubeconfig),
            "KUBECACHEDIR": str(cluster.kube_cache), "HOME": str(cluster.data_dir.parent)}


def read_until(fd: int, pattern: str, *, timeout: float) -> re.Match[str]:
    """Read from `fd` until `pattern` matches what was read; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    seen = ""
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # a pty whose other side closed
            chunk = b""
        if not chunk:
            break
        seen += chunk.decode(errors="replace")
        if m := re.search(pattern, seen):
            return m
    raise AssertionError(f"no {pattern!r} within {timeout}s in output {seen!r}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
