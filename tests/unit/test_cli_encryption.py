"""`minikube-py encryption rotate-key|status` on a stopped cluster's data dir: one line per
fact, and a refusal is one line with exit status 1, never a traceback."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from click.testing import CliRunner

from minikube_py.api.resources import SECRETS
from minikube_py.apiserver.encryptionkeys import open_encryption
from minikube_py.apiserver.service import ApiService
from minikube_py.cli import main
from minikube_py.clustersettings import EXTERNAL_DATASTORE_FILE
from minikube_py.store.node import RaftStore


def stopped_cluster_with_a_secret(data: Path) -> str:
    """A data dir as a stopped serve leaves it, one Secret in it; the key's name."""
    async def make() -> str:
        store = RaftStore(data / "store")
        await store.start()
        encryption, _ = await open_encryption(data, store)
        api = ApiService(encryption.kv)
        await api.start()
        await api.create(SECRETS, {"apiVersion": "v1", "kind": "Secret",
                                   "metadata": {"name": "db"}, "stringData": {"a": "b"}},
                         namespace="default")
        await api.stop()
        await store.close()
        return encryption.config.key_names[0]
    return asyncio.run(make())


def encryption(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["encryption", *args])
    return result.exit_code, result.output


def test_rotate_key_says_which_key_now_encrypts_and_which_went(tmp_path: Path) -> None:
    old = stopped_cluster_with_a_secret(tmp_path)
    code, out = encryption("rotate-key", "--data-dir", str(tmp_path))
    assert code == 0, out
    assert re.fullmatch(rf"Secrets are encrypted with the key key-\S+ \(1 re-encrypted; "
                        rf"keys removed: {old}\)\n", out)


def test_status_names_the_writing_key_and_the_secrets_each_key_holds(tmp_path: Path) -> None:
    key = stopped_cluster_with_a_secret(tmp_path)
    code, out = encryption("status", "--data-dir", str(tmp_path))
    assert code == 0, out
    assert out == (f"config: {tmp_path}/pki/encryption-config.yaml\n"
                   f"writes with: {key}\nkeys: {key}\nsecrets under {key}: 1\n")


def test_a_dir_without_a_cluster_is_refused_in_one_line(tmp_path: Path) -> None:
    assert encryption("rotate-key", "--data-dir", str(tmp_path)) == (
        1, f"Error: no cluster in {tmp_path}\n")


def test_a_stopped_cluster_kept_in_etcd_is_not_opened_as_an_embedded_one(
        tmp_path: Path) -> None:
    (tmp_path / EXTERNAL_DATASTORE_FILE).write_text("http://127.0.0.1:2379\n")
    assert encryption("rotate-key", "--data-dir", str(tmp_path)) == (
        1, f"Error: the cluster in {tmp_path} is kept in etcd at http://127.0.0.1:2379: run "
           "this while its serve runs\n")
    assert not (tmp_path / "store").exists()
