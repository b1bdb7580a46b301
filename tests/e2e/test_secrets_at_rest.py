"""Secrets at rest through the real `serve` and kubectl: the data dir of a stopped cluster
holds neither a Secret's value nor its base64, a restart reads it back, and
`minikube-py encryption rotate-key` (on the running cluster and on a stopped one) leaves it
readable while the old key decrypts nothing the store holds."""

from __future__ import annotations

import asyncio
import base64
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from minikube_py.apiserver.encryption import DecryptionError, ValueTransformer
from minikube_py.apiserver.encryptionkeys import read_config
from minikube_py.store.node import RaftStore
from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, running_serve

pytestmark = NEEDS_CONTAINERD

SLOT = 24
VALUE = f"hunter2-{secrets.token_hex(8)}"  # nothing else in a data dir can hold it
SECRET_KEY = b"/registry/secrets/default/db"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("secrets-at-rest") / "data", SLOT) as serve:
        serve.kubectl("create", "secret", "generic", "db", f"--from-literal=password={VALUE}")
        yield serve


def grep_data_dir(data_dir: Path, needle: str) -> list[str]:
    """The files under `data_dir` that hold `needle`, by `grep -r` itself."""
    found = subprocess.run(["grep", "-r", "-l", "-a", "-F", "--devices=skip", needle,
                            str(data_dir)], capture_output=True, text=True, timeout=60,
                           check=False)
    assert found.returncode in (0, 1), found.stderr
    return found.stdout.split()


def password(cluster: ServeProcess) -> str:
    data = cluster.kubectl_json("get", "secret", "db")["data"]
    return base64.b64decode(data["password"]).decode()


def rotate_key(data_dir: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "minikube_py", "encryption", "rotate-key",
                           "--data-dir", str(data_dir)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def key_file(cluster: ServeProcess) -> Path:
    return cluster.pki.encryption_config


def stored_copy(data_dir: Path) -> bytes:
    """The Secret's value as the stopped cluster's store holds it."""
    async def read() -> bytes:
        store = RaftStore(data_dir / "store")
        await store.start()
        try:
            return (await store.range(SECRET_KEY)).kvs[0].value
        finally:
            await store.close()
    return asyncio.run(read())


def test_a_stopped_clusters_data_dir_holds_neither_the_value_nor_its_base64(
        cluster: ServeProcess) -> None:
    assert cluster.stop() == 0
    try:
        assert grep_data_dir(cluster.data_dir, VALUE) == []
        assert grep_data_dir(cluster.data_dir, base64.b64encode(VALUE.encode()).decode()) == []
        assert key_file(cluster).stat().st_mode & 0o777 == 0o600
    finally:
        cluster.start()


def test_the_secret_reads_back_after_a_restart(cluster: ServeProcess) -> None:
    assert password(cluster) == VALUE


def test_a_rotation_on_the_running_cluster_leaves_nothing_the_old_key_decrypts(
        cluster: ServeProcess) -> None:
    before = read_config(key_file(cluster))
    assert before is not None
    old = before.key_names[0]
    said = rotate_key(cluster.data_dir)
    assert f"keys removed: {old}" in said
    assert password(cluster) == VALUE  # served all along, now under the new key
    assert cluster.stop() == 0
    try:
        stored = stored_copy(cluster.data_dir)
        with pytest.raises(DecryptionError, match="which is not in the encryption config"):
            ValueTransformer(before, secrets.token_bytes).from_storage(SECRET_KEY, stored)
        assert grep_data_dir(cluster.data_dir, f"k8s:enc:aesgcm:v1:{old}:") == []
    finally:
        cluster.start()
    assert password(cluster) == VALUE


def test_a_rotation_on_the_stopped_cluster_leaves_the_secret_readable(
        cluster: ServeProcess) -> None:
    before = read_config(key_file(cluster))
    assert before is not None
    assert cluster.stop() == 0
    try:
        said = rotate_key(cluster.data_dir)
        assert f"keys removed: {before.key_names[0]}" in said
        assert grep_data_dir(cluster.data_dir, f"k8s:enc:aesgcm:v1:{before.key_names[0]}:") \
            == []
    finally:
        cluster.start()
    assert password(cluster) == VALUE
