"""`serve --etcd-port --etcd-host NODE_IP`: the real etcdctl, over TLS with the admin's
certificate, reads the cluster's own store (what kube-apiserver wrote, in its /registry
layout), sees it change as kubectl changes the cluster, and reports the member; Secrets read
through it are ciphertext, as in an etcd behind kube-apiserver; another certificate of the
cluster is refused. (On loopback the API is plain: tests/e2e/test_store_members.py.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from minikube_py.pki.certs import CertSpec
from minikube_py.pki.cluster import KeyPair, ensure_cluster_pki
from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, free_port, running_serve

ETCDCTL = shutil.which("etcdctl")
pytestmark = [*NEEDS_CONTAINERD, pytest.mark.skipif(
    ETCDCTL is None, reason="etcdctl not installed (scripts/setup.sh --test installs it)")]
SLOT = 23
NODE_IP = f"10.244.{200 + SLOT}.1"  # running_serve's node address, on its bridge


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, str]]:
    port = free_port()
    with running_serve(tmp_path_factory.mktemp("etcd") / "data", SLOT,
                       "--etcd-port", str(port), "--etcd-host", NODE_IP) as serve:
        yield serve, f"https://{NODE_IP}:{port}"


def run_etcdctl(serve: ServeProcess, endpoint: str, *args: str, who: str = "admin"
                ) -> subprocess.CompletedProcess[bytes]:
    assert ETCDCTL is not None
    pki = serve.data_dir / "pki"
    return subprocess.run(
        [ETCDCTL, "--endpoints", endpoint, "--command-timeout=5s", "--dial-timeout=5s",
         "--cacert", str(pki / "ca.crt"), "--cert", str(pki / f"{who}.crt"),
         "--key", str(pki / f"{who}.key"), *args],
        capture_output=True, timeout=20, check=False, env={**os.environ, "ETCDCTL_API": "3"})


def etcdctl_bytes(cluster: tuple[ServeProcess, str], *args: str) -> bytes:
    result = run_etcdctl(*cluster, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def etcdctl(cluster: tuple[ServeProcess, str], *args: str) -> str:
    return etcdctl_bytes(cluster, *args).decode()


def test_serve_says_where_etcds_api_is(cluster: tuple[ServeProcess, str]) -> None:
    serve, endpoint = cluster
    assert f"etcd v3 API on {endpoint}, TLS, for the cluster's admins only" in serve.log


def test_another_certificate_of_the_cluster_is_refused(cluster: tuple[ServeProcess, str]
                                                       ) -> None:
    serve, endpoint = cluster
    jane = KeyPair(serve.data_dir / "pki" / "jane.crt", serve.data_dir / "pki" / "jane.key")
    ensure_cluster_pki(serve.pki, [(jane, CertSpec("jane", ("dev",), client=True))],
                       datetime.now(UTC))  # a client of the cluster's CA, not an admin
    refused = run_etcdctl(serve, endpoint, "get", "/registry/", "--prefix", "--keys-only",
                          who="jane")
    assert refused.returncode != 0
    assert b"permission denied" in refused.stderr and b"system:masters" in refused.stderr


def test_etcdctl_reads_what_the_api_server_wrote(cluster: tuple[ServeProcess, str],
                                                 tmp_path: Path) -> None:
    serve, _ = cluster
    serve.kubectl("create", "configmap", "seen-by-etcdctl", "--from-literal=k=v")
    keys = etcdctl(cluster, "get", "--prefix", "--keys-only", "/registry/configmaps/default/")
    assert "/registry/configmaps/default/seen-by-etcdctl" in keys.split()
    value = json.loads(etcdctl(cluster, "get", "/registry/configmaps/default/seen-by-etcdctl",
                               "--print-value-only"))
    assert value["data"] == {"k": "v"}
    serve.kubectl("create", "secret", "generic", "hidden", "--from-literal=password=hunter2")
    raw = etcdctl_bytes(cluster, "get", "/registry/secrets/default/hidden",
                        "--print-value-only")
    assert raw.startswith(b"k8s:enc:aesgcm:v1:") and b"hunter2" not in raw


def test_etcdctl_reports_the_member_and_its_status(cluster: tuple[ServeProcess, str]) -> None:
    members = etcdctl(cluster, "member", "list", "-w", "json")
    assert len(json.loads(members)["members"]) == 1
    (status,) = json.loads(etcdctl(cluster, "endpoint", "status", "-w", "json"))
    assert status["Status"]["header"]["revision"] > 1
    assert status["Status"]["leader"] == status["Status"]["header"]["member_id"]
