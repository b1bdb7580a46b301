"""`serve` refuses a bad or conflicting flag with one line naming it, before anything starts
(no data dir, no containerd, no bridge)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from minikube_py.cli import main
from minikube_py.clustersettings import SETTINGS_FILE, ClusterSettings, HostClaim, save_remembered

CLAIM = HostClaim(owner="0123abcd", iptables_prefix="MKPY-0123", masquerade_mark=0x20000,
                  route_metric=0x6D700004)


def serve(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(data_dir), *args])
    return result.exit_code, result.output


@pytest.mark.parametrize(("args", "flag"), [
    (("--service-cidr", "10.112.32.0/30"), "--service-cidr"),
    (("--pod-cidr", "10.244.0.0/33"), "--pod-cidr"),
    (("--pod-cidr", "10.50.0.0/24"), "--pod-cidr"),
    (("--cluster-cidr", "10.244.0.0/25"), "--cluster-cidr"),
    (("--bridge", "a-bridge-name-too-long"), "--bridge"),
    (("--node-name", "Not_A_Node"), "--node-name"),
    (("--api-port", "70000"), "--api-port"),
    (("--kubelet-port", "-2"), "--kubelet-port"),
    (("--tls-san", "not a name!"), "--tls-san"),
    (("--tls-san", "a..b"), "--tls-san"),
    (("--node-ip", "not-an-ip"), "--node-ip"),
    (("--node-ip", "127.0.0.1"), "--node-ip"),
    (("--node-ip", "10.244.9.9"), "--node-ip"),  # inside the cluster's pod range
    (("--node-ip", "fd00::1"), "--node-ip"),
    (("--no-node",), "--node-ip"),
    (("--no-node", "--node-ip", "10.200.0.1", "--containerd-socket", "/x.sock"),
     "--containerd-socket"),
    (("--datastore-endpoint", "unix:///run/etcd.sock"), "--datastore-endpoint"),
    (("--datastore-endpoint", "http://127.0.0.1:2379,https://127.0.0.1:2380"),
     "--datastore-endpoint"),
    (("--datastore-endpoint", "http://127.0.0.1:2379", "--datastore-cafile", "/ca.crt"),
     "--datastore-cafile"),
    (("--datastore-endpoint", "https://127.0.0.1:2379", "--datastore-certfile", "/c.crt"),
     "--datastore-keyfile"),
    (("--server", "https://10.200.0.1:6443", "--token", "K10x"), "--node-ip"),
    (("--server", "https://10.200.0.1:6443", "--token", "K10x", "--node-ip", "10.200.0.2",
      "--containerd-socket", "/x.sock"), "--containerd-socket"),
    (("--server", "https://10.200.0.1:6443", "--token", "K10x", "--node-ip", "10.200.0.2",
      "--pod-cidr", "10.244.7.0/24"), "--pod-cidr"),
    (("--datastore-endpoint", "http://127.0.0.1:99999"), "--datastore-endpoint"),
    (("--datastore-endpoint", "http://127.0.0.1:2379/v3"), "--datastore-endpoint"),
    (("--datastore-endpoint", "http://127.0.0.1:2379", "--etcd-port", "2399"), "--etcd-port"),
    (("--etcd-host", "10.200.0.1"), "--etcd-host"),  # without --etcd-port
    (("--etcd-port", "2399", "--etcd-host", "etcd.example"), "--etcd-host"),
    (("--etcd-port", "2399", "--etcd-host", "0.0.0.0"), "--etcd-host"),
    (("--lb-cidr", "10.112.200.0/33"), "--lb-cidr"),
    (("--lb-cidr", "10.96.0.0/28"), "--lb-cidr"),  # inside the service range
    (("--horizontal-pod-autoscaler-sync-period", "15"),
     "--horizontal-pod-autoscaler-sync-period"),
    (("--horizontal-pod-autoscaler-sync-period", "0s"),
     "--horizontal-pod-autoscaler-sync-period"),
    (("--horizontal-pod-autoscaler-downscale-stabilization", "5 minutes"),
     "--horizontal-pod-autoscaler-downscale-stabilization"),
    (("--horizontal-pod-autoscaler-downscale-stabilization", "-1s"),
     "--horizontal-pod-autoscaler-downscale-stabilization"),
    (("--horizontal-pod-autoscaler-cpu-initialization-period", "1d"),
     "--horizontal-pod-autoscaler-cpu-initialization-period"),
    (("--horizontal-pod-autoscaler-initial-readiness-delay", "x"),
     "--horizontal-pod-autoscaler-initial-readiness-delay"),
    (("--horizontal-pod-autoscaler-tolerance", "ten percent"),
     "--horizontal-pod-autoscaler-tolerance"),
    (("--horizontal-pod-autoscaler-tolerance", "-0.1"),
     "--horizontal-pod-autoscaler-tolerance"),
])
def test_a_bad_flag_is_one_line_naming_it_and_nothing_is_created(
        tmp_path: Path, args: tuple[str, ...], flag: str) -> None:
    code, output = serve(tmp_path / "data", *args)
    assert code == 2
    assert output.startswith("Error: ") and output.count("\n") == 1 and flag in output
    assert not (tmp_path / "data").exists()


def test_a_bad_autoscaler_duration_says_what_go_would(tmp_path: Path) -> None:
    code, output = serve(tmp_path / "data", "--horizontal-pod-autoscaler-sync-period", "5x")
    assert code == 2
    assert output == ('Error: invalid argument "5x" for "--horizontal-pod-autoscaler-sync-'
                      'period" flag: time: unknown unit "x" in duration "5x"\n')


def test_the_autoscaler_flags_reach_the_controller_settings() -> None:
    from minikube_py.controllers.hpa_flags import autoscaler_settings

    got = autoscaler_settings({"sync-period": "2s", "downscale-stabilization": "10s",
                               "cpu-initialization-period": "1m30s",
                               "initial-readiness-delay": "500ms"}, "0.05")
    assert (got.sync_period, got.downscale_stabilization, got.cpu_initialization_period,
            got.initial_readiness_delay, got.tolerance) == (2.0, 10.0, 90.0, 0.5, 0.05)


def test_a_flag_that_conflicts_with_the_remembered_cluster_is_refused(tmp_path: Path) -> None:
    save_remembered(tmp_path, ClusterSettings(node_name="n1", service_cidr="10.112.5.0/24"),
                    CLAIM)
    before = (tmp_path / SETTINGS_FILE).read_bytes()
    code, output = serve(tmp_path, "--service-cidr", "10.112.6.0/24")
    assert code == 2
    assert output.startswith("Error: --service-cidr 10.112.6.0/24 conflicts with this "
                             "cluster's service range 10.112.5.0/24")
    assert (tmp_path / SETTINGS_FILE).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [SETTINGS_FILE]


def test_an_unreadable_settings_file_is_reported_plainly(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_text("{broken")
    code, output = serve(tmp_path)
    assert code == 1
    assert output.startswith(f"Error: {tmp_path / SETTINGS_FILE}: not JSON")
    assert "Traceback" not in output


def test_a_settings_file_from_before_node_ip_loads_with_the_bridge_address(
        tmp_path: Path) -> None:
    import json

    from minikube_py.clustersettings import load_remembered

    save_remembered(tmp_path, ClusterSettings(node_name="n1"), CLAIM)
    doc = json.loads((tmp_path / SETTINGS_FILE).read_text())
    del doc["settings"]["nodeIP"]
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(doc))
    assert "node_ip" not in load_remembered(tmp_path).settings
