"""`delete` removes only what carries its data dir's owner marks: a serve that failed on a
taken API port, or was refused another cluster's bridge or range, leaves the running
cluster's bridge, iptables rules and routes intact through `delete` on its own data dir."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, free_port, running_serve, wait_for
from tests.e2e.network import minikube, owned, owns_everything, remembered, sh

pytestmark = NEEDS_CONTAINERD


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("owner") / "data", 16) as serve:
        # kube-proxy's first sync may still be under way when serve says it is ready.
        wait_for(lambda: owns_everything(owned(serve)), timeout=30,
                 what="the cluster's bridge, routes and iptables rules")
        yield serve


def test_a_serve_failing_on_a_taken_api_port_leaves_delete_nothing_to_remove(
        running: ServeProcess, tmp_path: Path) -> None:
    mine = owned(running)
    other = tmp_path / "other"
    result = minikube("serve", "--data-dir", str(other), "--api-port", str(running.api_port),
                      "--kubelet-port", "0", "--pod-cidr", "10.244.116.0/24", "--bridge",
                      "mkpyt116", "--service-cidr", "10.112.116.0/24")
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{running.api_port}" in result.stderr
    assert not (other / "cluster.json").exists()
    assert sh("ip", "link", "show", "mkpyt116").returncode != 0  # no bridge was made

    deleted = minikube("delete", "--data-dir", str(other))
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.splitlines() == [f"removed data dir {other}"]
    assert owned(running) == mine
    assert "Ready" in running.kubectl("get", "nodes").stdout


def test_a_serve_refused_another_clusters_bridge_leaves_it_to_that_cluster(
        running: ServeProcess, tmp_path: Path) -> None:
    mine = owned(running)
    other = tmp_path / "other"
    result = minikube("serve", "--data-dir", str(other), "--api-port", str(free_port()),
                      "--kubelet-port", "0", "--pod-cidr", running.pod_cidr, "--bridge",
                      running.bridge, "--service-cidr", running.service_cidr)
    assert result.returncode == 1
    assert (f"--bridge {running.bridge} is the pod bridge of the minikube-py cluster in "
            f"{running.data_dir}") in result.stderr
    assert "Traceback" not in result.stderr
    assert not (other / "cluster.json").exists()

    deleted = minikube("delete", "--data-dir", str(other))
    assert deleted.returncode == 0, deleted.stderr
    assert owned(running) == mine
    assert "Ready" in running.kubectl("get", "nodes").stdout


def test_a_serve_refused_another_clusters_service_range_names_the_flag(
        running: ServeProcess, tmp_path: Path) -> None:
    result = minikube("serve", "--data-dir", str(tmp_path / "other"), "--api-port",
                      str(free_port()), "--kubelet-port", "0", "--pod-cidr", "10.244.116.0/24",
                      "--bridge", "mkpyt116", "--service-cidr", running.service_cidr)
    assert result.returncode == 1
    assert (f"error: --service-cidr {running.service_cidr} overlaps the service range "
            f"{running.service_cidr} of another minikube-py cluster") in result.stderr
    assert sh("ip", "link", "show", "mkpyt116").returncode != 0


def test_delete_refuses_a_running_cluster(running: ServeProcess) -> None:
    mine = owned(running)
    result = minikube("delete", "--data-dir", str(running.data_dir))
    assert result.returncode == 1 and "is running" in result.stderr
    assert owned(running) == mine


def test_delete_leaves_a_bridge_another_cluster_took_over(tmp_path: Path) -> None:
    with running_serve(tmp_path / "first", 20) as first:
        assert first.stop() == 0
        assert sh("ip", "link", "del", first.bridge).returncode == 0
        # Its ranges stay claimed by its routes; its bridge name is free for the taking.
        second = ServeProcess(tmp_path / "second", pod_cidr="10.244.120.0/24",
                              bridge=first.bridge, service_cidr="10.112.120.0/24")
        second.start()
        try:
            wait_for(lambda: owns_everything(owned(second)), timeout=30,
                     what="the second cluster's bridge, routes and rules")
            theirs = owned(second)
            deleted = minikube("delete", "--data-dir", str(first.data_dir))
            assert deleted.returncode == 0, deleted.stderr
            assert f"left bridge {first.bridge}: it is not this cluster's" in deleted.stdout
            assert "removed route unreachable 10.112.20.0/24" in deleted.stdout
            assert owned(second) == theirs
            assert "Ready" in second.kubectl("get", "nodes").stdout
        finally:
            second.stop()
            second.delete()


def test_delete_releases_what_a_killed_cluster_whose_data_dir_is_gone_holds(
        tmp_path: Path) -> None:
    serve = ServeProcess(tmp_path / "gone", pod_cidr="10.244.121.0/24", bridge="mkpyt121",
                         service_cidr="10.112.121.0/24")
    serve.start()
    try:
        wait_for(lambda: owns_everything(owned(serve)), timeout=30,
                 what="the cluster's bridge, routes and rules")
        prefix = remembered(serve)["host"]["iptablesPrefix"]
        assert serve.proc is not None
        serve.proc.kill()  # no clean-up of its own; its containerd dies with it
        serve.proc.wait(30)
        shutil.rmtree(serve.data_dir)
        assert sh("ip", "link", "show", "mkpyt121").returncode == 0

        deleted = minikube("delete", "--data-dir", str(serve.data_dir))
        assert deleted.returncode == 0, deleted.stderr
        assert "removed bridge mkpyt121" in deleted.stdout
        assert "removed route unreachable 10.112.121.0/24" in deleted.stdout
        assert sh("ip", "link", "show", "mkpyt121").returncode != 0
        assert "10.112.121.0/24" not in sh("ip", "route", "show", "table", "all").stdout
        assert f"{prefix}-" not in sh("iptables-save").stdout

        again = minikube("delete", "--data-dir", str(serve.data_dir))
        assert again.returncode == 1
        assert "nothing on the host names it" in again.stderr
    finally:
        serve.stop()
        serve.delete()
