"""serve's datastore choice (composition.open_datastore): the embedded store, or an external
etcd that must answer at start; a refusal is one line naming the endpoint."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from minikube_py import composition
from minikube_py.clustersettings import EXTERNAL_DATASTORE_FILE, RememberedDatastore
from minikube_py.config import ServeConfig
from minikube_py.etcdapi.etcdkv import EtcdKV
from minikube_py.startup import Progress, StartupError
from minikube_py.store.types import PutOp, StoreClosedError
from minikube_py.supervisor import Supervisor
from tests.etcd_server import ETCD, NEEDS_ETCD, EtcdProcess, make_etcd_certs, running_etcd


def free_port() -> int:
    """A port nothing listens on (bound and let go: a dead endpoint)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    with pytest.raises(composition.DatastoreRefused) as e:
        composition.choose_datastore(ServeConfig(data_dir=tmp_path,
                                                 datastore_endpoint="http://127.0.0.1:2379"))
    assert str(e.value) == (
        f"{tmp_path} holds a cluster in the embedded store: it does not move to an external "
        "etcd (start without --datastore-endpoint, or use another --data-dir)")
    assert composition.choose_datastore(ServeConfig(data_dir=tmp_path)) == (None, "")


def test_tls_files_without_an_etcd_are_refused(tmp_path: Path) -> None:
    with pytest.raises(composition.DatastoreRefused, match="give its --datastore-endpoint"):
        composition.choose_datastore(ServeConfig(data_dir=tmp_path, datastore_cafile="/ca"))


async def open_and_close(config: ServeConfig) -> tuple[str, str]:
    """Open the datastore of `config`, then stop it: (the endpoint used, what was said)."""
    sup = Supervisor()
    out = io.StringIO()
    store, _ = await composition.open_datastore(config, sup, Progress(out=out))
    assert isinstance(store, EtcdKV)
    await store.txn([], [PutOp(b"/seen", b"yes")], [])
    assert (await store.range(b"/seen")).count == 1
    await sup.shutdown()
    return store.endpoint, out.getvalue()


@NEEDS_ETCD
async def test_a_restart_without_the_flag_uses_the_remembered_etcd(
        tmp_path: Path, etcd_process: EtcdProcess) -> None:
    await open_and_close(ServeConfig(data_dir=tmp_path, datastore_endpoint=etcd_process.endpoint))
    used, said = await open_and_close(ServeConfig(data_dir=tmp_path))
    assert used == etcd_process.endpoint
    assert (f"datastore: etcd at {etcd_process.endpoint}, as {tmp_path / EXTERNAL_DATASTORE_FILE} "
            "remembers (no --datastore-endpoint given)") in said
    assert not (tmp_path / "store").exists()


@NEEDS_ETCD
async def test_a_restart_on_another_etcd_is_refused(
        tmp_path: Path, etcd_process: EtcdProcess) -> None:
    await open_and_close(ServeConfig(data_dir=tmp_path, datastore_endpoint=etcd_process.endpoint))
    with pytest.raises(StartupError) as e:
        await composition.open_datastore(
            ServeConfig(data_dir=tmp_path, datastore_endpoint="http://127.0.0.1:2"),
            Supervisor(), Progress(out=io.StringIO()))
    assert str(e.value).startswith(
        f"{tmp_path} holds a cluster kept in etcd at {etcd_process.endpoint}, not "
        "http://127.0.0.1:2: another etcd would be another, empty, cluster")
    # the same endpoint, spaced otherwise, is the same etcd
    await open_and_close(ServeConfig(data_dir=tmp_path,
                                     datastore_endpoint=f" {etcd_process.endpoint} "))


def test_an_older_note_of_the_endpoint_alone_is_read(tmp_path: Path) -> None:
    (tmp_path / EXTERNAL_DATASTORE_FILE).write_text("http://127.0.0.1:2379\n")
    chosen, said = composition.choose_datastore(ServeConfig(data_dir=tmp_path))
    assert chosen == RememberedDatastore("http://127.0.0.1:2379")
    assert "as " in said


@NEEDS_ETCD
async def test_a_dead_first_endpoint_fails_over_to_the_second(
        tmp_path: Path, etcd_process: EtcdProcess) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    both = f"{dead},{etcd_process.endpoint}"
    used, said = await open_and_close(ServeConfig(data_dir=tmp_path, datastore_endpoint=both))
    assert used == etcd_process.endpoint
    assert f"datastore: etcd at {etcd_process.endpoint}, revision" in said
    assert RememberedDatastore.from_text(
        (tmp_path / EXTERNAL_DATASTORE_FILE).read_text()).endpoints == both


async def test_no_endpoint_of_a_list_answering_names_each(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(composition, "DATASTORE_CONNECT_TIMEOUT", 0.5)
    ends = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    with pytest.raises(StartupError) as e:
        await composition.open_datastore(
            ServeConfig(data_dir=tmp_path, datastore_endpoint=",".join(ends)), Supervisor(),
            Progress(out=io.StringIO()))
    assert str(e.value).startswith("the datastore: no etcd endpoint answers within 0.5 s (")
    for end in ends:
        assert end in str(e.value)


@pytest.fixture(scope="module")
def tls_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdProcess]:
    if not ETCD.exists():
        pytest.skip("no etcd (apt install etcd-server)")
    with running_etcd(make_etcd_certs(tmp_path_factory.mktemp("etcd-pki"))) as etcd:
        yield etcd


async def test_an_https_etcd_is_reached_with_the_datastore_tls_files(
        tmp_path: Path, tls_etcd: EtcdProcess) -> None:
    certs = tls_etcd.certs
    assert certs is not None and tls_etcd.endpoint.startswith("https://")
    config = ServeConfig(data_dir=tmp_path, datastore_endpoint=tls_etcd.endpoint,
                         datastore_cafile=str(certs.ca),
                         datastore_certfile=str(certs.client_cert),
                         datastore_keyfile=str(certs.client_key))
    used, _ = await open_and_close(config)
    assert used == tls_etcd.endpoint
    # the files are remembered with the endpoint
    used, said = await open_and_close(ServeConfig(data_dir=tmp_path))
    assert used == tls_etcd.endpoint and "remembers" in said


async def test_an_https_etcd_refuses_us_without_a_client_certificate(
        tmp_path: Path, tls_etcd: EtcdProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(composition, "DATASTORE_CONNECT_TIMEOUT", 1.0)
    assert tls_etcd.certs is not None
    for cafile in (str(tls_etcd.certs.ca), ""):  # ours: no client certificate; none: untrusted
        with pytest.raises(StartupError, match=f"etcd at {tls_etcd.endpoint} does not answer"):
            await composition.open_datastore(
                ServeConfig(data_dir=tmp_path / f"d{len(cafile)}",
                            datastore_endpoint=tls_etcd.endpoint, datastore_cafile=cafile),
                Supervisor(), Progress(out=io.StringIO()))


async def test_an_unreadable_tls_file_is_named(tmp_path: Path) -> None:
    config = ServeConfig(data_dir=tmp_path, datastore_endpoint="https://127.0.0.1:2379",
                         datastore_cafile=str(tmp_path / "missing.crt"))
    with pytest.raises(StartupError) as e:
        await composition.open_datastore(config, Supervisor(), Progress(out=io.StringIO()))
    assert str(e.value) == (f"the datastore: --datastore-cafile {tmp_path / 'missing.crt'}: "
                            "No such file or directory")
