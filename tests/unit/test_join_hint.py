"""serve's closing hint for joining another machine: the command with its token when other
machines can reach this one, else what to start serve with."""

from __future__ import annotations

from pathlib import Path

from minikube_py.composition import join_hint
from minikube_py.config import ServeConfig

TOKEN = "K10" + "ab" * 32 + "::abcdef.0123456789abcdef"


def test_a_cluster_only_this_machine_reaches_says_to_start_with_node_ip() -> None:
    hint = join_hint(ServeConfig(data_dir=Path("/var/lib/mkpy")), TOKEN)
    assert hint == ("  To join other machines, start serve with --node-ip IP (this machine's "
                    "address on their network); the token is in /var/lib/mkpy/token.\n")
    assert TOKEN not in hint


def test_with_a_node_address_the_hint_is_the_join_command_with_the_token() -> None:
    hint = join_hint(ServeConfig(data_dir=Path("/d"), node_address="10.200.0.1",
                                 api_port=7443), TOKEN)
    assert f"    minikube-py join https://10.200.0.1:7443 --token {TOKEN}\n" in hint
    assert "/d/token" in hint


def test_an_api_host_others_reach_is_the_url_and_a_wildcard_or_loopback_is_not() -> None:
    reachable = join_hint(ServeConfig(api_host="10.1.2.3"), TOKEN)
    assert "join https://10.1.2.3:6443 " in reachable
    for host in ("0.0.0.0", "127.0.0.1"):
        assert "--node-ip IP" in join_hint(ServeConfig(api_host=host), TOKEN)
