"""The decisions of `join` that need no server: the URL, the token against the CA it names,
what a saved certificate is good for, the settings a joined machine remembers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from minikube_py.api.clusternetwork import ClusterConfigError, ClusterNetwork
from minikube_py.clustersettings import ClusterSettings, HostClaim, save_remembered
from minikube_py.joinagent import (
    JoinConfig,
    agent_settings,
    check_remembered_pod_cidr,
    check_server_url,
)
from minikube_py.nodebootstrap import (
    JoinRefused,
    NodePki,
    check_ca,
    client_template,
    parse_token,
    saved_credentials,
    serving_template,
)
from minikube_py.pki.certmanager import issued_pair, new_key, write_key_pair
from minikube_py.pki.cluster import load_signing_ca
from minikube_py.pki.csr import certificate_pem, parse_request, sign
from minikube_py.pki.jointoken import BootstrapToken, JoinToken
from tests.certs import make_test_pki

CA_PEM = b"-----BEGIN CERTIFICATE-----\nthe cluster's CA\n-----END CERTIFICATE-----\n"
NETWORK = ClusterNetwork(cluster_cidr="10.244.0.0/16", service_cidr="10.96.0.0/12")


def test_the_server_is_an_https_url_without_a_path() -> None:
    assert check_server_url("https://10.200.0.1:6443/") == "https://10.200.0.1:6443"
    for bad in ("http://10.200.0.1:6443", "10.200.0.1:6443", "https://h:1/api", "https://"):
        with pytest.raises(JoinRefused, match="API URL"):
            check_server_url(bad)


def test_a_token_is_checked_against_the_ca_before_it_is_sent() -> None:
    token = JoinToken.make(CA_PEM, BootstrapToken("abcdef", "0123456789abcdef"))
    check_ca(token, CA_PEM, "https://s:6443")  # the CA it names: no error
    with pytest.raises(JoinRefused, match="refusing to send it the token") as e:
        check_ca(token, CA_PEM.replace(b"the", b"another"), "https://s:6443")
    assert "\n" not in str(e.value)


def test_a_token_that_is_not_the_k10_form_is_refused_naming_the_flag() -> None:
    with pytest.raises(JoinRefused, match=r"^--token: a join token starts with K10"):
        parse_token("abcdef.0123456789abcdef")


def test_the_certificate_requests_are_the_kubelets() -> None:
    client = client_template("n2")
    assert (client.signer, client.common_name, client.organizations) == (
        "kubernetes.io/kube-apiserver-client-kubelet", "system:node:n2", ("system:nodes",))
    assert "client auth" in client.usages and "server auth" not in client.usages
    serving = serving_template("n2", ("10.200.0.11",))
    assert serving.signer == "kubernetes.io/kubelet-serving"
    assert serving.sans == frozenset({"n2", "10.200.0.11"})


def test_a_saved_certificate_is_used_until_it_expires_and_only_for_its_node(
        tmp_path: Path) -> None:
    pki = NodePki(tmp_path / "pki")
    now = datetime.now(UTC)
    assert saved_credentials(pki, "n2", now) == f"no cluster CA in {pki.ca}"
    pki.root.mkdir()
    pki.ca.write_bytes(CA_PEM)
    assert "no client certificate" in (saved_credentials(pki, "n2", now) or "")
    key = new_key()
    ca = load_signing_ca(make_test_pki(tmp_path / "cluster").layout)
    template = client_template("n2")
    cert = sign(parse_request(template.request_pem(key)), list(template.usages), ca, now,
                expiration_seconds=86400)
    write_key_pair(pki.client, issued_pair(certificate_pem(cert), key))
    assert saved_credentials(pki, "n2", now) is None
    assert "another --node-name" in (saved_credentials(pki, "n3", now) or "")
    assert "expired" in (saved_credentials(pki, "n2", now + timedelta(days=2)) or "")


def test_the_cluster_network_round_trips_through_its_config_map_and_bad_ones_are_said() -> None:
    net = ClusterNetwork("10.250.0.0/16", "10.112.0.0/16", node_monitor_grace_period=6)
    assert ClusterNetwork.from_config_map(net.to_config_map()) == net
    assert net.cluster_dns == "10.112.0.10" and net.lease_renew_interval == 1.5
    with pytest.raises(ClusterConfigError, match="not readable"):
        ClusterNetwork.from_config_map({"data": {"ClusterConfiguration": "{}"}})


def test_a_load_balancer_pool_reaches_joined_machines_through_the_config_map() -> None:
    net = ClusterNetwork("10.250.0.0/16", "10.112.0.0/16", lb_cidr="10.113.200.0/28")
    assert ClusterNetwork.from_config_map(net.to_config_map()) == net
    assert "loadBalancerSubnet" not in str(NETWORK.to_config_map())  # none: as before
    config = JoinConfig(server="https://10.200.0.1:7443", data_dir=Path("/x"), node_name="n2")
    assert agent_settings(config, net, "10.250.3.0/24", "10.200.0.11").lb_cidr == \
        "10.113.200.0/28"


def test_joined_kubelets_learn_the_housekeeping_interval_through_the_config_map() -> None:
    net = ClusterNetwork("10.250.0.0/16", "10.112.0.0/16", housekeeping_interval=1.5)
    assert ClusterNetwork.from_config_map(net.to_config_map()).housekeeping_interval == 1.5
    assert "housekeeping" not in str(NETWORK.to_config_map())  # the default: as before
    assert ClusterNetwork.from_config_map(NETWORK.to_config_map()).housekeeping_interval == 10


def test_a_joined_machine_remembers_the_clusters_ranges_and_its_own_pod_range(
        tmp_path: Path) -> None:
    config = JoinConfig(server="https://10.200.0.1:7443", data_dir=tmp_path, node_name="n2",
                        bridge_name="mkpyj2")
    settings = agent_settings(config, NETWORK, "10.244.3.0/24", "10.200.0.11")
    assert settings == ClusterSettings(
        node_name="n2", bridge="mkpyj2", pod_cidr="10.244.3.0/24",
        cluster_cidr="10.244.0.0/16", service_cidr="10.96.0.0/12", api_host="10.200.0.1",
        api_port=7443, kubelet_port=10250, node_ip="")  # found, so found again next time
    given = JoinConfig(server=config.server, data_dir=tmp_path, node_name="n2",
                       node_ip="10.200.0.11")
    assert agent_settings(given, NETWORK, "10.244.3.0/24", "10.200.0.11").node_ip == \
        "10.200.0.11"
    with pytest.raises(JoinRefused, match="outside the cluster's pod range"):
        agent_settings(config, NETWORK, "10.1.0.0/24", "10.200.0.11")


def test_a_machine_that_holds_another_pod_range_is_told_to_delete_first(tmp_path: Path) -> None:
    check_remembered_pod_cidr(tmp_path, "n2", "10.244.3.0/24")  # nothing remembered yet
    save_remembered(tmp_path, ClusterSettings(node_name="n2", pod_cidr="10.244.3.0/24"),
                    HostClaim("ab12", "MKPY-ab12", 1 << 16, 0x6D700000))
    check_remembered_pod_cidr(tmp_path, "n2", "10.244.3.0/24")
    with pytest.raises(JoinRefused, match="minikube-py delete --data-dir"):
        check_remembered_pod_cidr(tmp_path, "n2", "10.244.9.0/24")


def test_a_restart_of_join_reuses_what_the_machine_remembers(tmp_path: Path) -> None:
    from minikube_py.clustersettings import FlagError, load_remembered
    from minikube_py.joinagent import resolve_join_settings

    assert resolve_join_settings({}, load_remembered(tmp_path), default_node="box") == {
        "node_name": "box", "bridge_name": "mkpy0", "node_ip": "", "kubelet_port": 10250}
    save_remembered(tmp_path, ClusterSettings(node_name="n2", bridge="mkpyj2",
                                              pod_cidr="10.244.3.0/24", node_ip="10.200.0.11",
                                              kubelet_port=10251),
                    HostClaim("ab12", "MKPY-ab12", 1 << 16, 0x6D700000))
    remembered = load_remembered(tmp_path)
    assert resolve_join_settings({}, remembered, default_node="box") == {
        "node_name": "n2", "bridge_name": "mkpyj2", "node_ip": "10.200.0.11",
        "kubelet_port": 10251}
    # An address or a port may move; the node's name and bridge may not.
    moved = resolve_join_settings({"node_ip": "10.200.0.21", "kubelet_port": 10260},
                                  remembered, default_node="box")
    assert (moved["node_ip"], moved["kubelet_port"]) == ("10.200.0.21", 10260)
    with pytest.raises(FlagError, match=r"^--node-name n3 conflicts with this machine's"):
        resolve_join_settings({"node_name": "n3"}, remembered, default_node="box")
    with pytest.raises(FlagError, match="--bridge"):
        resolve_join_settings({"bridge_name": "other0"}, remembered, default_node="box")


@pytest.mark.parametrize(("args", "flag"), [
    (("--node-ip", "nope"), "--node-ip"),
    (("--bridge", "a-bridge-name-too-long"), "--bridge"),
    (("--node-name", "Not_A_Node"), "--node-name"),
])
def test_join_refuses_a_bad_flag_in_one_line_before_anything_starts(
        tmp_path: Path, args: tuple[str, ...], flag: str) -> None:
    from click.testing import CliRunner

    from minikube_py.cli import main

    result = CliRunner().invoke(main, ["join", "https://10.200.0.1:6443", "--data-dir",
                                       str(tmp_path / "d"), *args])
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert flag in result.output
    assert not (tmp_path / "d").exists()
