"""Persistent storage end to end on a live `serve` with kubectl and real containers: a claim
of the default class gets a directory on the node when its first pod is scheduled (the
provisioner's helper pod makes it through containerd), what a pod writes there is still
there for the next pod, and deleting the claim removes the directory and the volume."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, running_serve, wait_for

pytestmark = NEEDS_CONTAINERD
SLOT = 25

CLAIM_YAML = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: notes
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 64Mi
"""

POD_YAML = """
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 1
  securityContext:
    runAsUser: 1000
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "{script}; exec sleep 3600"]
    volumeMounts:
    - {{name: notes, mountPath: /notes}}
  volumes:
  - name: notes
    persistentVolumeClaim: {{claimName: notes}}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    data_dir = tmp_path_factory.mktemp("storage") / "data"
    with running_serve(data_dir, SLOT) as serve:
        yield serve


def run_pod(cluster: ServeProcess, name: str, script: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=POD_YAML.format(name=name, script=script))
    cluster.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s",
                    timeout=75)


def test_data_outlives_the_pod_and_goes_with_the_claim(cluster: ServeProcess) -> None:
    storage_classes = cluster.kubectl("get", "storageclass").stdout
    assert "standard (default)" in storage_classes
    cluster.kubectl("apply", "-f", "-", input=CLAIM_YAML)
    claim = cluster.kubectl_json("get", "pvc", "notes")
    assert claim["status"]["phase"] == "Pending"  # WaitForFirstConsumer
    # Written as user 1000: the provisioner's directory is open to any container user.
    run_pod(cluster, "writer", "echo written-by-the-first-pod > /notes/kept")
    claim = cluster.kubectl_json("get", "pvc", "notes")
    assert claim["status"]["phase"] == "Bound"
    assert claim["status"]["capacity"] == {"storage": "64Mi"}
    volume = cluster.kubectl_json("get", "pv", claim["spec"]["volumeName"])
    directory = Path(volume["spec"]["hostPath"]["path"])
    assert directory.is_relative_to(cluster.data_dir)
    assert (directory / "kept").read_text() == "written-by-the-first-pod\n"
    cluster.kubectl("delete", "pod", "writer", "--wait=true", timeout=60)

    run_pod(cluster, "reader", "true")
    out = cluster.kubectl("exec", "reader", "--", "cat", "/notes/kept").stdout
    assert out == "written-by-the-first-pod\n"

    cluster.kubectl("delete", "pod", "reader", "--wait=true", timeout=60)
    cluster.kubectl("delete", "pvc", "notes", "--wait=true", timeout=60)
    name = volume["metadata"]["name"]
    wait_for(lambda: not cluster.kubectl("get", "pv", name, "--ignore-not-found",
                                         "-o", "name").stdout or None,
             timeout=60, what=f"volume {name} deleted")
    assert not directory.exists()
