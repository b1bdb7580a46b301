"""serve's datastore choice (composition.open_datastore): the embedded store, or an external
etcd that must answer at start; a refusal is one line naming the endpoint."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from minikube_py import composition
from minikube_py.config import ServeConfig
from minikube_py.etcdapi.etcdkv import EtcdKV
from minikube_py.startup import Progress, StartupError
from minikube_py.store.types import StoreClosedError
from minikube_py.supervisor import Supervisor
from tests.etcd_server import NEEDS_ETCD, EtcdProcess


async def test_an_etcd_that_does_not_answer_stops_serve_with_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(composition, "DATASTORE_CONNECT_TIMEOUT", 0.3)
    sup = Supervisor()
    config = ServeConfig(data_dir=tmp_path, datastore_endpoint="http://127.0.0.1:1")
    with pytest.raises(StartupError) as e:
        await composition.open_datastore(config, sup, Progress(out=io.StringIO()))
    await sup.shutdown()
    assert str(e.value) == ("the datastore: etcd at http://127.0.0.1:1 does not answer "
                            "(no answer within 0.3 s)")
    assert not (tmp_path / "store").exists()


@NEEDS_ETCD
async def test_an_external_etcd_is_the_store_and_is_closed_with_serve(
        tmp_path: Path, etcd_process: EtcdProcess) -> None:
    sup = Supervisor()
    out = io.StringIO()
    config = ServeConfig(data_dir=tmp_path, datastore_endpoint=etcd_process.endpoint)
    store, purge = await composition.open_datastore(config, sup, Progress(out=out))
    assert isinstance(store, EtcdKV) and purge is None and store.revision > 0
    assert f"datastore: etcd at {etcd_process.endpoint}, revision {store.revision}" \
        in out.getvalue()
    assert not (tmp_path / "store").exists()  # nothing embedded
    await sup.shutdown()
    with pytest.raises(StoreClosedError):
        await store.range(b"/x")


def test_a_cluster_in_the_embedded_store_does_not_start_on_etcd(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    assert composition.datastore_mismatch(tmp_path, "http://127.0.0.1:2379") == (
        f"{tmp_path} holds a cluster in the embedded store: it does not move to an external "
        "etcd (start without --datastore-endpoint, or use another --data-dir)")
    assert composition.datastore_mismatch(tmp_path, "") == ""


@NEEDS_ETCD
async def test_a_cluster_in_etcd_does_not_start_on_the_embedded_store(
        tmp_path: Path, etcd_process: EtcdProcess) -> None:
    sup = Supervisor()
    config = ServeConfig(data_dir=tmp_path, datastore_endpoint=etcd_process.endpoint)
    await composition.open_datastore(config, sup, Progress(out=io.StringIO()))
    await sup.shutdown()
    assert composition.datastore_mismatch(tmp_path, "") == (
        f"{tmp_path} holds a cluster kept in etcd at {etcd_process.endpoint}: start serve "
        f"with --datastore-endpoint {etcd_process.endpoint}")
    with pytest.raises(StartupError, match="holds a cluster kept in etcd"):
        await composition.open_datastore(ServeConfig(data_dir=tmp_path), Supervisor(),
                                         Progress(out=io.StringIO()))
    assert not (tmp_path / "store").exists()
    assert composition.datastore_mismatch(tmp_path, "http://127.0.0.1:2") == ""  # it moved
