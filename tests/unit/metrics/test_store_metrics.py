"""The embedded store's metrics: each WAL fsync observed, the Raft member's state read at
scrape time in etcd's names."""

from __future__ import annotations

import io
import random
from pathlib import Path

from prometheus_client import CollectorRegistry

from minikube_py.composition import open_datastore
from minikube_py.config import ServeConfig
from minikube_py.metrics import new_registry, render
from minikube_py.metrics.controlplane import ControlPlaneMetrics
from minikube_py.metrics.store import StoreMetrics
from minikube_py.startup import Progress
from minikube_py.store.node import RaftStore
from minikube_py.store.types import PutOp
from minikube_py.supervisor import Supervisor
from tests.etcd_server import NEEDS_ETCD, EtcdProcess
from tests.metrics_text import Scrape


async def test_wal_fsyncs_are_observed_and_the_members_state_shown(tmp_path: Path) -> None:
    registry = new_registry(process=False)
    store = RaftStore(tmp_path, rng=random.Random(1), metrics=StoreMetrics(registry))
    await store.start()
    try:
        before = Scrape(render(registry).decode())
        for i in range(3):
            await store.txn([], [PutOp(f"/k{i}".encode(), b"v")], [])
        got = Scrape(render(registry).decode())
        position = store.raft_position()
    finally:
        await store.close()
    fsyncs = got.value("etcd_disk_wal_fsync_duration_seconds_count")
    assert fsyncs >= before.value("etcd_disk_wal_fsync_duration_seconds_count") + 3
    assert got.value("etcd_disk_wal_fsync_duration_seconds_bucket", le="+Inf") == fsyncs
    assert got.value("etcd_server_has_leader") == 1
    assert got.value("etcd_server_is_leader") == 1
    assert got.value("etcd_server_is_learner") == 0
    assert got.value("etcd_server_leader_changes_seen_total") == 1
    assert got.value("etcd_server_term") == position.term
    assert got.value("etcd_server_proposals_committed_total") == position.commit
    assert got.value("etcd_server_proposals_applied_total") == position.applied
    assert position.applied >= before.value("etcd_server_proposals_applied_total") + 3
    assert got.value("etcd_mvcc_db_total_size_in_bytes") > 0
    assert got.value("apiserver_storage_db_total_size_in_bytes", endpoint="embedded") > 0


async def test_a_closed_store_shows_no_state(tmp_path: Path) -> None:
    registry = new_registry(process=False)
    store = RaftStore(tmp_path, rng=random.Random(1), metrics=StoreMetrics(registry))
    await store.start()
    await store.close()
    got = Scrape(render(registry).decode())
    assert not got.has("etcd_server_has_leader")
    assert got.has("etcd_disk_wal_fsync_duration_seconds_count")


def etcd_names(registry: CollectorRegistry) -> set[str]:
    return {name for name, _, _ in Scrape(render(registry).decode()).samples
            if name.startswith("etcd_") or name.startswith("apiserver_storage_db")}


@NEEDS_ETCD
async def test_with_an_external_etcd_there_are_no_etcd_metrics_of_ours(
        tmp_path: Path, etcd_process: EtcdProcess) -> None:
    metrics = ControlPlaneMetrics(new_registry(process=False))
    sup = Supervisor()
    config = ServeConfig(data_dir=tmp_path, datastore_endpoint=etcd_process.endpoint)
    try:
        await open_datastore(config, sup, Progress(out=io.StringIO()),
                             store_metrics=metrics.store)
        assert etcd_names(metrics.registry) == set()
    finally:
        await sup.shutdown()


async def test_the_embedded_store_serve_opens_is_counted(tmp_path: Path) -> None:
    metrics = ControlPlaneMetrics(new_registry(process=False))
    sup = Supervisor()
    try:
        await open_datastore(ServeConfig(data_dir=tmp_path), sup,
                             Progress(out=io.StringIO()), store_metrics=metrics.store)
        assert {"etcd_server_is_leader", "etcd_disk_wal_fsync_duration_seconds_count",
                "apiserver_storage_db_total_size_in_bytes"} <= etcd_names(metrics.registry)
    finally:
        await sup.shutdown()
