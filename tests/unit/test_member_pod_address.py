"""Where pods reach a joined control-plane member without a node: its --node-ip, else its
API host unless that is loopback, every address or a name (then nowhere)."""

from __future__ import annotations

import pytest

from minikube_py.composition import member_pod_address
from minikube_py.config import ServeConfig


@pytest.mark.parametrize(("api_host", "node_ip", "address"), [
    ("10.200.0.12", "", "10.200.0.12"),
    ("127.0.0.1", "10.200.0.13", "10.200.0.13"),
    ("0.0.0.0", "10.200.0.13", "10.200.0.13"),
    ("127.0.0.1", "", None),
    ("127.0.0.2", "", None),
    ("::1", "", None),
    ("0.0.0.0", "", None),
    ("::", "", None),
    ("localhost", "", None),
])
def test_a_member_publishes_an_address_pods_reach_or_none(
        api_host: str, node_ip: str, address: str | None) -> None:
    config = ServeConfig(api_host=api_host, node_address=node_ip, run_node=False,
                         server_url="https://10.200.0.11:6443")
    assert member_pod_address(config) == address
