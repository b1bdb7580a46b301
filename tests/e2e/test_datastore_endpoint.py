"""`serve --datastore-endpoint`: the whole cluster on a real etcd 3.4 (as kube-apiserver and
k3s use one): a pod runs, etcd holds what kubectl wrote in the /registry layout (Secrets
as ciphertext), and a restart finds the cluster there again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, running_serve, wait_for
from tests.etcd_server import NEEDS_ETCD, EtcdProcess, running_etcd

pytestmark = [*NEEDS_CONTAINERD, NEEDS_ETCD]
SLOT = 33
ETCDCTL = Path("/usr/bin/etcdctl")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess,
                                                                         EtcdProcess]]:
    with running_etcd() as etcd, running_serve(
            tmp_path_factory.mktemp("datastore") / "data", SLOT,
            "--datastore-endpoint", etcd.endpoint) as serve:
        yield serve, etcd


def etcd_get(etcd: EtcdProcess, key: str) -> bytes:
    result = subprocess.run([str(ETCDCTL), "--endpoints", etcd.endpoint, "--command-timeout=5s",
                             "get", key, "--print-value-only"], capture_output=True,
                            timeout=20, check=True, env={**os.environ, "ETCDCTL_API": "3"})
    return result.stdout


def test_serve_names_its_datastore_and_keeps_nothing_embedded(
        cluster: tuple[ServeProcess, EtcdProcess]) -> None:
    serve, etcd = cluster
    assert f"datastore: etcd at {etcd.endpoint}, revision" in serve.log
    assert not (serve.data_dir / "store").exists()


def test_status_names_the_external_etcd(cluster: tuple[ServeProcess, EtcdProcess]) -> None:
    serve, etcd = cluster
    result = subprocess.run([sys.executable, "-m", "minikube_py", "status", "--data-dir",
                             str(serve.data_dir)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"store:       external etcd {etcd.endpoint}\n" in result.stdout


def test_a_pod_runs_and_etcd_holds_what_kubectl_wrote(
        cluster: tuple[ServeProcess, EtcdProcess]) -> None:
    serve, etcd = cluster
    serve.kubectl("run", "on-etcd", "--image=busybox", "--restart=Never", "--",
                  "sleep", "3600")
    wait_for(lambda: serve.kubectl_json("get", "pod", "on-etcd")["status"].get("phase")
             == "Running", timeout=90, what="the pod Running")
    stored = json.loads(etcd_get(etcd, "/registry/pods/default/on-etcd"))
    assert stored["spec"]["nodeName"] == serve.kubectl_json("get", "pod", "on-etcd")[
        "spec"]["nodeName"]
    serve.kubectl("create", "secret", "generic", "hidden", "--from-literal=password=hunter2")
    raw = etcd_get(etcd, "/registry/secrets/default/hidden")
    assert raw.startswith(b"k8s:enc:aesgcm:v1:") and b"hunter2" not in raw


def test_a_restart_finds_the_cluster_in_etcd(cluster: tuple[ServeProcess, EtcdProcess]) -> None:
    """Without --datastore-endpoint too: the data dir remembers it."""
    serve, etcd = cluster
    serve.kubectl("create", "configmap", "survives", "--from-literal=k=v")
    assert serve.stop() == 0
    offset = len(serve.log)
    serve.start(flags=False)
    assert f"datastore: etcd at {etcd.endpoint}, as " in serve.log[offset:]
    assert serve.kubectl_json("get", "configmap", "survives")["data"] == {"k": "v"}
