"""`serve --etcd-port`: the real etcdctl reads the cluster's own store (what kube-apiserver
wrote, in its /registry layout), sees it change as kubectl changes the cluster, and reports
the member; Secrets read through it are ciphertext, as in an etcd behind kube-apiserver."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, free_port, running_serve

ETCDCTL = shutil.which("etcdctl")
pytestmark = [*NEEDS_CONTAINERD, pytest.mark.skipif(
    ETCDCTL is None, reason="etcdctl not installed (scripts/setup.sh --test installs it)")]
SLOT = 23


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, str]]:
    port = free_port()
    with running_serve(tmp_path_factory.mktemp("etcd") / "data", SLOT,
                       "--etcd-port", str(port)) as serve:
        yield serve, f"127.0.0.1:{port}"


def etcdctl_bytes(endpoint: str, *args: str) -> bytes:
    assert ETCDCTL is not None
    result = subprocess.run([ETCDCTL, "--endpoints", endpoint, "--command-timeout=5s", *args],
                            capture_output=True, timeout=20, check=False,
                            env={**os.environ, "ETCDCTL_API": "3"})
    assert result.returncode == 0, result.stderr
    return result.stdout


def etcdctl(endpoint: str, *args: str) -> str:
    return etcdctl_bytes(endpoint, *args).decode()


def test_serve_says_where_etcds_api_is(cluster: tuple[ServeProcess, str]) -> None:
    serve, endpoint = cluster
    assert f"etcd v3 API on http://{endpoint} (loopback only" in serve.log


def test_etcdctl_reads_what_the_api_server_wrote(cluster: tuple[ServeProcess, str],
                                                 tmp_path: Path) -> None:
    serve, endpoint = cluster
    serve.kubectl("create", "configmap", "seen-by-etcdctl", "--from-literal=k=v")
    keys = etcdctl(endpoint, "get", "--prefix", "--keys-only", "/registry/configmaps/default/")
    assert "/registry/configmaps/default/seen-by-etcdctl" in keys.split()
    value = json.loads(etcdctl(endpoint, "get", "/registry/configmaps/default/seen-by-etcdctl",
                               "--print-value-only"))
    assert value["data"] == {"k": "v"}
    serve.kubectl("create", "secret", "generic", "hidden", "--from-literal=password=hunter2")
    raw = etcdctl_bytes(endpoint, "get", "/registry/secrets/default/hidden",
                        "--print-value-only")
    assert raw.startswith(b"k8s:enc:aesgcm:v1:") and b"hunter2" not in raw


def test_etcdctl_reports_the_member_and_its_status(cluster: tuple[ServeProcess, str]) -> None:
    _, endpoint = cluster
    members = etcdctl(endpoint, "member", "list", "-w", "json")
    assert len(json.loads(members)["members"]) == 1
    (status,) = json.loads(etcdctl(endpoint, "endpoint", "status", "-w", "json"))
    assert status["Status"]["header"]["revision"] > 1
    assert status["Status"]["leader"] == status["Status"]["header"]["member_id"]
